#include "parse/headers.hpp"

#include <array>
#include <chrono>
#include <limits>

#include "parse/detail/json_reader.hpp"

namespace deployguard::parse {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<int> digits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

std::optional<TimePoint> parse_http_date(std::string_view value) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed layout, 29 characters.
  const std::string_view s = trim(value);
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
      s[16] != ' ' || s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT")
    return std::nullopt;
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  unsigned month = 0;
  for (unsigned i = 0; i < kMonths.size(); ++i)
    if (s.substr(8, 3) == kMonths[i]) month = i + 1;
  const auto day = digits(s.substr(5, 2));
  const auto year = digits(s.substr(12, 4));
  const auto hour = digits(s.substr(17, 2));
  const auto minute = digits(s.substr(20, 2));
  const auto second = digits(s.substr(23, 2));
  if (month == 0 || !day || !year || !hour || !minute || !second || *hour > 23 || *minute > 59 ||
      *second > 60)
    return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{*year}, std::chrono::month{month},
                                        std::chrono::day{static_cast<unsigned>(*day)}};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::time_point_cast<Duration>(std::chrono::sys_days{ymd}) +
         std::chrono::hours{*hour} + std::chrono::minutes{*minute} +
         std::chrono::seconds{*second};
}

std::optional<Duration> parse_retry_after(std::string_view value, TimePoint now) {
  const std::string_view s = trim(value);
  if (s.empty()) return std::nullopt;
  // Cap at a day, whichever form: a longer wait is a bug upstream (a date years ahead would stop
  // polling until a restart), and seconds*1000 must not overflow.
  constexpr std::int64_t kMaxSeconds = 24 * 3600;
  if (const auto secs = detail::parse_int64_text(s)) {
    if (*secs < 0) return std::nullopt;
    return std::chrono::seconds{std::min(*secs, kMaxSeconds)};
  }
  if (const auto at = parse_http_date(s)) {
    if (*at <= now) return Duration{0};
    return std::min<Duration>(*at - now, std::chrono::seconds{kMaxSeconds});
  }
  return std::nullopt;
}

}  // namespace deployguard::parse
