#pragma once
// Asynchronous HTTP/1.1 server (Boost.Beast) for the guard's API.
//
// Threading: everything in this file runs on ONE thread, the thread that runs the io_context the
// server was built with. There are no strands because there is nothing to serialise: sessions,
// the acceptor, the connection registry and every Responder call happen on that thread. Calling
// a Responder from another thread is a bug; post() onto the server's executor instead.
//
// Bounds enforced per connection (see ServerOptions):
//   * the first request of a connection must arrive completely within read_timeout of the
//     accept; on keep-alive connections the wait for the next request's first byte is bounded by
//     idle_timeout, and from that first byte the whole request must arrive within read_timeout.
//     The deadline is absolute, so a client that trickles bytes is cut off.
//   * headers larger than max_header_bytes -> 431, bodies larger than the route's body limit
//     (body_limit_for, default max_body_bytes) -> 413, unparseable HTTP -> 400; all then close.
//   * at most max_connections connections are served, and at most max_connections_per_client
//     from one peer address; extra ones are answered 503 (with Retry-After) and closed.
//   * writes are bounded by write_timeout.
// HEAD: the handler answers HEAD like GET; the server strips the body and keeps its length.
//
// TLS (ServerOptions::tls): the same sessions over OpenSSL, TLS 1.2 minimum. The handshake counts
// against the first request's read_timeout (the deadline runs from the accept), so a client that
// connects and stays silent, or speaks plain HTTP, is cut off and logged without affecting other
// connections. Over max_connections a TLS connection is closed without the canned 503 (writing
// plaintext to a TLS client would only be noise). reload_tls() swaps the certificate for new
// connections; open ones keep the one they were accepted with.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/time.hpp"

namespace deployguard::http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

using Request = beast::http::request<beast::http::string_body>;
using RequestHeader = beast::http::request_header<>;
using Response = beast::http::response<beast::http::string_body>;
using Status = beast::http::status;

/// PEM files for a TLS listener.
struct TlsFiles {
  std::string cert_file;  // certificate chain, leaf first
  std::string key_file;   // private key of the leaf (unencrypted)
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: the OS picks; read it back with Server::local_endpoint()
  std::size_t max_connections = 30000;  // as the config default (server.max_connections)
  /// Most connections from one peer address (0: no per-client limit); beyond it the connection
  /// gets a canned 503 with Retry-After (a TLS one is closed). Peers for which
  /// exempt_from_client_limit holds (trusted reverse proxies) count only against max_connections.
  std::size_t max_connections_per_client = 0;
  std::function<bool(const net::ip::address&)> exempt_from_client_limit;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  /// Body limit per request, decided from its header (e.g. a larger limit for the webhook
  /// route). Unset: max_body_bytes for every request.
  std::function<std::size_t(const RequestHeader&)> body_limit_for;
  /// Observes every response the server sends (request target, status), e.g. for metrics.
  /// Includes the server's own 400/413/431/503 answers sent before a request was complete
  /// (target "" then).
  std::function<void(std::string_view target, unsigned status)> on_response;
  Duration read_timeout = std::chrono::seconds{10};
  Duration idle_timeout = std::chrono::seconds{60};
  Duration write_timeout = std::chrono::seconds{10};
  /// Set: serve HTTPS with these files (loaded by the constructor); unset: plain HTTP.
  std::optional<TlsFiles> tls;
};

namespace detail {
class Session;
}

/// Sends the response to one request, now or later. Movable, one-shot, io-thread only.
/// Guarantees: a call after the client disconnected, after the server force-closed the
/// connection, or a second call, is a no-op. A Responder destroyed without being called answers
/// 500, so a handler bug never leaves a client hanging until its own timeout.
class Responder {
 public:
  Responder() = default;
  Responder(std::weak_ptr<detail::Session> session, std::uint64_t request_id);
  Responder(Responder&& other) noexcept;
  Responder& operator=(Responder&& other) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  /// Sends `response`. The server sets version, keep-alive and Content-Length.
  void operator()(Response response);
  /// True while the request's connection is open and this responder has not been used.
  bool connected() const;
  /// The peer address of the request's connection (nullopt once it is gone, or unknown).
  std::optional<net::ip::address> peer() const;
  /// Called once if the client disconnects (or the server force-closes the connection) before
  /// the response is sent; for long-poll waiters to free their slot. Replaces any earlier one.
  void on_disconnect(std::function<void()> callback);

 private:
  void answer_if_unused();

  std::weak_ptr<detail::Session> session_;
  std::uint64_t request_id_ = 0;
};

/// Called once per complete request, on the io thread. May answer synchronously (call the
/// responder before returning) or keep the responder and answer later. Exceptions thrown by the
/// handler become a 500.
using Handler = std::function<void(Request&&, Responder)>;

/// JSON error response `{"error":{"code":"...","message":"..."}}` used by the server and the API.
Response make_error_response(Status status, std::string_view code, std::string_view message);

class Server {
 public:
  /// With options.tls, loads the certificate and key; throws std::runtime_error naming the file
  /// and the OpenSSL reason if they cannot be loaded or do not match (a fatal startup error).
  Server(net::any_io_executor executor, ServerOptions options, Handler handler);
  ~Server();  // closes the acceptor; open connections end with the io_context
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Resolves, binds and listens, then starts accepting. Throws boost::system::system_error
  /// (address in use, bad host, ...): startup errors are fatal. Call on the io thread or before
  /// the io_context runs.
  void start();
  /// The bound address (useful with port 0). Valid after start().
  tcp::endpoint local_endpoint() const;

  /// Graceful stop: stops accepting, closes idle keep-alive connections at once, lets requests in
  /// flight finish (their responses carry `Connection: close`), and force-closes whatever is
  /// still open after `grace` (pending responders then see a disconnect). `on_stopped` runs on the
  /// io thread once no connection is left. Calling it again only replaces `on_stopped`.
  void stop(Duration grace, std::function<void()> on_stopped = {});

  /// Connections currently holding a slot (counted against max_connections).
  std::size_t connection_count() const;

  /// True if this server speaks TLS (options.tls was set).
  bool tls() const;
  /// Re-reads options.tls's cert_file and key_file into a new TLS context. On success new
  /// connections use it (open ones keep theirs) and nullopt is returned; on failure the old
  /// context stays in use and the error (file and OpenSSL reason) is returned. Nothing to do
  /// (and nullopt) for a plain server. io thread only (or before the io_context runs).
  std::optional<std::string> reload_tls();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace deployguard::http
