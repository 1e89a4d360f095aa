// Minimal synchronous Beast HTTP client for the fake upstream's tests. Every socket read is
// bounded by SO_RCVTIMEO so a misbehaving server fails a test instead of hanging it.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace deployguard::fake::testing {

struct HttpResult {
  boost::beast::error_code error;  // set when the exchange failed (reset, truncated body, ...)
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names

  std::string header(const std::string& name) const;
  nlohmann::json json() const;  // throws nlohmann::json::parse_error on a malformed body
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// One keep-alive connection; requests are sent one after another on it.
class TestClient {
 public:
  explicit TestClient(std::uint16_t port);
  HttpResult request(boost::beast::http::verb method, const std::string& target, const std::string& body = {},
                     const Headers& headers = {});
  HttpResult get(const std::string& target, const Headers& headers = {}) {
    return request(boost::beast::http::verb::get, target, {}, headers);
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  std::uint16_t port_;
};

// A fresh connection per call.
HttpResult http_once(std::uint16_t port, boost::beast::http::verb method, const std::string& target,
                     const std::string& body = {}, const Headers& headers = {});

// "http://127.0.0.1:1234/a?b" -> "/a?b" (tests follow absolute links back to the fake).
std::string origin_form(const std::string& absolute_url);

}  // namespace deployguard::fake::testing
