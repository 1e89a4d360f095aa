#include "core/time.hpp"

#include <gtest/gtest.h>

using namespace deployguard;
using namespace std::chrono_literals;

TEST(ParseDuration, AcceptsUnitsAndCombinations) {
  EXPECT_EQ(parse_duration("90s"), Duration{90s});
  EXPECT_EQ(parse_duration("14m"), Duration{14min});
  EXPECT_EQ(parse_duration("1h30m"), Duration{90min});
  EXPECT_EQ(parse_duration("500ms"), Duration{500ms});
  EXPECT_EQ(parse_duration("1m30s250ms"), Duration{90250ms});
  EXPECT_EQ(parse_duration("2d"), Duration{48h});
  EXPECT_EQ(parse_duration("0s"), Duration{0});
}

TEST(ParseDuration, RejectsGarbage) {
  for (const char* bad : {"", "soon", "14", "m", "1x", "1h 30m", "-5s", "1.5h", "99999999999999999999s"})
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
}

TEST(FormatDuration, RoundTrips) {
  for (const char* s : {"14m", "1h30m", "90ms", "1m30s", "2h", "0s"}) {
    auto d = parse_duration(s);
    ASSERT_TRUE(d) << s;
    EXPECT_EQ(parse_duration(format_duration(*d)), d) << s;
  }
  EXPECT_EQ(format_duration(Duration{90s}), "1m30s");
}

TEST(ParseTimestamp, AcceptsEveryUpstreamForm) {
  const auto base = parse_timestamp("2021-05-24T21:24:22Z");
  ASSERT_TRUE(base);
  EXPECT_EQ(format_timestamp(*base), "2021-05-24T21:24:22Z");
  EXPECT_EQ(parse_timestamp("2021-05-24T21:24:22+00:00"), base);
  EXPECT_EQ(parse_timestamp("2021-05-24T21:24:22"), base);  // no offset: UTC
  EXPECT_EQ(parse_timestamp("2021-05-25T07:24:22.000+10:00"), base);
  EXPECT_EQ(parse_timestamp("2021-05-24T20:24:22-01:00"), base);
  const auto frac = parse_timestamp("2021-05-24T21:24:22.7596323+00:00");
  ASSERT_TRUE(frac);
  EXPECT_EQ(*frac - *base, Duration{759});
  EXPECT_EQ(parse_timestamp("2021-05-24T21:24:22.5Z").value() - *base, Duration{500});
}

TEST(ParseTimestamp, RejectsMalformed) {
  for (const char* bad : {"", "2021-05-24", "2021-13-01T00:00:00Z", "2021-02-30T00:00:00Z",
                          "2021-05-24T25:00:00Z", "2021-05-24T21:24:22Q", "2021-05-24T21:24:22.Z",
                          "yesterday", "2021-05-24T21:24:22+0", "2021-05-24T21:24:22Zjunk"})
    EXPECT_FALSE(parse_timestamp(bad).has_value()) << bad;
}

TEST(ManualClock, AdvancesOnlyWhenTold) {
  ManualClock clock(*parse_timestamp("2025-12-31T18:00:00Z"));
  const auto t0 = clock.now();
  EXPECT_EQ(clock.now(), t0);
  clock.advance(5min);
  EXPECT_EQ(clock.now() - t0, Duration{5min});
}

TEST(FormatTimestamp, WholeRangeAndEdges) {
  using std::chrono::sys_days;
  const auto at = [](std::chrono::year_month_day d, Duration tod) {
    return std::chrono::time_point_cast<Duration>(sys_days{d}) + tod;
  };
  using std::chrono::year;
  using std::chrono::month;
  using std::chrono::day;
  EXPECT_EQ(format_timestamp(TimePoint{}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_timestamp(TimePoint{} - Duration{1}), "1969-12-31T23:59:59Z");  // floors
  EXPECT_EQ(format_timestamp(TimePoint{Duration{999}}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_timestamp(at(year{1} / month{1} / day{1}, Duration{0})), "0001-01-01T00:00:00Z");
  EXPECT_EQ(format_timestamp(at(year{9999} / month{12} / day{31}, 23h + 59min + 59s)),
            "9999-12-31T23:59:59Z");
  EXPECT_EQ(format_timestamp(at(year{2024} / month{2} / day{29}, 7h + 8min + 9s + 10ms)),
            "2024-02-29T07:08:09Z");
  // Outside 0..9999 the text is still produced (the old snprintf path), just not RFC 3339.
  EXPECT_EQ(format_timestamp(at(year{10000} / month{1} / day{1}, Duration{0})),
            "10000-01-01T00:00:00Z");
  // Every timestamp round-trips through parse_timestamp.
  for (std::int64_t s = -86'400; s < 400 * 86'400; s += 86'399) {
    const TimePoint t{std::chrono::seconds{s}};
    EXPECT_EQ(parse_timestamp(format_timestamp(t)), t) << s;
  }
}
