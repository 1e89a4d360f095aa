#include "core/freeze_window.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/policy.hpp"
#include "policy_fixture.hpp"

using namespace deployguard;
using namespace deployguard::testing;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

FreezeWindow recurring(std::string name, std::string cron, Duration duration, std::string zone = "UTC") {
  FreezeWindowConfig c;
  c.name = std::move(name);
  c.cron = std::move(cron);
  c.duration = duration;
  c.time_zone = std::move(zone);
  std::string why, key;
  auto w = FreezeWindow::make(c, &why, &key);
  if (!w) throw std::runtime_error(key + ": " + why);
  return *w;
}

FreezeWindow once(std::string name, std::string from, std::string until, std::string zone = "UTC") {
  FreezeWindowConfig c;
  c.name = std::move(name);
  c.from = std::move(from);
  c.until = std::move(until);
  c.time_zone = std::move(zone);
  std::string why, key;
  auto w = FreezeWindow::make(c, &why, &key);
  if (!w) throw std::runtime_error(key + ": " + why);
  return *w;
}

/// The problem FreezeWindow::make reports for a config, as "key: why".
std::string problem(FreezeWindowConfig c) {
  std::string why, key;
  if (FreezeWindow::make(c, &why, &key)) return "";
  return key + ": " + why;
}

std::string cron_problem(const char* text) {
  std::string why;
  if (CronSchedule::parse(text, &why)) return "";
  return why;
}

LocalSeconds local(const char* text) {
  std::string why;
  return parse_local_datetime(text, &why).value();
}

std::vector<std::string> codes(const Decision& d) {
  std::vector<std::string> out;
  for (const auto& r : d.reasons) out.emplace_back(to_string(r.code));
  return out;
}

}  // namespace

// ---- cron ----------------------------------------------------------------------------------

TEST(CronSchedule, ParsesTheStandardForms) {
  std::string why;
  const auto c = CronSchedule::parse("*/15 9-17 * jan,Jul mon-fri", &why);
  ASSERT_TRUE(c) << why;
  // Thursday 2026-01-01 09:07 -> 09:15 the same day.
  EXPECT_EQ(c->next_at_or_after(local("2026-01-01T09:07:00")), local("2026-01-01T09:15:00"));
  // Friday 17:50 -> Monday 09:00.
  EXPECT_EQ(c->next_at_or_after(local("2026-01-02T17:50:00")), local("2026-01-05T09:00:00"));
  // The end of January -> the first weekday of July.
  EXPECT_EQ(c->next_at_or_after(local("2026-01-31T00:00:00")), local("2026-07-01T09:00:00"));
  EXPECT_EQ(c->prev_at_or_before(local("2026-07-01T08:59:00")), local("2026-01-30T17:45:00"));
  // A matching minute is its own next and previous.
  EXPECT_EQ(c->next_at_or_after(local("2026-01-01T09:15:00")), local("2026-01-01T09:15:00"));
  EXPECT_EQ(c->prev_at_or_before(local("2026-01-01T09:15:30")), local("2026-01-01T09:15:00"));
}

TEST(CronSchedule, DayOfMonthOrDayOfWeekWhenBothAreRestricted) {
  std::string why;
  // Vixie cron: the 13th, or any Friday.
  const auto c = CronSchedule::parse("0 0 13 * 5", &why);
  ASSERT_TRUE(c) << why;
  EXPECT_EQ(c->next_at_or_after(local("2026-02-06T00:01:00")), local("2026-02-13T00:00:00"));  // Fri 13th
  EXPECT_EQ(c->next_at_or_after(local("2026-03-01T00:00:00")), local("2026-03-06T00:00:00"));  // a Friday
  EXPECT_EQ(c->next_at_or_after(local("2026-04-11T00:00:00")), local("2026-04-13T00:00:00"));  // Mon 13th
  // A star in one field: both must match (any day that is a Sunday; 7 is Sunday too).
  const auto sunday = CronSchedule::parse("0 12 * * 7", &why);
  ASSERT_TRUE(sunday) << why;
  EXPECT_EQ(sunday->next_at_or_after(local("2026-12-07T00:00:00")), local("2026-12-13T12:00:00"));
  const auto step = CronSchedule::parse("0 0 1/10 * *", &why);  // a/n: a through the end
  ASSERT_TRUE(step) << why;
  EXPECT_EQ(step->next_at_or_after(local("2026-01-02T00:00:00")), local("2026-01-11T00:00:00"));
  EXPECT_EQ(step->next_at_or_after(local("2026-01-22T00:00:00")), local("2026-01-31T00:00:00"));
}

TEST(CronSchedule, LeapDayIsFoundYearsAway) {
  std::string why;
  const auto c = CronSchedule::parse("0 0 29 2 *", &why);
  ASSERT_TRUE(c) << why;
  EXPECT_EQ(c->next_at_or_after(local("2025-03-01T00:00:00")), local("2028-02-29T00:00:00"));
  EXPECT_EQ(c->prev_at_or_before(local("2027-12-31T00:00:00")), local("2024-02-29T00:00:00"));
}

TEST(CronSchedule, RejectsWhatIsNotStandardCron) {
  EXPECT_THAT(cron_problem("0 20 * *"), HasSubstr("expected 5 fields"));
  EXPECT_THAT(cron_problem("@daily"), HasSubstr("expected 5 fields"));
  EXPECT_THAT(cron_problem("60 * * * *"), HasSubstr("minute field \"60\": values must be within 0-59"));
  EXPECT_THAT(cron_problem("0 24 * * *"), HasSubstr("hour field"));
  EXPECT_THAT(cron_problem("0 0 0 * *"), HasSubstr("day of month field"));
  EXPECT_THAT(cron_problem("0 0 * 13 *"), HasSubstr("month field"));
  EXPECT_THAT(cron_problem("0 0 * * 8"), HasSubstr("day of week field"));
  EXPECT_THAT(cron_problem("0 0 * * fri-mon"), HasSubstr("runs backwards"));
  EXPECT_THAT(cron_problem("*/0 * * * *"), HasSubstr("step must be a positive number"));
  EXPECT_THAT(cron_problem("0 0 * foo *"), HasSubstr("\"foo\" is not a valid value"));
  EXPECT_THAT(cron_problem("1,,2 * * * *"), HasSubstr("is not a valid value"));
  EXPECT_EQ(cron_problem("0 20 * * 1-5"), "");
}

// ---- windows -------------------------------------------------------------------------------

TEST(FreezeWindow, WeeknightsInBerlin) {
  const auto nights = recurring("nights", "0 20 * * 1-5", 12h, "Europe/Berlin");
  // Monday 2026-12-07 20:00 CET is 19:00Z; the window ends Tuesday 07:00Z (08:00 local).
  EXPECT_FALSE(nights.active_at(at("2026-12-07T18:59:59Z")));
  const auto span = nights.active_at(at("2026-12-07T19:00:00Z"));
  ASSERT_TRUE(span);
  EXPECT_EQ(span->start, at("2026-12-07T19:00:00Z"));
  EXPECT_EQ(span->end, at("2026-12-08T07:00:00Z"));
  EXPECT_TRUE(nights.active_at(at("2026-12-08T06:59:59Z")));
  EXPECT_FALSE(nights.active_at(at("2026-12-08T07:00:00Z")));
  // Friday night ends Saturday 08:00 local; Saturday and Sunday evenings start nothing.
  EXPECT_TRUE(nights.active_at(at("2026-12-12T06:00:00Z")));
  EXPECT_FALSE(nights.active_at(at("2026-12-12T20:00:00Z")));
  EXPECT_FALSE(nights.active_at(at("2026-12-13T22:00:00Z")));
  const auto next = nights.next_start_after(at("2026-12-12T07:00:00Z"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->start, at("2026-12-14T19:00:00Z"));  // Monday again
  EXPECT_EQ(nights.describe(), "cron \"0 20 * * 1-5\" for 12h, Europe/Berlin");
}

TEST(FreezeWindow, StartInTheSkippedHourBeginsWhenTheGapEnds) {
  // Europe/Berlin, 2027-03-28: 02:00 CET becomes 03:00 CEST (01:00Z). 02:30 does not exist.
  const auto w = recurring("maintenance", "30 2 * * *", 1h, "Europe/Berlin");
  const auto span = w.next_start_after(at("2027-03-27T12:00:00Z"));
  ASSERT_TRUE(span);
  EXPECT_EQ(span->start, at("2027-03-28T01:00:00Z"));  // 03:00 CEST, the first valid instant
  EXPECT_EQ(span->end, at("2027-03-28T02:00:00Z"));
  EXPECT_EQ(w.active_at(at("2027-03-28T01:30:00Z"))->start, at("2027-03-28T01:00:00Z"));
  // The day before and after: 02:30 local as usual.
  EXPECT_EQ(w.next_start_after(at("2027-03-26T12:00:00Z"))->start, at("2027-03-27T01:30:00Z"));  // CET
  EXPECT_EQ(w.next_start_after(at("2027-03-28T12:00:00Z"))->start, at("2027-03-29T00:30:00Z"));  // CEST
}

TEST(FreezeWindow, StartInTheRepeatedHourHappensOnce) {
  // Europe/Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00Z); 02:30 happens twice.
  const auto w = recurring("maintenance", "30 2 * * *", 15min, "Europe/Berlin");
  const auto first = w.next_start_after(at("2026-10-24T12:00:00Z"));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->start, at("2026-10-25T00:30:00Z"));  // 02:30 CEST
  const auto second = w.next_start_after(first->start);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->start, at("2026-10-26T01:30:00Z"));  // the next day, not 01:30Z (02:30 CET) again
  EXPECT_FALSE(w.active_at(at("2026-10-25T01:35:00Z")));  // the second 02:35 is not in a window
}

TEST(FreezeWindow, NewYorkAcrossBothChanges) {
  // America/New_York, 2027-03-14: 02:00 EST becomes 03:00 EDT (07:00Z).
  const auto at_two = recurring("two", "0 2 * * *", 30min, "America/New_York");
  EXPECT_EQ(at_two.next_start_after(at("2027-03-13T12:00:00Z"))->start, at("2027-03-14T07:00:00Z"));
  // A 12 h window that spans the change lasts 12 elapsed hours: 20:00 EST to 09:00 EDT.
  const auto nights = recurring("nights", "0 20 * * *", 12h, "America/New_York");
  const auto span = nights.active_at(at("2027-03-14T12:00:00Z"));
  ASSERT_TRUE(span);
  EXPECT_EQ(span->start, at("2027-03-14T01:00:00Z"));
  EXPECT_EQ(span->end, at("2027-03-14T13:00:00Z"));
  // 2026-11-01: 02:00 EDT becomes 01:00 EST (06:00Z); 01:30 happens twice, the window once.
  const auto half_past_one = recurring("early", "30 1 * * *", 10min, "America/New_York");
  EXPECT_EQ(half_past_one.next_start_after(at("2026-10-31T12:00:00Z"))->start, at("2026-11-01T05:30:00Z"));
  EXPECT_EQ(half_past_one.next_start_after(at("2026-11-01T05:30:00Z"))->start, at("2026-11-02T06:30:00Z"));
}

TEST(FreezeWindow, OneOffWindowInItsZone) {
  const auto w = once("new-year", "2026-12-24T00:00:00", "2027-01-02T00:00", "Europe/Berlin");
  EXPECT_FALSE(w.active_at(at("2026-12-23T22:59:59Z")));
  const auto span = w.active_at(at("2026-12-23T23:00:00Z"));
  ASSERT_TRUE(span);
  EXPECT_EQ(span->end, at("2027-01-01T23:00:00Z"));
  EXPECT_FALSE(w.active_at(at("2027-01-01T23:00:00Z")));
  EXPECT_EQ(w.next_start_after(at("2026-12-01T00:00:00Z"))->start, at("2026-12-23T23:00:00Z"));
  EXPECT_FALSE(w.next_start_after(at("2026-12-24T00:00:00Z")));
  EXPECT_EQ(w.describe(), "2026-12-24T00:00:00 to 2027-01-02T00:00:00, Europe/Berlin");
}

TEST(FreezeWindow, OverlappingWindowsBlockUntilTheLastOneEnds) {
  // Nights until 08:00 UTC, a release window 07:00-09:00 on the 8th, a third one touching it.
  const std::vector<FreezeWindow> windows = {
      recurring("nights", "0 20 * * *", 12h),
      once("release", "2026-12-08T07:00:00", "2026-12-08T09:00:00"),
      once("follow-up", "2026-12-08T09:00:00", "2026-12-08T09:30:00"),
  };
  const auto active = active_freeze(windows, at("2026-12-08T06:00:00Z"));
  ASSERT_TRUE(active);
  ASSERT_EQ(active->windows.size(), 1u);
  EXPECT_EQ(active->windows[0].name, "nights");
  EXPECT_EQ(active->until, at("2026-12-08T09:30:00Z"));
  const auto later = active_freeze(windows, at("2026-12-08T08:30:00Z"));
  ASSERT_TRUE(later);
  EXPECT_EQ(later->windows.size(), 1u);  // release only: nights ended at 08:00
  EXPECT_EQ(later->until, at("2026-12-08T09:30:00Z"));
  EXPECT_FALSE(active_freeze(windows, at("2026-12-08T09:30:00Z")));
  const auto next = next_window(windows, at("2026-12-08T09:30:00Z"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->name, "nights");
  EXPECT_EQ(next->start, at("2026-12-08T20:00:00Z"));
}

TEST(FreezeWindow, WindowsBetweenListsEachOccurrenceInOrder) {
  const std::vector<FreezeWindow> windows = {
      recurring("weekend", "0 0 * * 6", 48h),
      recurring("nights", "0 22 * * 1-5", 8h),
  };
  // Friday 2026-12-11 12:00Z to Tuesday 12:00Z.
  const auto list = windows_between(windows, at("2026-12-11T12:00:00Z"), at("2026-12-15T12:00:00Z"));
  std::vector<std::string> seen;
  for (const auto& s : list) seen.push_back(s.name + "@" + format_timestamp(s.start));
  EXPECT_THAT(seen, ElementsAre("nights@2026-12-11T22:00:00Z", "weekend@2026-12-12T00:00:00Z",
                                "nights@2026-12-14T22:00:00Z"));
  // The one in force at `from` comes first.
  const auto during = windows_between(windows, at("2026-12-12T12:00:00Z"), at("2026-12-12T13:00:00Z"));
  ASSERT_EQ(during.size(), 1u);
  EXPECT_EQ(during[0].start, at("2026-12-12T00:00:00Z"));
}

TEST(FreezeWindow, MakeNamesTheKeyThatIsWrong) {
  FreezeWindowConfig c;
  c.name = "w";
  EXPECT_THAT(problem(c), HasSubstr(": needs cron and duration"));
  c.cron = "0 20 * * 1-5";
  EXPECT_THAT(problem(c), HasSubstr("duration: required with cron"));
  c.duration = 12h;
  EXPECT_EQ(problem(c), "");
  c.time_zone = "Europe/Atlantis";
  EXPECT_THAT(problem(c), HasSubstr("time_zone: unknown time zone \"Europe/Atlantis\""));
  c.time_zone = "UTC";
  c.cron = "0 0 30 2 *";
  EXPECT_THAT(problem(c), HasSubstr("cron: \"0 0 30 2 *\" never matches a date"));
  c.cron = "0 0 * * mon-";
  EXPECT_THAT(problem(c), HasSubstr("cron: day of week field"));
  c.from = "2026-12-24T00:00:00";
  c.cron = "0 0 * * *";
  EXPECT_THAT(problem(c), HasSubstr("cron: set either cron and duration"));

  FreezeWindowConfig o;
  o.name = "once";
  o.from = "2026-12-24T00:00:00";
  EXPECT_THAT(problem(o), HasSubstr("until: required with from"));
  o.until = "2026-12-24T00:00:00";
  EXPECT_THAT(problem(o), HasSubstr("until: must be after from"));
  o.until = "2026-12-24T00:00:00Z";
  EXPECT_THAT(problem(o), HasSubstr("until: expected a local date-time"));
  o.until = "2026-02-30T00:00:00";
  EXPECT_THAT(problem(o), HasSubstr("until: \"2026-02-30T00:00:00\" is not a valid date and time"));
  o.until = "2026-12-25T00:00";
  o.duration = 1h;
  EXPECT_THAT(problem(o), HasSubstr("duration: only a recurring window"));
}

// ---- the policy ----------------------------------------------------------------------------

namespace {

EnvironmentRules rules_with(std::vector<FreezeWindow> windows) {
  auto r = staging_rules();
  r.stale_after = std::chrono::hours{24};  // no staleness deadline in the way of the windows'
  r.freeze_windows = std::move(windows);
  return r;
}

}  // namespace

TEST(FreezeWindowPolicy, AWindowBlocksAndLapsesByItself) {
  EnvironmentPolicy policy{rules_with({recurring("nights", "0 20 * * 1-5", 12h, "Europe/Berlin")})};
  const TimePoint evening = at("2026-12-07T18:00:00Z");
  refresh_healthy(policy, evening);
  EXPECT_TRUE(policy.decide(evening).safe);
  // Nothing happens, yet the next window's start is a deadline: the verdict changes then.
  EXPECT_EQ(policy.next_deadline(evening), at("2026-12-07T19:00:00Z"));

  const TimePoint night = at("2026-12-08T03:00:00Z");
  refresh_healthy(policy, night);
  const auto d = policy.decide(night);
  ASSERT_THAT(codes(d), ElementsAre("freeze_window"));
  EXPECT_EQ(d.reasons[0].until, at("2026-12-08T07:00:00Z"));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("freeze window \"nights\" (cron \"0 20 * * 1-5\" for 12h, Europe/Berlin)"));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("until 2026-12-08T07:00:00Z"));
  EXPECT_EQ(d.retry_after, Duration{4h});
  EXPECT_EQ(policy.next_deadline(night), at("2026-12-08T07:00:00Z"));
  ASSERT_TRUE(policy.freeze_window_in_force(night));
  EXPECT_EQ(policy.next_freeze_window(night)->start, at("2026-12-08T19:00:00Z"));

  const TimePoint morning = at("2026-12-08T07:00:00Z");
  refresh_healthy(policy, morning);
  EXPECT_TRUE(policy.decide(morning).safe);
  EXPECT_FALSE(policy.freeze_window_in_force(morning));
}

TEST(FreezeWindowPolicy, ADeployRunningWhenAWindowStartsRunsToItsEnd) {
  EnvironmentPolicy policy{rules_with({recurring("nights", "0 20 * * *", 12h)})};
  const TimePoint started = at("2026-12-07T19:50:00Z");
  refresh_healthy(policy, started, {deploy_run(41, RunStatus::InProgress, started)});
  const TimePoint later = at("2026-12-07T20:10:00Z");
  refresh_healthy(policy, later, {deploy_run(41, RunStatus::InProgress, started)});
  // The run itself (asking as its own run, e.g. a later job of it) is not stopped...
  EXPECT_TRUE(policy.decide(later, AsRun{41}).safe) << codes(policy.decide(later, AsRun{41})).size();
  // ...anyone else waits for the window, and for the run.
  EXPECT_THAT(codes(policy.decide(later)), ElementsAre("freeze_window", "deploy_in_progress"));
  // A run that started inside the window is blocked by it even as its own asker.
  refresh_healthy(policy, later, {deploy_run(41, RunStatus::Completed, started, RunConclusion::Success, later),
                                  deploy_run(42, RunStatus::InProgress, later)});
  EXPECT_TRUE(policy.decide(later, AsRun{42}).has(ReasonCode::FreezeWindow));
}

TEST(FreezeWindowPolicy, ALeaseTakenBeforeTheWindowKeepsGoing) {
  EnvironmentPolicy policy{rules_with({recurring("nights", "0 20 * * *", 12h)})};
  const TimePoint before = at("2026-12-07T19:55:00Z");
  refresh_healthy(policy, before);
  const auto lease = policy.acquire_lease(LeaseRequest{"L1", "pipeline", 1h, 77, 1}, before);
  ASSERT_TRUE(std::holds_alternative<Lease>(lease));
  const TimePoint inside = at("2026-12-07T20:05:00Z");
  refresh_healthy(policy, inside);
  EXPECT_FALSE(policy.decide(inside, AsRun{77, 1}).has(ReasonCode::FreezeWindow));
  EXPECT_TRUE(policy.decide(inside).has(ReasonCode::FreezeWindow));
  // The lease is not ended by the window.
  EXPECT_TRUE(policy.lease());
}

TEST(FreezeWindowPolicy, TheQueueWaitsForTheWindowAndIsServedWhenItEnds) {
  EnvironmentPolicy policy{rules_with({once("release", "2026-12-08T10:00:00", "2026-12-08T11:00:00")})};
  const TimePoint t = at("2026-12-08T10:30:00Z");
  refresh_healthy(policy, t);
  Ticket ticket{"T1", "pipeline", 30min, 5, 1, "", "main", {}, {}};
  policy.join_queue(ticket, t);
  EXPECT_FALSE(policy.serve_queue(t, "L1"));
  EXPECT_EQ(policy.decide_for_ticket(t, "T1")->find(ReasonCode::FreezeWindow)->until, at("2026-12-08T11:00:00Z"));
  const TimePoint end = at("2026-12-08T11:00:00Z");
  refresh_healthy(policy, end);
  policy.touch_ticket("T1", end);
  EXPECT_TRUE(policy.serve_queue(end, "L1"));
}

TEST(FreezeWindowPolicy, AnInvalidWindowFailsClosed) {
  EnvironmentConfig env;
  env.name = "staging";
  env.github = GitHubTarget{"zimaxnet/engram", {"deploy.yml"}, "main"};
  FreezeWindowConfig bad;
  bad.name = "broken";
  bad.cron = "0 0 * * *";
  bad.duration = 1h;
  bad.time_zone = "Nowhere/Atlantis";
  env.freeze_windows = {bad};
  EnvironmentPolicy policy{EnvironmentRules::from_config(env)};
  const TimePoint t = at("2026-12-08T10:00:00Z");
  policy.apply(RunsPolled{}, t);
  const auto d = policy.decide(t);
  ASSERT_THAT(codes(d), ElementsAre("freeze_window"));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("freeze window \"broken\" is invalid (time_zone: unknown time zone"));
  EXPECT_FALSE(d.reasons[0].until);
}
