// BeastHttpClient against real sockets on 127.0.0.x: scripted Beast servers (test_server.hpp)
// and a throw-away PKI (test_pki.hpp) run on the same io_context as the client, so every test
// is single-threaded and driven by events; the only clock use is the deadlines under test.
#include "http/client/beast_http_client.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "common/temp_dir.hpp"
#include "common/test_pki.hpp"
#include "test_server.hpp"

namespace deployguard::http {
namespace {

using namespace std::chrono_literals;
using deployguard::testing::KeyAndCert;
using deployguard::testing::make_ca;
using deployguard::testing::make_leaf;
using deployguard::testing::TempFile;
using testing::make_response;
using testing::ServerConnection;
using testing::TestServer;
namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

HttpRequest get(std::string url, Headers headers = {}) {
  HttpRequest req;
  req.url = std::move(url);
  req.headers = std::move(headers);
  return req;
}

std::string describe(const HttpResult& r) {
  if (r.ok()) return "response " + std::to_string(r.response().status);
  return std::string(to_string(r.error().kind)) + ": " + r.error().message;
}

class BeastHttpClientTest : public ::testing::Test {
 protected:
  BeastHttpClientTest() {
    options.config.connect_timeout = 2s;
    options.config.request_timeout = 5s;
  }

  BeastHttpClient& client() {
    if (!client_) client_ = std::make_unique<BeastHttpClient>(ioc, options);
    return *client_;
  }

  /// Sends one request and runs the loop until its callback fires. The 20 s bound is a
  /// watchdog against a hung test, not a wait: stop() ends the run as soon as the callback runs.
  HttpResult run(HttpRequest req) {
    std::optional<HttpResult> result;
    client().send(std::move(req), [&](HttpResult r) {
      result = std::move(r);
      ioc.stop();
    });
    ioc.restart();
    ioc.run_for(20s);
    if (!result) {
      ADD_FAILURE() << "watchdog: no callback within 20s";
      return HttpError{HttpErrorKind::cancelled, "watchdog"};
    }
    return std::move(*result);
  }

  net::io_context ioc;
  BeastHttpClientOptions options;
  std::unique_ptr<BeastHttpClient> client_;
};

// ---- plain HTTP -------------------------------------------------------------------------------

TEST_F(BeastHttpClientTest, GetReturnsStatusHeadersBodyAndFinalUrl) {
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    auto req = co_await conn.read_request();
    if (!req) co_return;
    auto res = make_response(200, "hello", {{"X-Thing", "42"}});  // not inline: GCC 12 coroutine bug
    co_await conn.write(std::move(res));
  });
  auto result = run(get(server.url("/path/x?q=1"), {{"Accept", "application/json"}}));
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.response().status, 200U);
  EXPECT_EQ(result.response().body, "hello");
  EXPECT_EQ(result.response().header("x-thing"), "42");
  EXPECT_EQ(result.response().final_url, server.url("/path/x?q=1"));
  ASSERT_EQ(server.requests().size(), 1U);
  const auto& seen = server.requests()[0];
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.target, "/path/x?q=1");
  EXPECT_EQ(seen.header("Accept"), "application/json");
  EXPECT_EQ(seen.header("Host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_TRUE(seen.header("User-Agent").has_value());
}

TEST_F(BeastHttpClientTest, PostSendsBodyAndReturnsErrorStatusesAsResponses) {
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    auto req = co_await conn.read_request();
    if (!req) co_return;
    co_await conn.write(make_response(422, "bad: " + req->body()));
  });
  HttpRequest req;
  req.method = "POST";
  req.url = server.url("/submit");
  req.headers = {{"Content-Type", "application/json"}};
  req.body = R"({"a":1})";
  auto result = run(req);
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.response().status, 422U);
  EXPECT_EQ(result.response().body, R"(bad: {"a":1})");
  ASSERT_EQ(server.requests().size(), 1U);
  EXPECT_EQ(server.requests()[0].method, "POST");
  EXPECT_EQ(server.requests()[0].body, R"({"a":1})");
  EXPECT_EQ(server.requests()[0].header("Content-Length"), "7");
}

TEST_F(BeastHttpClientTest, KeepAliveReusesOneConnectionForTwoRequests) {
  TestServer server(ioc, TestServer::echo_target);
  auto first = run(get(server.url("/one")));
  ASSERT_TRUE(first.ok()) << describe(first);
  EXPECT_EQ(client().idle_connections(), 1U);
  auto second = run(get(server.url("/two")));
  ASSERT_TRUE(second.ok()) << describe(second);
  EXPECT_EQ(second.response().body, "ok:/two");
  EXPECT_EQ(server.connections(), 1U);
  ASSERT_EQ(server.requests().size(), 2U);
  EXPECT_EQ(server.requests()[1].connection, 0U);
}

TEST_F(BeastHttpClientTest, HeadResponseWithContentLengthHasNoBodyAndKeepsConnection) {
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    while (auto req = co_await conn.read_request()) {
      if (req->method() == bhttp::verb::head) {
        // Content-Length describes the body a GET would get; no body bytes follow.
        if (!co_await conn.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")) co_return;
      } else if (!co_await conn.write(make_response(200, "after-head"))) {
        co_return;
      }
    }
  });
  HttpRequest head = get(server.url("/h"));
  head.method = "HEAD";
  auto first = run(head);
  ASSERT_TRUE(first.ok()) << describe(first);
  EXPECT_EQ(first.response().body, "");
  auto second = run(get(server.url("/g")));
  ASSERT_TRUE(second.ok()) << describe(second);
  EXPECT_EQ(second.response().body, "after-head");
  EXPECT_EQ(server.connections(), 1U);
}

// A pooled connection the server closes just as the next request arrives (keep-alive race):
// the server reads the request and hangs up without answering.
net::awaitable<void> answer_once_then_drop_next(ServerConnection& conn) {
  if (conn.id() == 0) {
    auto req = co_await conn.read_request();
    if (!req || !co_await conn.write(make_response(200, "first"))) co_return;
    auto next = co_await conn.read_request();
    conn.close();
    co_return;
  }
  co_await TestServer::echo_target(conn);
}

TEST_F(BeastHttpClientTest, GetOnPooledConnectionClosedByServerIsRetriedOnFreshConnection) {
  TestServer server(ioc, answer_once_then_drop_next);
  ASSERT_TRUE(run(get(server.url("/a"))).ok());
  auto result = run(get(server.url("/b")));
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.response().body, "ok:/b");
  EXPECT_EQ(server.connections(), 2U);
  ASSERT_EQ(server.requests().size(), 3U);  // /a and /b on connection 0, /b again on 1
  EXPECT_EQ(server.requests()[1].connection, 0U);
  EXPECT_EQ(server.requests()[2].connection, 1U);
}

TEST_F(BeastHttpClientTest, PostOnPooledConnectionClosedByServerIsNotRetried) {
  TestServer server(ioc, answer_once_then_drop_next);
  ASSERT_TRUE(run(get(server.url("/a"))).ok());
  HttpRequest post = get(server.url("/b"));
  post.method = "POST";
  post.body = "x";
  auto result = run(post);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::io) << describe(result);
  EXPECT_EQ(server.connections(), 1U);
}

TEST_F(BeastHttpClientTest, ServerClosingAfterResponseDoesNotBreakTheNextRequest) {
  // Closed right after the response, without "Connection: close": the idle watch or the retry
  // must cope; either way the next request succeeds on a new connection.
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    auto req = co_await conn.read_request();
    if (!req) co_return;
    co_await conn.write(make_response(200, "once:" + std::string(req->target())));
    conn.close();
  });
  ASSERT_TRUE(run(get(server.url("/a"))).ok());
  auto result = run(get(server.url("/b")));
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.response().body, "once:/b");
  EXPECT_EQ(server.connections(), 2U);
}

TEST_F(BeastHttpClientTest, ConnectionCloseResponseIsNotPooled) {
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    auto req = co_await conn.read_request();
    if (!req) co_return;
    auto res = make_response(200, "bye", {{"Connection", "close"}});  // not inline: GCC 12 coroutine bug
    co_await conn.write(std::move(res));
    co_await conn.wait_for_close();
  });
  ASSERT_TRUE(run(get(server.url("/a"))).ok());
  EXPECT_EQ(client().idle_connections(), 0U);
}

// ---- deadlines ------------------------------------------------------------------------------

TEST_F(BeastHttpClientTest, ConnectTimesOutWhenListenBacklogIsFull) {
  // A listener that never accepts, with backlog 0: once its queue holds one connection the
  // kernel drops further SYNs, so our connect hangs in SYN_SENT until the connect deadline.
  tcp::acceptor listener(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  listener.listen(0);
  const auto endpoint = listener.local_endpoint();
  std::vector<std::unique_ptr<tcp::socket>> fillers;
  for (int i = 0; i < 8; ++i) {
    fillers.push_back(std::make_unique<tcp::socket>(ioc));
    fillers.back()->async_connect(endpoint, [](boost::system::error_code) {});
  }
  options.config.connect_timeout = 200ms;
  options.config.request_timeout = 10s;
  const auto start = std::chrono::steady_clock::now();
  auto result = run(get("http://" + endpoint.address().to_string() + ":" +
                        std::to_string(endpoint.port()) + "/"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::timeout) << describe(result);
  EXPECT_NE(result.error().message.find("connect to"), std::string::npos) << describe(result);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(BeastHttpClientTest, TotalDeadlineWhenServerAcceptsButNeverAnswers) {
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    co_await conn.read_request();
    co_await conn.wait_for_close();
  });
  HttpRequest req = get(server.url("/slow"));
  req.timeout = 300ms;
  auto result = run(req);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::timeout) << describe(result);
  EXPECT_NE(result.error().message.find("deadline"), std::string::npos) << describe(result);
  EXPECT_EQ(server.requests().size(), 1U);
}

TEST_F(BeastHttpClientTest, TotalDeadlineCoversASlowlyTricklingBody) {
  std::size_t bytes_sent = 0;
  TestServer server(ioc, [&bytes_sent](ServerConnection& conn) -> net::awaitable<void> {
    auto req = co_await conn.read_request();
    if (!req) co_return;
    if (!co_await conn.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")) co_return;
    net::steady_timer pause(co_await net::this_coro::executor);
    for (int i = 0; i < 1000; ++i) {  // the trickle is the behaviour under test
      pause.expires_after(20ms);
      co_await pause.async_wait(use_tuple);
      if (!co_await conn.write_raw("x")) co_return;
      ++bytes_sent;
    }
  });
  options.config.request_timeout = 400ms;
  auto result = run(get(server.url("/trickle")));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::timeout) << describe(result);
  EXPECT_GT(bytes_sent, 0U);  // the body was flowing; only the total deadline stops it
}

TEST_F(BeastHttpClientTest, TlsHandshakeHasItsOwnDeadline) {
  // A plain TCP server that never speaks TLS: the handshake phase times out long before the
  // total deadline.
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    co_await conn.wait_for_close();
  });
  options.config.connect_timeout = 200ms;
  options.config.request_timeout = 10s;
  auto result = run(get("https://127.0.0.1:" + std::to_string(server.port()) + "/"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::timeout) << describe(result);
  EXPECT_NE(result.error().message.find("TLS handshake"), std::string::npos) << describe(result);
}

// ---- limits and malformed peers -------------------------------------------------------------

TEST_F(BeastHttpClientTest, ContentLengthAboveCapFailsWithoutReadingTheBody) {
  // Announces 50 MB and sends nothing more: only the header can be the reason for failing
  // (waiting for the body would end in a timeout instead).
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    auto req = co_await conn.read_request();
    if (!req) co_return;
    co_await conn.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\n");
    co_await conn.wait_for_close();
  });
  options.config.max_response_bytes = 1024;
  auto result = run(get(server.url("/big")));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::too_large) << describe(result);
}

TEST_F(BeastHttpClientTest, ChunkedBodyAboveCapFailsWithTooLarge) {
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    auto req = co_await conn.read_request();
    if (!req) co_return;
    if (!co_await conn.write_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")) co_return;
    const std::string chunk = "400\r\n" + std::string(0x400, 'z') + "\r\n";
    for (int i = 0; i < 64; ++i) {
      if (!co_await conn.write_raw(chunk)) co_return;
    }
    co_await conn.wait_for_close();
  });
  HttpRequest req = get(server.url("/chunked"));
  req.max_response_bytes = 10 * 1024;  // per-request override below the configured 8 MiB
  auto result = run(req);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::too_large) << describe(result);
}

TEST_F(BeastHttpClientTest, OversizedResponseHeaderFailsWithTooLarge) {
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    auto req = co_await conn.read_request();
    if (!req) co_return;
    auto res = make_response(200, "", {{"X-Huge", std::string(8 * 1024, 'h')}});  // not inline: GCC 12 coroutine bug
    co_await conn.write(std::move(res));
    co_await conn.wait_for_close();
  });
  options.max_header_bytes = 4 * 1024;
  auto result = run(get(server.url("/")));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::too_large) << describe(result);
}

TEST_F(BeastHttpClientTest, MalformedResponseIsAProtocolError) {
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    auto req = co_await conn.read_request();
    if (!req) co_return;
    co_await conn.write_raw("HTTP/1.1 two-hundred OK\r\nContent-Length: 0\r\n\r\n");
    co_await conn.wait_for_close();
  });
  auto result = run(get(server.url("/")));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::protocol) << describe(result);
}

TEST_F(BeastHttpClientTest, ConnectionResetMidResponseIsAnIoError) {
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    auto req = co_await conn.read_request();
    if (!req) co_return;
    co_await conn.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
    conn.reset();
  });
  auto result = run(get(server.url("/")));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::io) << describe(result);
  EXPECT_EQ(server.connections(), 1U);  // fresh connection: no retry
}

TEST_F(BeastHttpClientTest, RefusedConnectionIsAConnectError) {
  std::uint16_t port = 0;
  {
    tcp::acceptor probe(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }  // closed: nothing listens on `port` any more
  auto result = run(get("http://127.0.0.1:" + std::to_string(port) + "/"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::connect) << describe(result);
}

TEST_F(BeastHttpClientTest, InvalidRequestsFailAsynchronously) {
  bool called = false;
  std::optional<HttpResult> result;
  client().send(get("ftp://example.com/file"), [&](HttpResult r) {
    called = true;
    result = std::move(r);
  });
  EXPECT_FALSE(called);  // never from inside send()
  ioc.run();
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().kind, HttpErrorKind::invalid_request);

  HttpRequest injected = get("http://127.0.0.1:1/");
  injected.headers = {{"X-Evil", "a\r\nInjected: yes"}};
  auto bad_header = run(injected);
  ASSERT_FALSE(bad_header.ok());
  EXPECT_EQ(bad_header.error().kind, HttpErrorKind::invalid_request);
}

TEST_F(BeastHttpClientTest, ShutdownCancelsInFlightRequests) {
  TestServer server(ioc, [this](ServerConnection& conn) -> net::awaitable<void> {
    co_await conn.read_request();
    client().shutdown();  // the request is now in flight
    co_await conn.wait_for_close();
  });
  auto result = run(get(server.url("/")));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::cancelled) << describe(result);
  auto after = run(get(server.url("/")));
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().kind, HttpErrorKind::cancelled);
}

// ---- redirects ------------------------------------------------------------------------------

TEST_F(BeastHttpClientTest, RedirectOnSameOriginKeepsAuthorization) {
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    while (auto req = co_await conn.read_request()) {
      auto res = req->target() == "/start" ? make_response(302, "", {{"Location", "/next?page=2"}})
                                           : make_response(200, "landed");
      if (!co_await conn.write(std::move(res))) co_return;
    }
  });
  auto result = run(get(server.url("/start"), {{"Authorization", "Bearer t0ken"}}));
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.response().body, "landed");
  EXPECT_EQ(result.response().final_url, server.url("/next?page=2"));
  ASSERT_EQ(server.requests().size(), 2U);
  EXPECT_EQ(server.requests()[1].target, "/next?page=2");
  EXPECT_EQ(server.requests()[1].header("Authorization"), "Bearer t0ken");
}

TEST_F(BeastHttpClientTest, RedirectToAnotherHostDropsAuthorization) {
  // GitHub's job-log endpoint: 302 to a pre-signed URL on another host.
  TestServer blob(ioc, TestServer::echo_target, "127.0.0.2");
  const std::string signed_url = blob.url("/logs/123?sig=s3cr3t&se=2030");
  TestServer api(ioc, [&signed_url](ServerConnection& conn) -> net::awaitable<void> {
    while (auto req = co_await conn.read_request()) {
      auto res = make_response(302, "", {{"Location", signed_url}});  // not inline: GCC 12 coroutine bug
      if (!co_await conn.write(std::move(res))) co_return;
    }
  });
  auto result = run(get(api.url("/repos/o/r/actions/jobs/123/logs"),
                        {{"Authorization", "Bearer ghp_secret"}, {"Cookie", "session=1"},
                         {"Accept", "text/plain"}}));
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.response().body, "ok:/logs/123?sig=s3cr3t&se=2030");
  EXPECT_EQ(result.response().final_url, signed_url);
  ASSERT_EQ(api.requests().size(), 1U);
  EXPECT_EQ(api.requests()[0].header("Authorization"), "Bearer ghp_secret");
  ASSERT_EQ(blob.requests().size(), 1U);
  EXPECT_FALSE(blob.requests()[0].header("Authorization").has_value());
  EXPECT_FALSE(blob.requests()[0].header("Cookie").has_value());
  EXPECT_EQ(blob.requests()[0].header("Accept"), "text/plain");
  EXPECT_EQ(blob.requests()[0].header("Host"), "127.0.0.2:" + std::to_string(blob.port()));
}

TEST_F(BeastHttpClientTest, RedirectToSameHostOtherPortDropsAuthorizationForGood) {
  // 127.0.0.1:A -> 127.0.0.1:B -> back to A: the token is not restored on the way back.
  std::string back_to_a;
  TestServer b(ioc, [&back_to_a](ServerConnection& conn) -> net::awaitable<void> {
    while (auto req = co_await conn.read_request()) {
      auto res = make_response(307, "", {{"Location", back_to_a}});  // not inline: GCC 12 coroutine bug
      if (!co_await conn.write(std::move(res))) co_return;
    }
  });
  const std::string to_b = b.url("/b");
  TestServer a2(ioc, [&to_b](ServerConnection& conn) -> net::awaitable<void> {
    while (auto req = co_await conn.read_request()) {
      auto res = req->target() == "/start" ? make_response(301, "", {{"Location", to_b}})
                                           : make_response(200, "home");
      if (!co_await conn.write(std::move(res))) co_return;
    }
  });
  back_to_a = a2.url("/home");
  auto result = run(get(a2.url("/start"), {{"Authorization", "Bearer x"}}));
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.response().body, "home");
  ASSERT_EQ(a2.requests().size(), 2U);
  EXPECT_TRUE(a2.requests()[0].header("Authorization").has_value());
  EXPECT_FALSE(a2.requests()[1].header("Authorization").has_value());
  ASSERT_EQ(b.requests().size(), 1U);
  EXPECT_FALSE(b.requests()[0].header("Authorization").has_value());
}

TEST_F(BeastHttpClientTest, RedirectCarryingABodyToAnotherOriginIsRefused) {
  // A token request form holds the client secret: a 307 elsewhere must not get it.
  TestServer elsewhere(ioc, TestServer::echo_target, "127.0.0.2");
  const std::string target = elsewhere.url("/steal");
  TestServer token(ioc, [&target](ServerConnection& conn) -> net::awaitable<void> {
    while (auto req = co_await conn.read_request()) {
      auto res = make_response(307, "", {{"Location", target}});  // not inline: GCC 12 coroutine bug
      if (!co_await conn.write(std::move(res))) co_return;
    }
  });
  HttpRequest post = get(token.url("/tenant/oauth2/v2.0/token"),
                         {{"Content-Type", "application/x-www-form-urlencoded"}});
  post.method = "POST";
  post.body = "grant_type=client_credentials&client_secret=s3cr3t";
  auto result = run(post);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::redirect_refused) << describe(result);
  EXPECT_NE(result.error().message.find("to http://127.0.0.2:" + std::to_string(elsewhere.port())),
            std::string::npos)
      << describe(result);
  EXPECT_EQ(token.requests().size(), 1U);
  EXPECT_TRUE(elsewhere.requests().empty());
}

TEST_F(BeastHttpClientTest, RedirectCarryingABodyOnTheSameOriginIsFollowed) {
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    while (auto req = co_await conn.read_request()) {
      auto res = req->target() == "/old" ? make_response(308, "", {{"Location", "/new"}})
                                         : make_response(200, "got:" + req->body());
      if (!co_await conn.write(std::move(res))) co_return;
    }
  });
  HttpRequest post = get(server.url("/old"));
  post.method = "POST";
  post.body = "payload";
  auto result = run(post);
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.response().body, "got:payload");
}

TEST(OriginOf, NormalisesDefaultPortsAndHostCase) {
  const auto a = origin_of("https://Management.Azure.COM/subscriptions?x=1");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->to_string(), "https://management.azure.com:443");
  EXPECT_EQ(a, origin_of("HTTPS://management.azure.com:443/other#frag"));
  EXPECT_NE(a, origin_of("http://management.azure.com/"));
  EXPECT_NE(a, origin_of("https://management.azure.com:8443/"));
  EXPECT_NE(a, origin_of("https://management.azure.com.evil.example/"));
  EXPECT_EQ(origin_of("http://127.0.0.1/")->port, 80);
  EXPECT_EQ(origin_of("http://[::1]:8080/x")->to_string(), "http://[::1]:8080");
  // What send() refuses has no origin.
  EXPECT_FALSE(origin_of("/relative/path").has_value());
  EXPECT_FALSE(origin_of("ftp://host/").has_value());
  EXPECT_FALSE(origin_of("https://user:pw@host/").has_value());
  EXPECT_FALSE(origin_of("not a url").has_value());
}

TEST_F(BeastHttpClientTest, RedirectLoopFailsWithTooManyRedirects) {
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    while (auto req = co_await conn.read_request()) {
      auto res = make_response(302, "", {{"Location", "/loop"}});  // not inline: GCC 12 coroutine bug
      if (!co_await conn.write(std::move(res))) co_return;
    }
  });
  auto result = run(get(server.url("/loop")));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::too_many_redirects) << describe(result);
  EXPECT_EQ(server.requests().size(), 6U);  // the original request and 5 followed redirects
}

TEST_F(BeastHttpClientTest, SeeOtherTurnsPostIntoBodylessGet) {
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    while (auto req = co_await conn.read_request()) {
      auto res = req->target() == "/submit" ? make_response(303, "", {{"Location", "/result"}})
                                            : make_response(200, "result");
      if (!co_await conn.write(std::move(res))) co_return;
    }
  });
  HttpRequest post = get(server.url("/submit"), {{"Content-Type", "text/plain"}});
  post.method = "POST";
  post.body = "payload";
  auto result = run(post);
  ASSERT_TRUE(result.ok()) << describe(result);
  ASSERT_EQ(server.requests().size(), 2U);
  EXPECT_EQ(server.requests()[1].method, "GET");
  EXPECT_EQ(server.requests()[1].body, "");
  EXPECT_FALSE(server.requests()[1].header("Content-Type").has_value());
}

TEST_F(BeastHttpClientTest, RedirectIsReturnedAsIsWhenFollowingIsDisabled) {
  TestServer server(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    while (auto req = co_await conn.read_request()) {
      auto res = make_response(302, "", {{"Location", "/elsewhere"}});  // not inline: GCC 12 coroutine bug
      if (!co_await conn.write(std::move(res))) co_return;
    }
  });
  HttpRequest req = get(server.url("/x"));
  req.follow_redirects = false;
  auto result = run(req);
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.response().status, 302U);
  EXPECT_EQ(result.response().header("Location"), "/elsewhere");
  EXPECT_EQ(server.requests().size(), 1U);
}

// ---- TLS ------------------------------------------------------------------------------------

class BeastHttpsClientTest : public BeastHttpClientTest {
 protected:
  static void SetUpTestSuite() {
    ca_ = new KeyAndCert(make_ca("deployguard test CA"));
    other_ca_ = new KeyAndCert(make_ca("unrelated CA"));
    good_leaf_ = new KeyAndCert(make_leaf(*ca_, "localhost", "DNS:localhost,IP:127.0.0.1"));
    wrong_leaf_ = new KeyAndCert(make_leaf(*ca_, "wrong.example", "DNS:wrong.example"));
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete other_ca_;
    delete good_leaf_;
    delete wrong_leaf_;
  }

  BeastHttpsClientTest() : ca_file_(ca_->cert_pem), other_ca_file_(other_ca_->cert_pem) {
    options.config.ca_file = ca_file_.path().string();
    use_leaf(*good_leaf_);
  }

  void use_leaf(const KeyAndCert& leaf) {
    server_tls_.use_certificate_chain(net::buffer(leaf.cert_pem));
    server_tls_.use_private_key(net::buffer(leaf.key_pem), net::ssl::context::pem);
  }

  static inline KeyAndCert* ca_ = nullptr;
  static inline KeyAndCert* other_ca_ = nullptr;
  static inline KeyAndCert* good_leaf_ = nullptr;
  static inline KeyAndCert* wrong_leaf_ = nullptr;
  TempFile ca_file_;
  TempFile other_ca_file_;
  net::ssl::context server_tls_{net::ssl::context::tls_server};
};

TEST_F(BeastHttpsClientTest, HttpsWithPrivateCaSucceedsSendsSniAndReusesConnection) {
  TestServer server(ioc, TestServer::echo_target, "127.0.0.1", &server_tls_);
  const std::string base = "https://localhost:" + std::to_string(server.port());
  auto first = run(get(base + "/one"));
  ASSERT_TRUE(first.ok()) << describe(first);
  EXPECT_EQ(first.response().body, "ok:/one");
  auto second = run(get(base + "/two"));
  ASSERT_TRUE(second.ok()) << describe(second);
  EXPECT_EQ(server.connections(), 1U);
  ASSERT_EQ(server.requests().size(), 2U);
  EXPECT_EQ(server.requests()[0].sni, "localhost");
}

TEST_F(BeastHttpsClientTest, HttpsToIpLiteralVerifiesIpSanWithoutSni) {
  TestServer server(ioc, TestServer::echo_target, "127.0.0.1", &server_tls_);
  auto result = run(get(server.url("/ip")));
  ASSERT_TRUE(result.ok()) << describe(result);
  ASSERT_EQ(server.requests().size(), 1U);
  EXPECT_EQ(server.requests()[0].sni, "");
}

TEST_F(BeastHttpsClientTest, UnknownCaFailsWithTlsError) {
  options.config.ca_file = other_ca_file_.path().string();
  TestServer server(ioc, TestServer::echo_target, "127.0.0.1", &server_tls_);
  auto result = run(get("https://localhost:" + std::to_string(server.port()) + "/"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::tls) << describe(result);
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(BeastHttpsClientTest, HostnameMismatchFailsWithTlsError) {
  use_leaf(*wrong_leaf_);
  TestServer server(ioc, TestServer::echo_target, "127.0.0.1", &server_tls_);
  auto result = run(get("https://localhost:" + std::to_string(server.port()) + "/"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::tls) << describe(result);
  EXPECT_NE(result.error().message.find("mismatch"), std::string::npos) << describe(result);
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(BeastHttpsClientTest, RedirectFromHttpsToHttpIsRefused) {
  TestServer plain(ioc, TestServer::echo_target, "127.0.0.1");
  const std::string downgrade = plain.url("/in-the-clear");
  TestServer secure(ioc, [&downgrade](ServerConnection& conn) -> net::awaitable<void> {
    while (auto req = co_await conn.read_request()) {
      auto res = make_response(302, "", {{"Location", downgrade}});  // not inline: GCC 12 coroutine bug
      if (!co_await conn.write(std::move(res))) co_return;
    }
  }, "127.0.0.1", &server_tls_);
  auto result = run(get(secure.url("/start"), {{"Authorization", "Bearer t0ken"}}));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::redirect_refused) << describe(result);
  EXPECT_EQ(result.error().message,
            "redirect from https://127.0.0.1:" + std::to_string(secure.port()) +
                " to http://127.0.0.1:" + std::to_string(plain.port()) +
                " refused: https is never followed to http");
  EXPECT_EQ(secure.requests().size(), 1U);
  EXPECT_TRUE(plain.requests().empty());
}

TEST_F(BeastHttpsClientTest, RedirectFromHttpsToAnotherHttpsOriginIsFollowedWithoutToken) {
  TestServer other(ioc, TestServer::echo_target, "127.0.0.1", &server_tls_);
  const std::string elsewhere = other.url("/blob");
  TestServer api(ioc, [&elsewhere](ServerConnection& conn) -> net::awaitable<void> {
    while (auto req = co_await conn.read_request()) {
      auto res = make_response(302, "", {{"Location", elsewhere}});  // not inline: GCC 12 coroutine bug
      if (!co_await conn.write(std::move(res))) co_return;
    }
  }, "127.0.0.1", &server_tls_);
  auto result = run(get(api.url("/logs"), {{"Authorization", "Bearer t0ken"}}));
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.response().body, "ok:/blob");
  ASSERT_EQ(other.requests().size(), 1U);
  EXPECT_FALSE(other.requests()[0].header("Authorization").has_value());
}

TEST_F(BeastHttpsClientTest, UnreadableCaFileIsAStartupError) {
  options.config.ca_file = "/nonexistent/deployguard-ca.pem";
  EXPECT_THROW(BeastHttpClient(ioc, options), std::runtime_error);
}

// ---- proxies --------------------------------------------------------------------------------

net::awaitable<void> pipe(tcp::socket& from, tcp::socket& to) {
  std::array<char, 16 * 1024> buf{};
  for (;;) {
    auto [ec, n] = co_await from.async_read_some(net::buffer(buf), use_tuple);
    if (ec) break;
    auto [wec, written] = co_await net::async_write(to, net::buffer(buf.data(), n), use_tuple);
    if (wec) break;
  }
  boost::system::error_code ignored;
  to.shutdown(tcp::socket::shutdown_send, ignored);
}

/// A minimal CONNECT proxy: records the request, connects to the target, relays bytes.
net::awaitable<void> connect_proxy(ServerConnection& conn) {
  using namespace boost::asio::experimental::awaitable_operators;
  auto req = co_await conn.read_request();
  if (!req) co_return;
  if (req->method() != bhttp::verb::connect) {
    co_await conn.write(make_response(405));
    co_return;
  }
  const std::string authority(req->target());
  const auto colon = authority.rfind(':');
  auto executor = co_await net::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [rec, endpoints] = co_await resolver.async_resolve(
      authority.substr(0, colon), authority.substr(colon + 1), use_tuple);
  tcp::socket upstream(executor);
  boost::system::error_code cec = rec;
  if (!rec) std::tie(cec, std::ignore) = co_await net::async_connect(upstream, endpoints, use_tuple);
  if (cec) {
    co_await conn.write(make_response(502));
    co_return;
  }
  if (!co_await conn.write_raw("HTTP/1.1 200 Connection established\r\n\r\n")) co_return;
  co_await (pipe(conn.socket(), upstream) || pipe(upstream, conn.socket()));
}

TEST_F(BeastHttpsClientTest, HttpsThroughProxyUsesConnectTunnel) {
  TestServer origin(ioc, TestServer::echo_target, "127.0.0.1", &server_tls_);
  TestServer proxy(ioc, connect_proxy);
  options.proxies.https_proxy = "http://bob:s%3Acret@127.0.0.1:" + std::to_string(proxy.port());
  options.proxies.http_proxy = "http://127.0.0.1:9";  // must not be used for https
  const std::string authority = "localhost:" + std::to_string(origin.port());
  auto first = run(get("https://" + authority + "/secure", {{"Authorization", "Bearer t"}}));
  ASSERT_TRUE(first.ok()) << describe(first);
  EXPECT_EQ(first.response().body, "ok:/secure");
  auto second = run(get("https://" + authority + "/again"));
  ASSERT_TRUE(second.ok()) << describe(second);

  ASSERT_EQ(proxy.requests().size(), 1U);  // the tunnel was pooled and reused
  const auto& connect = proxy.requests()[0];
  EXPECT_EQ(connect.method, "CONNECT");
  EXPECT_EQ(connect.target, authority);
  EXPECT_EQ(connect.header("Proxy-Authorization"), "Basic " + base64_encode("bob:s:cret"));
  EXPECT_FALSE(connect.header("Authorization").has_value());  // the token stays inside TLS
  ASSERT_EQ(origin.requests().size(), 2U);
  EXPECT_EQ(origin.requests()[0].sni, "localhost");
  EXPECT_EQ(origin.requests()[0].header("Authorization"), "Bearer t");
  EXPECT_FALSE(origin.requests()[0].header("Proxy-Authorization").has_value());
}

TEST_F(BeastHttpsClientTest, ProxyRefusingConnectIsAProxyError) {
  TestServer proxy(ioc, [](ServerConnection& conn) -> net::awaitable<void> {
    auto req = co_await conn.read_request();
    if (!req) co_return;
    auto res = make_response(407, "", {{"Proxy-Authenticate", "Basic"}});  // not inline: GCC 12 coroutine bug
    co_await conn.write(std::move(res));
    co_await conn.wait_for_close();
  });
  options.proxies.https_proxy = "127.0.0.1:" + std::to_string(proxy.port());
  auto result = run(get("https://localhost:1/"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::proxy) << describe(result);
  EXPECT_NE(result.error().message.find("407"), std::string::npos) << describe(result);
}

TEST_F(BeastHttpClientTest, HttpThroughProxyUsesAbsoluteFormTarget) {
  TestServer proxy(ioc, TestServer::echo_target);
  options.proxies.http_proxy = "http://alice:pw@127.0.0.1:" + std::to_string(proxy.port());
  // Nothing listens on 127.0.0.2:9; only the proxy is contacted.
  auto result = run(get("http://127.0.0.2:9/api/x?y=1"));
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.response().body, "ok:http://127.0.0.2:9/api/x?y=1");
  ASSERT_EQ(proxy.requests().size(), 1U);
  EXPECT_EQ(proxy.requests()[0].target, "http://127.0.0.2:9/api/x?y=1");
  EXPECT_EQ(proxy.requests()[0].header("Host"), "127.0.0.2:9");
  EXPECT_EQ(proxy.requests()[0].header("Proxy-Authorization"), "Basic " + base64_encode("alice:pw"));
}

TEST_F(BeastHttpClientTest, NoProxyEntryBypassesTheProxy) {
  TestServer origin(ioc, TestServer::echo_target);
  TestServer proxy(ioc, TestServer::echo_target);
  options.proxies.http_proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
  options.proxies.no_proxy = "example.com, 127.0.0.1:" + std::to_string(origin.port());
  auto result = run(get(origin.url("/direct")));
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result.response().body, "ok:/direct");
  EXPECT_TRUE(proxy.requests().empty());
  EXPECT_EQ(origin.requests().size(), 1U);
}

TEST_F(BeastHttpClientTest, MalformedProxyVariableFailsTheRequest) {
  options.proxies.http_proxy = "socks5://127.0.0.1:1080";
  auto result = run(get("http://127.0.0.1:1/"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, HttpErrorKind::proxy) << describe(result);
}

}  // namespace
}  // namespace deployguard::http
