#pragma once
// HttpClient over Boost.Beast: HTTP/1.1 and HTTPS (OpenSSL), keep-alive pooling, redirects,
// HTTP proxies (CONNECT tunnels for https), deadlines and size limits on everything.
//
// Threading: single event loop. Every member function, including the destructor, must be
// called on the thread running `ioc` (or before it runs). Completion callbacks run on `ioc`.
#include <cstddef>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "core/config.hpp"
#include "http/client/http_client.hpp"
#include "http/client/proxy.hpp"

namespace deployguard::http {

struct BeastHttpClientOptions {
  HttpClientConfig config;   // ca_file, connect_timeout, request_timeout, max_response_bytes
  ProxyEnvironment proxies;  // usually ProxyEnvironment::from_process_environment()
  std::size_t max_header_bytes = 64 * 1024;  // response status line + headers
  std::size_t max_idle_per_origin = 4;       // idle keep-alive connections kept per pool key
  Duration idle_timeout = std::chrono::seconds{30};  // idle pooled connections closed after this
  int max_redirects = 5;
  std::string user_agent = "deployguard/0.1";
};

/// Guarantees:
///  - `done` is called exactly once per send(), on `ioc`, never from inside send().
///  - The whole exchange (DNS, connect, proxy CONNECT, TLS, redirects, body) is bounded by the
///    total deadline (request.timeout or config.request_timeout); DNS+TCP connect, the proxy
///    CONNECT exchange and the TLS handshake are each additionally bounded by
///    config.connect_timeout.
///  - Response bodies above the cap fail with too_large as soon as Content-Length (or the bytes
///    read so far) exceed it; headers above max_header_bytes fail with too_large too.
///  - Keep-alive connections are pooled per (scheme, host, port, proxy). A pooled connection
///    that fails before any response byte arrives is retried once on a fresh connection for
///    GET and HEAD only.
///  - Redirects (301/302/303/307/308) are followed up to max_redirects; 303 (and 301/302 for
///    POST) become a body-less GET; Authorization, Cookie and Proxy-Authorization headers are
///    dropped for good once the origin (scheme, host, port; see origin_of) differs from the
///    original request's. Never followed, failing with redirect_refused: a redirect from https
///    to http, and one that would carry a request body to another origin.
///  - Certificates are verified against the system store plus config.ca_file, with SNI and
///    host name (or IP) verification; TLS 1.2 minimum.
///  - Logs one debug line per attempt to the "http_client" logger: method, host, path without
///    query string, status or error, elapsed ms. Header values are never logged.
/// Destroying the client (or calling shutdown()) fails in-flight requests with `cancelled`;
/// their callbacks still run later on `ioc` and must not touch the destroyed client.
class BeastHttpClient final : public HttpClient {
 public:
  /// Throws std::runtime_error if config.ca_file cannot be loaded (startup error).
  BeastHttpClient(boost::asio::io_context& ioc, BeastHttpClientOptions options);
  ~BeastHttpClient() override;
  BeastHttpClient(const BeastHttpClient&) = delete;
  BeastHttpClient& operator=(const BeastHttpClient&) = delete;

  void send(HttpRequest request, HttpCallback done) override;

  /// Cancels in-flight requests and closes pooled connections. Later send() calls fail with
  /// `cancelled`.
  void shutdown();

  /// Number of idle pooled connections (for tests and metrics).
  std::size_t idle_connections() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace deployguard::http
