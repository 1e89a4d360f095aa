#pragma once
// The outbound HTTP interface used by the GitHub and Azure adapters. Adapters depend on this
// abstract class only, so their tests can substitute a scripted fake; BeastHttpClient
// (beast_http_client.hpp) is the real implementation.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/time.hpp"

namespace deployguard::http {

struct Header {
  std::string name;
  std::string value;
};
using Headers = std::vector<Header>;

/// Case-insensitive lookup of the first header called `name`; nullopt when absent. The view
/// points into `headers` and is valid while they are.
std::optional<std::string_view> find_header(const Headers& headers, std::string_view name);

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute http:// or https:// URL
  Headers headers;  // sent as given; Host, Content-Length and User-Agent are filled in if absent
  std::string body;
  std::optional<Duration> timeout;  // total deadline override (connect, redirects and all)
  bool follow_redirects = true;
  std::optional<std::size_t> max_response_bytes;  // body cap override
};

struct HttpResponse {
  unsigned status = 0;
  Headers headers;
  std::string body;
  std::string final_url;  // URL of the request that produced this response (after redirects)

  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

enum class HttpErrorKind {
  invalid_request,     // unparsable URL, unsupported scheme, bad method
  resolve,             // DNS lookup failed
  connect,             // TCP connect failed (refused, unreachable)
  tls,                 // TLS handshake failed (unknown CA, host name mismatch, protocol)
  proxy,               // bad proxy URL, proxy refused CONNECT, proxy tunnel failed
  timeout,             // connect, TLS handshake or total deadline exceeded (message says which)
  too_large,           // response body or header exceeds its limit
  protocol,            // malformed HTTP response
  io,                  // connection reset or closed by the peer during the exchange
  too_many_redirects,  // more than 5 redirects
  redirect_refused,    // never followed: a redirect from https to http, or one that would
                       // carry the request body to another origin
  cancelled,           // the client was shut down while the request was in flight
};

std::string_view to_string(HttpErrorKind kind);

/// Where a request goes: scheme, host and port. Credentials belong to one origin.
struct Origin {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower-case; IPv6 without brackets
  std::uint16_t port = 0;  // the scheme's default filled in when the URL names none

  bool operator==(const Origin&) const = default;
  /// "https://management.azure.com:443", always with the port ("[::1]:8443" for IPv6).
  std::string to_string() const;
};

/// The origin a request to `url` is sent to, parsed exactly as HttpClient implementations parse
/// it (one parser, so a check on the origin and the connection made cannot disagree); nullopt
/// for anything send() would refuse: not absolute, not http(s), user info, no host, port 0.
std::optional<Origin> origin_of(std::string_view url);

struct HttpError {
  HttpErrorKind kind = HttpErrorKind::io;
  std::string message;
};

/// Either a response (any status code, including 4xx/5xx) or a transport-level error.
class HttpResult {
 public:
  HttpResult(HttpResponse response) : value_(std::move(response)) {}  // NOLINT: implicit by design
  HttpResult(HttpError error) : value_(std::move(error)) {}           // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<HttpResponse>(value_); }
  explicit operator bool() const { return ok(); }
  /// Precondition: ok().
  const HttpResponse& response() const { return std::get<HttpResponse>(value_); }
  HttpResponse& response() { return std::get<HttpResponse>(value_); }
  /// Precondition: !ok().
  const HttpError& error() const { return std::get<HttpError>(value_); }

 private:
  std::variant<HttpResponse, HttpError> value_;
};

using HttpCallback = std::function<void(HttpResult)>;

/// Asynchronous HTTP client. Implementations invoke `done` exactly once, on the event loop the
/// client was built on, and never from inside send() itself.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual void send(HttpRequest request, HttpCallback done) = 0;
};

}  // namespace deployguard::http
