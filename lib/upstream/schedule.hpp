#pragma once
// Pure scheduling arithmetic for pollers: when to poll next after a success, a transient failure
// or a rate limit. No clock reads and no randomness of its own: the caller passes the random
// draw, so every branch is a plain unit test.
#include <optional>
#include <string>
#include <utility>

#include "core/time.hpp"

namespace deployguard::upstream {

enum class FailureKind {
  transient,     // 5xx, timeouts, connection errors, unexpected 4xx, unparsable bodies
  rate_limited,  // GitHub 403/429 rate limit, ARM 429
  permanent,     // 401, a 403 that is not a rate limit, 404: retrying will not fix it
};

/// How one poll (or one API request) ended, as the scheduler needs to know it.
struct PollStatus {
  bool ok = true;
  std::string error;  // SourceFailed text when !ok
  FailureKind kind = FailureKind::transient;
  /// The earliest moment the upstream allows the next request, as a wait from now:
  /// Retry-After, or x-ratelimit-reset when the remaining budget is 0. Also set on a success
  /// that used up the last request of a GitHub rate-limit window.
  std::optional<Duration> wait;

  static PollStatus success() { return {}; }
  static PollStatus failure(std::string error, FailureKind kind = FailureKind::transient,
                            std::optional<Duration> wait = std::nullopt) {
    return PollStatus{false, std::move(error), kind, wait};
  }
};

struct SchedulePolicy {
  Duration interval{std::chrono::seconds{30}};
  /// Cap of the exponential failure backoff (http_client.max_backoff). A failing source is never
  /// polled more often than a healthy one, so the effective cap is max(max_backoff, interval).
  Duration max_backoff{std::chrono::seconds{30}};
  /// GitHub: a rate limit that names no reset or Retry-After waits at least this long, doubling
  /// on each consecutive one up to rate_limit_max_wait.
  Duration rate_limit_min_wait{std::chrono::minutes{1}};
  Duration rate_limit_max_wait{std::chrono::minutes{30}};
  /// Relative jitter applied to the interval and to backoffs (0.1 = +-10%). Never applied to a
  /// server-given wait, which is a floor.
  double jitter = 0.1;
};

/// Delay before the next poll.
///  - success: interval (jittered), but not before status.wait;
///  - transient failure number n (1-based, consecutive): interval * 2^(n-1) capped at
///    max(max_backoff, interval), jittered, but not before status.wait;
///  - rate limit number k (consecutive rate limits): status.wait when the upstream named one
///    (never less than the regular transient backoff n), else rate_limit_min_wait * 2^(k-1)
///    capped at rate_limit_max_wait.
/// `unit_random` is a draw in [0, 1); 0.5 means no jitter.
Duration next_poll_delay(const SchedulePolicy& policy, const PollStatus& status,
                         int consecutive_failures, int consecutive_rate_limits,
                         double unit_random);

/// d scaled by a factor in [1 - fraction, 1 + fraction] chosen by unit_random in [0, 1).
Duration apply_jitter(Duration d, double fraction, double unit_random);

}  // namespace deployguard::upstream
