#include "common/test_http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

namespace deployguard::testing {

namespace {

int connect_fd(const std::string& host, std::uint16_t port, std::string* error) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    if (error) *error = "bad IPv4 address " + host;
    return -1;
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (error) *error = std::strerror(errno);
    return -1;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (error) *error = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

TestHttpClient::TestHttpClient(const std::string& host, std::uint16_t port) {
  std::string error;
  fd_ = connect_fd(host, port, &error);
  if (fd_ < 0) throw std::runtime_error("connect " + host + ":" + std::to_string(port) + ": " + error);
  host_ = host + ":" + std::to_string(port);
}

std::optional<TestHttpClient> TestHttpClient::try_connect(const std::string& host,
                                                          std::uint16_t port, std::string* error) {
  const int fd = connect_fd(host, port, error);
  if (fd < 0) return std::nullopt;
  TestHttpClient client{fd};
  client.host_ = host + ":" + std::to_string(port);
  return client;
}

TestHttpClient::~TestHttpClient() { close(); }

TestHttpClient::TestHttpClient(TestHttpClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      host_(std::move(other.host_)),
      inbox_(std::move(other.inbox_)),
      last_error_(std::move(other.last_error_)) {}

void TestHttpClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool TestHttpClient::send_raw(std::string_view bytes) {
  while (!bytes.empty()) {
    const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      last_error_ = std::string("send: ") + std::strerror(errno);
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool TestHttpClient::send_request(std::string_view method, std::string_view target,
                                  std::string_view extra_headers, std::string_view body) {
  std::string req;
  req.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host_);
  req.append("\r\n").append(extra_headers);
  if (!body.empty() || method == "POST" || method == "PUT")
    req.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  req.append("\r\n").append(body);
  return send_raw(req);
}

int TestHttpClient::fill(std::chrono::steady_clock::time_point deadline) {
  pollfd p{fd_, POLLIN, 0};
  const int ready = ::poll(&p, 1, remaining_ms(deadline));
  if (ready == 0) return -1;
  if (ready < 0) return errno == EINTR ? fill(deadline) : 0;
  char buf[8192];
  const auto n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return 0;
  inbox_.append(buf, static_cast<std::size_t>(n));
  return 1;
}

bool TestHttpClient::readable_within(std::chrono::milliseconds timeout) {
  if (!inbox_.empty()) return true;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

std::optional<HttpResponse> TestHttpClient::read_response(std::chrono::milliseconds timeout,
                                                          bool head) {
  namespace http = boost::beast::http;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (!inbox_.empty()) {
      http::response_parser<http::string_body> parser;
      parser.eager(true);
      parser.skip(head);
      parser.body_limit(boost::none);
      boost::system::error_code ec;
      std::size_t offset = 0;
      // Everything received is parsed; an incomplete body then needs more input (Beast's put
      // of an empty buffer in the body returns 0 without need_more: looping would spin).
      while (!parser.is_done() && offset < inbox_.size()) {
        const auto n = parser.put(
            boost::asio::buffer(inbox_.data() + offset, inbox_.size() - offset), ec);
        offset += n;
        if (ec == http::error::need_more) break;
        if (ec) {
          last_error_ = "parse: " + ec.message();
          return std::nullopt;
        }
      }
      if (parser.is_done()) {
        inbox_.erase(0, offset);
        return parser.release();
      }
    }
    const int got = fill(deadline);
    if (got < 0) {
      last_error_ = "timeout waiting for a response";
      return std::nullopt;
    }
    if (got == 0) {
      last_error_ = "connection closed before a complete response";
      return std::nullopt;
    }
  }
}

std::optional<HttpResponse> TestHttpClient::request(std::string_view method,
                                                    std::string_view target,
                                                    std::string_view extra_headers,
                                                    std::string_view body) {
  if (!send_request(method, target, extra_headers, body)) return std::nullopt;
  return read_response(5s, method == "HEAD");
}

bool TestHttpClient::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const int got = fill(deadline);
    if (got == 0) return true;
    if (got < 0) return false;
    inbox_.clear();
  }
}

std::optional<HttpResponse> http_get(const std::string& host, std::uint16_t port,
                                     std::string_view target) {
  TestHttpClient client{host, port};
  return client.request("GET", target, "Connection: close\r\n");
}

}  // namespace deployguard::testing
