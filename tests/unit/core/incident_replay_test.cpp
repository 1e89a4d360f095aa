// Replays the incident that motivated deployguard (all times 2025-12-31, UTC):
//   18:33:01  deploy #100 succeeds
//   18:49:58  deploy #101 starts (and later succeeds); its database operation runs for minutes
//   18:51:32  deploy #102 starts -> fails with ServerIsBusy
//   18:52:44  deploy #103 starts -> fails with ServerIsBusy
//   afterwards two revisions are active and split traffic 50/50.
// The guard, fed the same observations a poller would have made, refuses #102 and #103 and says
// until when; then it keeps refusing until a human stabilises the app.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/policy.hpp"
#include "policy_fixture.hpp"

using namespace deployguard;
using namespace deployguard::testing;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> codes(const Decision& d) {
  std::vector<std::string> out;
  for (const auto& r : d.reasons) out.emplace_back(to_string(r.code));
  return out;
}

const char* kGood = "staging-env-api--0000115";
const char* kNew = "staging-env-api--0000116";

class IncidentReplay : public ::testing::Test {
 protected:
  EnvironmentPolicy guard{staging_rules()};
  std::vector<WorkflowRun> runs;

  void poll(TimePoint now, const std::vector<RevisionSnapshot>& revisions, const char* db_state) {
    guard.apply(RunsPolled{runs}, now);
    guard.apply(app_with(revisions), now);
    guard.apply(db(db_state), now);
  }
  void set_run(const WorkflowRun& r) {
    std::erase_if(runs, [&](const WorkflowRun& x) { return x.id == r.id; });
    runs.insert(runs.begin(), r);
  }
};

}  // namespace

TEST_F(IncidentReplay, GuardRefusesTheOverlappingDeploysAndSaysUntilWhen) {
  const auto healthy = std::vector{revision(kGood, true, 100)};
  set_run(deploy_run(100, RunStatus::Completed, at("2025-12-31T18:19:30Z"), RunConclusion::Success,
                     at("2025-12-31T18:33:01Z")));
  poll(at("2025-12-31T18:45:00Z"), healthy, "Ready");
  EXPECT_TRUE(guard.decide(at("2025-12-31T18:49:58Z")).safe)
      << "16 minutes after the last deploy ended, #101 may go";

  // #101 starts; its migration puts the database into Updating.
  set_run(deploy_run(101, RunStatus::InProgress, at("2025-12-31T18:49:58Z")));
  poll(at("2025-12-31T18:50:30Z"), healthy, "Updating");

  // 18:51:32: the pipeline of #102 asks.
  {
    const auto d = guard.decide(at("2025-12-31T18:51:32Z"));
    EXPECT_FALSE(d.safe);
    EXPECT_THAT(codes(d), ::testing::ElementsAre("deploy_in_progress", "cooldown", "server_busy"));
    ASSERT_TRUE(d.find(ReasonCode::Cooldown));
    EXPECT_EQ(format_timestamp(*d.find(ReasonCode::Cooldown)->until), "2025-12-31T19:03:58Z");
    EXPECT_NE(d.find(ReasonCode::DeployInProgress)->message.find("101"), std::string::npos);
  }
  // 18:52:44: the pipeline of #103 asks.
  {
    const auto d = guard.decide(at("2025-12-31T18:52:44Z"));
    EXPECT_FALSE(d.safe);
    EXPECT_EQ(format_timestamp(*d.find(ReasonCode::Cooldown)->until), "2025-12-31T19:03:58Z");
  }
  // Nor could either of them have taken the lease.
  EXPECT_TRUE(std::holds_alternative<Decision>(
      guard.acquire_lease({"L", "github-run-102", 30min, 102}, at("2025-12-31T18:51:32Z"))));
}

TEST_F(IncidentReplay, WhatActuallyHappenedKeepsTheGuardClosedUntilStabilised) {
  set_run(deploy_run(100, RunStatus::Completed, at("2025-12-31T18:19:30Z"), RunConclusion::Success,
                     at("2025-12-31T18:33:01Z")));
  set_run(deploy_run(101, RunStatus::InProgress, at("2025-12-31T18:49:58Z")));
  set_run(deploy_run(102, RunStatus::Completed, at("2025-12-31T18:51:32Z"), RunConclusion::Failure,
                     at("2025-12-31T18:53:05Z")));
  set_run(deploy_run(103, RunStatus::Completed, at("2025-12-31T18:52:44Z"), RunConclusion::Failure,
                     at("2025-12-31T18:54:12Z")));
  const auto split = std::vector{revision(kGood, true, 50), revision(kNew, true, 50)};
  poll(at("2025-12-31T18:54:30Z"), split, "Updating");

  // The two failures are classified from their logs as ServerIsBusy.
  std::vector<std::int64_t> to_classify;
  for (const auto& r : guard.runs_to_classify()) to_classify.push_back(r.run.id);
  EXPECT_THAT(to_classify, ::testing::UnorderedElementsAre(102, 103));
  guard.apply(RunClassified{{102, 1}, Classification::ServerBusy, "ServerIsBusy"}, at("2025-12-31T18:54:31Z"));
  guard.apply(RunClassified{{103, 1}, Classification::ServerBusy, "ServerIsBusy"}, at("2025-12-31T18:54:32Z"));

  auto d = guard.decide(at("2025-12-31T18:55:00Z"));
  EXPECT_THAT(codes(d), ::testing::ElementsAre("deploy_in_progress", "cooldown", "busy_backoff",
                                               "server_busy", "traffic_split",
                                               "multiple_active_revisions"));
  // Two consecutive busy failures: 4 minutes after the last one ended.
  EXPECT_EQ(format_timestamp(*d.find(ReasonCode::BusyBackoff)->until), "2025-12-31T18:58:12Z");
  // The last start (#103 at 18:52:44) now governs the interval.
  EXPECT_EQ(format_timestamp(*d.find(ReasonCode::Cooldown)->until), "2025-12-31T19:06:44Z");

  // #101 finishes successfully and the database settles; two revisions still split traffic.
  set_run(deploy_run(101, RunStatus::Completed, at("2025-12-31T18:49:58Z"), RunConclusion::Success,
                     at("2025-12-31T18:58:40Z")));
  poll(at("2025-12-31T19:07:00Z"), split, "Ready");
  d = guard.decide(at("2025-12-31T19:07:00Z"));
  EXPECT_THAT(codes(d), ::testing::ElementsAre("traffic_split", "multiple_active_revisions"));
  EXPECT_FALSE(d.retry_after) << "no time fixes a traffic split";

  // Stabilised: 100% on the known-good revision, the other deactivated.
  poll(at("2025-12-31T19:08:00Z"), {revision(kGood, true, 100), revision(kNew, false, 0)}, "Ready");
  EXPECT_TRUE(guard.decide(at("2025-12-31T19:08:00Z")).safe);
}
