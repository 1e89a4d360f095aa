#pragma once
// A scripted HTTP/1.1 test server on 127.0.0.x port 0, running on the test's io_context (the
// same loop as the client, so tests need no threads). Each accepted connection runs the
// handler coroutine, which decides how to misbehave. The server must outlive every later run of
// the io_context (destroy it with the test, after the client).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "http/client/http_client.hpp"

namespace deployguard::http::testing {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using ServerRequest = bhttp::request<bhttp::string_body>;
using ServerResponse = bhttp::response<bhttp::string_body>;

struct RecordedRequest {
  std::size_t connection = 0;  // index of the accepted connection it arrived on
  std::string method;
  std::string target;
  Headers headers;
  std::string body;
  std::string sni;  // TLS servers: server name the client sent, if any

  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

class TestServer;

class ServerConnection {
 public:
  ServerConnection(TestServer& server, tcp::socket socket, std::size_t id);

  /// Reads one request (recorded in the server); nullopt on EOF or error.
  net::awaitable<std::optional<ServerRequest>> read_request();
  /// Writes `res` after prepare_payload(); false on error.
  net::awaitable<bool> write(ServerResponse res);
  net::awaitable<bool> write_raw(std::string bytes);
  /// Suspends until the peer closes the connection (or the server stops).
  net::awaitable<void> wait_for_close();
  void close();
  /// Closes with SO_LINGER 0 so the peer sees a TCP reset.
  void reset();

  std::size_t id() const { return id_; }
  tcp::socket& socket() { return socket_; }
  boost::beast::flat_buffer& buffer() { return buffer_; }
  net::ssl::stream<tcp::socket&>* tls() { return tls_.get(); }
  std::string sni;

 private:
  friend class TestServer;
  TestServer& server_;
  tcp::socket socket_;
  std::unique_ptr<net::ssl::stream<tcp::socket&>> tls_;
  boost::beast::flat_buffer buffer_;
  std::size_t id_;
  std::shared_ptr<bool> server_alive_;  // the handler may outlive the server in a torn-down test
};

/// Returns a simple response.
ServerResponse make_response(unsigned status, std::string body = {},
                             std::vector<std::pair<std::string, std::string>> headers = {});

class TestServer {
 public:
  using Handler = std::function<net::awaitable<void>(ServerConnection&)>;

  /// Listens on `address`:0. With `tls`, every connection does a server handshake first; a
  /// failed handshake is counted in tls_failures() and the handler is not run.
  TestServer(net::io_context& ioc, Handler handler, const std::string& address = "127.0.0.1",
             net::ssl::context* tls = nullptr, int backlog = net::socket_base::max_listen_connections);
  ~TestServer();

  std::uint16_t port() const { return port_; }
  std::string address() const { return address_; }
  /// "http(s)://<address>:<port><path>"
  std::string url(const std::string& path) const;

  std::size_t connections() const { return connections_; }
  std::size_t tls_failures() const { return tls_failures_; }
  const std::vector<RecordedRequest>& requests() const { return requests_; }

  /// Handler that answers every request on the connection with 200 "ok:<target>".
  static net::awaitable<void> echo_target(ServerConnection& conn);

 private:
  friend class ServerConnection;
  net::awaitable<void> accept_loop();
  net::awaitable<void> serve(std::shared_ptr<ServerConnection> conn);

  net::io_context& ioc_;
  Handler handler_;
  std::string address_;
  net::ssl::context* tls_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::size_t connections_ = 0;
  std::size_t tls_failures_ = 0;
  std::vector<RecordedRequest> requests_;
  std::vector<std::weak_ptr<ServerConnection>> open_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace deployguard::http::testing
