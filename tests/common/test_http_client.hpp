#pragma once
// Blocking HTTP/1.1 test client over a raw POSIX socket. Every wait is a poll() with a timeout,
// so a misbehaving server fails the test instead of hanging it. Used by the server unit tests
// and the integration tests.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace deployguard::testing {

using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
using namespace std::chrono_literals;

class TestHttpClient {
 public:
  /// Connects to host:port (IPv4 literal). Throws std::runtime_error when the connect fails.
  TestHttpClient(const std::string& host, std::uint16_t port);
  ~TestHttpClient();
  TestHttpClient(TestHttpClient&& other) noexcept;
  TestHttpClient(const TestHttpClient&) = delete;
  TestHttpClient& operator=(const TestHttpClient&) = delete;

  /// Tries to connect; nullopt (with errno text in `error`) instead of throwing.
  static std::optional<TestHttpClient> try_connect(const std::string& host, std::uint16_t port,
                                                   std::string* error = nullptr);

  /// Writes raw bytes. False if the peer already closed.
  bool send_raw(std::string_view bytes);
  /// Sends `GET target HTTP/1.1` (plus `extra_headers`, each ending in \r\n).
  bool send_request(std::string_view method, std::string_view target,
                    std::string_view extra_headers = "", std::string_view body = "");

  /// Reads one complete response. nullopt on timeout, EOF or a parse error (see last_error()).
  /// `head` skips the body (answer to a HEAD request).
  std::optional<HttpResponse> read_response(std::chrono::milliseconds timeout = 5s,
                                            bool head = false);
  /// Convenience: send_request + read_response.
  std::optional<HttpResponse> request(std::string_view method, std::string_view target,
                                      std::string_view extra_headers = "",
                                      std::string_view body = "");

  /// Waits until the server closes the connection (EOF or reset), discarding any data.
  /// False on timeout.
  bool wait_closed(std::chrono::milliseconds timeout = 5s);
  /// Waits up to `timeout` for data or EOF. True if something arrived (without consuming it).
  bool readable_within(std::chrono::milliseconds timeout);

  void close();
  int fd() const { return fd_; }
  const std::string& last_error() const { return last_error_; }

 private:
  explicit TestHttpClient(int fd) : fd_(fd) {}
  /// Reads more bytes into inbox_. 1: got data, 0: EOF/reset, -1: timeout.
  int fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string host_;
  std::string inbox_;
  std::string last_error_;
};

/// One request on a fresh connection.
std::optional<HttpResponse> http_get(const std::string& host, std::uint16_t port,
                                     std::string_view target);

}  // namespace deployguard::testing
