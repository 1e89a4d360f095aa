// Rate-limit and Retry-After headers, including the recorded GitHub/ARM header fixtures.
#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "parse/azure.hpp"
#include "parse/github.hpp"
#include "parse/headers.hpp"

namespace deployguard::parse {
namespace {

using namespace std::chrono_literals;
using test::read_headers;
using test::ts;

RateLimitInfo rate_limit_from(std::string_view fixture, TimePoint now) {
  auto h = read_headers(fixture);
  return parse_rate_limit(h["x-ratelimit-remaining"], h["x-ratelimit-reset"], h["retry-after"], now);
}

TEST(RateLimitHeaders, PrimaryExhausted2013HasNoReset) {
  const TimePoint now = ts("2013-05-17T12:23:56Z");
  const auto rl = rate_limit_from("recorded/github/rate-limit.403.primary-exhausted.2013.headers.txt", now);
  EXPECT_EQ(rl.remaining, 0);
  EXPECT_TRUE(rl.exhausted());
  EXPECT_EQ(rl.reset_at, std::nullopt);
  EXPECT_EQ(rl.retry_after, std::nullopt);
  EXPECT_EQ(rl.retry_at(now), std::nullopt);  // caller must back off on its own
}

TEST(RateLimitHeaders, SecondaryLimitRetryAfter60) {
  const TimePoint now = ts("2018-10-23T06:16:56Z");
  const auto rl = rate_limit_from("recorded/github/rate-limit.403.secondary-abuse.retry-after.2018.headers.txt", now);
  EXPECT_EQ(rl.retry_after, Duration{60s});
  EXPECT_EQ(rl.remaining, std::nullopt);
  EXPECT_EQ(rl.retry_at(now), now + 60s);
}

TEST(RateLimitHeaders, RecordedResponsesWithResetEpoch) {
  const TimePoint now = ts("2023-11-18T21:46:40Z");
  const auto not_modified = rate_limit_from("recorded/github/conditional-get.304.headers.txt", now);
  EXPECT_EQ(not_modified.remaining, 4791);
  EXPECT_EQ(not_modified.reset_at, TimePoint{std::chrono::seconds{1700345195}});
  EXPECT_FALSE(not_modified.exhausted());
  EXPECT_EQ(not_modified.retry_at(now), std::nullopt);

  EXPECT_EQ(rate_limit_from("recorded/github/workflow-job.logs.302.headers.txt", now).remaining, 4996);
  const auto cancel = rate_limit_from("recorded/github/workflow-run.cancel.403-admin-rights.headers.txt", now);
  EXPECT_EQ(cancel.remaining, 33);
  EXPECT_EQ(cancel.reset_at, TimePoint{std::chrono::seconds{1673619381}});
  EXPECT_EQ(rate_limit_from("recorded/github/workflow-run.in_progress.headers.txt", now).remaining, 34);
  EXPECT_EQ(rate_limit_from("recorded/github/workflow-runs.list.head_sha-filter.2-completed.headers.txt", now).remaining, 57);
  const auto paged = rate_limit_from("recorded/github/workflow-runs.list.paginated-page1.headers.txt", now);
  EXPECT_EQ(paged.remaining, 56);
  EXPECT_EQ(paged.reset_at, TimePoint{std::chrono::seconds{1675115093}});
}

TEST(RateLimitHeaders, ExhaustedWaitsUntilReset) {
  const TimePoint now = TimePoint{std::chrono::seconds{1000}};
  const auto rl = parse_rate_limit("0", "1300", "", now);
  EXPECT_EQ(rl.retry_at(now), TimePoint{std::chrono::seconds{1300}});
  // A reset already in the past does not produce a time before now.
  EXPECT_EQ(parse_rate_limit("0", "900", "", now).retry_at(now), now);
  // Retry-After wins over the reset.
  EXPECT_EQ(parse_rate_limit("0", "1300", "5", now).retry_at(now), now + 5s);
}

TEST(RateLimitHeaders, MalformedValuesAreTreatedAsAbsent) {
  const TimePoint now{};
  const auto rl = parse_rate_limit("lots", "99999999999999999999", "soon", now);
  EXPECT_EQ(rl.remaining, std::nullopt);
  EXPECT_EQ(rl.reset_at, std::nullopt);
  EXPECT_EQ(rl.retry_after, std::nullopt);
  EXPECT_EQ(parse_rate_limit("-1", "-5", "-3", now).remaining, std::nullopt);
  EXPECT_EQ(parse_rate_limit(" 12 ", " 1300 ", " 7 ", now).remaining, 12);
  EXPECT_EQ(parse_rate_limit("1", "253402300800", "", now).reset_at, std::nullopt);  // past year 9999
}

TEST(RetryAfter, SecondsAndHttpDate) {
  const TimePoint now = ts("2015-10-21T07:28:00Z");
  EXPECT_EQ(parse_retry_after("120", now), Duration{120s});
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), Duration{30s});
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), Duration{0});
  EXPECT_EQ(parse_retry_after("999999999999", now), Duration{24h});  // capped
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("1.5", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("Wed, 21 Foo 2015 07:28:30 GMT", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("Wed, 31 Feb 2015 07:28:30 GMT", now), std::nullopt);
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), ts("1994-11-06T08:49:37Z"));
}

// Found by tests/fuzz/fuzz_arm_parse: only delta-seconds were capped at a day; an HTTP-date years
// ahead (the fuzzer's "Sun, 06 Nov 3990 08:49:37 GMT") was a wait of years.
TEST(RetryAfter, AnHttpDateIsCappedAtADayToo) {
  const TimePoint now = ts("2015-10-21T07:28:00Z");
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 3990 08:49:37 GMT", now), Duration{24h});
  EXPECT_EQ(parse_retry_after("Thu, 22 Oct 2015 07:28:01 GMT", now), Duration{24h});
  EXPECT_EQ(parse_retry_after("Thu, 22 Oct 2015 07:27:59 GMT", now), Duration{24h - 1s});
  EXPECT_EQ(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now), Duration{24h});
}

TEST(ArmHeaders, ConstructedThrottleAndLroFixtures) {
  const TimePoint now{};
  auto throttled = read_headers("azure/constructed/arm-429-throttled.http");
  EXPECT_EQ(parse_retry_after(throttled["retry-after"], now), Duration{17s});
  auto err = parse_arm_error(test::http_body("azure/constructed/arm-429-throttled.http"));
  ASSERT_TRUE(err.ok()) << err.error_text();
  EXPECT_EQ(err->code, "TooManyRequests");

  auto lro = read_headers("azure/constructed/arm-lro-202-azure-asyncoperation.http");
  EXPECT_EQ(parse_retry_after(lro["retry-after"], now), Duration{15s});
  EXPECT_EQ(lro["azure-asyncoperation"].rfind("https://management.azure.com/", 0), 0u);
}

TEST(ArmHeaders, Recorded202sCarryNoRetryAfter) {
  // README: "ARM 202s came without Retry-After" - the caller must use its own poll interval.
  for (const char* f : {"recorded/azure/containerapp-operation-results.202.headers.txt",
                        "recorded/azure/containerapp.patch-traffic.headers.txt",
                        "recorded/azure/postgres-flexible.patch.202.headers.txt"}) {
    SCOPED_TRACE(f);
    auto h = read_headers(f);
    EXPECT_EQ(h.count("retry-after"), 0u);
    EXPECT_EQ(parse_retry_after(h["retry-after"], TimePoint{}), std::nullopt);
    EXPECT_FALSE(h["location"].empty());
  }
  auto patch = read_headers("recorded/azure/postgres-flexible.patch.202.headers.txt");
  EXPECT_GT(patch["azure-asyncoperation"].size(), 2000u);  // multi-KB URLs must survive intact
}

}  // namespace
}  // namespace deployguard::parse
