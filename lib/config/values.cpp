#include "config/values.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace deployguard::config {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alnum(char c) { return is_digit(c) || is_upper(c) || is_lower(c); }

bool all_of(std::string_view s, bool (*pred)(char)) {
  return std::all_of(s.begin(), s.end(), pred);
}

// Digits only, no sign; nullopt on overflow.
std::optional<std::uint64_t> parse_unsigned(std::string_view s) {
  if (s.empty() || !all_of(s, is_digit)) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return v;
}

}  // namespace

std::optional<std::size_t> parse_size(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) ++digits;
  const auto number = parse_unsigned(text.substr(0, digits));
  if (!number) return std::nullopt;
  std::string_view unit = text.substr(digits);
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 8> kUnits{{
      {"B", 1},
      {"KiB", 1024},
      {"MiB", 1024 * 1024},
      {"GiB", 1024 * 1024 * 1024},
      {"KB", 1000},
      {"MB", 1000 * 1000},
      {"GB", 1000 * 1000 * 1000},
      {"", 1},
  }};
  for (const auto& [name, factor] : kUnits) {
    if (unit != name) continue;
    if (name.empty() && text.size() != digits) return std::nullopt;  // "16 " is not a size
    if (*number > std::numeric_limits<std::size_t>::max() / factor) return std::nullopt;
    return static_cast<std::size_t>(*number * factor);
  }
  return std::nullopt;
}

std::string format_size(std::size_t bytes) {
  static constexpr std::array<std::pair<std::string_view, std::size_t>, 3> kUnits{{
      {"GiB", std::size_t{1024} * 1024 * 1024},
      {"MiB", std::size_t{1024} * 1024},
      {"KiB", std::size_t{1024}},
  }};
  if (bytes != 0) {
    for (const auto& [name, factor] : kUnits) {
      if (bytes % factor == 0) return std::to_string(bytes / factor) + std::string(name);
    }
  }
  return std::to_string(bytes);
}

std::optional<ListenAddress> parse_listen(std::string_view text, std::string& why) {
  static constexpr std::string_view kShape = "expected host:port like 127.0.0.1:8080 or [::1]:8080";
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    why = kShape;
    return std::nullopt;
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  bool ipv6 = false;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      why = kShape;
      return std::nullopt;
    }
    host = host.substr(1, host.size() - 2);
    ipv6 = true;
  } else if (host.find(':') != std::string_view::npos) {
    why = "IPv6 addresses must be written in brackets, like [::1]:8080";
    return std::nullopt;
  }
  const std::string host_str(host);
  std::array<unsigned char, 16> buf{};
  if (inet_pton(ipv6 ? AF_INET6 : AF_INET, host_str.c_str(), buf.data()) != 1) {
    why = ipv6 ? "expected an IPv6 address inside the brackets"
               : "expected an IP address as host (the listener binds, it does not resolve names)";
    return std::nullopt;
  }
  const auto port = parse_unsigned(port_text);
  if (!port || *port > 65535) {
    why = "port must be a number from 0 to 65535 (0 picks a free port)";
    return std::nullopt;
  }
  ListenAddress out;
  out.host = host_str;
  out.port = static_cast<std::uint16_t>(*port);
  return out;
}

std::string format_listen(const ListenAddress& address) {
  const bool ipv6 = address.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

bool is_valid_repo(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string_view owner = text.substr(0, slash);
  const std::string_view name = text.substr(slash + 1);
  if (owner.empty() || owner.size() > 39 || name.empty() || name.size() > 100) return false;
  if (!all_of(owner, [](char c) { return is_alnum(c) || c == '-'; })) return false;
  if (!all_of(name, [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; }))
    return false;
  return name != "." && name != "..";
}

std::optional<std::string> normalize_url(std::string_view text) {
  std::string_view rest;
  if (text.substr(0, 8) == "https://") {
    rest = text.substr(8);
  } else if (text.substr(0, 7) == "http://") {
    rest = text.substr(7);
  } else {
    return std::nullopt;
  }
  const auto host_end = rest.find('/');
  if (rest.substr(0, host_end).empty()) return std::nullopt;
  for (char c : text) {
    if (c == '?' || c == '#' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      return std::nullopt;
  }
  std::string out(text);
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

bool is_valid_env_var_name(std::string_view text) {
  if (text.empty() || is_digit(text.front())) return false;
  return all_of(text, [](char c) { return is_upper(c) || is_digit(c) || c == '_'; });
}

bool is_valid_environment_name(std::string_view text) {
  return !text.empty() &&
         all_of(text, [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; });
}

bool is_valid_api_version(std::string_view text) {
  // YYYY-MM-DD
  if (text.size() < 10) return false;
  for (std::size_t i = 0; i < 10; ++i) {
    const bool dash = i == 4 || i == 7;
    if (dash ? text[i] != '-' : !is_digit(text[i])) return false;
  }
  const std::string_view suffix = text.substr(10);
  if (suffix.empty()) return true;
  return suffix.size() > 1 && suffix.front() == '-' &&
         all_of(suffix.substr(1), [](char c) { return is_lower(c) || is_digit(c); });
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus adjacent transpositions ("nmae" -> "name" is 1).
  const std::size_t width = b.size() + 1;
  std::vector<std::size_t> d((a.size() + 1) * width);
  auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * width + j]; };
  for (std::size_t i = 0; i <= a.size(); ++i) at(i, 0) = i;
  for (std::size_t j = 0; j <= b.size(); ++j) at(0, j) = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
    }
  }
  return at(a.size(), b.size());
}

}  // namespace deployguard::config
