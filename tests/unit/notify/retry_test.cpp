#include "notify/retry.hpp"

#include <gtest/gtest.h>

#include "common/scripted_http_client.hpp"

namespace deployguard::notify {
namespace {

using namespace std::chrono_literals;
using deployguard::testing::response;
using deployguard::testing::transport_error;

const TimePoint now = parse_timestamp("2026-01-05T10:00:00Z").value();

RetryPolicy policy() {
  RetryPolicy p;
  p.max_attempts = 4;
  p.initial_backoff = 1s;
  p.max_backoff = 5s;
  p.max_retry_after = 60s;
  return p;
}

TEST(NotifyRetry, TwoHundredsAreSent) {
  EXPECT_EQ(judge_attempt(response(200, "ok"), 1, policy(), now, 0.0).outcome,
            AttemptOutcome::Sent);
  EXPECT_EQ(judge_attempt(response(204, ""), 4, policy(), now, 0.0).outcome, AttemptOutcome::Sent);
}

TEST(NotifyRetry, ServerErrorsAndConnectionFailuresBackOffExponentiallyWithJitter) {
  const auto p = policy();
  auto v = judge_attempt(response(503, ""), 1, p, now, 0.999999);
  EXPECT_EQ(v.outcome, AttemptOutcome::Retry);
  EXPECT_NEAR(static_cast<double>(v.wait.count()), 1000.0, 1.0);
  EXPECT_EQ(v.why, "status=503");
  EXPECT_EQ(judge_attempt(response(500, ""), 2, p, now, 0.0).wait, 1s);  // 2s, jittered to half
  EXPECT_EQ(judge_attempt(response(502, ""), 3, p, now, 0.0).wait, 2s);
  v = judge_attempt(transport_error(http::HttpErrorKind::connect), 1, p, now, 0.0);
  EXPECT_EQ(v.outcome, AttemptOutcome::Retry);
  EXPECT_EQ(v.why, "error=connect");
  EXPECT_EQ(judge_attempt(transport_error(http::HttpErrorKind::timeout), 1, p, now, 0.0).outcome,
            AttemptOutcome::Retry);
  // Capped at max_backoff.
  RetryPolicy many = p;
  many.max_attempts = 50;
  EXPECT_EQ(judge_attempt(response(503, ""), 40, many, now, 0.0).wait, 2500ms);
}

TEST(NotifyRetry, RetryAfterIsHonouredAndCapped) {
  const auto p = policy();
  auto v = judge_attempt(response(429, "", {{"Retry-After", "7"}}), 1, p, now, 0.0);
  EXPECT_EQ(v.outcome, AttemptOutcome::Retry);
  EXPECT_EQ(v.wait, 7s);
  EXPECT_EQ(judge_attempt(response(503, "", {{"retry-after", "3600"}}), 1, p, now, 0.0).wait, 60s);
  EXPECT_EQ(judge_attempt(response(503, "", {{"Retry-After", "Mon, 05 Jan 2026 10:00:12 GMT"}}),
                          1, p, now, 0.0)
                .wait,
            12s);
  // Unparsable: the backoff.
  EXPECT_EQ(judge_attempt(response(503, "", {{"Retry-After", "soon"}}), 1, p, now, 0.0).wait,
            500ms);
}

TEST(NotifyRetry, ClientErrorsAndRefusedRequestsFailAtOnce) {
  const auto p = policy();
  for (unsigned status : {301u, 400u, 401u, 403u, 404u, 410u})
    EXPECT_EQ(judge_attempt(response(status, ""), 1, p, now, 0.0).outcome, AttemptOutcome::Failed)
        << status;
  EXPECT_EQ(judge_attempt(transport_error(http::HttpErrorKind::invalid_request), 1, p, now, 0.0)
                .outcome,
            AttemptOutcome::Failed);
  EXPECT_EQ(judge_attempt(transport_error(http::HttpErrorKind::cancelled), 1, p, now, 0.0).outcome,
            AttemptOutcome::Failed);
}

TEST(NotifyRetry, OutOfAttemptsFails) {
  const auto v = judge_attempt(response(503, ""), 4, policy(), now, 0.0);
  EXPECT_EQ(v.outcome, AttemptOutcome::Failed);
  EXPECT_EQ(v.why, "status=503 attempts=4");
}

TEST(NotifyRetry, ParseRetryAfter) {
  EXPECT_EQ(parse_retry_after("0", now), 0s);
  EXPECT_EQ(parse_retry_after(" 5 ", now), 5s);
  EXPECT_EQ(parse_retry_after("Mon, 05 Jan 2026 09:00:00 GMT", now), 0s);  // in the past
  EXPECT_FALSE(parse_retry_after("-1", now));
  EXPECT_FALSE(parse_retry_after("", now));
  EXPECT_FALSE(parse_retry_after("5s", now));
}

}  // namespace
}  // namespace deployguard::notify
