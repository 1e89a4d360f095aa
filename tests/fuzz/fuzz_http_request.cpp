// The server's request parsing (lib/http/server RequestReader: Beast's request_parser with the
// header limit and the API's per-route body limits, exactly as a session runs it) on the bytes
// of one connection, then every complete request through the API as the daemon serves it: the
// target split (RequestTarget), the route table (match_route on both listeners, route_label,
// body_limit_of) and Api::handle over a GuardService with two environments.
//
// The input is what a client sends on one connection: up to kMaxRequests pipelined requests.
// Beyond not crashing:
//   * the bytes fed at once and fed in growing chunks (1, 2, 4, ... bytes: how reads split a
//     request) give the same requests and the same ending (see same_parse() for the one
//     difference Beast has by design): parsing does not depend on how the bytes arrive;
//   * a request is never answered 500 (the client cannot cause an internal error), except
//     stabilize/stop, which Api::handle cannot serve (they need a Responder); every answer is a
//     valid status with a JSON body when it says so.
// A second pass with small limits reaches the 413/431 paths the input size cannot reach with the
// daemon's defaults.
#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <nlohmann/json.hpp>

#include "api/api.hpp"
#include "api/routes.hpp"
#include "fuzz_check.hpp"
#include "http/server/request_reader.hpp"
#include "log/log.hpp"
#include "service/guard_service.hpp"

namespace {

using namespace deployguard;
namespace bhttp = boost::beast::http;

constexpr std::size_t kMaxRequests = 8;

struct Limits {
  http::ServerOptions server;
  api::ApiOptions api;
};

/// The daemon's defaults (server_options() and ApiOptions::from_config() of a default config).
Limits daemon_limits() {
  const ServerConfig config;
  Limits limits;
  limits.server.max_header_bytes = config.max_header_bytes;
  limits.server.max_body_bytes = config.max_body_bytes;
  limits.api = api::ApiOptions::from_config(config);
  return limits;
}

Limits small_limits() {
  Limits limits = daemon_limits();
  limits.server.max_header_bytes = 512;
  limits.server.max_body_bytes = 64;
  limits.api.max_body_bytes = 64;
  limits.api.max_webhook_body_bytes = 256;
  return limits;
}

/// Every environment kind the API distinguishes: one with a GitHub source, one without sources.
std::map<std::string, EnvironmentConfig> environments() {
  EnvironmentConfig staging;
  staging.name = "staging";
  staging.github = GitHubTarget{"example/app", {"deploy.yml"}, std::nullopt};
  EnvironmentConfig prod;
  prod.name = "prod";
  return {{"staging", staging}, {"prod", prod}};
}

/// One request as parsed, for comparing two parses of the same bytes.
std::string describe(const http::Request& request) {
  std::string out(request.method_string());
  out += ' ';
  out += request.target();
  out += " HTTP/" + std::to_string(request.version());
  for (const auto& field : request) {
    out += '|';
    out += field.name_string();
    out += ':';
    out += field.value();
  }
  out += "|body:" + request.body();
  return out;
}

/// Feeds `bytes` to a reader under `limits` the way a session does, `chunk(n)` bytes per read,
/// and calls `on_request` for each complete request. Returns the transcript.
template <class Chunk, class OnRequest>
std::string read_connection(std::string_view bytes, const http::ServerOptions& limits, Chunk chunk,
                            OnRequest on_request) {
  http::RequestReader reader;
  boost::beast::flat_buffer buffer;
  std::string transcript;
  std::size_t offset = 0, reads = 0;
  for (std::size_t n = 0; n < kMaxRequests; ++n) {
    reader.start(limits);
    bool finished = false;
    while (!finished) {
      switch (reader.parse(buffer)) {
        case http::RequestReader::Step::need_more: {
          if (offset == bytes.size()) return transcript + "eof";  // the client stopped sending
          const std::size_t size = std::min(chunk(reads++), bytes.size() - offset);
          auto room = buffer.prepare(size);
          std::copy_n(bytes.data() + offset, size, static_cast<char*>(room.data()));
          buffer.commit(size);
          offset += size;
          break;
        }
        case http::RequestReader::Step::header:
          (void)reader.wants_continue();
          break;
        case http::RequestReader::Step::done: {
          const http::Request request = reader.release();
          transcript += describe(request) + "\n";
          on_request(request);
          // The session reads the next request from what is buffered only on a keep-alive
          // connection; otherwise it closes after the answer.
          if (!request.keep_alive()) return transcript + "closed";
          finished = true;
          break;
        }
        case http::RequestReader::Step::rejected: {
          const auto& rejection = reader.rejection();
          FUZZ_CHECK(static_cast<unsigned>(rejection.status) >= 400 && !rejection.code.empty(),
                     "a rejection without an error status or code");
          return transcript + "rejected " + std::to_string(static_cast<unsigned>(rejection.status)) +
                 " " + rejection.code;
        }
        case http::RequestReader::Step::broken:
          return transcript + "broken";
      }
    }
  }
  return transcript;
}

/// Whether the transcript of bytes fed in chunks agrees with that of the same bytes fed at once.
/// Beast's parser has one dependence on segmentation, by design: once a header did not complete
/// in one read, it waits for its end ("\r\n\r\n") before parsing it again. So a header that is
/// malformed before its end (a bare LF, say) is rejected with 400 when it arrives in one read,
/// but split, it waits for more bytes (the session's read_timeout then closes it) or hits the
/// header limit first (431); and a header that is both malformed and over the limit may get
/// either answer. Every request before that must be the same.
bool same_parse(std::string_view at_once, std::string_view split) {
  if (at_once == split) return true;
  const auto last_line = [](std::string_view t) { return t.substr(t.rfind('\n') + 1); };
  const auto head = [](std::string_view t) { return t.substr(0, t.rfind('\n') + 1); };
  if (head(at_once) != head(split)) return false;
  constexpr std::string_view kMalformed = "rejected 400 bad_request";
  constexpr std::string_view kTooLarge = "rejected 431 header_too_large";
  const auto first = last_line(at_once), second = last_line(split);
  return (first == kMalformed && (second == "eof" || second == kTooLarge)) ||
         (first == kTooLarge && second == kMalformed);
}

void check_route_table(const http::Request& request) {
  const std::string_view target = request.target();
  const api::RequestTarget parsed(target);
  (void)api::route_label(target);
  (void)api::body_limit_of(request.method(), target);
  if (!parsed.ok()) return;
  (void)parsed.path();
  for (const char* key : {"env", "wait", "run_id", "run_attempt"}) (void)parsed.param(key);
  const auto& segments = parsed.segments();
  FUZZ_CHECK(segments.size <= api::kMaxRouteSegments, "more segments than a route can have");
  for (const auto listener : {api::Listener::api, api::Listener::webhook}) {
    const auto match = api::match_route(request.method(), segments, listener);
    if (match.route) {
      FUZZ_CHECK(match.allow.empty(), "a matched route with an Allow list");
      if (listener == api::Listener::webhook)
        FUZZ_CHECK(match.route->webhook_listener, "the webhook listener serves an API route");
    }
  }
}

void check_response(const http::Request& request, const http::Response& response) {
  const unsigned status = response.result_int();
  FUZZ_CHECK(status >= 200 && status <= 599, "status " + std::to_string(status));
  const api::RequestTarget parsed(request.target());
  const auto match = parsed.ok() ? api::match_route(request.method(), parsed.segments())
                                 : api::RouteMatch{};
  const bool async_only = match.route && (match.route->id == api::RouteId::stabilize ||
                                          match.route->id == api::RouteId::stop);
  FUZZ_CHECK(status != 500 || async_only,
             "500 for " + std::string(request.method_string()) + " " +
                 std::string(request.target()) + ": " + response.body());
  if (response[bhttp::field::content_type] == "application/json") {
    FUZZ_CHECK(nlohmann::json::accept(response.body()), "a JSON answer that is not JSON");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The guard logs every verdict; a fuzzer has no reader for them.
  static const bool quiet = [] {
    logging::configure_logging("off", "text");
    return true;
  }();
  (void)quiet;
  const std::string_view bytes = fuzz::as_text(data, size);
  const ManualClock clock{TimePoint{std::chrono::seconds{1767207600}}};  // 2025-12-31T19:00:00Z

  for (const Limits& limits : {daemon_limits(), small_limits()}) {
    boost::asio::io_context io;
    service::GuardService service(io.get_executor(), clock, environments());
    api::Api api(service, limits.api, nullptr, api::TokenAuth{std::vector<std::string>{"fuzz-token"}});
    http::ServerOptions server = limits.server;
    server.body_limit_for = [&api](const http::RequestHeader& header) {
      return api.body_limit_for(header);
    };

    const auto whole = read_connection(
        bytes, server, [&](std::size_t) { return bytes.size(); },
        [&](const http::Request& request) {
          check_route_table(request);
          check_response(request, api.handle(request));
        });
    const auto chunked = read_connection(
        bytes, server, [](std::size_t read) { return std::size_t{1} << std::min<std::size_t>(read, 20); },
        [](const http::Request&) {});
    FUZZ_CHECK(same_parse(whole, chunked), "parsed differently when split:\n" + whole + "\nvs\n" + chunked);
  }
  return 0;
}
