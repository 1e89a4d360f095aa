#include "cli/api_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

namespace deployguard::cli {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

ApiClient::ApiClient(std::string server_url, std::optional<std::string> token,
                     std::chrono::seconds timeout)
    : server_url_(std::move(server_url)), token_(std::move(token)), timeout_(timeout) {
  while (!server_url_.empty() && server_url_.back() == '/') server_url_.pop_back();
  auto parsed = boost::urls::parse_absolute_uri(server_url_);
  if (!parsed) throw ApiError{"invalid server URL \"" + server_url_ + "\" (expected http://HOST:PORT)"};
  if (parsed->scheme() != "http")
    throw ApiError{"unsupported server URL scheme \"" + std::string(parsed->scheme()) +
                   "\" (the daemon API is plain http on a private listener)"};
  host_ = std::string(parsed->host_address());
  port_ = parsed->has_port() ? std::string(parsed->port()) : "80";
  if (host_.empty()) throw ApiError{"server URL \"" + server_url_ + "\" has no host"};
}

ApiResponse ApiClient::request(const std::string& method, const std::string& target,
                               const std::string& body,
                               std::optional<std::chrono::seconds> timeout) const {
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(timeout.value_or(timeout_));
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  const auto endpoints = resolver.resolve(host_, port_, ec);
  if (ec) throw ApiError{"cannot resolve " + host_ + ": " + ec.message()};
  stream.connect(endpoints, ec);
  if (ec) throw ApiError{"cannot connect to " + server_url_ + ": " + ec.message()};

  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, host_ + ":" + port_);
  req.set(http::field::user_agent, "deployguard-cli");
  req.set(http::field::accept, "application/json");
  if (token_) req.set(http::field::authorization, "Bearer " + *token_);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  http::write(stream, req, ec);
  if (ec) throw ApiError{"cannot send request to " + server_url_ + ": " + ec.message()};

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  http::read(stream, buffer, parser, ec);
  if (ec == beast::error::timeout)
    throw ApiError{"no answer from " + server_url_ + " within the deadline"};
  if (ec) throw ApiError{"bad answer from " + server_url_ + ": " + ec.message()};
  auto res = parser.release();
  ApiResponse out;
  out.status = res.result_int();
  out.body = std::move(res.body());
  if (auto it = res.find(http::field::retry_after); it != res.end())
    out.retry_after = std::string(it->value());
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

}  // namespace deployguard::cli
