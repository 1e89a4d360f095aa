#include "upstream/source_poller.hpp"

#include <deque>

#include <boost/asio/post.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/scripted_http_client.hpp"

namespace deployguard::upstream {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using deployguard::testing::RecordingSink;
using deployguard::testing::run_until;

/// A source whose polls end as scripted: from `script` (answered on the next loop turn) or,
/// when the script is empty, held until finish() is called.
class ScriptedSource final : public PolledSource {
 public:
  explicit ScriptedSource(boost::asio::io_context& ioc) : ioc_(ioc) {}
  const SourceId& id() const override { return id_; }
  void poll(std::function<void(PollStatus)> done) override {
    starts.push_back(Clock::now());
    if (poller) delays_seen.push_back(poller->stats().next_delay);
    if (script.empty()) {
      held = std::move(done);
      return;
    }
    auto status = script.front();
    script.pop_front();
    boost::asio::post(ioc_, [done = std::move(done), status] { done(status); });
  }
  void finish(PollStatus status) {
    auto done = std::move(held);
    held = nullptr;
    boost::asio::post(ioc_, [done = std::move(done), status] { done(status); });
  }
  RequestStats request_stats() const override { return {}; }

  std::deque<PollStatus> script;
  std::function<void(PollStatus)> held;
  std::vector<Clock::time_point> starts;
  std::vector<Duration> delays_seen;  // the poller's scheduled delay when each poll started
  SourcePoller* poller = nullptr;

 private:
  boost::asio::io_context& ioc_;
  SourceId id_ = "github";
};

class SourcePollerTest : public ::testing::Test {
 protected:
  void make(Duration interval, Duration cap = 1s, Duration spacing = 0ms) {
    auto s = std::make_unique<ScriptedSource>(ioc);
    source = s.get();
    SchedulePolicy p;
    p.interval = interval;
    p.max_backoff = cap;
    p.jitter = 0.0;
    p.rate_limit_min_wait = 10min;
    poller = std::make_unique<SourcePoller>(ioc, "prod", std::move(s), sink, p, spacing,
                                            [] { return 0.5; });
    source->poller = poller.get();
  }
  // Full steady_clock resolution: truncating to milliseconds would hide up to 1 ms.
  Clock::duration gap(std::size_t i) const { return source->starts[i] - source->starts[i - 1]; }

  boost::asio::io_context ioc;
  RecordingSink sink;
  ScriptedSource* source = nullptr;
  std::unique_ptr<SourcePoller> poller;
};

TEST_F(SourcePollerTest, PollsAtOnceThenEveryInterval) {
  make(30ms);
  for (int i = 0; i < 3; ++i) source->script.push_back(PollStatus::success());
  poller->start();
  ASSERT_TRUE(run_until(ioc, [&] { return poller->stats().polls_ok == 3; }));
  EXPECT_GE(gap(1), 30ms);
  EXPECT_GE(gap(2), 30ms);
  EXPECT_EQ(poller->stats().next_delay, 30ms);
  EXPECT_EQ(sink.count<SourceFailed>(), 0u);
}

TEST_F(SourcePollerTest, FailuresEmitSourceFailedAndBackOffExponentiallyUpToTheCap) {
  make(10ms, 40ms);
  for (int i = 0; i < 4; ++i) source->script.push_back(PollStatus::failure("GitHub 503: unavailable"));
  source->script.push_back(PollStatus::success());
  source->script.push_back(PollStatus::success());
  poller->start();
  ASSERT_TRUE(run_until(ioc, [&] { return source->starts.size() == 6; }));
  EXPECT_THAT(source->delays_seen, ::testing::ElementsAre(0ms, 10ms, 20ms, 40ms, 40ms, 10ms));
  for (std::size_t i = 1; i < source->starts.size(); ++i)
    EXPECT_GE(gap(i), source->delays_seen[i]) << "poll " << i << " came early";

  const auto failed = sink.of<SourceFailed>("prod");
  ASSERT_EQ(failed.size(), 4u);
  EXPECT_EQ(failed[0].source, "github");
  EXPECT_EQ(failed[0].error, "GitHub 503: unavailable");
  const auto stats = poller->stats();
  EXPECT_EQ(stats.consecutive_failures, 0) << "recovered";
  EXPECT_EQ(stats.polls_failed, 4u);
  EXPECT_EQ(stats.last_error, "");
}

TEST_F(SourcePollerTest, RateLimitWaitsForTheUpstreamsWait) {
  make(5ms, 10ms);
  source->script.push_back(
      PollStatus::failure("GitHub 403 rate limited", FailureKind::rate_limited, Duration{60ms}));
  source->script.push_back(PollStatus::success());
  poller->start();
  ASSERT_TRUE(run_until(ioc, [&] { return source->starts.size() == 2; }));
  EXPECT_EQ(source->delays_seen[1], 60ms);
  EXPECT_GE(gap(1), 60ms);
  EXPECT_TRUE(sink.of<SourceFailed>().size() == 1);
}

TEST_F(SourcePollerTest, RateLimitWithoutAWaitUsesTheMinimumRateLimitWait) {
  make(5ms, 10ms);
  source->script.push_back(PollStatus::failure("GitHub 429 rate limited", FailureKind::rate_limited));
  poller->start();
  ASSERT_TRUE(run_until(ioc, [&] { return poller->stats().polls_failed == 1; }));
  EXPECT_EQ(poller->stats().next_delay, 10min);
  EXPECT_TRUE(poller->stats().rate_limited);
}

TEST_F(SourcePollerTest, RefreshNowPollsWithoutWaitingForTheInterval) {
  make(1h);
  source->script = {PollStatus::success(), PollStatus::success()};
  poller->start();
  ASSERT_TRUE(run_until(ioc, [&] { return poller->stats().polls_ok == 1; }));
  EXPECT_TRUE(poller->refresh_now());
  ASSERT_TRUE(run_until(ioc, [&] { return poller->stats().polls_ok == 2; }));
  EXPECT_EQ(poller->stats().next_delay, 1h);
}

TEST_F(SourcePollerTest, RefreshNowDuringAPollCoalescesIntoOneFollowUp) {
  make(1h);
  poller->start();
  ASSERT_TRUE(run_until(ioc, [&] { return source->held != nullptr; }));
  EXPECT_TRUE(poller->refresh_now());
  EXPECT_TRUE(poller->refresh_now());
  EXPECT_TRUE(poller->refresh_now());
  EXPECT_TRUE(poller->stats().in_flight);
  source->finish(PollStatus::success());
  ASSERT_TRUE(run_until(ioc, [&] { return source->starts.size() == 2 && source->held; }));
  source->finish(PollStatus::success());
  ASSERT_TRUE(run_until(ioc, [&] { return poller->stats().polls_ok == 2; }));
  deployguard::testing::drain(ioc);
  EXPECT_EQ(source->starts.size(), 2u) << "three refreshes, one extra poll";
  EXPECT_EQ(poller->stats().next_delay, 1h);
}

TEST_F(SourcePollerTest, RefreshNowRespectsTheSpacingBetweenPolls) {
  make(1h, 1s, 80ms);
  source->script = {PollStatus::success(), PollStatus::success()};
  poller->start();
  ASSERT_TRUE(run_until(ioc, [&] { return poller->stats().polls_ok == 1; }));
  EXPECT_TRUE(poller->refresh_now());
  ASSERT_TRUE(run_until(ioc, [&] { return poller->stats().polls_ok == 2; }));
  EXPECT_GE(gap(1), 80ms);
}

TEST_F(SourcePollerTest, RefreshNowIsIgnoredWhileBackingOff) {
  make(1h);
  source->script = {PollStatus::failure("ARM 500")};
  poller->start();
  ASSERT_TRUE(run_until(ioc, [&] { return poller->stats().polls_failed == 1; }));
  EXPECT_FALSE(poller->refresh_now());
  deployguard::testing::drain(ioc);
  EXPECT_EQ(source->starts.size(), 1u);
}

TEST_F(SourcePollerTest, StopDuringAPollDeliversNothingAndSchedulesNothing) {
  make(1ms);
  poller->start();
  ASSERT_TRUE(run_until(ioc, [&] { return source->held != nullptr; }));
  poller->stop();
  source->finish(PollStatus::failure("late"));
  deployguard::testing::drain(ioc);
  EXPECT_EQ(sink.count<SourceFailed>(), 0u);
  EXPECT_EQ(source->starts.size(), 1u);
  EXPECT_FALSE(poller->refresh_now());
  ioc.restart();
  EXPECT_EQ(ioc.run_for(20ms), 0u) << "no timer left armed";
}

TEST_F(SourcePollerTest, DestroyedPollerIgnoresALateCompletion) {
  make(1ms);
  poller->start();
  ASSERT_TRUE(run_until(ioc, [&] { return source->held != nullptr; }));
  auto done = std::move(source->held);
  poller.reset();  // destroys the source too
  done(PollStatus::failure("late"));
  EXPECT_EQ(sink.count<SourceFailed>(), 0u);
}

}  // namespace
}  // namespace deployguard::upstream
