// RequestReader, the parsing half of a server session, fed bytes directly: the steps a session
// acts on, the limits and each rejection's answer. No sockets (server_test.cpp covers the same
// limits through a real connection).
#include "http/server/request_reader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace deployguard::http {
namespace {

using Step = RequestReader::Step;

ServerOptions limits(std::size_t header_bytes = 1024, std::size_t body_bytes = 100) {
  ServerOptions options;
  options.max_header_bytes = header_bytes;
  options.max_body_bytes = body_bytes;
  return options;
}

void append(beast::flat_buffer& buffer, std::string_view bytes) {
  auto room = buffer.prepare(bytes.size());
  std::copy(bytes.begin(), bytes.end(), static_cast<char*>(room.data()));
  buffer.commit(bytes.size());
}

/// Feeds `bytes` in pieces of `chunk` bytes (all at once by default) and returns the steps up to
/// the first done/rejected/broken, or need_more once every byte is in.
std::vector<Step> read(RequestReader& reader, beast::flat_buffer& buffer, std::string_view bytes,
                       std::size_t chunk = std::string_view::npos) {
  std::vector<Step> steps;
  std::size_t offset = 0;
  for (;;) {
    const Step step = reader.parse(buffer);
    if (step == Step::need_more && offset < bytes.size()) {
      const auto n = std::min(chunk, bytes.size() - offset);
      append(buffer, bytes.substr(offset, n));
      offset += n;
      continue;
    }
    steps.push_back(step);
    if (step != Step::header) return steps;
  }
}

std::string request_with_header_of(std::size_t total, std::size_t target = 1) {
  std::string head = "GET /" + std::string(target - 1, 't') + " HTTP/1.1\r\nHost: x\r\nX-Fill: ";
  return head + std::string(total - head.size() - 4, 'a') + "\r\n\r\n";
}

TEST(RequestReader, ARequestIsHeaderThenDone) {
  const auto options = limits();
  RequestReader reader;
  beast::flat_buffer buffer;
  reader.start(options);
  EXPECT_EQ(read(reader, buffer, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"),
            (std::vector<Step>{Step::header, Step::done}));
  const auto request = reader.release();
  EXPECT_EQ(request.target(), "/x");
  EXPECT_EQ(request.body(), "abc");
}

TEST(RequestReader, PipelinedRequestsComeOneAtATimeFromTheBuffer) {
  const auto options = limits();
  RequestReader reader;
  beast::flat_buffer buffer;
  append(buffer, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
  for (const char* target : {"/1", "/2"}) {
    reader.start(options);
    EXPECT_EQ(read(reader, buffer, ""), (std::vector<Step>{Step::header, Step::done}));
    EXPECT_EQ(reader.release().target(), target);
  }
  EXPECT_EQ(buffer.size(), 0u);
}

TEST(RequestReader, ExpectContinueIsWantedOnlyWhileTheBodyIsMissing) {
  const auto options = limits();
  RequestReader reader;
  beast::flat_buffer buffer;
  reader.start(options);
  append(buffer, "POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(reader.parse(buffer), Step::header);
  EXPECT_TRUE(reader.wants_continue());
  EXPECT_EQ(reader.parse(buffer), Step::need_more);
  append(buffer, "ok");
  EXPECT_EQ(reader.parse(buffer), Step::done);
}

TEST(RequestReader, BodyLimitsComeFromTheRoute) {
  auto options = limits();
  options.body_limit_for = [](const RequestHeader& header) -> std::size_t {
    return header.target() == "/big" ? 1000 : 10;
  };
  RequestReader reader;
  for (const auto& [target, step] :
       {std::pair{"/big", Step::done}, std::pair{"/small", Step::rejected}}) {
    beast::flat_buffer buffer;
    reader.start(options);
    const auto steps = read(reader, buffer,
                            "POST " + std::string(target) +
                                " HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n01234567890");
    EXPECT_EQ(steps.back(), step) << target;
  }
  EXPECT_EQ(reader.rejection().status, Status::payload_too_large);
  EXPECT_EQ(reader.rejection().message, "request body exceeds 10 bytes");
  // A chunked body has no length up front: it is cut off once it exceeds the limit.
  beast::flat_buffer buffer;
  reader.start(options);
  EXPECT_EQ(read(reader, buffer,
                 "POST /small HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "b\r\n01234567890\r\n0\r\n\r\n")
                .back(),
            Step::rejected);
  EXPECT_EQ(reader.rejection().status, Status::payload_too_large);
  EXPECT_EQ(reader.rejection().code, "payload_too_large");
}

TEST(RequestReader, MalformedHttpIs400) {
  const auto options = limits();
  RequestReader reader;
  beast::flat_buffer buffer;
  reader.start(options);
  EXPECT_EQ(read(reader, buffer, "GET / HTTP/1.1\r\nHost x\r\n\r\n").back(), Step::rejected);
  EXPECT_EQ(reader.rejection().status, Status::bad_request);
  EXPECT_EQ(reader.rejection().code, "bad_request");
  EXPECT_EQ(reader.rejection().message.rfind("malformed HTTP request: ", 0), 0u);
}

// Found by tests/fuzz/fuzz_http_request: Beast applies header_limit to the request line and to
// the fields separately when both arrive in one put(), so a header of up to twice
// max_header_bytes was accepted when it came in one read, and refused (431) when split.
TEST(RequestReader, TheHeaderLimitHoldsHoweverTheHeaderArrives) {
  const auto options = limits(512);
  for (const std::size_t chunk : {std::string_view::npos, std::size_t{1}, std::size_t{100}}) {
    SCOPED_TRACE(chunk);
    RequestReader reader;
    {
      beast::flat_buffer buffer;
      reader.start(options);
      EXPECT_EQ(read(reader, buffer, request_with_header_of(512), chunk).back(), Step::done);
    }
    for (const auto& bytes : {request_with_header_of(513), request_with_header_of(1000, 500)}) {
      beast::flat_buffer buffer;
      reader.start(options);
      EXPECT_EQ(read(reader, buffer, bytes, chunk).back(), Step::rejected);
      EXPECT_EQ(reader.rejection().status, Status::request_header_fields_too_large);
      EXPECT_EQ(reader.rejection().message, "request header exceeds 512 bytes");
    }
  }
  // More of an incomplete header than the limit is refused at once, not after the next read.
  for (const std::size_t chunk : {std::string_view::npos, std::size_t{64}}) {
    const std::string incomplete = request_with_header_of(533).substr(0, 529);
    RequestReader reader;
    beast::flat_buffer buffer;
    reader.start(options);
    EXPECT_EQ(read(reader, buffer, incomplete, chunk).back(), Step::rejected) << chunk;
    EXPECT_EQ(reader.rejection().status, Status::request_header_fields_too_large);
  }
  // The fuzzer's input: a 515-byte header in one read.
  const std::string found = "GET /readyz HTTP/1.1\r\nHost: x\r\nX-Long: " + std::string(472, 'a') +
                            "\r\n\r\n";
  ASSERT_EQ(found.size(), 515u);
  RequestReader reader;
  beast::flat_buffer buffer;
  reader.start(options);
  EXPECT_EQ(read(reader, buffer, found).back(), Step::rejected);
  EXPECT_EQ(reader.rejection().status, Status::request_header_fields_too_large);
}

}  // namespace
}  // namespace deployguard::http
