#pragma once
// Freeze windows: declared periods in which no new deploy may start (nights, weekends, release
// days). A window is either recurring (a standard 5-field cron expression giving its start in a
// time zone, and a duration) or one-off (a local `from` and `until` in a time zone).
//
// Pure: computations take the instant they are about. Time zones come from the system's tz
// database through Howard Hinnant's date/tz (the C++20 <chrono> time zones GCC 12 lacks); the
// database is located once, when a window naming a zone other than UTC is made, and is
// read-only afterwards.
//
// DST: a start whose local time does not exist (the skipped hour) is the first instant after the
// gap; a start in a repeated hour happens once, at its first occurrence. Durations are elapsed
// time, so a 12 h window that spans a DST change still lasts 12 h.
#include <bitset>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <date/date.h>

#include "core/config.hpp"
#include "core/time.hpp"

namespace date {
class time_zone;
}  // namespace date

namespace deployguard {

using LocalSeconds = date::local_seconds;

/// A standard 5-field cron expression: minute hour day-of-month month day-of-week. Fields take
/// `*`, numbers, ranges `a-b`, steps `*/n`, `a-b/n` and `a/n` (a through the field's maximum),
/// and comma lists; months `jan`..`dec` and days `sun`..`sat` by name; day-of-week 0 and 7 are
/// Sunday. As in Vixie cron, when both day fields are restricted (neither starts with `*`) a day
/// matches if either does.
class CronSchedule {
 public:
  /// nullopt and `*why` set when the text is not such an expression.
  static std::optional<CronSchedule> parse(std::string_view text, std::string* why);

  /// The first matching minute at or after `t`, searching at most kSearchYears ahead.
  std::optional<LocalSeconds> next_at_or_after(LocalSeconds t) const;
  /// The last matching minute at or before `t`, searching at most kSearchYears back.
  std::optional<LocalSeconds> prev_at_or_before(LocalSeconds t) const;

  /// Long enough for the rarest valid expression (29 February, up to 8 years apart).
  static constexpr int kSearchYears = 9;

 private:
  bool day_matches(const date::year_month_day& ymd, date::weekday wd) const;

  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // 1..31
  std::bitset<13> months_;         // 1..12
  std::bitset<7> days_of_week_;    // 0 = Sunday
  bool dom_star_ = false;
  bool dow_star_ = false;
};

/// "2026-12-24T00:00:00" or "2026-12-24T00:00" (a local date-time, no offset).
std::optional<LocalSeconds> parse_local_datetime(std::string_view text, std::string* why);

/// One occurrence of a window, in UTC.
struct WindowSpan {
  std::string name;
  TimePoint start{};
  TimePoint end{};

  bool operator==(const WindowSpan&) const = default;
};

/// A validated window, ready to answer questions about instants.
class FreezeWindow {
 public:
  /// The window, or nullopt with `*why` the problem and `*key` the key it is about ("cron",
  /// "duration", "from", "until", "time_zone", or "" for the window as a whole).
  static std::optional<FreezeWindow> make(const FreezeWindowConfig& config, std::string* why,
                                          std::string* key);

  const FreezeWindowConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  /// The occurrence in force at `t` (start <= t < end), if any.
  std::optional<WindowSpan> active_at(TimePoint t) const;
  /// The first occurrence starting after `t`, if any.
  std::optional<WindowSpan> next_start_after(TimePoint t) const;
  /// `cron "0 20 * * 1-5" for 12h, Europe/Berlin` or `2026-12-24T00:00:00 to 2027-01-02T00:00:00, Europe/Berlin`.
  std::string describe() const;

 private:
  FreezeWindowConfig config_;
  std::optional<CronSchedule> cron_;
  const date::time_zone* zone_ = nullptr;  // nullptr: UTC
  TimePoint from_{};                       // one-off windows
  TimePoint until_{};
};

/// The windows in force at an instant, and the end of the blocked span they make together
/// (windows that overlap or touch are one span).
struct ActiveFreeze {
  std::vector<WindowSpan> windows;  // in force at the instant asked about
  TimePoint until{};
};

/// `ignore` (optional): occurrences that do not apply (e.g. to a deploy that started before them).
std::optional<ActiveFreeze> active_freeze(const std::vector<FreezeWindow>& windows, TimePoint now,
                                          const std::function<bool(const WindowSpan&)>& ignore = {});
/// The first occurrence of any window starting after `now`.
std::optional<WindowSpan> next_window(const std::vector<FreezeWindow>& windows, TimePoint now);
/// Occurrences overlapping [from, to), by start, at most `max`.
std::vector<WindowSpan> windows_between(const std::vector<FreezeWindow>& windows, TimePoint from,
                                        TimePoint to, std::size_t max = 1000);

}  // namespace deployguard
