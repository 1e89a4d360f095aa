#include "http/client/proxy.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>

namespace deployguard::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string env_or_empty(const char* lower_name, const char* upper_name) {
  // Lower-case wins, as in curl and most tools; an empty value counts as set-but-empty.
  if (const char* v = std::getenv(lower_name)) return v;  // NOLINT(concurrency-mt-unsafe)
  if (const char* v = std::getenv(upper_name)) return v;  // NOLINT(concurrency-mt-unsafe)
  return {};
}

std::optional<boost::asio::ip::address> parse_ip(std::string_view text) {
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return addr;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

bool cidr_contains(const boost::asio::ip::address& network, unsigned prefix,
                   const boost::asio::ip::address& addr) {
  if (network.is_v4() != addr.is_v4()) return false;
  std::array<unsigned char, 16> a{};
  std::array<unsigned char, 16> b{};
  std::size_t len = 0;
  if (network.is_v4()) {
    auto na = network.to_v4().to_bytes();
    auto hb = addr.to_v4().to_bytes();
    std::copy(na.begin(), na.end(), a.begin());
    std::copy(hb.begin(), hb.end(), b.begin());
    len = 4;
  } else {
    a = network.to_v6().to_bytes();
    b = addr.to_v6().to_bytes();
    len = 16;
  }
  if (prefix > len * 8) return false;
  for (std::size_t i = 0; i < len && prefix > 0; ++i) {
    const unsigned bits = std::min(prefix, 8U);
    const auto mask = static_cast<unsigned char>(0xFFU << (8 - bits));
    if ((a[i] & mask) != (b[i] & mask)) return false;
    prefix -= bits;
  }
  return true;
}

bool entry_matches(std::string_view entry, std::string_view host,
                   const std::optional<boost::asio::ip::address>& host_ip, std::uint16_t port) {
  if (entry == "*") return true;

  // CIDR range: "10.0.0.0/8", "fd00::/8".
  if (auto slash = entry.find('/'); slash != std::string_view::npos) {
    auto network = parse_ip(entry.substr(0, slash));
    auto prefix = parse_port(entry.substr(slash + 1));  // 1..128 fits the same parser
    if (!network || !host_ip) return false;
    if (entry.substr(slash + 1) == "0") return network->is_v4() == host_ip->is_v4();
    return prefix && cidr_contains(*network, *prefix, *host_ip);
  }

  // Split an optional ":port". "[v6]:port", "host:port"; a bare IPv6 literal has many colons.
  std::string_view name = entry;
  std::optional<std::uint16_t> entry_port;
  if (!name.empty() && name.front() == '[') {
    auto close = name.find(']');
    if (close == std::string_view::npos) return false;
    auto rest = name.substr(close + 1);
    name = name.substr(1, close - 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || !(entry_port = parse_port(rest.substr(1)))) return false;
    }
  } else if (std::count(name.begin(), name.end(), ':') == 1) {
    auto colon = name.find(':');
    if (!(entry_port = parse_port(name.substr(colon + 1)))) return false;
    name = name.substr(0, colon);
  }
  if (entry_port && *entry_port != port) return false;

  if (auto entry_ip = parse_ip(name)) return host_ip && *host_ip == *entry_ip;

  if (name.starts_with("*.")) name.remove_prefix(2);
  else if (name.starts_with(".")) name.remove_prefix(1);
  if (name.ends_with(".")) name.remove_suffix(1);
  if (name.empty()) return false;
  if (host == name) return true;
  return host.size() > name.size() && host.ends_with(name) &&
         host[host.size() - name.size() - 1] == '.';
}

}  // namespace

ProxyEnvironment ProxyEnvironment::from_process_environment() {
  ProxyEnvironment env;
  env.http_proxy = env_or_empty("http_proxy", "HTTP_PROXY");
  env.https_proxy = env_or_empty("https_proxy", "HTTPS_PROXY");
  env.no_proxy = env_or_empty("no_proxy", "NO_PROXY");
  return env;
}

std::string ProxyEndpoint::key() const {
  return host + ":" + std::to_string(port);
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::variant<ProxyEndpoint, ProxyParseError> parse_proxy_url(std::string_view text) {
  text = trim(text);
  std::string with_scheme(text);
  if (text.find("://") == std::string_view::npos) with_scheme = "http://" + with_scheme;
  auto parsed = boost::urls::parse_uri(with_scheme);
  // Never echo the proxy URL back: it may contain a password.
  if (!parsed) return ProxyParseError{"proxy URL is not a valid URL"};
  const auto& u = *parsed;
  if (lower(u.scheme()) != "http") {
    return ProxyParseError{"unsupported proxy scheme '" + std::string(u.scheme()) +
                           "' (only http:// proxies are supported)"};
  }
  ProxyEndpoint endpoint;
  endpoint.host = lower(u.host_address());
  if (endpoint.host.empty()) return ProxyParseError{"proxy URL has no host"};
  endpoint.port = 80;
  if (u.has_port()) {
    auto port = parse_port(u.port());
    if (!port) return ProxyParseError{"proxy URL has an invalid port"};
    endpoint.port = *port;
  }
  if (u.has_userinfo()) {
    endpoint.authorization = "Basic " + base64_encode(u.user() + ":" + u.password());
  }
  return endpoint;
}

bool no_proxy_matches(std::string_view no_proxy, std::string_view host_in, std::uint16_t port) {
  std::string host = lower(host_in);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.ends_with('.')) host.pop_back();
  const auto host_ip = parse_ip(host);

  std::string list = lower(no_proxy);
  std::string_view rest = list;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto entry = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (!entry.empty() && entry_matches(entry, host, host_ip, port)) return true;
  }
  return false;
}

ProxyChoice select_proxy(const ProxyEnvironment& env, std::string_view scheme,
                         std::string_view host, std::uint16_t port) {
  const std::string& proxy = scheme == "https" ? env.https_proxy : env.http_proxy;
  if (trim(proxy).empty()) return std::monostate{};
  if (no_proxy_matches(env.no_proxy, host, port)) return std::monostate{};
  auto parsed = parse_proxy_url(proxy);
  if (auto* err = std::get_if<ProxyParseError>(&parsed)) return *err;
  return std::get<ProxyEndpoint>(std::move(parsed));
}

}  // namespace deployguard::http
