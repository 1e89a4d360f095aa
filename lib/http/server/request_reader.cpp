#include "http/server/request_reader.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

namespace deployguard::http {

namespace bhttp = beast::http;
using error_code = boost::system::error_code;

void RequestReader::start(const ServerOptions& options) {
  options_ = &options;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(options.max_header_bytes, UINT32_MAX)));
  // No body limit while reading the header: the limit depends on the route, applied below.
  parser_->body_limit(boost::none);
  header_checked_ = false;
  header_bytes_ = 0;
}

RequestReader::Step RequestReader::parse(beast::flat_buffer& buffer) {
  for (;;) {
    // Checked first: parse() is called again after `header`, when a request without a body is
    // already complete and the buffer may hold nothing more.
    if (header_checked_ && parser_->is_done()) return Step::done;
    if (buffer.size() == 0) return Step::need_more;
    error_code ec;
    const std::size_t used = parser_->put(buffer.data(), ec);
    buffer.consume(used);
    if (!header_checked_) header_bytes_ += used;  // put() stops at the end of the header
    if (ec == bhttp::error::need_more) {
      // An incomplete header stays in the buffer; more of it than the limit is refused now,
      // not only once the next read arrives (Beast's own check depends on how it arrived).
      if (!header_checked_ && header_bytes_ + buffer.size() > options_->max_header_bytes)
        return on_error(bhttp::error::header_limit);
      return Step::need_more;
    }
    if (ec) return on_error(ec);
    if (!header_checked_ && parser_->is_header_done()) {
      header_checked_ = true;
      // Beast applies header_limit to the request line and to the fields separately when both
      // arrive in one put(), so a header of up to twice the limit passes there; split over
      // several reads it is held to the limit. The whole header counts, however it arrived.
      if (header_bytes_ > options_->max_header_bytes) return on_error(bhttp::error::header_limit);
      const auto& header = parser_->get().base();
      const std::size_t limit =
          options_->body_limit_for ? options_->body_limit_for(header) : options_->max_body_bytes;
      if (auto length = parser_->content_length(); length && *length > limit)
        return reject(Status::payload_too_large, "payload_too_large",
                      "request body exceeds " + std::to_string(limit) + " bytes");
      parser_->body_limit(limit);
      return Step::header;
    }
    if (parser_->is_done()) return Step::done;
    if (used == 0) return Step::need_more;
  }
}

bool RequestReader::wants_continue() const {
  return parser_ && !parser_->is_done() &&
         beast::iequals(parser_->get()[bhttp::field::expect], "100-continue");
}

Request RequestReader::release() {
  Request request = parser_->release();
  parser_.reset();
  return request;
}

RequestReader::Step RequestReader::reject(Status status, std::string code, std::string message) {
  parser_.reset();
  rejection_ = Rejection{status, std::move(code), std::move(message)};
  return Step::rejected;
}

RequestReader::Step RequestReader::on_error(const error_code& ec) {
  if (ec == bhttp::error::header_limit)
    return reject(Status::request_header_fields_too_large, "header_too_large",
                  "request header exceeds " + std::to_string(options_->max_header_bytes) +
                      " bytes");
  if (ec == bhttp::error::body_limit)
    return reject(Status::payload_too_large, "payload_too_large", "request body too large");
  if (ec.category() != bhttp::make_error_code(bhttp::error::end_of_stream).category()) {
    parser_.reset();
    return Step::broken;
  }
  return reject(Status::bad_request, "bad_request", "malformed HTTP request: " + ec.message());
}

}  // namespace deployguard::http
