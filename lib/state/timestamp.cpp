#include "state/timestamp.hpp"

#include <chrono>
#include <cstdio>

namespace deployguard::state {
namespace {

struct Fields {
  int year;
  unsigned month, day;
  long hours, minutes, seconds, millis;
};

Fields split(TimePoint t) {
  // floor (not truncation) so instants before 1970 still get a 0..999 millisecond part.
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const auto days = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::year_month_day ymd{days};
  const std::chrono::hh_mm_ss hms{secs - days};
  return Fields{static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()),
                static_cast<long>(hms.minutes().count()),
                static_cast<long>(hms.seconds().count()),
                static_cast<long>((t - secs).count())};
}

}  // namespace

std::optional<std::string> format_timestamp_millis(TimePoint t) {
  // sys_days covers far more than year_month_day's year range; check before converting.
  using namespace std::chrono;
  constexpr auto kFirst = sys_days{year{0} / January / 1};
  constexpr auto kPastLast = sys_days{year{10000} / January / 1};
  if (t < kFirst || t >= kPastLast) return std::nullopt;
  const Fields f = split(t);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%03ldZ", f.year, f.month, f.day,
                f.hours, f.minutes, f.seconds, f.millis);
  return std::string{buf};
}

std::string format_timestamp_compact(TimePoint t) {
  const Fields f = split(t);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02ld%02ld%02ldZ", f.year, f.month, f.day, f.hours,
                f.minutes, f.seconds);
  return std::string{buf};
}

}  // namespace deployguard::state
