#include "core/cidr.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace deployguard {
namespace {

struct Address {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};
};

std::optional<Address> parse_address(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() > 45) return std::nullopt;
  const std::string z(text);
  Address out;
  if (inet_pton(AF_INET, z.c_str(), out.bytes.data()) == 1) return out;
  if (inet_pton(AF_INET6, z.c_str(), out.bytes.data()) != 1) return std::nullopt;
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(out.bytes.data(), kMapped, sizeof kMapped) == 0) {
    std::memmove(out.bytes.data(), out.bytes.data() + 12, 4);
    std::memset(out.bytes.data() + 4, 0, 12);
    return out;
  }
  out.v6 = true;
  return out;
}

bool prefix_equal(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b,
                  int prefix) {
  const int whole = prefix / 8;
  if (std::memcmp(a.data(), b.data(), static_cast<std::size_t>(whole)) != 0) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[static_cast<std::size_t>(whole)] & mask) == (b[static_cast<std::size_t>(whole)] & mask);
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text, std::string* why) {
  auto fail = [&](const char* message) -> std::optional<Cidr> {
    if (why) *why = message;
    return std::nullopt;
  };
  const auto slash = text.find('/');
  const auto address = parse_address(text.substr(0, slash));
  if (!address) return fail("not an IP address");
  Cidr out;
  out.v6_ = address->v6;
  out.bytes_ = address->bytes;
  const int bits = out.v6_ ? 128 : 32;
  out.prefix_ = bits;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    int prefix = -1;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || prefix < 0)
      return fail("the prefix length after '/' must be a number");
    if (prefix > bits) return fail(out.v6_ ? "an IPv6 prefix is at most 128" : "an IPv4 prefix is at most 32");
    out.prefix_ = prefix;
  }
  // Host bits set usually means a typo (10.0.0.1/8 for 10.0.0.0/8): refuse, say which.
  Address masked = *address;
  for (int bit = out.prefix_; bit < bits; ++bit)
    masked.bytes[static_cast<std::size_t>(bit / 8)] &= static_cast<std::uint8_t>(~(0x80 >> (bit % 8)));
  if (masked.bytes != address->bytes) return fail("host bits are set after the prefix");
  return out;
}

bool Cidr::contains(std::string_view text) const {
  const auto address = parse_address(text);
  if (!address || address->v6 != v6_) return false;
  return prefix_equal(address->bytes, bytes_, prefix_);
}

std::string Cidr::to_string() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6_ ? AF_INET6 : AF_INET, bytes_.data(), buffer, sizeof buffer);
  return std::string(buffer) + "/" + std::to_string(prefix_);
}

std::vector<Cidr> parse_cidrs(const std::vector<std::string>& texts) {
  std::vector<Cidr> out;
  for (const auto& text : texts)
    if (auto cidr = Cidr::parse(text)) out.push_back(*cidr);
  return out;
}

bool contains_any(const std::vector<Cidr>& networks, std::string_view address) {
  for (const auto& cidr : networks)
    if (cidr.contains(address)) return true;
  return false;
}

std::optional<std::string> canonical_ip(std::string_view text) {
  const auto address = parse_address(text);
  if (!address) return std::nullopt;
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(address->v6 ? AF_INET6 : AF_INET, address->bytes.data(), buffer, sizeof buffer);
  return std::string(buffer);
}

}  // namespace deployguard
