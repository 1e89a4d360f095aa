#include "core/freeze_window.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <exception>

#include <date/tz.h>

namespace deployguard {
namespace {

using namespace std::chrono_literals;
using date::local_days;
using LocalMinutes = date::local_time<std::chrono::minutes>;

struct Field {
  std::string_view name;
  int min;
  int max;
  const std::array<std::string_view, 12>* names;  // names[i] is the value min + i
};

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 12> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri",
                                                        "sat", "",    "",    "",    "",    ""};

constexpr Field kFields[] = {
    {"minute", 0, 59, nullptr},
    {"hour", 0, 23, nullptr},
    {"day of month", 1, 31, nullptr},
    {"month", 1, 12, &kMonthNames},
    {"day of week", 0, 7, &kDayNames},
};

std::optional<int> field_value(std::string_view text, const Field& f) {
  if (text.empty()) return std::nullopt;
  if (f.names && std::isalpha(static_cast<unsigned char>(text[0]))) {
    std::string lower(text);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (std::size_t i = 0; i < f.names->size(); ++i)
      if (!(*f.names)[i].empty() && (*f.names)[i] == lower) return f.min + static_cast<int>(i);
    return std::nullopt;
  }
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

/// Parses one field into `bits` (index = value). Returns "" or the problem.
template <std::size_t N>
std::string parse_field(std::string_view text, const Field& f, std::bitset<N>& bits) {
  const std::string where = std::string(f.name) + " field \"" + std::string(text) + "\": ";
  while (true) {
    const auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    int step = 1;
    const bool has_step = item.find('/') != std::string_view::npos;
    if (const auto slash = item.find('/'); slash != std::string_view::npos) {
      const auto s = field_value(item.substr(slash + 1), Field{f.name, 1, 1000, nullptr});
      if (!s || *s < 1) return where + "step must be a positive number";
      step = *s;
      item = item.substr(0, slash);
    }
    int lo = f.min;
    int hi = f.max;
    if (item == "*") {
      if (f.max == 7) hi = 6;  // day of week: 7 is Sunday again
    } else {
      const auto dash = item.find('-');
      const auto a = field_value(item.substr(0, dash), f);
      if (!a) return where + "\"" + std::string(item.substr(0, dash)) + "\" is not a valid value";
      lo = *a;
      if (dash != std::string_view::npos) {
        const auto b = field_value(item.substr(dash + 1), f);
        if (!b) return where + "\"" + std::string(item.substr(dash + 1)) + "\" is not a valid value";
        hi = *b;
      } else if (!has_step) {
        hi = lo;  // "a/n" is a through the maximum, every n
      } else if (f.max == 7) {
        hi = 6;
      }
      if (lo < f.min || lo > f.max || hi < f.min || hi > f.max)
        return where + "values must be within " + std::to_string(f.min) + "-" + std::to_string(f.max);
      if (lo > hi) return where + "range " + std::to_string(lo) + "-" + std::to_string(hi) + " runs backwards";
    }
    for (int v = lo; v <= hi; v += step) bits.set(static_cast<std::size_t>(f.max == 7 ? v % 7 : v));
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
    if (text.empty()) return where + "empty list item";
  }
  return {};
}

std::vector<std::string_view> split_ws(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

/// The instant a local time names in `zone` (nullptr: UTC): the first occurrence of a repeated
/// local time, the end of the gap for a skipped one.
TimePoint resolve(const date::time_zone* zone, LocalSeconds local) {
  if (zone == nullptr) return TimePoint{local.time_since_epoch()};
  const date::local_info info = zone->get_info(local);
  switch (info.result) {
    case date::local_info::nonexistent: return TimePoint{info.first.end};
    case date::local_info::unique:
    case date::local_info::ambiguous: break;
  }
  return TimePoint{local.time_since_epoch() - info.first.offset};
}

LocalSeconds to_local(const date::time_zone* zone, TimePoint t) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  if (zone == nullptr) return LocalSeconds{secs.time_since_epoch()};
  return zone->to_local(secs);
}

std::string format_local(LocalSeconds t) { return date::format("%Y-%m-%dT%H:%M:%S", t); }

// Local and UTC offsets differ by less than this anywhere on Earth (historically 2 h at most
// between one zone's standard and double summer time, 14 h from UTC).
constexpr auto kMaxOffsetShift = std::chrono::hours{3};
// Occurrences examined when looking for the latest start before an instant or the next after
// it: enough for one every minute across kMaxOffsetShift on either side.
constexpr int kMaxProbes = 2 * 60 * 3 + 10;

}  // namespace

// ---- CronSchedule --------------------------------------------------------------------------

std::optional<CronSchedule> CronSchedule::parse(std::string_view text, std::string* why) {
  const auto fields = split_ws(text);
  if (fields.size() != 5) {
    *why = "expected 5 fields (minute hour day-of-month month day-of-week), got " +
           std::to_string(fields.size());
    return std::nullopt;
  }
  CronSchedule c;
  std::string problem = parse_field(fields[0], kFields[0], c.minutes_);
  if (problem.empty()) problem = parse_field(fields[1], kFields[1], c.hours_);
  if (problem.empty()) problem = parse_field(fields[2], kFields[2], c.days_of_month_);
  if (problem.empty()) problem = parse_field(fields[3], kFields[3], c.months_);
  if (problem.empty()) problem = parse_field(fields[4], kFields[4], c.days_of_week_);
  if (!problem.empty()) {
    *why = problem;
    return std::nullopt;
  }
  c.dom_star_ = fields[2].front() == '*';
  c.dow_star_ = fields[4].front() == '*';
  return c;
}

bool CronSchedule::day_matches(const date::year_month_day& ymd, date::weekday wd) const {
  const bool dom = days_of_month_.test(static_cast<unsigned>(ymd.day()));
  const bool dow = days_of_week_.test(wd.c_encoding());
  if (dom_star_ || dow_star_) return dom && dow;
  return dom || dow;
}

std::optional<LocalSeconds> CronSchedule::next_at_or_after(LocalSeconds t) const {
  auto m = std::chrono::ceil<std::chrono::minutes>(t);
  const auto limit = m + date::years{kSearchYears};
  while (m <= limit) {
    const local_days day = std::chrono::floor<date::days>(m);
    const date::year_month_day ymd{day};
    if (!months_.test(static_cast<unsigned>(ymd.month()))) {
      m = LocalMinutes{local_days{(ymd.year() / ymd.month() + date::months{1}) / 1}};
      continue;
    }
    if (!day_matches(ymd, date::weekday{day})) {
      m = LocalMinutes{day + date::days{1}};
      continue;
    }
    const auto hour = std::chrono::floor<std::chrono::hours>(m);
    if (!hours_.test(static_cast<std::size_t>((hour - day).count()))) {
      m = hour + std::chrono::hours{1};
      continue;
    }
    if (!minutes_.test(static_cast<std::size_t>((m - hour).count()))) {
      m += std::chrono::minutes{1};
      continue;
    }
    return LocalSeconds{m};
  }
  return std::nullopt;
}

std::optional<LocalSeconds> CronSchedule::prev_at_or_before(LocalSeconds t) const {
  auto m = std::chrono::floor<std::chrono::minutes>(t);
  const auto limit = m - date::years{kSearchYears};
  while (m >= limit) {
    const local_days day = std::chrono::floor<date::days>(m);
    const date::year_month_day ymd{day};
    if (!months_.test(static_cast<unsigned>(ymd.month()))) {
      m = LocalMinutes{local_days{ymd.year() / ymd.month() / 1}} - std::chrono::minutes{1};
      continue;
    }
    if (!day_matches(ymd, date::weekday{day})) {
      m = LocalMinutes{day} - std::chrono::minutes{1};
      continue;
    }
    const auto hour = std::chrono::floor<std::chrono::hours>(m);
    if (!hours_.test(static_cast<std::size_t>((hour - day).count()))) {
      m = hour - std::chrono::minutes{1};
      continue;
    }
    if (!minutes_.test(static_cast<std::size_t>((m - hour).count()))) {
      m -= std::chrono::minutes{1};
      continue;
    }
    return LocalSeconds{m};
  }
  return std::nullopt;
}

std::optional<LocalSeconds> parse_local_datetime(std::string_view text, std::string* why) {
  // YYYY-MM-DDTHH:MM[:SS]
  auto digits = [&](std::size_t pos, std::size_t n) -> std::optional<int> {
    if (pos + n > text.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  const bool shape = (text.size() == 16 || text.size() == 19) && text[4] == '-' && text[7] == '-' &&
                     (text[10] == 'T' || text[10] == ' ') && text[13] == ':' &&
                     (text.size() == 16 || text[16] == ':');
  const auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2), h = digits(11, 2), mi = digits(14, 2);
  const auto s = text.size() == 19 ? digits(17, 2) : std::optional<int>(0);
  if (!shape || !y || !mo || !d || !h || !mi || !s) {
    *why = "expected a local date-time such as 2026-12-24T00:00:00 (seconds optional, no offset: "
           "the window's time_zone applies), got \"" + std::string(text) + "\"";
    return std::nullopt;
  }
  const date::year_month_day ymd{date::year{*y}, date::month{static_cast<unsigned>(*mo)},
                                 date::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok() || *h > 23 || *mi > 59 || *s > 59) {
    *why = "\"" + std::string(text) + "\" is not a valid date and time";
    return std::nullopt;
  }
  return LocalSeconds{local_days{ymd}} + std::chrono::hours{*h} + std::chrono::minutes{*mi} +
         std::chrono::seconds{*s};
}

// ---- FreezeWindow --------------------------------------------------------------------------

std::optional<FreezeWindow> FreezeWindow::make(const FreezeWindowConfig& config, std::string* why,
                                               std::string* key) {
  auto fail = [&](std::string k, std::string message) -> std::optional<FreezeWindow> {
    *key = std::move(k);
    *why = std::move(message);
    return std::nullopt;
  };
  FreezeWindow w;
  w.config_ = config;
  if (config.time_zone != "UTC") {
    try {
      w.zone_ = date::locate_zone(config.time_zone);
      (void)w.zone_->get_info(date::sys_seconds{});  // loads the zone's rules now, not in decide()
    } catch (const std::exception&) {
      return fail("time_zone", "unknown time zone \"" + config.time_zone +
                                   "\" (not in the system's tz database; names look like Europe/Berlin)");
    }
  }
  const bool once = config.from || config.until;
  if (config.cron && once)
    return fail("cron", "set either cron and duration (a recurring window) or from and until (a one-off one), not both");
  if (config.cron) {
    std::string problem;
    w.cron_ = CronSchedule::parse(*config.cron, &problem);
    if (!w.cron_) return fail("cron", problem);
    // Any instant will do: a valid expression matches within kSearchYears of every one.
    if (!w.cron_->next_at_or_after(LocalSeconds{local_days{date::year{2024} / 1 / 1}}))
      return fail("cron", "\"" + *config.cron + "\" never matches a date");
    if (config.duration <= Duration::zero())
      return fail("duration", "required with cron, and longer than 0 (how long each occurrence lasts)");
    return w;
  }
  if (config.duration != Duration::zero())
    return fail("duration", "only a recurring window (cron) has a duration; a one-off one ends at until");
  if (!once) return fail("", "needs cron and duration (a recurring window) or from and until (a one-off one)");
  if (!config.from) return fail("from", "required with until");
  if (!config.until) return fail("until", "required with from");
  std::string problem;
  const auto from = parse_local_datetime(*config.from, &problem);
  if (!from) return fail("from", problem);
  const auto until = parse_local_datetime(*config.until, &problem);
  if (!until) return fail("until", problem);
  w.from_ = resolve(w.zone_, *from);
  w.until_ = resolve(w.zone_, *until);
  if (w.until_ <= w.from_)
    return fail("until", "must be after from (" + *config.from + "), or the window is empty");
  return w;
}

std::optional<WindowSpan> FreezeWindow::active_at(TimePoint t) const {
  if (!cron_) {
    if (from_ <= t && t < until_) return WindowSpan{config_.name, from_, until_};
    return std::nullopt;
  }
  // The latest start at or before t: local->UTC is monotonic, so walk back from a local time
  // surely later than t's until an occurrence starts at or before t.
  LocalSeconds probe = to_local(zone_, t) + kMaxOffsetShift;
  for (int i = 0; i < kMaxProbes; ++i) {
    const auto local = cron_->prev_at_or_before(probe);
    if (!local) return std::nullopt;
    const TimePoint start = resolve(zone_, *local);
    if (start <= t) {
      if (t < start + config_.duration) return WindowSpan{config_.name, start, start + config_.duration};
      return std::nullopt;
    }
    probe = *local - std::chrono::minutes{1};
  }
  return std::nullopt;
}

std::optional<WindowSpan> FreezeWindow::next_start_after(TimePoint t) const {
  if (!cron_) {
    if (from_ > t) return WindowSpan{config_.name, from_, until_};
    return std::nullopt;
  }
  LocalSeconds probe = to_local(zone_, t) - kMaxOffsetShift;
  for (int i = 0; i < kMaxProbes; ++i) {
    const auto local = cron_->next_at_or_after(probe);
    if (!local) return std::nullopt;
    const TimePoint start = resolve(zone_, *local);
    if (start > t) return WindowSpan{config_.name, start, start + config_.duration};
    probe = *local + std::chrono::minutes{1};
  }
  return std::nullopt;
}

std::string FreezeWindow::describe() const {
  if (cron_) return "cron \"" + *config_.cron + "\" for " + format_duration(config_.duration) + ", " + config_.time_zone;
  return format_local(to_local(zone_, from_)) + " to " + format_local(to_local(zone_, until_)) + ", " +
         config_.time_zone;
}

// ---- sets of windows -----------------------------------------------------------------------

std::optional<ActiveFreeze> active_freeze(const std::vector<FreezeWindow>& windows, TimePoint now,
                                          const std::function<bool(const WindowSpan&)>& ignore) {
  ActiveFreeze out;
  for (const auto& w : windows) {
    auto span = w.active_at(now);
    if (!span || (ignore && ignore(*span))) continue;
    out.until = std::max(out.until, span->end);
    out.windows.push_back(std::move(*span));
  }
  if (out.windows.empty()) return std::nullopt;
  // A window in force when the span ends (starting before or right at that instant) extends
  // it. Bounded: windows that always overlap (a duration longer than the cron's period) give a
  // lower estimate, which the daemon re-evaluates when it is reached.
  for (int round = 0; round < 64; ++round) {
    bool grew = false;
    for (const auto& w : windows) {
      const auto span = w.active_at(out.until);
      if (span && span->end > out.until && !(ignore && ignore(*span))) {
        out.until = span->end;
        grew = true;
      }
    }
    if (!grew) break;
  }
  return out;
}

std::optional<WindowSpan> next_window(const std::vector<FreezeWindow>& windows, TimePoint now) {
  std::optional<WindowSpan> next;
  for (const auto& w : windows) {
    auto span = w.next_start_after(now);
    if (span && (!next || span->start < next->start)) next = std::move(span);
  }
  return next;
}

std::vector<WindowSpan> windows_between(const std::vector<FreezeWindow>& windows, TimePoint from,
                                        TimePoint to, std::size_t max) {
  std::vector<WindowSpan> out;
  for (const auto& w : windows) {
    std::size_t taken = 0;
    if (auto span = w.active_at(from)) {
      out.push_back(std::move(*span));
      ++taken;
    }
    TimePoint after = from;
    while (taken < max) {
      auto span = w.next_start_after(after);
      if (!span || span->start >= to) break;
      after = span->start;
      out.push_back(std::move(*span));
      ++taken;
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const WindowSpan& a, const WindowSpan& b) {
    return a.start < b.start || (a.start == b.start && a.name < b.name);
  });
  if (out.size() > max) out.resize(max);
  return out;
}

}  // namespace deployguard
