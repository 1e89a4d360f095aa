#pragma once
// IP networks in CIDR notation (server.trusted_proxies) and the addresses they contain. Pure:
// text in, answers out (inet_pton does no I/O). An IPv4-mapped IPv6 address (::ffff:10.0.0.1,
// as a dual-stack listener reports IPv4 peers) is matched as the IPv4 address it maps.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployguard {

class Cidr {
 public:
  /// "10.0.0.0/8", "::1/128", or a bare address (a /32 or /128). nullopt when malformed, when
  /// the prefix is too long for the family, or when host bits are set ("10.0.0.1/8").
  static std::optional<Cidr> parse(std::string_view text, std::string* why = nullptr);

  /// Whether `address` (textual IPv4 or IPv6, optionally in [brackets]) is in the network.
  bool contains(std::string_view address) const;

  std::string to_string() const;

 private:
  bool v6_ = false;
  std::array<std::uint8_t, 16> bytes_{};  // IPv4 in the first four
  int prefix_ = 0;
};

/// The networks of an already validated list (server.trusted_proxies; the loader reports bad
/// entries, which are skipped here).
std::vector<Cidr> parse_cidrs(const std::vector<std::string>& texts);
/// Whether any of `networks` contains `address`.
bool contains_any(const std::vector<Cidr>& networks, std::string_view address);

/// An IP address in a canonical textual form (IPv4-mapped IPv6 as IPv4, IPv6 compressed), or
/// nullopt when `text` is not an address. For keying per-client counters.
std::optional<std::string> canonical_ip(std::string_view text);

}  // namespace deployguard
