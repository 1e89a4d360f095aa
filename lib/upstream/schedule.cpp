#include "upstream/schedule.hpp"

#include <algorithm>
#include <cmath>

namespace deployguard::upstream {
namespace {

// base * 2^(n-1) capped at cap, without overflowing for large n.
Duration doubled(Duration base, int n, Duration cap) {
  if (base <= Duration::zero()) return Duration::zero();
  Duration d = base;
  for (int i = 1; i < n; ++i) {
    if (d >= cap / 2) return cap;
    d *= 2;
  }
  return std::min(d, cap);
}

}  // namespace

Duration apply_jitter(Duration d, double fraction, double unit_random) {
  if (fraction <= 0.0) return d;
  fraction = std::min(fraction, 1.0);
  unit_random = std::clamp(unit_random, 0.0, 1.0);
  const double factor = 1.0 + fraction * (2.0 * unit_random - 1.0);
  return Duration{static_cast<Duration::rep>(std::llround(static_cast<double>(d.count()) * factor))};
}

Duration next_poll_delay(const SchedulePolicy& policy, const PollStatus& status,
                         int consecutive_failures, int consecutive_rate_limits,
                         double unit_random) {
  const Duration floor = status.wait.value_or(Duration::zero());
  if (status.ok) return std::max(apply_jitter(policy.interval, policy.jitter, unit_random), floor);

  const Duration cap = std::max(policy.max_backoff, policy.interval);
  const Duration backoff = apply_jitter(
      doubled(policy.interval, std::max(consecutive_failures, 1), cap), policy.jitter, unit_random);
  if (status.kind == FailureKind::rate_limited && !status.wait) {
    const Duration rl = doubled(policy.rate_limit_min_wait, std::max(consecutive_rate_limits, 1),
                                std::max(policy.rate_limit_max_wait, policy.rate_limit_min_wait));
    return std::max(backoff, rl);
  }
  return std::max(backoff, floor);
}

}  // namespace deployguard::upstream
