#include "core/policy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy_fixture.hpp"

using namespace deployguard;
using namespace deployguard::testing;
using namespace std::chrono_literals;
using ::testing::ElementsAre;

namespace {

std::vector<std::string> codes(const Decision& d) {
  std::vector<std::string> out;
  for (const auto& r : d.reasons) out.emplace_back(to_string(r.code));
  return out;
}

class PolicyTest : public ::testing::Test {
 protected:
  TimePoint t0 = at("2025-12-31T12:00:00Z");
  EnvironmentPolicy policy{staging_rules()};
};

}  // namespace

TEST_F(PolicyTest, StartingUntilEverySourceRefreshed) {
  auto d = policy.decide(t0);
  EXPECT_FALSE(d.safe);
  EXPECT_THAT(codes(d), ElementsAre("starting", "starting", "starting"));
  EXPECT_FALSE(d.retry_after);
  policy.apply(RunsPolled{}, t0);
  policy.apply(app_with({revision("r1", true, 100)}), t0);
  EXPECT_THAT(codes(policy.decide(t0)), ElementsAre("starting"));
  policy.apply(db("Ready"), t0);
  d = policy.decide(t0);
  EXPECT_TRUE(d.safe);
  EXPECT_TRUE(d.reasons.empty());
}

TEST_F(PolicyTest, StartingMessageCarriesLastError) {
  policy.apply(SourceFailed{"github", "HTTP 401 Bad credentials"}, t0);
  const auto d = policy.decide(t0);
  ASSERT_EQ(d.reasons.size(), 3u);
  int with_error = 0;
  for (const auto& r : d.reasons)
    if (r.message.find("github") != std::string::npos) {
      EXPECT_NE(r.message.find("Bad credentials"), std::string::npos);
      ++with_error;
    }
  EXPECT_EQ(with_error, 1);
}

TEST_F(PolicyTest, StaleDataFailsClosed) {
  refresh_healthy(policy, t0);
  EXPECT_TRUE(policy.decide(t0 + 5min).safe);  // exactly stale_after old is still fresh
  policy.apply(RunsPolled{}, t0 + 4min);
  policy.apply(SourceFailed{"container_app", "timeout"}, t0 + 5min);
  const auto d = policy.decide(t0 + 5min + 1s);
  EXPECT_THAT(codes(d), ElementsAre("stale", "stale"));
  EXPECT_NE(d.reasons[0].message.find("container_app"), std::string::npos);
  EXPECT_NE(d.reasons[0].message.find("timeout"), std::string::npos);
  // A later refresh clears it.
  refresh_healthy(policy, t0 + 6min);
  EXPECT_TRUE(policy.decide(t0 + 6min).safe);
}

TEST_F(PolicyTest, WebhookRunUpdateDoesNotCountAsRefresh) {
  policy.apply(RunObserved{deploy_run(1, RunStatus::Completed, t0 - 1h, RunConclusion::Success)}, t0);
  EXPECT_TRUE(policy.decide(t0).has(ReasonCode::Starting));
}

TEST_F(PolicyTest, EveryActiveStatusBlocks) {
  for (RunStatus s : {RunStatus::Requested, RunStatus::Queued, RunStatus::Pending, RunStatus::Waiting,
                      RunStatus::InProgress, RunStatus::ActionRequired, RunStatus::Unknown}) {
    EnvironmentPolicy p{staging_rules()};
    refresh_healthy(p, t0, {deploy_run(7, s, t0 - 1h)});
    const auto d = p.decide(t0);
    EXPECT_TRUE(d.has(ReasonCode::DeployInProgress)) << to_string(s);
  }
}

TEST_F(PolicyTest, RunsOfOtherWorkflowsBranchesAndReposAreIgnored) {
  auto other_workflow = deploy_run(1, RunStatus::InProgress, t0);
  other_workflow.workflow_name = "CI";
  other_workflow.workflow_path = ".github/workflows/ci.yml";
  auto other_branch = deploy_run(2, RunStatus::InProgress, t0);
  other_branch.head_branch = "feature";
  auto other_repo = deploy_run(3, RunStatus::InProgress, t0);
  other_repo.repository = "someone/else";
  refresh_healthy(policy, t0, {other_workflow, other_branch, other_repo});
  EXPECT_TRUE(policy.decide(t0).safe);
  EXPECT_TRUE(policy.runs().empty());
}

TEST(RunMatches, ByFileNamePathOrDisplayName) {
  auto run = deploy_run(1, RunStatus::Queued, at("2025-01-01T00:00:00Z"));
  run.workflow_path = ".github/workflows/deploy.yml@refs/heads/main";
  for (const char* w : {"deploy.yml", ".github/workflows/deploy.yml", "Deploy"})
    EXPECT_TRUE(run_matches(GitHubTarget{"ZimaxNet/Engram", {w}, std::nullopt}, run)) << w;
  EXPECT_FALSE(run_matches(GitHubTarget{"zimaxnet/engram", {"build.yml"}, std::nullopt}, run));
  EXPECT_FALSE(run_matches(GitHubTarget{"zimaxnet/engram", {"deploy.yml"}, "release"}, run));
}

TEST_F(PolicyTest, MinIntervalCountsFromStart) {
  refresh_healthy(policy, t0, {deploy_run(1, RunStatus::Completed, t0 - 5min, RunConclusion::Success, t0 - 4min)});
  const auto d = policy.decide(t0);
  ASSERT_THAT(codes(d), ElementsAre("cooldown"));
  EXPECT_EQ(d.reasons[0].until, t0 + 9min);
  EXPECT_EQ(d.retry_after, Duration{9min});
  refresh_healthy(policy, t0 + 9min);
  EXPECT_TRUE(policy.decide(t0 + 9min).safe);
  EXPECT_FALSE(policy.decide(t0 + 9min - 1ms).safe);
}

TEST_F(PolicyTest, CooldownCountsFromEndWhenLater) {
  // Started 20 minutes ago (min_interval passed) but ended 1 minute ago.
  refresh_healthy(policy, t0, {deploy_run(1, RunStatus::Completed, t0 - 20min, RunConclusion::Failure, t0 - 1min)});
  const auto d = policy.decide(t0);
  ASSERT_TRUE(d.find(ReasonCode::Cooldown));
  EXPECT_EQ(d.find(ReasonCode::Cooldown)->until, t0 + 1min);
  EXPECT_TRUE(policy.decide(t0 + 1min).safe);
}

TEST_F(PolicyTest, SkippedRunsDoNotStartCooldown) {
  refresh_healthy(policy, t0, {deploy_run(1, RunStatus::Completed, t0 - 1min, RunConclusion::Skipped, t0)});
  EXPECT_TRUE(policy.decide(t0).safe);
}

TEST_F(PolicyTest, OlderUpdateNeverOverwritesNewer) {
  refresh_healthy(policy, t0);
  policy.apply(RunObserved{deploy_run(5, RunStatus::Completed, t0 - 30min, RunConclusion::Success, t0 - 20min)}, t0);
  // A delayed "in_progress" delivery for the same run arrives afterwards.
  policy.apply(RunObserved{deploy_run(5, RunStatus::InProgress, t0 - 30min, RunConclusion::None, t0 - 25min)}, t0);
  ASSERT_EQ(policy.runs().size(), 1u);
  EXPECT_EQ(policy.runs()[0].status, RunStatus::Completed);
  EXPECT_TRUE(policy.decide(t0).safe);
}

TEST_F(PolicyTest, ServerNotReadyBlocks) {
  refresh_healthy(policy, t0);
  for (const char* state : {"Updating", "Starting", "Stopped", "Disabled", "SomethingNew", ""}) {
    policy.apply(db(state), t0);
    const auto d = policy.decide(t0);
    EXPECT_THAT(codes(d), ElementsAre("server_busy")) << state;
  }
  policy.apply(db("ready"), t0);  // enums are case-insensitive
  EXPECT_TRUE(policy.decide(t0).safe);
}

TEST_F(PolicyTest, AppProvisioningInProgressBlocks) {
  refresh_healthy(policy, t0);
  policy.apply(app_with({revision("r1", true, 100)}, "InProgress"), t0);
  EXPECT_THAT(codes(policy.decide(t0)), ElementsAre("app_busy"));
  for (const char* done : {"Succeeded", "Failed", "Canceled"}) {
    policy.apply(app_with({revision("r1", true, 100)}, done), t0);
    EXPECT_TRUE(policy.decide(t0).safe) << done;
  }
}

TEST_F(PolicyTest, ProvisioningRevisionBlocksEvenIfInactive) {
  refresh_healthy(policy, t0);
  policy.apply(app_with({revision("r1", true, 100), revision("r2", false, 0, "Provisioning")}), t0);
  EXPECT_THAT(codes(policy.decide(t0)), ElementsAre("revision_provisioning"));
}

TEST_F(PolicyTest, TrafficSplitAndMultipleActiveRevisions) {
  refresh_healthy(policy, t0);
  policy.apply(app_with({revision("r1", true, 50), revision("r2", true, 50)}), t0);
  const auto d = policy.decide(t0);
  EXPECT_THAT(codes(d), ElementsAre("traffic_split", "multiple_active_revisions"));
  EXPECT_NE(d.reasons[0].message.find("r1=50%"), std::string::npos);
  EXPECT_FALSE(d.retry_after);  // only a human can fix this
}

TEST_F(PolicyTest, TrafficFromLatestRevisionEntryResolvesName) {
  refresh_healthy(policy, t0);
  auto e = app_with({revision("r1", true, 0), revision("r2", true, 0)});
  e.app.latest_revision_name = "r2";
  e.app.traffic = {TrafficEntry{"", 75, true, ""}, TrafficEntry{"r1", 25, false, ""}};
  policy.apply(e, t0);
  EXPECT_EQ(policy.traffic_by_revision(), (std::map<std::string, int>{{"r1", 25}, {"r2", 75}}));
  EXPECT_TRUE(policy.decide(t0).has(ReasonCode::TrafficSplit));
}

TEST_F(PolicyTest, MaxActiveRevisionsIsConfigurable) {
  auto rules = staging_rules();
  rules.max_active_revisions = 2;
  EnvironmentPolicy p{rules};
  refresh_healthy(p, t0);
  p.apply(app_with({revision("r1", true, 100), revision("r2", true, 0)}), t0);
  EXPECT_TRUE(p.decide(t0).safe);
  p.apply(app_with({revision("r1", true, 100), revision("r2", true, 0), revision("r3", true, 0)}), t0);
  EXPECT_THAT(codes(p.decide(t0)), ElementsAre("multiple_active_revisions"));
}

TEST(BusyBackoff, DoublesUpToMax) {
  const BusyBackoff cfg{2min, 30min};
  EXPECT_EQ(busy_backoff_for(cfg, 0), Duration::zero());
  EXPECT_EQ(busy_backoff_for(cfg, 1), Duration{2min});
  EXPECT_EQ(busy_backoff_for(cfg, 2), Duration{4min});
  EXPECT_EQ(busy_backoff_for(cfg, 4), Duration{16min});
  EXPECT_EQ(busy_backoff_for(cfg, 5), Duration{30min});
  EXPECT_EQ(busy_backoff_for(cfg, 1000), Duration{30min});
}

TEST_F(PolicyTest, BusyFailuresBackOffAndResetAfterSuccess) {
  auto rules = staging_rules();
  rules.min_interval = 0min;
  rules.cooldown = 0min;
  EnvironmentPolicy p{rules};
  const auto f1 = deploy_run(1, RunStatus::Completed, t0 - 3min, RunConclusion::Failure, t0 - 1min);
  refresh_healthy(p, t0, {f1});
  ASSERT_EQ(p.runs_to_classify().size(), 1u);
  p.mark_classification_started({1, 1});
  EXPECT_TRUE(p.runs_to_classify().empty());
  p.apply(RunClassified{{1, 1}, Classification::ServerBusy, "ServerIsBusy"}, t0);
  auto d = p.decide(t0);
  ASSERT_THAT(codes(d), ElementsAre("busy_backoff"));
  EXPECT_EQ(d.reasons[0].until, t0 - 1min + 2min);
  // The same run classified twice counts once.
  p.apply(RunClassified{{1, 1}, Classification::ServerBusy, "ServerIsBusy"}, t0);
  EXPECT_EQ(p.busy().consecutive_failures, 1);
  // A pipeline report counts as a second consecutive failure: 4 minutes from now.
  p.apply(BusyReported{"az cli said ServerIsBusy", std::nullopt}, t0);
  d = p.decide(t0);
  EXPECT_EQ(d.find(ReasonCode::BusyBackoff)->until, t0 + 4min);
  EXPECT_TRUE(p.decide(t0 + 4min).safe);
  // A successful deploy resets it.
  p.apply(RunsPolled{{deploy_run(2, RunStatus::Completed, t0 + 5min, RunConclusion::Success, t0 + 6min)}}, t0 + 6min);
  EXPECT_EQ(p.busy().consecutive_failures, 0);
  p.apply(BusyReported{"again", std::nullopt}, t0 + 7min);
  EXPECT_EQ(p.decide(t0 + 7min).find(ReasonCode::BusyBackoff)->until, t0 + 9min);
}

TEST_F(PolicyTest, BusyReportWithRunIdIsNotCountedAgainFromLogs) {
  refresh_healthy(policy, t0, {deploy_run(9, RunStatus::Completed, t0 - 30min, RunConclusion::Failure, t0 - 20min)});
  policy.apply(BusyReported{"pipeline saw ServerIsBusy", 9}, t0);
  EXPECT_EQ(policy.busy().consecutive_failures, 1);
  policy.apply(RunClassified{{9, 1}, Classification::ServerBusy, "ServerIsBusy in logs"}, t0);   // same failure, from logs
  policy.apply(BusyReported{"pipeline retried the report", 9}, t0);  // and reported twice
  EXPECT_EQ(policy.busy().consecutive_failures, 1);
  policy.apply(BusyReported{"another run", std::nullopt}, t0);         // without a run id: counts
  EXPECT_EQ(policy.busy().consecutive_failures, 2);
}

TEST_F(PolicyTest, NonBusyFailureDoesNotBackOff) {
  refresh_healthy(policy, t0, {deploy_run(1, RunStatus::Completed, t0 - 30min, RunConclusion::Failure, t0 - 20min)});
  policy.apply(RunClassified{{1, 1}, Classification::NotBusy, ""}, t0);
  EXPECT_TRUE(policy.decide(t0).safe);
  EXPECT_TRUE(policy.runs_to_classify().empty());
}

TEST_F(PolicyTest, FreezeWithAndWithoutUntil) {
  refresh_healthy(policy, t0);
  policy.set_freeze(Freeze{"incident 42", "alice", t0, t0 + 10min});
  auto d = policy.decide(t0);
  ASSERT_THAT(codes(d), ElementsAre("frozen"));
  EXPECT_NE(d.reasons[0].message.find("alice"), std::string::npos);
  EXPECT_EQ(d.retry_after, Duration{10min});
  EXPECT_EQ(policy.next_deadline(t0), t0 + 5min + 1ms);  // staleness of the data comes first
  refresh_healthy(policy, t0 + 9min);
  EXPECT_EQ(policy.next_deadline(t0 + 9min), t0 + 10min);
  EXPECT_TRUE(policy.expire(t0 + 10min));
  EXPECT_FALSE(policy.freeze());
  policy.set_freeze(Freeze{"release freeze", "bob", t0, std::nullopt});
  refresh_healthy(policy, t0 + 11min);
  d = policy.decide(t0 + 11min);
  EXPECT_TRUE(d.has(ReasonCode::Frozen));
  EXPECT_FALSE(d.retry_after);
  EXPECT_TRUE(policy.clear_freeze());
  EXPECT_TRUE(policy.decide(t0 + 11min).safe);
}

TEST_F(PolicyTest, LeaseIsExclusiveAndFeedsCooldown) {
  refresh_healthy(policy, t0);
  auto granted = policy.acquire_lease(LeaseRequest{"L1", "pipeline-a", 30min, std::nullopt}, t0);
  ASSERT_TRUE(std::holds_alternative<Lease>(granted));
  EXPECT_EQ(std::get<Lease>(granted).expires_at, t0 + 30min);
  auto refused = policy.acquire_lease(LeaseRequest{"L2", "pipeline-b", 30min, std::nullopt}, t0);
  ASSERT_TRUE(std::holds_alternative<Decision>(refused));
  EXPECT_THAT(codes(std::get<Decision>(refused)), ElementsAre("leased"));
  EXPECT_FALSE(policy.release_lease("L2", t0));
  EXPECT_TRUE(policy.release_lease("L1", t0 + 3min));
  EXPECT_FALSE(policy.release_lease("L1", t0 + 3min));
  // The leased deploy started at t0 (min_interval 14m) and ended at t0+3m (cooldown 2m).
  const auto d = policy.decide(t0 + 3min);
  ASSERT_THAT(codes(d), ElementsAre("cooldown"));
  EXPECT_EQ(d.reasons[0].until, t0 + 14min);
}

TEST_F(PolicyTest, LeaseExpiresAtTtlEvenIfNobodyAsks) {
  refresh_healthy(policy, t0);
  ASSERT_TRUE(std::holds_alternative<Lease>(policy.acquire_lease({"L1", "a", 30min, std::nullopt}, t0)));
  EXPECT_EQ(policy.next_deadline(t0 + 1min), t0 + 5min + 1ms);  // staleness comes first
  refresh_healthy(policy, t0 + 29min);
  EXPECT_EQ(policy.next_deadline(t0 + 29min), t0 + 30min);
  EXPECT_FALSE(policy.expire(t0 + 30min - 1ms));
  EXPECT_TRUE(policy.expire(t0 + 30min));
  EXPECT_FALSE(policy.lease());
  ASSERT_EQ(policy.deploys().size(), 1u);
  EXPECT_EQ(policy.deploys()[0].ended_at, t0 + 30min);
}

TEST_F(PolicyTest, LeaseLinkedToRunDoesNotBlockItsOwnRun) {
  // The pipeline asks for the lease from inside run 77, which is already in progress.
  refresh_healthy(policy, t0, {deploy_run(77, RunStatus::InProgress, t0 - 1min)});
  EXPECT_TRUE(policy.decide(t0).has(ReasonCode::DeployInProgress));
  EXPECT_TRUE(policy.decide(t0, 77).safe);
  auto granted = policy.acquire_lease({"L1", "github-run-77", 30min, 77}, t0);
  ASSERT_TRUE(std::holds_alternative<Lease>(granted));
  // Everyone else is blocked by both the lease and the run.
  EXPECT_THAT(codes(policy.decide(t0)), ElementsAre("leased", "deploy_in_progress", "cooldown"));
  // The lease ends when its run completes.
  policy.apply(RunObserved{deploy_run(77, RunStatus::Completed, t0 - 1min, RunConclusion::Success, t0 + 5min)}, t0 + 5min);
  EXPECT_FALSE(policy.lease());
  const auto d = policy.decide(t0 + 5min);
  ASSERT_THAT(codes(d), ElementsAre("cooldown"));
  EXPECT_EQ(d.reasons[0].until, t0 - 1min + 14min);
}

TEST_F(PolicyTest, RetryAfterIsTheLatestUntilWhenAllAreKnown) {
  refresh_healthy(policy, t0, {deploy_run(1, RunStatus::Completed, t0 - 10min, RunConclusion::Success, t0 - 9min)});
  policy.set_freeze(Freeze{"x", "y", t0, t0 + 20min});
  const auto d = policy.decide(t0);
  EXPECT_THAT(codes(d), ElementsAre("frozen", "cooldown"));
  EXPECT_EQ(d.retry_after, Duration{20min});
}

TEST_F(PolicyTest, DurableStateRoundTripsThroughRestore) {
  refresh_healthy(policy, t0, {deploy_run(1, RunStatus::Completed, t0 - 5min, RunConclusion::Success, t0 - 4min)});
  policy.set_freeze(Freeze{"x", "y", t0, std::nullopt});
  EnvironmentPolicy restarted{staging_rules()};
  restarted.restore(policy.durable());
  refresh_healthy(restarted, t0);  // a fresh start sees no runs in its first poll
  EXPECT_THAT(codes(restarted.decide(t0)), ElementsAre("frozen", "cooldown"));
}

TEST_F(PolicyTest, SetRulesKeepsStateOfUnchangedSources) {
  refresh_healthy(policy, t0);
  auto rules = staging_rules();
  rules.postgres_servers.push_back("second-db");
  policy.set_rules(rules);
  const auto d = policy.decide(t0);
  ASSERT_THAT(codes(d), ElementsAre("starting"));
  EXPECT_NE(d.reasons[0].message.find("postgres/second-db"), std::string::npos);
}

TEST_F(PolicyTest, EnvironmentWithoutSourcesIsSafeUnlessFrozenOrLeased) {
  EnvironmentRules rules;
  rules.name = "manual";
  EnvironmentPolicy p{rules};
  EXPECT_TRUE(p.decide(t0).safe);
  p.set_freeze(Freeze{"x", "y", t0, std::nullopt});
  EXPECT_FALSE(p.decide(t0).safe);
}
