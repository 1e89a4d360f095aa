#include "test_server.hpp"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace deployguard::http::testing {
namespace {
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
}

ServerConnection::ServerConnection(TestServer& server, tcp::socket socket, std::size_t id)
    : server_(server), socket_(std::move(socket)), id_(id), server_alive_(server.alive_) {}

net::awaitable<std::optional<ServerRequest>> ServerConnection::read_request() {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.body_limit(1024 * 1024);
  boost::system::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await bhttp::async_read(*tls_, buffer_, parser, use_tuple);
  } else {
    std::tie(ec, std::ignore) = co_await bhttp::async_read(socket_, buffer_, parser, use_tuple);
  }
  if (ec || !*server_alive_) co_return std::nullopt;
  auto req = parser.release();
  RecordedRequest rec;
  rec.connection = id_;
  rec.method = std::string(req.method_string());
  rec.target = std::string(req.target());
  for (const auto& field : req) {
    rec.headers.push_back({std::string(field.name_string()), std::string(field.value())});
  }
  rec.body = req.body();
  rec.sni = sni;
  server_.requests_.push_back(std::move(rec));
  co_return req;
}

net::awaitable<bool> ServerConnection::write(ServerResponse res) {
  res.prepare_payload();
  boost::system::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await bhttp::async_write(*tls_, res, use_tuple);
  } else {
    std::tie(ec, std::ignore) = co_await bhttp::async_write(socket_, res, use_tuple);
  }
  co_return !ec;
}

net::awaitable<bool> ServerConnection::write_raw(std::string bytes) {
  boost::system::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await net::async_write(*tls_, net::buffer(bytes), use_tuple);
  } else {
    std::tie(ec, std::ignore) = co_await net::async_write(socket_, net::buffer(bytes), use_tuple);
  }
  co_return !ec;
}

net::awaitable<void> ServerConnection::wait_for_close() {
  char byte = 0;
  for (;;) {
    auto [ec, n] = co_await socket_.async_read_some(net::buffer(&byte, 1), use_tuple);
    if (ec) co_return;
  }
}

void ServerConnection::close() {
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void ServerConnection::reset() {
  boost::system::error_code ignored;
  socket_.set_option(net::socket_base::linger(true, 0), ignored);
  socket_.close(ignored);
}

ServerResponse make_response(unsigned status, std::string body,
                             std::vector<std::pair<std::string, std::string>> headers) {
  ServerResponse res{static_cast<bhttp::status>(status), 11};
  for (auto& [name, value] : headers) res.insert(name, value);
  res.body() = std::move(body);
  return res;
}

TestServer::TestServer(net::io_context& ioc, Handler handler, const std::string& address,
                       net::ssl::context* tls, int backlog)
    : ioc_(ioc), handler_(std::move(handler)), address_(address), tls_(tls), acceptor_(ioc) {
  const tcp::endpoint endpoint(net::ip::make_address(address), 0);
  acceptor_.open(endpoint.protocol());
  acceptor_.bind(endpoint);
  acceptor_.listen(backlog);
  port_ = acceptor_.local_endpoint().port();
  net::co_spawn(ioc_, accept_loop(), net::detached);
}

TestServer::~TestServer() {
  *alive_ = false;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (auto& weak : open_) {
    if (auto conn = weak.lock()) conn->close();
  }
}

std::string TestServer::url(const std::string& path) const {
  return std::string(tls_ ? "https" : "http") + "://" + address_ + ":" + std::to_string(port_) +
         path;
}

net::awaitable<void> TestServer::accept_loop() {
  auto alive = alive_;
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (ec || !*alive) co_return;
    auto conn = std::make_shared<ServerConnection>(*this, std::move(socket), connections_++);
    open_.push_back(conn);
    net::co_spawn(ioc_, serve(conn), net::detached);
  }
}

net::awaitable<void> TestServer::serve(std::shared_ptr<ServerConnection> conn) {
  auto alive = alive_;
  if (tls_) {
    conn->tls_ = std::make_unique<net::ssl::stream<tcp::socket&>>(conn->socket_, *tls_);
    auto [ec] = co_await conn->tls_->async_handshake(net::ssl::stream_base::server, use_tuple);
    if (!*alive) co_return;
    if (ec) {
      ++tls_failures_;
      conn->close();
      co_return;
    }
    if (const char* name = SSL_get_servername(conn->tls_->native_handle(),
                                              TLSEXT_NAMETYPE_host_name)) {
      conn->sni = name;
    }
  }
  co_await handler_(*conn);
}

net::awaitable<void> TestServer::echo_target(ServerConnection& conn) {
  while (auto req = co_await conn.read_request()) {
    auto res = make_response(200, "ok:" + std::string(req->target()));
    res.keep_alive(req->keep_alive());
    if (!co_await conn.write(std::move(res))) co_return;
  }
}

}  // namespace deployguard::http::testing
