#include "api/target.hpp"

#include <array>

namespace deployguard::api {
namespace {

constexpr std::array<bool, 256> make_plain_table() {
  std::array<bool, 256> table{};
  for (char c = 'a'; c <= 'z'; ++c) table[static_cast<unsigned char>(c)] = true;
  for (char c = 'A'; c <= 'Z'; ++c) table[static_cast<unsigned char>(c)] = true;
  for (char c = '0'; c <= '9'; ++c) table[static_cast<unsigned char>(c)] = true;
  for (char c : std::string_view("-._~!$&'()*,;=:@/?")) table[static_cast<unsigned char>(c)] = true;
  return table;
}
constexpr auto kPlain = make_plain_table();

}  // namespace

std::optional<PlainTarget> plain_target(std::string_view target) {
  if (target.empty() || target.front() != '/') return std::nullopt;
  for (char c : target)
    if (!kPlain[static_cast<unsigned char>(c)]) return std::nullopt;
  const auto mark = target.find('?');
  if (mark == std::string_view::npos) return PlainTarget{target, {}, false};
  return PlainTarget{target.substr(0, mark), target.substr(mark + 1), true};
}

std::optional<std::string_view> plain_query_param(const PlainTarget& target, std::string_view key) {
  if (!target.has_query) return std::nullopt;
  const auto query = target.query;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    auto end = query.find('&', pos);
    if (end == std::string_view::npos) end = query.size();
    const auto param = query.substr(pos, end - pos);
    const auto eq = param.find('=');
    if (param.substr(0, eq) == key)
      return eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace deployguard::api
