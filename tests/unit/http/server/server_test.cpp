// http::Server against real sockets on 127.0.0.1:0. The server runs on its own io thread, as in
// the daemon; the test thread is the client. Waits are on events (futures, poll) with timeouts;
// the only paced loop is the trickling client, which must send slowly by definition.
#include "http/server/server.hpp"

#include <poll.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "common/run_on_io.hpp"
#include "common/test_http_client.hpp"

namespace deployguard::http {
namespace {

using namespace std::chrono_literals;
using testing::TestHttpClient;
namespace bhttp = boost::beast::http;

Response text(std::string body, Status status = Status::ok) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, "text/plain");
  res.body() = std::move(body);
  return res;
}

/// Answers "<method> <target> <body size>" at once.
void echo(Request&& req, Responder respond) {
  respond(text(std::string(req.method_string()) + " " + std::string(req.target()) + " " +
               std::to_string(req.body().size())));
}

class ServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions options, Handler handler = echo) {
    server_ = std::make_unique<Server>(io_.get_executor(), std::move(options), std::move(handler));
    server_->start();
    port_ = server_->local_endpoint().port();
    io_thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    io_.stop();
    if (io_thread_.joinable()) io_thread_.join();
    server_.reset();
  }

  /// Runs `fn` on the io thread and waits for it.
  template <class F>
  auto on_io(F fn) {
    return deployguard::testing::run_on_io(io_, std::move(fn));
  }

  TestHttpClient connect() { return TestHttpClient{"127.0.0.1", port_}; }

  boost::asio::io_context io_;
  std::unique_ptr<Server> server_;
  std::thread io_thread_;
  std::uint16_t port_ = 0;
};

ServerOptions small_limits() {
  ServerOptions options;
  options.max_header_bytes = 1024;
  options.max_body_bytes = 100;
  return options;
}

TEST_F(ServerTest, BindsPortZeroAndAnswers) {
  start({});
  EXPECT_NE(port_, 0);
  auto client = connect();
  auto res = client.request("GET", "/hello");
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_EQ(res->body(), "GET /hello 0");
}

TEST_F(ServerTest, KeepAliveReusesTheConnection) {
  std::atomic<int> requests{0};
  start({}, [&](Request&& req, Responder respond) {
    ++requests;
    echo(std::move(req), std::move(respond));
  });
  auto client = connect();
  auto first = client.request("GET", "/a");
  ASSERT_TRUE(first) << client.last_error();
  EXPECT_TRUE(first->keep_alive());
  auto second = client.request("GET", "/b");
  ASSERT_TRUE(second) << client.last_error();
  EXPECT_EQ(second->body(), "GET /b 0");
  EXPECT_EQ(requests.load(), 2);
  EXPECT_EQ(on_io([&] { return server_->connection_count(); }), 1u);
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start({});
  auto client = connect();
  ASSERT_TRUE(client.send_raw("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = client.read_response();
  auto second = client.read_response();
  ASSERT_TRUE(first && second) << client.last_error();
  EXPECT_EQ(first->body(), "GET /1 0");
  EXPECT_EQ(second->body(), "GET /2 0");
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  start({});
  auto client = connect();
  auto res = client.request("GET", "/", "Connection: close\r\n");
  ASSERT_TRUE(res);
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(client.wait_closed());
}

TEST_F(ServerTest, OversizeHeaderIs431AndCloses) {
  start(small_limits());
  auto client = connect();
  auto res = client.request("GET", "/", "X-Big: " + std::string(2000, 'a') + "\r\n");
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->result_int(), 431);
  EXPECT_NE(res->body().find("\"code\":\"header_too_large\""), std::string::npos);
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(client.wait_closed());
}

TEST_F(ServerTest, OversizeContentLengthIs413BeforeTheBodyIsSent) {
  start(small_limits());
  auto client = connect();
  ASSERT_TRUE(client.send_raw("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n"));
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->result_int(), 413);
  EXPECT_NE(res->body().find("\"code\":\"payload_too_large\""), std::string::npos);
  EXPECT_TRUE(client.wait_closed());
}

TEST_F(ServerTest, OversizeChunkedBodyIs413) {
  start(small_limits());
  auto client = connect();
  const std::string chunk(80, 'x');
  ASSERT_TRUE(client.send_raw("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "50\r\n" + chunk + "\r\n50\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->result_int(), 413);
}

TEST_F(ServerTest, BodyAtTheLimitIsAccepted) {
  start(small_limits());
  auto client = connect();
  auto res = client.request("POST", "/x", "", std::string(100, 'b'));
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->body(), "POST /x 100");
}

TEST_F(ServerTest, BodyLimitDependsOnTheRoute) {
  auto options = small_limits();
  options.body_limit_for = [](const RequestHeader& header) -> std::size_t {
    return header.target() == "/webhook" ? 5000 : 100;
  };
  start(options);
  auto client = connect();
  auto big = client.request("POST", "/webhook", "", std::string(3000, 'w'));
  ASSERT_TRUE(big) << client.last_error();
  EXPECT_EQ(big->body(), "POST /webhook 3000");
  auto rejected = client.request("POST", "/other", "", std::string(3000, 'w'));
  ASSERT_TRUE(rejected) << client.last_error();
  EXPECT_EQ(rejected->result_int(), 413);
}

TEST_F(ServerTest, ExpectContinueGets100BeforeTheBody) {
  start({});
  auto client = connect();
  ASSERT_TRUE(client.send_raw(
      "POST /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
  auto interim = client.read_response();
  ASSERT_TRUE(interim) << client.last_error();
  EXPECT_EQ(interim->result_int(), 100);
  ASSERT_TRUE(client.send_raw("abc"));
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->body(), "POST /c 3");
}

TEST_F(ServerTest, RequestArrivingInPiecesIsAnsweredOnceComplete) {
  start({});
  auto client = connect();
  // Header and body each cut in several segments, the header inside a field name and inside
  // the blank line. The server must not answer before the last byte.
  const std::vector<std::string> pieces = {"POST /pie", "ces HTTP/1.1\r\nHo", "st: x\r\nContent-Le",
                                           "ngth: 10\r\n\r", "\n01234", "567", "89"};
  for (const auto& piece : pieces) {
    ASSERT_TRUE(client.send_raw(piece));
    if (&piece != &pieces.back()) {
      EXPECT_FALSE(client.readable_within(20ms)) << "answered before the request was complete";
    }
  }
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->body(), "POST /pieces 10");
  // The connection is still in step: a second request on it is answered.
  auto again = client.request("GET", "/again");
  ASSERT_TRUE(again) << client.last_error();
  EXPECT_EQ(again->body(), "GET /again 0");
}

TEST_F(ServerTest, LargeBodyArrivesOverManyReads) {
  ServerOptions options;
  options.max_body_bytes = 4 * 1024 * 1024;
  start(options);
  auto client = connect();
  const std::string body(3 * 1024 * 1024 + 17, 'b');
  ASSERT_TRUE(client.send_raw("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body));
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->body(), "POST /big " + std::to_string(body.size()));
}

TEST_F(ServerTest, PipelinedRequestsWithBodiesStayInStep) {
  start({});
  auto client = connect();
  ASSERT_TRUE(client.send_raw(
      "POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
      "POST /2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n"
      "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (const char* expected : {"POST /1 3", "POST /2 2", "GET /3 0"}) {
    auto res = client.read_response();
    ASSERT_TRUE(res) << client.last_error();
    EXPECT_EQ(res->body(), expected);
  }
}

TEST_F(ServerTest, BusyKeepAliveConnectionOutlivesItsFirstDeadlines) {
  // Each request moves the connection's deadline forward; the timer armed for the first one
  // fires and must re-arm for the moved deadline instead of closing.
  // Generous against a loaded machine (sanitizers, parallel tests): a pause of more than
  // ~450 ms between two requests of the loop would be needed to hit the idle deadline.
  ServerOptions options;
  options.read_timeout = 500ms;
  options.idle_timeout = 500ms;
  start(options);
  auto client = connect();
  const auto until = std::chrono::steady_clock::now() + 1600ms;  // three deadlines and more
  int answered = 0;
  while (std::chrono::steady_clock::now() < until) {
    auto res = client.request("GET", "/tick");
    ASSERT_TRUE(res) << "request " << answered << ": " << client.last_error();
    ++answered;
    EXPECT_FALSE(client.readable_within(40ms)) << "unexpected bytes or close";
  }
  EXPECT_GE(answered, 5);
  EXPECT_EQ(on_io([&] { return server_->connection_count(); }), 1u);
}

TEST_F(ServerTest, MalformedRequestIs400AndCloses) {
  start({});
  auto client = connect();
  ASSERT_TRUE(client.send_raw("GET / HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n"));
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->result_int(), 400);
  EXPECT_NE(res->body().find("\"code\":\"bad_request\""), std::string::npos);
  EXPECT_TRUE(client.wait_closed());
}

TEST_F(ServerTest, BadVersionIs400) {
  start({});
  auto client = connect();
  ASSERT_TRUE(client.send_raw("GET / HTTP/9\r\n\r\n"));
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->result_int(), 400);
}

TEST_F(ServerTest, TricklingClientIsCutOffByReadTimeout) {
  ServerOptions options;
  options.read_timeout = 300ms;
  options.idle_timeout = 30s;
  start(options);
  auto client = connect();
  // One byte every 50 ms: every read makes progress, but the whole request never arrives.
  // The poll both paces the client and notices the server closing.
  const std::string request = "GET /" + std::string(500, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto started = std::chrono::steady_clock::now();
  bool closed = false;
  for (std::size_t i = 0; i < request.size() && !closed; ++i) {
    if (!client.send_raw(request.substr(i, 1))) break;
    closed = client.readable_within(50ms);
  }
  EXPECT_TRUE(closed || client.wait_closed(2s));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 5s);
  EXPECT_FALSE(client.read_response(100ms)) << "the slow request must not be answered";
}

TEST_F(ServerTest, SilentNewConnectionIsClosedAfterReadTimeout) {
  ServerOptions options;
  options.read_timeout = 200ms;
  options.idle_timeout = 30s;
  start(options);
  auto client = connect();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.wait_closed(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  ServerOptions options;
  options.read_timeout = 30s;  // much longer: only idle_timeout can explain the close
  options.idle_timeout = 200ms;
  start(options);
  auto client = connect();
  ASSERT_TRUE(client.request("GET", "/"));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.wait_closed(5s));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 5s);
}

TEST_F(ServerTest, ConnectionsOverTheLimitGet503) {
  ServerOptions options;
  options.max_connections = 2;
  start(options);
  auto a = connect();
  auto b = connect();
  ASSERT_TRUE(a.request("GET", "/a"));  // both accepted and holding a slot
  ASSERT_TRUE(b.request("GET", "/b"));
  auto c = connect();
  auto rejected = c.read_response();
  ASSERT_TRUE(rejected) << c.last_error();
  EXPECT_EQ(rejected->result_int(), 503);
  EXPECT_NE(rejected->body().find("\"code\":\"overloaded\""), std::string::npos);
  EXPECT_TRUE(c.wait_closed());

  // Freeing a slot lets the next connection in. The server releases the slot before the client
  // can see EOF, so this is not a race.
  ASSERT_TRUE(a.request("GET", "/bye", "Connection: close\r\n"));
  ASSERT_TRUE(a.wait_closed());
  auto d = connect();
  auto res = d.request("GET", "/d");
  ASSERT_TRUE(res) << d.last_error();
  EXPECT_EQ(res->result_int(), 200);
}

TEST_F(ServerTest, ConnectionsOverThePerClientLimitGet503WithRetryAfter) {
  ServerOptions options;
  options.max_connections_per_client = 2;
  start(options);
  auto a = connect();
  auto b = connect();
  ASSERT_TRUE(a.request("GET", "/a"));
  ASSERT_TRUE(b.request("GET", "/b"));
  auto c = connect();
  auto rejected = c.read_response();
  ASSERT_TRUE(rejected) << c.last_error();
  EXPECT_EQ(rejected->result_int(), 503);
  EXPECT_EQ((*rejected)["Retry-After"], "5");
  EXPECT_NE(rejected->body().find("\"code\":\"too_many_connections\""), std::string::npos);
  EXPECT_TRUE(c.wait_closed());
  // The client's slot comes back when one of its connections closes.
  ASSERT_TRUE(a.request("GET", "/bye", "Connection: close\r\n"));
  ASSERT_TRUE(a.wait_closed());
  auto d = connect();
  auto res = d.request("GET", "/d");
  ASSERT_TRUE(res) << d.last_error();
  EXPECT_EQ(res->result_int(), 200);
}

TEST_F(ServerTest, ExemptPeersCountOnlyAgainstTheGlobalLimit) {
  ServerOptions options;
  options.max_connections_per_client = 1;
  options.max_connections = 3;
  options.exempt_from_client_limit = [](const net::ip::address& peer) { return peer.is_loopback(); };
  start(options);
  auto a = connect();
  auto b = connect();
  auto c = connect();
  ASSERT_TRUE(a.request("GET", "/a"));
  ASSERT_TRUE(b.request("GET", "/b"));
  ASSERT_TRUE(c.request("GET", "/c"));
  auto d = connect();
  auto rejected = d.read_response();
  ASSERT_TRUE(rejected) << d.last_error();
  EXPECT_NE(rejected->body().find("\"code\":\"overloaded\""), std::string::npos);
}

TEST_F(ServerTest, HeadReturnsHeadersWithGetLengthAndNoBody) {
  start({});
  auto client = connect();
  auto res = client.request("HEAD", "/abc");
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_EQ((*res)[bhttp::field::content_length], std::to_string(std::string("HEAD /abc 0").size()));
  EXPECT_TRUE(res->body().empty());
  auto next = client.request("GET", "/after");  // nothing stray left on the connection
  ASSERT_TRUE(next) << client.last_error();
  EXPECT_EQ(next->body(), "GET /after 0");
}

TEST_F(ServerTest, HandlerExceptionIs500) {
  start({}, [](Request&&, Responder) { throw std::runtime_error("boom"); });
  auto client = connect();
  auto res = client.request("GET", "/");
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->result_int(), 500);
}

TEST_F(ServerTest, DroppedResponderAnswers500) {
  start({}, [](Request&&, Responder) { /* responder dropped unused */ });
  auto client = connect();
  auto res = client.request("GET", "/");
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->result_int(), 500);
}

/// Keeps the responder of every request for the test to answer later (on the io thread).
struct HeldRequests {
  std::optional<Responder> responder;
  std::promise<void> arrived;
  std::promise<void> disconnected;
  Handler handler() {
    return [this](Request&&, Responder respond) {
      respond.on_disconnect([this] { disconnected.set_value(); });
      responder.emplace(std::move(respond));
      arrived.set_value();
    };
  }
};

TEST_F(ServerTest, ResponderCanAnswerLater) {
  HeldRequests held;
  start({}, held.handler());
  auto client = connect();
  ASSERT_TRUE(client.send_request("GET", "/wait"));
  ASSERT_EQ(held.arrived.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(client.readable_within(50ms)) << "no answer before the responder is called";
  on_io([&] {
    EXPECT_TRUE(held.responder->connected());
    (*held.responder)(text("later"));
    EXPECT_FALSE(held.responder->connected());
    return 0;
  });
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->body(), "later");
  // The connection stays usable after an asynchronous answer.
  held.arrived = {};
  ASSERT_TRUE(client.send_request("GET", "/again"));
  ASSERT_EQ(held.arrived.get_future().wait_for(5s), std::future_status::ready);
  on_io([&] {
    (*held.responder)(text("again"));
    return 0;
  });
  auto second = client.read_response();
  ASSERT_TRUE(second) << client.last_error();
  EXPECT_EQ(second->body(), "again");
}

TEST_F(ServerTest, PendingResponseOutlivesTheReadAndIdleDeadlines) {
  // While the handler holds a request (long-poll) no deadline applies to the connection.
  ServerOptions options;
  options.read_timeout = 100ms;
  options.idle_timeout = 100ms;
  HeldRequests held;
  start(options, held.handler());
  auto client = connect();
  ASSERT_TRUE(client.send_request("GET", "/wait"));
  ASSERT_EQ(held.arrived.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(client.readable_within(400ms)) << "closed or answered while the handler held it";
  on_io([&] {
    EXPECT_TRUE(held.responder->connected());
    (*held.responder)(text("late"));
    return 0;
  });
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->body(), "late");
  // Then the idle deadline applies again.
  EXPECT_TRUE(client.wait_closed(5s));
}

TEST_F(ServerTest, ClientDisconnectMakesThePendingResponderANoOp) {
  HeldRequests held;
  start({}, held.handler());
  auto client = connect();
  ASSERT_TRUE(client.send_request("GET", "/wait"));
  ASSERT_EQ(held.arrived.get_future().wait_for(5s), std::future_status::ready);
  client.close();
  ASSERT_EQ(held.disconnected.get_future().wait_for(5s), std::future_status::ready);
  on_io([&] {
    EXPECT_FALSE(held.responder->connected());
    (*held.responder)(text("too late"));  // must not crash or write anywhere
    EXPECT_EQ(server_->connection_count(), 0u);
    return 0;
  });
}

TEST_F(ServerTest, GracefulStopFinishesRequestsInFlight) {
  HeldRequests held;
  start({}, held.handler());
  auto busy = connect();
  auto idle = connect();
  ASSERT_TRUE(busy.send_request("GET", "/wait"));
  ASSERT_EQ(held.arrived.get_future().wait_for(5s), std::future_status::ready);

  std::promise<void> stopped;
  on_io([&] {
    server_->stop(5s, [&] { stopped.set_value(); });
    return 0;
  });
  EXPECT_TRUE(idle.wait_closed()) << "idle connections close at once";
  std::string error;
  EXPECT_FALSE(TestHttpClient::try_connect("127.0.0.1", port_, &error)) << "still accepting";

  on_io([&] {
    (*held.responder)(text("finished"));
    return 0;
  });
  auto res = busy.read_response();
  ASSERT_TRUE(res) << busy.last_error();
  EXPECT_EQ(res->body(), "finished");
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(busy.wait_closed());
  EXPECT_EQ(stopped.get_future().wait_for(5s), std::future_status::ready);
}

TEST_F(ServerTest, StopForceClosesAfterTheGracePeriod) {
  HeldRequests held;
  start({}, held.handler());
  auto client = connect();
  ASSERT_TRUE(client.send_request("GET", "/never"));
  ASSERT_EQ(held.arrived.get_future().wait_for(5s), std::future_status::ready);
  std::promise<void> stopped;
  on_io([&] {
    server_->stop(100ms, [&] { stopped.set_value(); });
    return 0;
  });
  EXPECT_EQ(held.disconnected.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(stopped.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(client.wait_closed());
}

TEST(ServerStartTest, AddressInUseThrows) {
  boost::asio::io_context io;
  Server first{io.get_executor(), {}, echo};
  first.start();
  ServerOptions same;
  same.port = first.local_endpoint().port();
  Server second{io.get_executor(), same, echo};
  EXPECT_THROW(second.start(), boost::system::system_error);
}

}  // namespace
}  // namespace deployguard::http
