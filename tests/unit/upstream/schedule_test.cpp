#include "upstream/schedule.hpp"

#include <gtest/gtest.h>

namespace deployguard::upstream {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

SchedulePolicy policy(Duration interval, Duration cap) {
  SchedulePolicy p;
  p.interval = interval;
  p.max_backoff = cap;
  p.jitter = 0.0;
  return p;
}

TEST(ScheduleTest, SuccessWaitsOneInterval) {
  EXPECT_EQ(next_poll_delay(policy(seconds{30}, seconds{30}), PollStatus::success(), 0, 0, 0.5),
            seconds{30});
}

TEST(ScheduleTest, JitterStaysWithinTenPercent) {
  SchedulePolicy p = policy(seconds{100}, seconds{30});
  p.jitter = 0.1;
  EXPECT_EQ(next_poll_delay(p, PollStatus::success(), 0, 0, 0.0), seconds{90});
  EXPECT_EQ(next_poll_delay(p, PollStatus::success(), 0, 0, 0.5), seconds{100});
  EXPECT_EQ(next_poll_delay(p, PollStatus::success(), 0, 0, 0.999999), milliseconds{110000});
  EXPECT_EQ(apply_jitter(seconds{10}, 0.1, 0.25), seconds{9} + milliseconds{500});
}

TEST(ScheduleTest, TransientFailuresBackOffExponentiallyUpToTheCap) {
  const auto p = policy(seconds{2}, seconds{30});
  const auto fail = PollStatus::failure("GitHub 502: bad gateway");
  EXPECT_EQ(next_poll_delay(p, fail, 1, 0, 0.5), seconds{2});
  EXPECT_EQ(next_poll_delay(p, fail, 2, 0, 0.5), seconds{4});
  EXPECT_EQ(next_poll_delay(p, fail, 3, 0, 0.5), seconds{8});
  EXPECT_EQ(next_poll_delay(p, fail, 4, 0, 0.5), seconds{16});
  EXPECT_EQ(next_poll_delay(p, fail, 5, 0, 0.5), seconds{30});
  EXPECT_EQ(next_poll_delay(p, fail, 500, 0, 0.5), seconds{30});  // no overflow
}

TEST(ScheduleTest, BackoffNeverPollsAFailingSourceMoreOftenThanAHealthyOne) {
  // Azure polls every 60 s; max_backoff 30 s must not make failures poll every 30 s.
  const auto p = policy(seconds{60}, seconds{30});
  const auto fail = PollStatus::failure("ARM 500");
  EXPECT_EQ(next_poll_delay(p, fail, 1, 0, 0.5), seconds{60});
  EXPECT_EQ(next_poll_delay(p, fail, 4, 0, 0.5), seconds{60});
}

TEST(ScheduleTest, RateLimitWaitsForTheServerGivenTime) {
  const auto p = policy(seconds{30}, seconds{30});
  const auto limited = PollStatus::failure("GitHub 403 rate limited", FailureKind::rate_limited,
                                           Duration{seconds{1800}});
  EXPECT_EQ(next_poll_delay(p, limited, 1, 1, 0.5), seconds{1800});
  // A server wait shorter than the regular backoff does not shorten the backoff.
  const auto short_wait = PollStatus::failure("x", FailureKind::rate_limited, Duration{seconds{5}});
  EXPECT_EQ(next_poll_delay(p, short_wait, 1, 1, 0.5), seconds{30});
}

TEST(ScheduleTest, ServerWaitIsAFloorEvenWithJitter) {
  SchedulePolicy p = policy(seconds{30}, seconds{30});
  p.jitter = 0.1;
  const auto limited =
      PollStatus::failure("x", FailureKind::rate_limited, Duration{seconds{100}});
  EXPECT_EQ(next_poll_delay(p, limited, 1, 1, 0.0), seconds{100});
}

TEST(ScheduleTest, RateLimitWithoutHintsWaitsAMinuteThenDoubles) {
  const auto p = policy(seconds{30}, seconds{30});
  const auto limited = PollStatus::failure("GitHub 403 rate limited", FailureKind::rate_limited);
  EXPECT_EQ(next_poll_delay(p, limited, 1, 1, 0.5), minutes{1});
  EXPECT_EQ(next_poll_delay(p, limited, 2, 2, 0.5), minutes{2});
  EXPECT_EQ(next_poll_delay(p, limited, 3, 3, 0.5), minutes{4});
  EXPECT_EQ(next_poll_delay(p, limited, 20, 20, 0.5), minutes{30});
}

TEST(ScheduleTest, SuccessThatUsedTheLastRequestWaitsForTheReset) {
  const auto p = policy(seconds{30}, seconds{30});
  PollStatus ok = PollStatus::success();
  ok.wait = seconds{600};
  EXPECT_EQ(next_poll_delay(p, ok, 0, 0, 0.5), seconds{600});
}

}  // namespace
}  // namespace deployguard::upstream
