#pragma once
// Time types used across deployguard. The core never reads a clock: callers pass `now`.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace deployguard {

using Duration = std::chrono::milliseconds;
/// Wall-clock UTC time with millisecond resolution (GitHub/Azure timestamps are wall time).
using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

/// Parses durations such as "90s", "14m", "1h30m", "500ms", "2d". Returns nullopt when the text
/// is not a sequence of <integer><unit> groups (units: ms, s, m, h, d) or overflows.
std::optional<Duration> parse_duration(std::string_view text);

/// Formats a duration the way parse_duration reads it, e.g. "1h30m", "14m", "90s" -> "1m30s".
std::string format_duration(Duration d);

/// Parses RFC 3339 / ISO 8601 date-times as the upstreams send them: "Z", "+00:00", ".000+10:00",
/// any number of fractional digits, and no offset at all (taken as UTC).
std::optional<TimePoint> parse_timestamp(std::string_view text);

/// Formats as RFC 3339 UTC with second precision: "2025-12-31T19:03:58Z".
std::string format_timestamp(TimePoint t);

/// Injected clock. The daemon uses service::SystemClock; tests use ManualClock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start) : now_(start) {}
  TimePoint now() const override { return now_; }
  void set(TimePoint t) { now_ = t; }
  void advance(Duration d) { now_ += d; }

 private:
  TimePoint now_;
};

}  // namespace deployguard
