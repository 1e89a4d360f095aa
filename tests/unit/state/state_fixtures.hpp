#pragma once
// Sample durable states covering every optional field both set and unset, and field-by-field
// comparison (deliberately not via serialization, which would hide a field dropped both ways).
#include <gtest/gtest.h>

#include <chrono>

#include "core/policy.hpp"
#include "state/state_json.hpp"

namespace deployguard::state::testing {

inline TimePoint at_ms(std::int64_t epoch_ms) { return TimePoint{Duration{epoch_ms}}; }

/// 2025-12-31T19:03:58.123Z
inline constexpr std::int64_t kT0 = 1767207838123;

inline EnvironmentStates full_states() {
  EnvironmentStates states;

  DurableEnvironmentState prod;
  prod.deploys = {
      DeployRecord{"run:9001/2", at_ms(kT0 + 1), std::nullopt, RunRef{9001, 2},
                   "8c2e614a3f1b9d0e7c6b5a4f3e2d1c0b9a8f7e6d", "Deploy \"api\" \u00e9",
                   "https://github.com/o/r/actions/runs/9001"},  // still running
      DeployRecord{"lease:abc", at_ms(kT0 - 60'000), at_ms(kT0 - 999)},
      DeployRecord{"run:42/1", at_ms(-1), at_ms(0), RunRef{42, 1}},  // before/at the epoch: floor, not truncate
  };
  prod.busy.consecutive_failures = 3;
  prod.busy.last_failure_at = at_ms(kT0 - 7);
  prod.busy.last_detail = "ServerIsBusy: \"quoted\"\nsecond line \u00e9";
  prod.busy.last_success_started_at = at_ms(kT0 - 70'000);
  prod.busy_runs_counted = {RunRef{9001, 1}, RunRef{42, 3},
                            RunRef{9'007'199'254'740'993, 1}};  // > 2^53: no double round trip
  prod.lease = Lease{"lease-1", "pipeline-7", 9001, at_ms(kT0), at_ms(kT0 + 900'001), 2};
  prod.freeze = Freeze{"incident 77", "alice", at_ms(kT0 - 5), at_ms(kT0 + 3'600'000)};
  // The deploy queue: a granted ticket (its lease is lease-1) and two waiting ones.
  prod.queue = {Ticket{"t-1", "pipeline-7", std::chrono::minutes{30}, 9001, 2,
                       "8c2e614a3f1b9d0e7c6b5a4f3e2d1c0b9a8f7e6d", "main", at_ms(kT0 - 1), "lease-1"},
                Ticket{"t-2", "pipeline-8 \u00e9", Duration{1'500}, 9'007'199'254'740'993, std::nullopt,
                       "", "release/1", at_ms(kT0 + 2), ""},
                Ticket{"t-3", "bob", std::chrono::hours{2}, std::nullopt, std::nullopt, "", "", at_ms(kT0 + 3), ""}};
  states["prod"] = prod;

  DurableEnvironmentState staging;
  staging.busy.consecutive_failures = 0;
  staging.lease = Lease{"lease-2", "bob", std::nullopt, at_ms(kT0 + 10), at_ms(kT0 + 20)};
  staging.freeze = Freeze{"", "carol", at_ms(kT0 + 999), std::nullopt};
  staging.pending_override = Override{"ovr-1", "INC-42 hotfix", "alice", {"cooldown", "freeze_window"},
                                      at_ms(kT0 + 5), at_ms(kT0 + 1'800'005)};
  states["staging"] = staging;

  states["idle"] = DurableEnvironmentState{};  // every optional unset, every list empty
  return states;
}

inline void expect_same(const DurableEnvironmentState& a, const DurableEnvironmentState& b,
                        const std::string& name) {
  SCOPED_TRACE("environment " + name);
  ASSERT_EQ(a.deploys.size(), b.deploys.size());
  for (std::size_t i = 0; i < a.deploys.size(); ++i) {
    EXPECT_EQ(a.deploys[i].key, b.deploys[i].key) << i;
    EXPECT_EQ(a.deploys[i].started_at, b.deploys[i].started_at) << i;
    EXPECT_EQ(a.deploys[i].ended_at, b.deploys[i].ended_at) << i;
  }
  EXPECT_EQ(a.busy.consecutive_failures, b.busy.consecutive_failures);
  EXPECT_EQ(a.busy.last_failure_at, b.busy.last_failure_at);
  EXPECT_EQ(a.busy.last_detail, b.busy.last_detail);
  EXPECT_EQ(a.busy_runs_counted, b.busy_runs_counted);
  ASSERT_EQ(a.lease.has_value(), b.lease.has_value());
  if (a.lease) {
    EXPECT_EQ(a.lease->id, b.lease->id);
    EXPECT_EQ(a.lease->holder, b.lease->holder);
    EXPECT_EQ(a.lease->run_id, b.lease->run_id);
    EXPECT_EQ(a.lease->acquired_at, b.lease->acquired_at);
    EXPECT_EQ(a.lease->expires_at, b.lease->expires_at);
  }
  EXPECT_EQ(a.queue, b.queue);
  EXPECT_EQ(a.pending_override, b.pending_override);
  ASSERT_EQ(a.freeze.has_value(), b.freeze.has_value());
  if (a.freeze) {
    EXPECT_EQ(a.freeze->reason, b.freeze->reason);
    EXPECT_EQ(a.freeze->by, b.freeze->by);
    EXPECT_EQ(a.freeze->since, b.freeze->since);
    EXPECT_EQ(a.freeze->until, b.freeze->until);
  }
}

inline void expect_same(const EnvironmentStates& a, const EnvironmentStates& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, state] : a) {
    const auto it = b.find(name);
    ASSERT_NE(it, b.end()) << "missing environment " << name;
    expect_same(state, it->second, name);
  }
}

}  // namespace deployguard::state::testing
