// Long-poll GET /can-deploy?wait=N through a real http::Server: waiters wake on the state change
// that makes the environment safe (not by polling), answer 423 at their deadline, are capped by
// max_waiters, and are removed when their client disconnects. The io_context runs on a helper
// thread; the test thread changes state by posting to it and learns the waiter count from the
// Api's observer (condition variable, no sleeps).
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/api.hpp"
#include "service/guard_service.hpp"
#include "common/run_on_io.hpp"
#include "common/test_http_client.hpp"
#include "http/server/server.hpp"
#include "service/clock.hpp"

namespace deployguard::api {
namespace {

using namespace std::chrono_literals;
using deployguard::testing::TestHttpClient;
using SteadyClock = std::chrono::steady_clock;

EnvironmentConfig github_env(std::string name) {
  EnvironmentConfig env;
  env.name = std::move(name);
  env.github = GitHubTarget{"example/app", {"deploy.yml"}, std::nullopt};
  return env;
}

class LongPollTest : public ::testing::Test {
 protected:
  explicit LongPollTest(std::size_t max_waiters = 3, Duration max_wait = 1s,
                        std::function<void(ApiOptions&)> more = {}) {
    ApiOptions options;
    options.max_waiters = max_waiters;
    options.max_wait = max_wait;
    if (more) more(options);
    options.on_waiter_count = [this](std::size_t n) {
      {
        std::lock_guard lock(mutex_);
        waiting_ = n;
      }
      changed_.notify_all();
    };
    api_ = std::make_unique<Api>(service_, options, nullptr, TokenAuth::anonymous());
    server_ = std::make_unique<http::Server>(
        io_.get_executor(), http::ServerOptions{},
        [this](http::Request&& request, http::Responder responder) {
          (*api_)(std::move(request), std::move(responder));
        });
    server_->start();
    port_ = server_->local_endpoint().port();
    service_.start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~LongPollTest() override {
    boost::asio::post(io_, [this] {
      service_.stop();
      api_->answer_waiters();
      server_->stop(0ms, [this] { work_.reset(); });
    });
    thread_.join();
  }

  /// Runs `fn` on the io thread and waits for it.
  template <class F>
  auto on_io(F fn) {
    return deployguard::testing::run_on_io(io_, std::move(fn));
  }
  bool wait_for_waiters(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return waiting_ == n; });
  }
  TestHttpClient client() { return TestHttpClient{"127.0.0.1", port_}; }

  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  service::SystemClock clock_;
  service::GuardService service_{io_.get_executor(), clock_, {{"staging", github_env("staging")}}};
  std::unique_ptr<Api> api_;
  std::unique_ptr<http::Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t waiting_ = 0;
};

TEST_F(LongPollTest, WaiterIsAnswered200AsSoonAsTheFreezeIsLifted) {
  on_io([this] {
    service_.apply("staging", RunsPolled{});
    return service_.modify("staging", [](EnvironmentPolicy& p, TimePoint now) {
      p.set_freeze(Freeze{"r", "alice", now, std::nullopt});
    });
  });
  auto waiter = client();
  // max_wait is 1s here; a wake-up well before that shows the change woke it.
  ASSERT_TRUE(waiter.send_request("GET", "/can-deploy?env=staging&wait=600"));
  ASSERT_TRUE(wait_for_waiters(1));
  EXPECT_FALSE(waiter.readable_within(0ms));
  const auto lifted = SteadyClock::now();
  on_io([this] {
    return service_.modify("staging", [](EnvironmentPolicy& p, TimePoint) { p.clear_freeze(); });
  });
  auto res = waiter.read_response(5s);
  ASSERT_TRUE(res) << waiter.last_error();
  EXPECT_LT(SteadyClock::now() - lifted, 500ms);
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_EQ(nlohmann::json::parse(res->body())["safe"], true);
  EXPECT_TRUE(wait_for_waiters(0));
}

TEST_F(LongPollTest, ARunsWaiterWakesWhenOnlyItsOwnRunStillBlocks) {
  on_io([this] {
    WorkflowRun run;
    run.id = 42;
    run.workflow_path = ".github/workflows/deploy.yml";
    run.repository = "example/app";
    run.status = RunStatus::InProgress;
    run.created_at = run.updated_at = service_.now();
    run.run_started_at = run.created_at;
    service_.apply("staging", RunsPolled{{run}});
    return service_.modify("staging", [](EnvironmentPolicy& p, TimePoint now) {
      p.set_freeze(Freeze{"r", "alice", now, std::nullopt});
    });
  });
  auto own = client();
  auto other = client();
  ASSERT_TRUE(own.send_request("GET", "/can-deploy?env=staging&run_id=42&wait=600"));
  ASSERT_TRUE(other.send_request("GET", "/can-deploy?env=staging&wait=600"));
  ASSERT_TRUE(wait_for_waiters(2));
  const auto lifted = SteadyClock::now();
  on_io([this] {
    return service_.modify("staging", [](EnvironmentPolicy& p, TimePoint) { p.clear_freeze(); });
  });
  // Run 42 is now blocked by nothing but itself: its waiter is answered at once...
  auto res = own.read_response(5s);
  ASSERT_TRUE(res) << own.last_error();
  EXPECT_LT(SteadyClock::now() - lifted, 500ms);
  EXPECT_EQ(res->result_int(), 200) << res->body();
  EXPECT_EQ(nlohmann::json::parse(res->body())["for_run"]["run_id"], 42);
  EXPECT_TRUE(wait_for_waiters(1));
  // ...while everyone else still waits for run 42 and gets 423 at the deadline.
  auto blocked = other.read_response(5s);
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->result_int(), 423);
  EXPECT_EQ(nlohmann::json::parse(blocked->body())["reasons"][0]["code"], "deploy_in_progress");
}

TEST_F(LongPollTest, ChangesThatLeaveItBlockedDoNotAnswer) {
  auto waiter = client();
  ASSERT_TRUE(waiter.send_request("GET", "/can-deploy?env=staging&wait=1"));
  ASSERT_TRUE(wait_for_waiters(1));
  // A freeze while "starting": still blocked, the waiter keeps waiting.
  on_io([this] {
    return service_.modify("staging", [](EnvironmentPolicy& p, TimePoint now) {
      p.set_freeze(Freeze{"r", "alice", now, std::nullopt});
    });
  });
  EXPECT_EQ(on_io([this] { return api_->waiter_count(); }), 1u);
  auto res = waiter.read_response(5s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 423);
}

TEST_F(LongPollTest, WaiterIsAnswered423AtItsDeadlineCappedByMaxWait) {
  auto waiter = client();
  const auto sent = SteadyClock::now();
  ASSERT_TRUE(waiter.send_request("GET", "/can-deploy?env=staging&wait=600"));  // capped to 1s
  auto res = waiter.read_response(5s);
  const auto elapsed = SteadyClock::now() - sent;
  ASSERT_TRUE(res) << waiter.last_error();
  EXPECT_EQ(res->result_int(), 423);
  EXPECT_EQ(nlohmann::json::parse(res->body())["reasons"][0]["code"], "starting");
  EXPECT_GE(elapsed, 950ms);
  EXPECT_LT(elapsed, 3s);
  EXPECT_TRUE(wait_for_waiters(0));
  // The connection stays usable (keep-alive).
  auto again = waiter.request("GET", "/can-deploy?env=staging");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->result_int(), 423);
}

TEST_F(LongPollTest, SafeOrWaitZeroAnswersAtOnce) {
  auto c = client();
  auto res = c.request("GET", "/can-deploy?env=staging&wait=0");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 423);
  on_io([this] { return service_.apply("staging", RunsPolled{}); });
  const auto sent = SteadyClock::now();
  res = c.request("GET", "/can-deploy?env=staging&wait=30");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_LT(SteadyClock::now() - sent, 500ms);
}

TEST_F(LongPollTest, BeyondMaxWaitersIs503) {
  std::vector<TestHttpClient> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(client());
    ASSERT_TRUE(waiters.back().send_request("GET", "/can-deploy?env=staging&wait=600"));
  }
  ASSERT_TRUE(wait_for_waiters(3));
  auto extra = client();
  auto res = extra.request("GET", "/can-deploy?env=staging&wait=600");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 503);
  EXPECT_EQ(nlohmann::json::parse(res->body())["error"]["code"], "too_many_waiters");
  // Without wait, the same client is answered normally.
  res = extra.request("GET", "/can-deploy?env=staging");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 423);
}

TEST_F(LongPollTest, DisconnectedWaiterIsRemovedAndFreesItsSlot) {
  auto waiter = client();
  ASSERT_TRUE(waiter.send_request("GET", "/can-deploy?env=staging&wait=600"));
  ASSERT_TRUE(wait_for_waiters(1));
  waiter.close();
  EXPECT_TRUE(wait_for_waiters(0)) << "the disconnect callback removes the waiter";
  EXPECT_EQ(on_io([this] { return api_->waiter_count(); }), 0u);
}

TEST_F(LongPollTest, InvalidWaitIs400) {
  auto c = client();
  for (const std::string wait : {"abc", "-1", "1.5", "", "+3", "99999999999999999999"}) {
    auto res = c.request("GET", "/can-deploy?env=staging&wait=" + wait);
    ASSERT_TRUE(res) << wait;
    EXPECT_EQ(res->result_int(), 400) << wait;
    EXPECT_EQ(nlohmann::json::parse(res->body())["error"]["code"], "bad_request");
  }
  auto unknown = c.request("GET", "/can-deploy?env=qa&wait=5");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->result_int(), 404);
}

// ---- per client address ------------------------------------------------------------------------

class PerClientTest : public LongPollTest {
 protected:
  explicit PerClientTest(std::string trusted = "127.0.0.0/8")
      : LongPollTest(10, 60s, [trusted](ApiOptions& options) {
          options.max_waiters_per_client = 2;
          options.trusted_proxies = {Cidr::parse(trusted).value()};
        }) {}

  /// A long-poll from `forwarded` (X-Forwarded-For) through the "proxy" 127.0.0.1.
  TestHttpClient waiter(const std::string& forwarded) {
    auto c = client();
    EXPECT_TRUE(c.send_request("GET", "/can-deploy?env=staging&wait=60",
                               "X-Forwarded-For: " + forwarded + "\r\n"));
    return c;
  }
};

TEST_F(PerClientTest, OneClientGetsAtMostItsShareOfWaiters) {
  // Never polled: stale, so every waiter parks.
  auto a1 = waiter("203.0.113.7");
  auto a2 = waiter("203.0.113.7");
  ASSERT_TRUE(wait_for_waiters(2));
  auto a3 = waiter("203.0.113.7");
  auto refused = a3.read_response(5s);
  ASSERT_TRUE(refused) << a3.last_error();
  EXPECT_EQ(refused->result_int(), 503);
  EXPECT_EQ((*refused)["Retry-After"], "5");
  EXPECT_NE(refused->body().find("too many long-poll requests from 203.0.113.7"), std::string::npos)
      << refused->body();
  // Another client behind the same proxy still gets in: the limit is per client, not per proxy.
  // The right-most untrusted hop is the client ("evil" prefixes written by the client are not).
  auto b = waiter("198.51.100.1, 203.0.113.9, 127.0.0.2");
  ASSERT_TRUE(wait_for_waiters(3));
  // A client's slot comes back when its waiter leaves.
  a1.close();
  ASSERT_TRUE(wait_for_waiters(2));
  auto a4 = waiter("203.0.113.7");
  ASSERT_TRUE(wait_for_waiters(3));
  EXPECT_FALSE(a4.readable_within(0ms));
}

class UntrustedPeerTest : public PerClientTest {
 protected:
  UntrustedPeerTest() : PerClientTest("::1/128") {}
};

TEST_F(UntrustedPeerTest, ForwardedForIsIgnoredFromAnUntrustedPeer) {
  // 127.0.0.1 is no trusted proxy here: its X-Forwarded-For is the client's own claim, so these
  // are one client (the peer), not three.
  auto a = waiter("203.0.113.1");
  auto b = waiter("203.0.113.2");
  ASSERT_TRUE(wait_for_waiters(2));
  auto c = waiter("203.0.113.3");
  auto refused = c.read_response(5s);
  ASSERT_TRUE(refused) << c.last_error();
  EXPECT_EQ(refused->result_int(), 503);
  EXPECT_NE(refused->body().find("from 127.0.0.1 "), std::string::npos) << refused->body();
}

}  // namespace
}  // namespace deployguard::api
