#include "test_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>

namespace deployguard::fake::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string HttpResult::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string{} : it->second;
}

nlohmann::json HttpResult::json() const { return nlohmann::json::parse(body); }

TestClient::TestClient(std::uint16_t port) : socket_(ioc_), port_(port) {
  socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  timeval tv{};
  tv.tv_sec = 15;  // longer than any long-poll a test uses
  ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

HttpResult TestClient::request(http::verb method, const std::string& target, const std::string& body,
                               const Headers& headers) {
  HttpResult result;
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
  req.set(http::field::user_agent, "fake-upstream-tests");
  for (const auto& [name, value] : headers) req.set(name, value);
  if (!body.empty()) {
    req.body() = body;
    if (req.find(http::field::content_type) == req.end()) req.set(http::field::content_type, "application/json");
  }
  req.prepare_payload();
  http::write(socket_, req, result.error);
  if (result.error) return result;
  http::response_parser<http::string_body> parser;
  parser.body_limit(8 * 1024 * 1024);
  http::read(socket_, buffer_, parser, result.error);
  if (parser.is_header_done()) {
    result.status = parser.get().result_int();
    for (const auto& field : parser.get()) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      result.headers[name] = std::string(field.value());
    }
  }
  if (!result.error) result.body = parser.get().body();
  return result;
}

HttpResult http_once(std::uint16_t port, http::verb method, const std::string& target, const std::string& body,
                     const Headers& headers) {
  TestClient client(port);
  return client.request(method, target, body, headers);
}

std::string origin_form(const std::string& absolute_url) {
  const auto scheme = absolute_url.find("://");
  if (scheme == std::string::npos) return absolute_url;
  const auto slash = absolute_url.find('/', scheme + 3);
  return slash == std::string::npos ? "/" : absolute_url.substr(slash);
}

}  // namespace deployguard::fake::testing
