#pragma once
// Proxy selection from the conventional environment variables, as a pure function of an
// injected ProxyEnvironment (tests never touch the process environment).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace deployguard::http {

/// The raw proxy settings. from_process_environment() reads, for each setting, the lower-case
/// variable first and the upper-case one if the lower-case one is unset:
///   https_proxy / HTTPS_PROXY  - proxy for https:// URLs
///   http_proxy  / HTTP_PROXY   - proxy for http:// URLs
///   no_proxy    / NO_PROXY     - hosts that bypass the proxy
/// Empty strings mean "not set".
struct ProxyEnvironment {
  std::string http_proxy;
  std::string https_proxy;
  std::string no_proxy;

  static ProxyEnvironment from_process_environment();
};

/// A parsed proxy URL: "[http://][user:pass@]host[:port]" (scheme optional, port defaults to 80;
/// user and password may be percent-encoded). TLS to the proxy itself (https:// proxies) is not
/// supported and is reported as a ProxyParseError.
struct ProxyEndpoint {
  std::string host;  // IPv6 without brackets
  std::uint16_t port = 0;
  std::optional<std::string> authorization;  // "Basic <base64(user:pass)>" when userinfo given

  /// Identity used in connection-pool keys (never contains the credentials).
  std::string key() const;
};

struct ProxyParseError {
  std::string message;
};

/// Parses a proxy URL as found in the environment.
std::variant<ProxyEndpoint, ProxyParseError> parse_proxy_url(std::string_view text);

/// True when `host`/`port` is excluded from proxying by the NO_PROXY list `no_proxy`:
/// comma-separated entries, whitespace trimmed, case-insensitive;
///   "*"                 matches every host;
///   "example.com",
///   ".example.com",
///   "*.example.com"     match example.com and any subdomain (suffix match on a label boundary);
///   "host:port"         matches only that port ("[v6]:port" for IPv6);
///   "10.1.2.3", "::1"   match that literal address;
///   "10.0.0.0/8"        CIDR ranges match IP-literal hosts.
/// Loopback is NOT implicitly excluded: a proxy set without "localhost,127.0.0.1" in NO_PROXY
/// applies to loopback URLs too (explicit beats surprising; matches curl for IPs).
bool no_proxy_matches(std::string_view no_proxy, std::string_view host, std::uint16_t port);

/// The proxy to use for a URL, or nullopt for a direct connection; ProxyParseError when the
/// applicable proxy variable is malformed (the request fails rather than silently going direct).
using ProxyChoice = std::variant<std::monostate, ProxyEndpoint, ProxyParseError>;
ProxyChoice select_proxy(const ProxyEnvironment& env, std::string_view scheme,
                         std::string_view host, std::uint16_t port);

/// Base64 (RFC 4648, padded) of `data`; exposed for the Proxy-Authorization header and tests.
std::string base64_encode(std::string_view data);

}  // namespace deployguard::http
