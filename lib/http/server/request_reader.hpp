#pragma once
// The parsing half of a server session: one request read from buffered bytes with Beast's
// request_parser, ServerOptions' header limit and per-route body limit applied, every parse error
// mapped to the answer the server sends. No I/O: the session reads into the buffer and acts on
// each step; the fuzzer (tests/fuzz/fuzz_http_request.cpp) feeds the same reader bytes directly.
//
// Guarantees, per request (start() .. done/rejected/broken):
//   * a header (request line and fields) larger than max_header_bytes is rejected (431), before
//     it is complete when it arrives in pieces, once it is complete when it arrived at once;
//   * a Content-Length above the route's body limit (body_limit_for, else max_body_bytes) is
//     rejected (413) as soon as the header is complete, before any body byte is stored; a chunked
//     body is cut off (413) once it exceeds that limit;
//   * malformed HTTP is rejected (400); an error that is not about HTTP syntax is `broken`
//     (nothing sensible to answer: the session closes).
// Not thread-safe; a session's reader runs on its io thread.
#include <cstddef>
#include <optional>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>

#include "http/server/server.hpp"

namespace deployguard::http {

class RequestReader {
 public:
  enum class Step {
    need_more,  // every buffered byte is used: read more, then parse() again
    header,     // the header just completed (once per request) and its body limit is set
    done,       // the request is complete: release() it
    rejected,   // answer rejection() and close
    broken,     // close without an answer
  };
  struct Rejection {
    Status status = Status::bad_request;
    std::string code;
    std::string message;
  };

  /// Begins a new request under `options`' limits; `options` must outlive the request.
  void start(const ServerOptions& options);
  /// Parses buffered bytes, consuming what the parser used, until one of the steps above.
  /// After `header`, call parse() again to go on (the caller may first send 100 Continue).
  Step parse(boost::beast::flat_buffer& buffer);
  /// After `header`: the client asked for 100 Continue and the body is not complete yet.
  bool wants_continue() const;
  /// After `rejected`: the answer.
  const Rejection& rejection() const { return rejection_; }
  /// After `done`: the request; the reader is then idle until the next start().
  Request release();
  /// Drops the request being read (the session rejected it or closes).
  void reset() { parser_.reset(); }

 private:
  Step reject(Status status, std::string code, std::string message);
  Step on_error(const boost::system::error_code& ec);

  const ServerOptions* options_ = nullptr;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  bool header_checked_ = false;  // the header step was reported for this request
  std::size_t header_bytes_ = 0;  // of the request's header so far
  Rejection rejection_;
};

}  // namespace deployguard::http
