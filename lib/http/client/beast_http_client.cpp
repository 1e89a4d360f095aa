#include "http/client/beast_http_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "log/escape.hpp"
#include "log/log.hpp"

namespace deployguard::http {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

std::optional<std::string_view> find_header(const Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (beast::iequals(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

std::string_view to_string(HttpErrorKind kind) {
  switch (kind) {
    case HttpErrorKind::invalid_request: return "invalid_request";
    case HttpErrorKind::resolve: return "resolve";
    case HttpErrorKind::connect: return "connect";
    case HttpErrorKind::tls: return "tls";
    case HttpErrorKind::proxy: return "proxy";
    case HttpErrorKind::timeout: return "timeout";
    case HttpErrorKind::too_large: return "too_large";
    case HttpErrorKind::protocol: return "protocol";
    case HttpErrorKind::io: return "io";
    case HttpErrorKind::too_many_redirects: return "too_many_redirects";
    case HttpErrorKind::redirect_refused: return "redirect_refused";
    case HttpErrorKind::cancelled: return "cancelled";
  }
  return "unknown";
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

template <class S>
std::string str(const S& s) {
  return std::string(s.data(), s.size());
}

/// An absolute http(s) URL split into what the exchange needs.
struct Target {
  std::string scheme;       // "http" or "https"
  std::string host;         // lower-case; IPv6 without brackets
  bool host_is_ip = false;  // no SNI for IP literals
  std::uint16_t port = 0;
  std::string authority;    // "host:port" / "[v6]:port", always with the port
  std::string host_header;  // Host header: port only when not the scheme default
  std::string target;       // origin-form: path + "?" + query
  std::string path;         // for logs: never the query (pre-signed URLs carry secrets there)
  std::string url;          // normalized absolute URL without fragment

  std::string origin_key() const { return scheme + "://" + authority; }
  Origin origin() const { return Origin{scheme, host, port}; }
};

std::variant<Target, HttpError> parse_target(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return HttpError{HttpErrorKind::invalid_request, "invalid URL"};
  const auto& u = *parsed;
  Target t;
  t.scheme = lower(str(u.scheme()));
  if (t.scheme != "http" && t.scheme != "https") {
    return HttpError{HttpErrorKind::invalid_request, "unsupported URL scheme '" + t.scheme + "'"};
  }
  if (u.has_userinfo()) {
    return HttpError{HttpErrorKind::invalid_request, "credentials in URLs are not supported"};
  }
  t.host = lower(u.host_address());
  if (t.host.empty()) return HttpError{HttpErrorKind::invalid_request, "URL has no host"};
  const bool v6 = u.host_type() == boost::urls::host_type::ipv6;
  t.host_is_ip = v6 || u.host_type() == boost::urls::host_type::ipv4;
  const std::uint16_t default_port = t.scheme == "https" ? 443 : 80;
  t.port = default_port;
  if (u.has_port()) {
    if (u.port().empty() || u.port_number() == 0) {
      return HttpError{HttpErrorKind::invalid_request, "URL has an invalid port"};
    }
    t.port = u.port_number();
  }
  const std::string bracketed = v6 ? "[" + t.host + "]" : t.host;
  t.authority = bracketed + ":" + std::to_string(t.port);
  t.host_header = t.port == default_port ? bracketed : t.authority;
  t.path = str(u.encoded_path());
  if (t.path.empty()) t.path = "/";
  t.target = t.path;
  if (u.has_query()) t.target += "?" + str(u.encoded_query());
  t.url = t.scheme + "://" + t.host_header + t.target;
  return t;
}

}  // namespace

std::string Origin::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return scheme + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<Origin> origin_of(std::string_view url) {
  auto parsed = parse_target(url);
  if (const auto* t = std::get_if<Target>(&parsed)) return t->origin();
  return std::nullopt;
}

namespace {

std::optional<std::string> resolve_location(const std::string& base, std::string_view location) {
  auto b = boost::urls::parse_uri(base);
  auto ref = boost::urls::parse_uri_reference(location);
  if (!b || !ref) return std::nullopt;
  boost::urls::url dest;
  if (!boost::urls::resolve(*b, *ref, dest)) return std::nullopt;
  dest.remove_fragment();
  return str(dest.buffer());
}

bool valid_token(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                                  std::string_view::npos;
  });
}

bool valid_header_value(std::string_view s) {
  return s.find_first_of("\r\n") == std::string_view::npos && s.find('\0') == std::string_view::npos;
}

void erase_header(Headers& headers, std::string_view name) {
  std::erase_if(headers, [&](const Header& h) { return beast::iequals(h.name, name); });
}

long long ms_since(SteadyClock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count();
}

}  // namespace

/// One TCP connection, optionally wrapped in TLS. Heap-allocated and never moved, so the TLS
/// stream can reference the socket (this makes "CONNECT, then TLS inside" trivial).
/// Lifetime: every pending operation's handler holds a shared_ptr to its Connection, because a
/// timeout or shutdown (Exchange::finish) drops the Exchange's reference while a read or write
/// is still in flight; the cancelled operation still touches the socket and buffer when it
/// completes with operation_aborted.
struct Connection {
  explicit Connection(net::io_context& ioc) : socket(ioc), idle_timer(ioc) {}

  template <class F>
  void with_stream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(socket);
    }
  }

  void close() {
    boost::system::error_code ignored;
    socket.close(ignored);  // no TLS close_notify: we never reuse or resume the session
    idle_timer.cancel();
  }

  tcp::socket socket;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls;
  beast::flat_buffer buffer;
  net::steady_timer idle_timer;
  std::string key;
};

class Exchange;

struct BeastHttpClient::Impl : std::enable_shared_from_this<BeastHttpClient::Impl> {
  Impl(net::io_context& io, BeastHttpClientOptions o)
      : ioc(io), options(std::move(o)), tls_ctx(ssl::context::tls_client), log(logging::subsystem_logger("http_client")) {
    tls_ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                        ssl::context::no_tlsv1_1);
    tls_ctx.set_verify_mode(ssl::verify_peer);
    boost::system::error_code ec;
    tls_ctx.set_default_verify_paths(ec);
    if (ec) log->warn("event=tls_default_verify_paths_failed error=\"{}\"", ec.message());
    if (options.config.ca_file) {
      tls_ctx.load_verify_file(*options.config.ca_file, ec);
      if (ec) {
        throw std::runtime_error("http_client: cannot load ca_file '" + *options.config.ca_file +
                                 "': " + ec.message());
      }
    }
  }

  /// Takes an idle connection for `key`, or nullptr.
  std::shared_ptr<Connection> acquire(const std::string& key) {
    auto it = idle.find(key);
    if (it == idle.end() || it->second.empty()) return nullptr;
    auto conn = std::move(it->second.back());  // most recently used: least likely closed
    it->second.pop_back();
    if (it->second.empty()) idle.erase(it);
    boost::system::error_code ignored;
    conn->socket.cancel(ignored);  // stops the idle readability watch
    conn->idle_timer.cancel();
    return conn;
  }

  void release(std::shared_ptr<Connection> conn) {
    auto& list = idle[conn->key];
    if (closed || list.size() >= options.max_idle_per_origin) {
      conn->close();
      return;
    }
    list.push_back(conn);
    // A server never speaks first on an idle HTTP/1.1 connection: readability means it closed
    // (or misbehaves). Drop the connection then instead of finding out on the next request.
    std::weak_ptr<Impl> weak_self = weak_from_this();
    std::weak_ptr<Connection> weak_conn = conn;
    auto drop = [weak_self, weak_conn](boost::system::error_code ec) {
      if (ec == net::error::operation_aborted) return;
      auto self = weak_self.lock();
      auto c = weak_conn.lock();
      if (self && c) self->discard_idle(c);
    };
    conn->socket.async_wait(tcp::socket::wait_read, drop);
    conn->idle_timer.expires_after(options.idle_timeout);
    conn->idle_timer.async_wait(drop);
  }

  void discard_idle(const std::shared_ptr<Connection>& conn) {
    auto it = idle.find(conn->key);
    if (it == idle.end()) return;
    auto& list = it->second;
    auto pos = std::find(list.begin(), list.end(), conn);
    if (pos == list.end()) return;  // already taken by a request
    (*pos)->close();
    list.erase(pos);
    if (list.empty()) idle.erase(it);
  }

  void shutdown();

  net::io_context& ioc;
  BeastHttpClientOptions options;
  ssl::context tls_ctx;  // declared before the pool: connections reference it
  std::shared_ptr<spdlog::logger> log;
  std::map<std::string, std::vector<std::shared_ptr<Connection>>> idle;
  std::vector<std::weak_ptr<Exchange>> active;
  bool closed = false;
};

namespace {

bool is_idempotent(std::string_view method) { return method == "GET" || method == "HEAD"; }

bool is_redirect(unsigned status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

/// One send(): possibly several hops (redirects) and one retry on a fresh connection.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(std::shared_ptr<BeastHttpClient::Impl> impl, HttpRequest request, HttpCallback done)
      : impl_(std::move(impl)),
        req_(std::move(request)),
        done_(std::move(done)),
        total_timer_(impl_->ioc),
        phase_timer_(impl_->ioc),
        resolver_(impl_->ioc) {}

  void start() {
    if (impl_->closed) return finish(HttpError{HttpErrorKind::cancelled, "client shut down"});
    const Duration total = req_.timeout.value_or(impl_->options.config.request_timeout);
    total_timer_.expires_after(total);
    total_timer_.async_wait([self = shared_from_this(), total](boost::system::error_code ec) {
      if (ec) return;
      self->fail_now(HttpError{HttpErrorKind::timeout, "request deadline of " +
                                                           std::to_string(total.count()) +
                                                           "ms exceeded"});
    });
    auto first = parse_target(req_.url);
    if (auto* err = std::get_if<HttpError>(&first)) return finish(*err);
    original_origin_ = std::get<Target>(first).origin();
    begin_hop(std::get<Target>(std::move(first)));
  }

  void fail_now(HttpError error) {
    if (finished_) return;
    finish(std::move(error));  // closes the socket; pending handlers see finished_ and return
  }

 private:
  // ---- hop setup -------------------------------------------------------------------------

  void begin_hop(Target target) {
    target_ = std::move(target);
    proxy_.reset();
    auto choice = select_proxy(impl_->options.proxies, target_.scheme, target_.host, target_.port);
    if (auto* err = std::get_if<ProxyParseError>(&choice)) {
      return finish(HttpError{HttpErrorKind::proxy, err->message});
    }
    if (auto* endpoint = std::get_if<ProxyEndpoint>(&choice)) proxy_ = *endpoint;
    pool_key_ = target_.origin_key() + (proxy_ ? "|via " + proxy_->key() : "");

    if (auto err = build_wire_request()) return finish(std::move(*err));

    retried_ = false;
    conn_ = impl_->acquire(pool_key_);
    if (conn_) {
      reused_ = true;
      send_request();
    } else {
      reused_ = false;
      connect();
    }
  }

  std::optional<HttpError> build_wire_request() {
    if (!valid_token(req_.method)) {
      return HttpError{HttpErrorKind::invalid_request, "invalid method"};
    }
    wire_ = {};
    wire_.version(11);
    const auto verb = bhttp::string_to_verb(req_.method);
    if (verb == bhttp::verb::unknown) {
      wire_.method_string(req_.method);
    } else {
      wire_.method(verb);
    }
    // http:// through a proxy uses the absolute form; https is tunnelled and uses origin-form.
    wire_.target(proxy_ && target_.scheme == "http" ? target_.url : target_.target);
    for (const auto& h : req_.headers) {
      if (!valid_token(h.name) || !valid_header_value(h.value)) {
        return HttpError{HttpErrorKind::invalid_request, "invalid header '" + h.name + "'"};
      }
      wire_.insert(h.name, h.value);
    }
    if (wire_.find(bhttp::field::host) == wire_.end()) wire_.set(bhttp::field::host, target_.host_header);
    if (wire_.find(bhttp::field::user_agent) == wire_.end()) {
      wire_.set(bhttp::field::user_agent, impl_->options.user_agent);
    }
    if (proxy_ && target_.scheme == "http" && proxy_->authorization) {
      wire_.set(bhttp::field::proxy_authorization, *proxy_->authorization);
    }
    wire_.body() = req_.body;
    wire_.prepare_payload();
    return std::nullopt;
  }

  // ---- connection establishment ----------------------------------------------------------

  void start_phase(const std::string& what) {
    const auto generation = ++phase_generation_;
    phase_timer_.expires_after(impl_->options.config.connect_timeout);
    phase_timer_.async_wait(
        [self = shared_from_this(), generation, what](boost::system::error_code ec) {
          if (ec || generation != self->phase_generation_) return;
          self->fail_now(HttpError{HttpErrorKind::timeout, what + " timed out after " +
                                       std::to_string(self->impl_->options.config.connect_timeout.count()) + "ms"});
        });
  }

  void end_phase() {
    ++phase_generation_;
    phase_timer_.cancel();
  }

  void connect() {
    conn_ = std::make_shared<Connection>(impl_->ioc);
    conn_->key = pool_key_;
    const std::string host = proxy_ ? proxy_->host : target_.host;
    const std::uint16_t port = proxy_ ? proxy_->port : target_.port;
    const std::string peer = (proxy_ ? "proxy " : "") + host + ":" + std::to_string(port);
    start_phase("connect to " + peer);
    resolver_.async_resolve(
        host, std::to_string(port),
        [self = shared_from_this(), conn = conn_, peer](boost::system::error_code ec,
                                                        const tcp::resolver::results_type& results) {
          if (self->finished_) return;
          if (ec) {
            return self->finish(HttpError{self->proxy_ ? HttpErrorKind::proxy : HttpErrorKind::resolve,
                                          "cannot resolve " + peer + ": " + ec.message()});
          }
          net::async_connect(
              conn->socket, results,
              [self, conn, peer](boost::system::error_code cec, const tcp::endpoint&) {
                if (self->finished_) return;
                if (cec) {
                  return self->finish(HttpError{
                      self->proxy_ ? HttpErrorKind::proxy : HttpErrorKind::connect,
                      "cannot connect to " + peer + ": " + cec.message()});
                }
                self->end_phase();
                boost::system::error_code ignored;
                self->conn_->socket.set_option(tcp::no_delay(true), ignored);
                if (self->proxy_ && self->target_.scheme == "https") {
                  self->open_tunnel();
                } else {
                  self->after_tcp();
                }
              });
        });
  }

  void open_tunnel() {
    start_phase("proxy CONNECT to " + target_.authority);
    tunnel_req_ = {};
    tunnel_req_.version(11);
    tunnel_req_.method(bhttp::verb::connect);
    tunnel_req_.target(target_.authority);
    tunnel_req_.set(bhttp::field::host, target_.authority);
    tunnel_req_.set(bhttp::field::user_agent, impl_->options.user_agent);
    if (proxy_->authorization) {
      tunnel_req_.set(bhttp::field::proxy_authorization, *proxy_->authorization);
    }
    bhttp::async_write(conn_->socket, tunnel_req_,
                       [self = shared_from_this(), conn = conn_](boost::system::error_code ec,
                                                                 std::size_t) {
                         if (self->finished_) return;
                         if (ec) {
                           return self->finish(HttpError{HttpErrorKind::proxy,
                                                         "proxy CONNECT write failed: " + ec.message()});
                         }
                         self->read_tunnel_response();
                       });
  }

  void read_tunnel_response() {
    tunnel_parser_.emplace();
    tunnel_parser_->header_limit(static_cast<std::uint32_t>(impl_->options.max_header_bytes));
    tunnel_parser_->skip(true);  // a 2xx answer to CONNECT has no body: the tunnel follows
    bhttp::async_read_header(
        conn_->socket, conn_->buffer, *tunnel_parser_,
        [self = shared_from_this(), conn = conn_](boost::system::error_code ec, std::size_t) {
          if (self->finished_) return;
          if (ec) {
            return self->finish(HttpError{HttpErrorKind::proxy,
                                          "proxy CONNECT response: " + ec.message()});
          }
          const unsigned status = self->tunnel_parser_->get().result_int();
          if (status / 100 != 2) {
            return self->finish(HttpError{HttpErrorKind::proxy, "proxy refused CONNECT to " +
                                                                    self->target_.authority +
                                                                    " with status " +
                                                                    std::to_string(status)});
          }
          if (self->conn_->buffer.size() != 0) {
            return self->finish(HttpError{HttpErrorKind::proxy,
                                          "proxy sent data before the TLS handshake"});
          }
          self->end_phase();
          self->after_tcp();
        });
  }

  void after_tcp() {
    if (target_.scheme == "https") return tls_handshake();
    send_request();
  }

  void tls_handshake() {
    conn_->tls = std::make_unique<ssl::stream<tcp::socket&>>(conn_->socket, impl_->tls_ctx);
    SSL* native = conn_->tls->native_handle();
    // SSL_set_tlsext_host_name() is a macro with a C-style cast; call what it expands to.
    if (!target_.host_is_ip &&
        SSL_ctrl(native, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(target_.host.c_str())) != 1) {
      return finish(HttpError{HttpErrorKind::tls, "cannot set SNI host name"});
    }
    conn_->tls->set_verify_mode(ssl::verify_peer);
    // host_name_verification checks DNS names and IP literals; record a precise error on a
    // mismatch so the failure message says "hostname mismatch" rather than just "verify failed".
    conn_->tls->set_verify_callback(
        [check = ssl::host_name_verification(target_.host)](bool preverified,
                                                             ssl::verify_context& ctx) mutable {
          if (!preverified) return false;
          if (check(preverified, ctx)) return true;
          X509_STORE_CTX_set_error(ctx.native_handle(), X509_V_ERR_HOSTNAME_MISMATCH);
          return false;
        });
    start_phase("TLS handshake with " + target_.authority);
    conn_->tls->async_handshake(
        ssl::stream_base::client,
        [self = shared_from_this(), conn = conn_](boost::system::error_code ec) {
          if (self->finished_) return;
          if (ec) {
            std::string message = "TLS handshake with " + self->target_.authority +
                                  " failed: " + ec.message();
            const long verify = SSL_get_verify_result(self->conn_->tls->native_handle());
            if (verify != X509_V_OK) {
              message += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
            }
            return self->finish(HttpError{HttpErrorKind::tls, std::move(message)});
          }
          self->end_phase();
          self->send_request();
        });
  }

  // ---- request / response ----------------------------------------------------------------

  void send_request() {
    attempt_start_ = SteadyClock::now();
    parser_.reset();
    conn_->with_stream([this](auto& stream) {
      bhttp::async_write(stream, wire_,
                         [self = shared_from_this(), conn = conn_](boost::system::error_code ec,
                                                                   std::size_t) {
                           if (self->finished_) return;
                           if (ec) return self->on_io_error(ec);
                           self->read_response();
                         });
    });
  }

  void read_response() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(impl_->options.max_header_bytes));
    parser_->body_limit(req_.max_response_bytes.value_or(impl_->options.config.max_response_bytes));
    if (wire_.method() == bhttp::verb::head) parser_->skip(true);
    conn_->with_stream([this](auto& stream) {
      bhttp::async_read(stream, conn_->buffer, *parser_,
                        [self = shared_from_this(), conn = conn_](boost::system::error_code ec,
                                                                  std::size_t) {
                          if (self->finished_) return;
                          if (ec) return self->on_io_error(ec);
                          self->on_response();
                        });
    });
  }

  void on_io_error(boost::system::error_code ec) {
    const bool got_some = parser_ && parser_->got_some();
    const bool parse_error = ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category() &&
                             ec != bhttp::error::end_of_stream;
    // A pooled connection may have been closed by the server just as we reused it; the request
    // was then never processed, so a fresh connection may safely repeat an idempotent one.
    if (reused_ && !retried_ && !got_some && !parse_error && is_idempotent(req_.method)) {
      impl_->log->debug("event=retry_stale_connection method={} host={} path={} error=\"{}\"",
                        req_.method, logging::escape(target_.host), target_.path, ec.message());
      retried_ = true;
      reused_ = false;
      conn_->close();
      conn_.reset();
      return connect();
    }
    HttpError error;
    const auto limit = req_.max_response_bytes.value_or(impl_->options.config.max_response_bytes);
    if (ec == bhttp::error::body_limit) {
      error = {HttpErrorKind::too_large, "response body exceeds " + std::to_string(limit) + " bytes"};
    } else if (ec == bhttp::error::header_limit) {
      error = {HttpErrorKind::too_large, "response header exceeds " +
                                             std::to_string(impl_->options.max_header_bytes) +
                                             " bytes"};
    } else if (ec == bhttp::error::end_of_stream) {
      error = {HttpErrorKind::io, "connection closed before a response arrived"};
    } else if (ec == bhttp::error::partial_message) {
      error = {HttpErrorKind::io, "connection closed in the middle of the response"};
    } else if (parse_error) {
      error = {HttpErrorKind::protocol, "malformed response: " + ec.message()};
    } else {
      error = {HttpErrorKind::io, ec.message()};
    }
    finish(std::move(error));
  }

  void on_response() {
    auto res = parser_->release();
    parser_.reset();
    const unsigned status = res.result_int();
    log_attempt(&status, nullptr);

    // Pool only a connection that is cleanly at a message boundary.
    if (res.keep_alive() && conn_->buffer.size() == 0 && !impl_->closed) {
      impl_->release(std::move(conn_));
    } else {
      conn_->close();
    }
    conn_.reset();

    if (req_.follow_redirects && is_redirect(status)) {
      auto location = res.find(bhttp::field::location);
      if (location != res.end()) return follow_redirect(status, location->value());
    }

    HttpResponse out;
    out.status = status;
    for (const auto& field : res) out.headers.push_back({str(field.name_string()), str(field.value())});
    out.body = std::move(res.body());
    out.final_url = target_.url;
    finish(std::move(out));
  }

  void follow_redirect(unsigned status, std::string_view location) {
    if (redirects_ >= impl_->options.max_redirects) {
      return finish(HttpError{HttpErrorKind::too_many_redirects,
                              "more than " + std::to_string(impl_->options.max_redirects) +
                                  " redirects"});
    }
    auto next_url = resolve_location(target_.url, location);
    if (!next_url) return finish(HttpError{HttpErrorKind::protocol, "invalid Location header"});
    auto next = parse_target(*next_url);
    if (auto* err = std::get_if<HttpError>(&next)) {
      return finish(HttpError{HttpErrorKind::protocol, "redirect to an unusable URL: " + err->message});
    }
    const Origin from = target_.origin();
    const Origin to = std::get<Target>(next).origin();
    // A downgrade would put the request (and the answer we act on) in the clear.
    if (from.scheme == "https" && to.scheme == "http") {
      return finish(HttpError{HttpErrorKind::redirect_refused,
                              "redirect from " + from.to_string() + " to " + to.to_string() +
                                  " refused: https is never followed to http"});
    }
    // 303 always, and 301/302 after a POST (what every browser and curl do), become GET.
    if ((status == 303 && req_.method != "HEAD") ||
        ((status == 301 || status == 302) && req_.method == "POST")) {
      req_.method = "GET";
      req_.body.clear();
      for (auto name : {"Content-Type", "Content-Length", "Transfer-Encoding", "Content-Encoding"}) {
        erase_header(req_.headers, name);
      }
    }
    // A body that would be sent on (307/308, or a PUT/PATCH) may itself be the credential, e.g.
    // the client secret in a token request form: it goes to the origin addressed or nowhere.
    if (!req_.body.empty() && to != original_origin_) {
      return finish(HttpError{HttpErrorKind::redirect_refused,
                              "redirect of a " + req_.method + " with a body from " +
                                  from.to_string() + " to " + to.to_string() +
                                  " refused: a request body is only sent to the origin addressed"});
    }
    ++redirects_;
    // Credentials are for the origin the caller addressed; a redirect elsewhere (e.g. GitHub's
    // job logs -> pre-signed blob storage URL) must never see the token. Removed for good, so a
    // later redirect back does not bring them back either.
    if (to != original_origin_) {
      for (auto name : {"Authorization", "Cookie", "Proxy-Authorization"}) {
        erase_header(req_.headers, name);
      }
    }
    begin_hop(std::get<Target>(std::move(next)));
  }

  void log_attempt(const unsigned* status, const HttpError* error) {
    if (!impl_->log->should_log(spdlog::level::debug)) return;
    // The host is percent-decoded (a link from an upstream may name any bytes); the path stays
    // encoded and the method is a validated token.
    if (status) {
      impl_->log->debug("method={} host={} path={} status={} ms={} reused={}", req_.method,
                        logging::escape(target_.host_header), target_.path, *status,
                        ms_since(attempt_start_), reused_);
    } else {
      impl_->log->debug("method={} host={} path={} error={} message=\"{}\" ms={} reused={}",
                        req_.method, logging::escape(target_.host_header), target_.path,
                        to_string(error->kind), logging::escape(error->message),
                        ms_since(attempt_start_), reused_);
    }
  }

  void finish(HttpResult result) {
    if (finished_) return;
    finished_ = true;
    if (!result.ok() && result.error().kind != HttpErrorKind::invalid_request) {
      // Errors before the request was written (resolve, connect, TLS, proxy) count from start.
      if (attempt_start_ == SteadyClock::time_point{}) attempt_start_ = start_;
      log_attempt(nullptr, &result.error());
    }
    total_timer_.cancel();
    end_phase();
    resolver_.cancel();
    if (conn_) {
      conn_->close();
      conn_.reset();
    }
    net::post(impl_->ioc, [done = std::move(done_), result = std::move(result)]() mutable {
      done(std::move(result));
    });
  }

  std::shared_ptr<BeastHttpClient::Impl> impl_;
  HttpRequest req_;
  HttpCallback done_;
  net::steady_timer total_timer_;
  net::steady_timer phase_timer_;
  tcp::resolver resolver_;
  SteadyClock::time_point start_ = SteadyClock::now();
  SteadyClock::time_point attempt_start_{};

  Target target_;
  std::optional<ProxyEndpoint> proxy_;
  std::string pool_key_;
  Origin original_origin_;
  std::shared_ptr<Connection> conn_;
  bool reused_ = false;
  bool retried_ = false;
  bool finished_ = false;
  int redirects_ = 0;
  unsigned phase_generation_ = 0;

  bhttp::request<bhttp::string_body> wire_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  bhttp::request<bhttp::empty_body> tunnel_req_;
  std::optional<bhttp::response_parser<bhttp::empty_body>> tunnel_parser_;
};

void BeastHttpClient::Impl::shutdown() {
  closed = true;
  for (auto& weak : active) {
    if (auto exchange = weak.lock()) {
      exchange->fail_now(HttpError{HttpErrorKind::cancelled, "client shut down"});
    }
  }
  active.clear();
  for (auto& [key, list] : idle) {
    for (auto& conn : list) conn->close();
  }
  idle.clear();
}

BeastHttpClient::BeastHttpClient(net::io_context& ioc, BeastHttpClientOptions options)
    : impl_(std::make_shared<Impl>(ioc, std::move(options))) {}

BeastHttpClient::~BeastHttpClient() { impl_->shutdown(); }

void BeastHttpClient::shutdown() { impl_->shutdown(); }

std::size_t BeastHttpClient::idle_connections() const {
  std::size_t n = 0;
  for (const auto& [key, list] : impl_->idle) n += list.size();
  return n;
}

void BeastHttpClient::send(HttpRequest request, HttpCallback done) {
  auto exchange = std::make_shared<Exchange>(impl_, std::move(request), std::move(done));
  std::erase_if(impl_->active, [](const std::weak_ptr<Exchange>& w) { return w.expired(); });
  impl_->active.push_back(exchange);
  // Start from the loop, so `done` can never run inside send().
  net::post(impl_->ioc, [exchange] { exchange->start(); });
}

}  // namespace deployguard::http
