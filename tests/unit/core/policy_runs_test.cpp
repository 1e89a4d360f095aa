// Timelines of GitHub Actions runs through EnvironmentPolicy: re-run attempts, busy failures and
// their backoff, classification, a pipeline asking about itself, runs that leave the poll's page,
// and failing sources. Every instant is an explicit TimePoint.
#include "core/policy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy_fixture.hpp"

using namespace deployguard;
using namespace deployguard::testing;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

namespace {

std::vector<std::string> codes(const Decision& d) {
  std::vector<std::string> out;
  for (const auto& r : d.reasons) out.emplace_back(to_string(r.code));
  return out;
}

/// The `until` of the reason with this code, or nullopt when there is no such reason.
std::optional<TimePoint> until_of(const Decision& d, ReasonCode code) {
  const Reason* r = d.find(code);
  return r ? r->until : std::nullopt;
}

std::vector<std::string> deploy_keys(const EnvironmentPolicy& p) {
  std::vector<std::string> out;
  for (const auto& d : p.deploys()) out.push_back(d.key);
  return out;
}

std::vector<RunRef> to_classify(const EnvironmentPolicy& p) {
  std::vector<RunRef> out;
  for (const auto& c : p.runs_to_classify()) out.push_back({c.run.id, c.attempt});
  return out;
}

/// Staging rules without min_interval and cooldown, so busy backoff is the only time rule.
EnvironmentRules busy_only_rules() {
  auto r = staging_rules();
  r.min_interval = 0min;
  r.cooldown = 0min;
  return r;
}

class PolicyRunsTest : public ::testing::Test {
 protected:
  TimePoint t0 = at("2025-12-31T12:00:00Z");
  EnvironmentPolicy policy{staging_rules()};
};

class PolicyBusyTest : public PolicyRunsTest {
 protected:
  EnvironmentPolicy busy{busy_only_rules()};
};

}  // namespace

// ---- 1. Re-runs are deploys ------------------------------------------------------------------

TEST_F(PolicyRunsTest, ReRunAttemptIsADeployRecordOfItsOwn) {
  const auto first = deploy_run(1, RunStatus::Completed, t0 - 40min, RunConclusion::Failure, t0 - 30min);
  refresh_healthy(policy, t0 - 30min, {first});
  ASSERT_THAT(deploy_keys(policy), ElementsAre("run:1/1"));

  const auto second = rerun_attempt(first, 2, RunStatus::InProgress, t0 - 5min);
  refresh_healthy(policy, t0 - 5min, {second});
  ASSERT_THAT(deploy_keys(policy), ElementsAre(run_key({1, 2}), run_key({1, 1})));
  const auto& rerun = policy.deploys()[0];
  EXPECT_EQ(rerun.run, (RunRef{1, 2}));
  EXPECT_EQ(rerun.started_at, t0 - 5min);
  EXPECT_FALSE(rerun.ended_at);
  const auto& original = policy.deploys()[1];
  EXPECT_EQ(original.run, (RunRef{1, 1}));
  EXPECT_EQ(original.started_at, t0 - 40min);
  EXPECT_EQ(original.ended_at, t0 - 30min);
  // runs() keeps the run once, at its latest attempt.
  ASSERT_EQ(policy.runs().size(), 1u);
  EXPECT_EQ(policy.runs()[0].run_attempt, 2);
}

TEST_F(PolicyRunsTest, MinIntervalCountsFromTheReRunsStart) {
  const auto first = deploy_run(1, RunStatus::Completed, t0 - 40min, RunConclusion::Failure, t0 - 30min);
  refresh_healthy(policy, t0 - 30min, {first});
  refresh_healthy(policy, t0 - 3min);
  EXPECT_TRUE(policy.decide(t0 - 3min).safe) << "attempt 1 is long past its cooldown";

  refresh_healthy(policy, t0,
                  {rerun_attempt(first, 2, RunStatus::Completed, t0 - 3min, RunConclusion::Success, t0 - 2min)});
  const auto d = policy.decide(t0);
  ASSERT_THAT(codes(d), ElementsAre("cooldown"));
  EXPECT_EQ(d.reasons[0].until, t0 - 3min + 14min);
  EXPECT_THAT(d.reasons[0].message, HasSubstr("run 1 attempt 2"));
  EXPECT_FALSE(policy.decide(t0 + 11min - 1ms).safe);
  refresh_healthy(policy, t0 + 11min);
  EXPECT_TRUE(policy.decide(t0 + 11min).safe);
}

TEST_F(PolicyRunsTest, CooldownCountsFromTheReRunsEnd) {
  const auto first = deploy_run(1, RunStatus::Completed, t0 - 60min, RunConclusion::Failure, t0 - 50min);
  refresh_healthy(policy, t0 - 20min, {rerun_attempt(first, 2, RunStatus::InProgress, t0 - 20min)});
  EXPECT_THAT(codes(policy.decide(t0 - 20min)), ElementsAre("deploy_in_progress", "cooldown"));

  // Attempt 2 ran 21 minutes: min_interval from its start is over, cooldown from its end is not.
  refresh_healthy(policy, t0 + 1min,
                  {rerun_attempt(first, 2, RunStatus::Completed, t0 - 20min, RunConclusion::Success, t0 + 1min)});
  const auto d = policy.decide(t0 + 1min);
  ASSERT_THAT(codes(d), ElementsAre("cooldown"));
  EXPECT_EQ(d.reasons[0].until, t0 + 3min);
  EXPECT_THAT(d.reasons[0].message, HasSubstr("run 1 attempt 2"));
  EXPECT_EQ(policy.deploys()[0].ended_at, t0 + 1min);
  EXPECT_TRUE(policy.decide(t0 + 3min).safe);
}

TEST_F(PolicyRunsTest, LateUpdateOfAnEarlierAttemptFeedsOnlyThatAttemptsRecord) {
  const auto first = deploy_run(1, RunStatus::InProgress, t0 - 40min);
  refresh_healthy(policy, t0 - 40min, {first});
  refresh_healthy(policy, t0 - 10min, {rerun_attempt(first, 2, RunStatus::InProgress, t0 - 10min)});
  // The webhook for attempt 1's end arrives after attempt 2 was polled.
  const auto first_ended = rerun_attempt(first, 1, RunStatus::Completed, t0 - 40min, RunConclusion::Failure, t0 - 30min);
  policy.apply(RunObserved{first_ended}, t0 - 9min);
  ASSERT_EQ(policy.runs().size(), 1u);
  EXPECT_EQ(policy.runs()[0].run_attempt, 2);
  EXPECT_EQ(policy.runs()[0].status, RunStatus::InProgress);
  ASSERT_THAT(deploy_keys(policy), ElementsAre("run:1/2", "run:1/1"));
  EXPECT_FALSE(policy.deploys()[0].ended_at);
  EXPECT_EQ(policy.deploys()[1].ended_at, t0 - 30min);
  EXPECT_TRUE(policy.decide(t0 - 9min).has(ReasonCode::DeployInProgress));
}

// ---- 2. Busy failures of re-run attempts ------------------------------------------------------

TEST_F(PolicyBusyTest, BusyFailuresOfTwoAttemptsCountTwiceAndTheBackoffDoubles) {
  const auto first = deploy_run(1, RunStatus::Completed, t0 - 10min, RunConclusion::Failure, t0 - 8min);
  refresh_healthy(busy, t0 - 8min, {first});
  EXPECT_THAT(to_classify(busy), ElementsAre(RunRef{1, 1}));
  busy.apply(RunClassified{{1, 1}, Classification::ServerBusy, "ServerIsBusy"}, t0 - 7min);
  EXPECT_EQ(busy.busy().consecutive_failures, 1);
  EXPECT_EQ(busy.busy().last_failure_at, t0 - 8min) << "the failure is when the attempt ended";
  EXPECT_EQ(until_of(busy.decide(t0 - 7min), ReasonCode::BusyBackoff), t0 - 8min + 2min);

  refresh_healthy(busy, t0 - 2min,
                  {rerun_attempt(first, 2, RunStatus::Completed, t0 - 4min, RunConclusion::Failure, t0 - 2min)});
  EXPECT_THAT(to_classify(busy), ElementsAre(RunRef{1, 2})) << "attempt 1 is classified already";
  busy.apply(RunClassified{{1, 2}, Classification::ServerBusy, "ServerIsBusy"}, t0 - 1min);
  EXPECT_EQ(busy.busy().consecutive_failures, 2);
  EXPECT_EQ(busy.busy().last_failure_at, t0 - 2min);
  EXPECT_THAT(busy.busy().last_detail, HasSubstr("run 1 attempt 2"));

  const auto d = busy.decide(t0);
  ASSERT_THAT(codes(d), ElementsAre("busy_backoff"));
  EXPECT_EQ(d.reasons[0].until, t0 - 2min + 2 * 2min);
  EXPECT_THAT(d.reasons[0].message, HasSubstr("2 consecutive"));
  EXPECT_EQ(d.retry_after, Duration{2min});
  EXPECT_FALSE(busy.decide(t0 + 2min - 1ms).safe);
  EXPECT_TRUE(busy.decide(t0 + 2min).safe);
}

TEST_F(PolicyBusyTest, ClassificationEndedAtIsTheFailureTime) {
  refresh_healthy(busy, t0, {deploy_run(1, RunStatus::Completed, t0 - 10min, RunConclusion::Failure, t0)});
  // The failed job completed 30 s before the run's last update; the logs are read a minute later.
  busy.apply(RunClassified{{1, 1}, Classification::ServerBusy, "ServerIsBusy", t0 - 30s}, t0 + 1min);
  EXPECT_EQ(busy.busy().last_failure_at, t0 - 30s);
  EXPECT_EQ(until_of(busy.decide(t0 + 1min), ReasonCode::BusyBackoff), t0 + 90s);
}

TEST_F(PolicyBusyTest, SameAttemptClassifiedTwiceCountsOnce) {
  const auto first = deploy_run(1, RunStatus::Completed, t0 - 20min, RunConclusion::Failure, t0 - 18min);
  refresh_healthy(busy, t0 - 1min,
                  {rerun_attempt(first, 2, RunStatus::Completed, t0 - 4min, RunConclusion::Failure, t0 - 1min)});
  busy.apply(RunClassified{{1, 2}, Classification::ServerBusy, "ServerIsBusy"}, t0 - 1min);
  busy.apply(RunClassified{{1, 2}, Classification::ServerBusy, "ServerIsBusy"}, t0);
  EXPECT_EQ(busy.busy().consecutive_failures, 1);
  EXPECT_EQ(until_of(busy.decide(t0), ReasonCode::BusyBackoff), t0 - 1min + 2min) << "not doubled";
}

TEST_F(PolicyBusyTest, BusyReportAndLogsOfTheSameAttemptCountOnce) {
  const auto first = deploy_run(1, RunStatus::Completed, t0 - 20min, RunConclusion::Failure, t0 - 18min);
  refresh_healthy(busy, t0 - 3min, {rerun_attempt(first, 2, RunStatus::InProgress, t0 - 3min)});
  // The pipeline reports while attempt 2 is still running; its logs say the same later.
  EXPECT_EQ(busy.report_busy({"az: ServerIsBusy", 1, 2}, t0 - 2min), BusyReportResult::Counted);
  refresh_healthy(busy, t0 - 1min,
                  {rerun_attempt(first, 2, RunStatus::Completed, t0 - 3min, RunConclusion::Failure, t0 - 1min)});
  busy.apply(RunClassified{{1, 2}, Classification::ServerBusy, "ServerIsBusy in logs"}, t0);
  EXPECT_EQ(busy.busy().consecutive_failures, 1);
  EXPECT_EQ(busy.report_busy({"retried report", 1, 2}, t0), BusyReportResult::Duplicate);
  EXPECT_EQ(busy.report_busy({"no attempt: the latest, 2", 1}, t0), BusyReportResult::Duplicate);
  EXPECT_EQ(busy.busy().consecutive_failures, 1);
  // Attempt 1 is another failure.
  EXPECT_EQ(busy.report_busy({"attempt 1 too", 1, 1}, t0), BusyReportResult::Counted);
  EXPECT_EQ(busy.busy().consecutive_failures, 2);
}

TEST_F(PolicyBusyTest, LogsFirstThenBusyReportOfTheSameAttemptIsADuplicate) {
  refresh_healthy(busy, t0 - 1min, {deploy_run(1, RunStatus::Completed, t0 - 5min, RunConclusion::Failure, t0 - 1min)});
  busy.apply(RunClassified{{1, 1}, Classification::ServerBusy, "ServerIsBusy"}, t0);
  EXPECT_EQ(busy.report_busy({"pipeline saw it", 1, 1}, t0), BusyReportResult::Duplicate);
  busy.apply(BusyReported{"through apply", 1}, t0);
  EXPECT_EQ(busy.busy().consecutive_failures, 1);
  EXPECT_EQ(busy.busy().last_failure_at, t0 - 1min) << "a duplicate report does not move the failure time";
}

// ---- 3. Classification ------------------------------------------------------------------------

TEST_F(PolicyRunsTest, FailedTimedOutAndCancelledRunsAreClassified) {
  refresh_healthy(policy, t0,
                  {deploy_run(1, RunStatus::Completed, t0 - 70min, RunConclusion::Failure, t0 - 65min),
                   deploy_run(2, RunStatus::Completed, t0 - 60min, RunConclusion::TimedOut, t0 - 55min),
                   deploy_run(3, RunStatus::Completed, t0 - 50min, RunConclusion::Cancelled, t0 - 45min),
                   deploy_run(4, RunStatus::Completed, t0 - 40min, RunConclusion::Success, t0 - 35min),
                   deploy_run(5, RunStatus::Completed, t0 - 30min, RunConclusion::Skipped, t0 - 30min),
                   deploy_run(6, RunStatus::InProgress, t0 - 20min)});
  EXPECT_THAT(to_classify(policy), UnorderedElementsAre(RunRef{1, 1}, RunRef{2, 1}, RunRef{3, 1}));
  policy.mark_classification_started({2, 1});
  EXPECT_THAT(to_classify(policy), UnorderedElementsAre(RunRef{1, 1}, RunRef{3, 1}));
}

TEST_F(PolicyRunsTest, EarlierAttemptNeverSeenToEndIsClassifiedOneSeenToSucceedIsNot) {
  // Run 1 was re-run between two polls: attempt 1 was never seen.
  const auto one = deploy_run(1, RunStatus::Completed, t0 - 50min, RunConclusion::Failure, t0 - 45min);
  // Run 2's attempt 1 was seen to succeed before its re-run.
  const auto two = deploy_run(2, RunStatus::Completed, t0 - 40min, RunConclusion::Success, t0 - 35min);
  refresh_healthy(policy, t0 - 35min, {two});
  refresh_healthy(policy, t0,
                  {rerun_attempt(one, 2, RunStatus::Completed, t0 - 30min, RunConclusion::Success, t0 - 25min),
                   rerun_attempt(two, 2, RunStatus::Completed, t0 - 20min, RunConclusion::Success, t0 - 15min)});
  EXPECT_THAT(to_classify(policy), ElementsAre(RunRef{1, 1}));
}

TEST_F(PolicyRunsTest, UnknownClassificationIsKeptAsUnclassifiedNotAsNotBusy) {
  refresh_healthy(policy, t0,
                  {deploy_run(1, RunStatus::Completed, t0 - 40min, RunConclusion::Failure, t0 - 35min),
                   deploy_run(2, RunStatus::Completed, t0 - 30min, RunConclusion::Failure, t0 - 25min)});
  policy.apply(RunClassified{{1, 1}, Classification::NotBusy, "no busy pattern"}, t0);
  EXPECT_THAT(policy.unclassified(), IsEmpty()) << "read and clean is not unclassified";

  policy.apply(RunClassified{{2, 1}, Classification::Unknown, "logs: HTTP 410 Gone"}, t0 + 1min);
  ASSERT_EQ(policy.unclassified().size(), 1u);
  EXPECT_EQ(policy.unclassified()[0].run, (RunRef{2, 1}));
  EXPECT_EQ(policy.unclassified()[0].detail, "logs: HTTP 410 Gone");
  EXPECT_EQ(policy.unclassified()[0].at, t0 + 1min);
  EXPECT_THAT(to_classify(policy), IsEmpty());
  EXPECT_EQ(policy.busy().consecutive_failures, 0);

  // A later reading that does find the pattern still counts.
  policy.apply(RunClassified{{2, 1}, Classification::ServerBusy, "ServerIsBusy", t0 - 25min}, t0 + 2min);
  EXPECT_EQ(policy.busy().consecutive_failures, 1);
}

// ---- 4. Backoff resets only on a success that started after the last busy failure -------------

TEST_F(PolicyBusyTest, SuccessThatStartedBeforeTheFailureDoesNotResetTheBackoff) {
  // Run 2 started before run 1 failed busy, and is learnt to have succeeded after that.
  refresh_healthy(busy, t0 - 1min,
                  {deploy_run(1, RunStatus::Completed, t0 - 6min, RunConclusion::Failure, t0 - 1min),
                   deploy_run(2, RunStatus::InProgress, t0 - 8min)});
  busy.apply(RunClassified{{1, 1}, Classification::ServerBusy, "ServerIsBusy"}, t0 - 1min);
  refresh_healthy(busy, t0,
                  {deploy_run(2, RunStatus::Completed, t0 - 8min, RunConclusion::Success, t0)});
  EXPECT_EQ(busy.busy().consecutive_failures, 1);
  const auto d = busy.decide(t0);
  ASSERT_THAT(codes(d), ElementsAre("busy_backoff"));
  EXPECT_EQ(d.reasons[0].until, t0 + 1min);
  // The next failure doubles on top of it.
  EXPECT_EQ(busy.report_busy({"again", std::nullopt}, t0 + 30s), BusyReportResult::Counted);
  EXPECT_EQ(until_of(busy.decide(t0 + 30s), ReasonCode::BusyBackoff), t0 + 30s + 4min);
}

TEST_F(PolicyBusyTest, SuccessOfTheReRunThatStartedAfterTheFailureResetsTheBackoff) {
  const auto first = deploy_run(1, RunStatus::Completed, t0 - 10min, RunConclusion::Failure, t0 - 5min);
  refresh_healthy(busy, t0 - 5min, {first});
  busy.apply(RunClassified{{1, 1}, Classification::ServerBusy, "ServerIsBusy"}, t0 - 5min);
  busy.apply(BusyReported{"another", std::nullopt}, t0 - 5min);
  ASSERT_EQ(busy.busy().consecutive_failures, 2);

  refresh_healthy(busy, t0,
                  {rerun_attempt(first, 2, RunStatus::Completed, t0 - 4min, RunConclusion::Success, t0 - 1min)});
  EXPECT_EQ(busy.busy().consecutive_failures, 0);
  EXPECT_EQ(busy.busy().last_success_started_at, t0 - 4min);
  EXPECT_TRUE(busy.decide(t0).safe);
  // A new failure starts over at the initial backoff.
  busy.apply(BusyReported{"new", std::nullopt}, t0);
  EXPECT_EQ(until_of(busy.decide(t0), ReasonCode::BusyBackoff), t0 + 2min);
}

TEST_F(PolicyBusyTest, FailureLearntAfterALaterStartedSuccessIsNotCounted) {
  // Out of order: the success that started after the failure is learnt first.
  refresh_healthy(busy, t0 - 2min,
                  {deploy_run(1, RunStatus::Completed, t0 - 9min, RunConclusion::Failure, t0 - 5min),
                   deploy_run(2, RunStatus::Completed, t0 - 4min, RunConclusion::Success, t0 - 2min)});
  busy.apply(RunClassified{{1, 1}, Classification::ServerBusy, "ServerIsBusy", t0 - 5min}, t0);
  EXPECT_EQ(busy.busy().consecutive_failures, 0);
  EXPECT_TRUE(busy.decide(t0).safe);
}

TEST_F(PolicyBusyTest, FailureLearntAfterAnEarlierStartedSuccessIsCounted) {
  // Out of order the other way: a success learnt first, but it started before the failure.
  refresh_healthy(busy, t0 - 6min,
                  {deploy_run(2, RunStatus::Completed, t0 - 10min, RunConclusion::Success, t0 - 6min)});
  refresh_healthy(busy, t0, {deploy_run(1, RunStatus::Completed, t0 - 5min, RunConclusion::Failure, t0 - 1min)});
  busy.apply(RunClassified{{1, 1}, Classification::ServerBusy, "ServerIsBusy"}, t0);
  EXPECT_EQ(busy.busy().consecutive_failures, 1);
  EXPECT_EQ(until_of(busy.decide(t0), ReasonCode::BusyBackoff), t0 + 1min);
}

TEST_F(PolicyBusyTest, LateWebhookOfAnOldSuccessDoesNotResetAFailureAfterIt) {
  refresh_healthy(busy, t0, {deploy_run(1, RunStatus::Completed, t0 - 5min, RunConclusion::Failure, t0 - 1min)});
  busy.apply(RunClassified{{1, 1}, Classification::ServerBusy, "ServerIsBusy"}, t0);
  busy.apply(RunObserved{deploy_run(2, RunStatus::Completed, t0 - 30min, RunConclusion::Success, t0 - 20min)}, t0);
  EXPECT_EQ(busy.busy().consecutive_failures, 1);
  EXPECT_TRUE(busy.decide(t0).has(ReasonCode::BusyBackoff));
}

// ---- 5. Runs that never started are not deploys ------------------------------------------------

TEST_F(PolicyRunsTest, CancelledRunThatNeverStartedIsNotADeploy) {
  const auto cancelled = deploy_run(3, RunStatus::Completed, t0 - 1min, RunConclusion::Cancelled, t0);
  refresh_healthy(policy, t0, {cancelled});
  EXPECT_THAT(codes(policy.decide(t0)), ElementsAre("cooldown")) << "counted until classified";
  EXPECT_THAT(to_classify(policy), ElementsAre(RunRef{3, 1}));

  policy.apply(RunClassified{{3, 1}, Classification::NeverStarted, "1 job(s), none got a runner"}, t0);
  EXPECT_THAT(policy.deploys(), IsEmpty());
  EXPECT_TRUE(policy.decide(t0).safe);
  // The run stays in the recent list: the next poll and a late webhook must not make it a deploy.
  refresh_healthy(policy, t0 + 1min, {cancelled});
  policy.apply(RunObserved{cancelled}, t0 + 1min);
  EXPECT_THAT(policy.deploys(), IsEmpty());
  EXPECT_TRUE(policy.decide(t0 + 1min).safe);
}

TEST_F(PolicyRunsTest, SkippedRunIsNotADeployNorClassified) {
  const auto skipped = deploy_run(4, RunStatus::Completed, t0 - 1min, RunConclusion::Skipped, t0);
  refresh_healthy(policy, t0, {skipped});
  EXPECT_THAT(policy.deploys(), IsEmpty());
  EXPECT_THAT(to_classify(policy), IsEmpty());
  policy.apply(RunClassified{{4, 1}, Classification::NeverStarted, ""}, t0);
  refresh_healthy(policy, t0 + 1min, {skipped});
  EXPECT_TRUE(policy.decide(t0 + 1min).safe);
}

TEST_F(PolicyRunsTest, NeverStartedReRunLeavesTheEarlierAttemptsCooldown) {
  const auto first = deploy_run(1, RunStatus::Completed, t0 - 10min, RunConclusion::Success, t0 - 9min);
  refresh_healthy(policy, t0 - 9min, {first});
  const auto second = rerun_attempt(first, 2, RunStatus::Completed, t0 - 1min, RunConclusion::Cancelled, t0);
  refresh_healthy(policy, t0, {second});
  EXPECT_EQ(until_of(policy.decide(t0), ReasonCode::Cooldown), t0 - 1min + 14min);

  policy.apply(RunClassified{{1, 2}, Classification::NeverStarted, "queued, then cancelled"}, t0);
  refresh_healthy(policy, t0 + 1min, {second});
  EXPECT_THAT(deploy_keys(policy), ElementsAre("run:1/1"));
  const auto d = policy.decide(t0 + 1min);
  ASSERT_THAT(codes(d), ElementsAre("cooldown"));
  EXPECT_EQ(d.reasons[0].until, t0 - 10min + 14min) << "from attempt 1, the one that deployed";
}

// ---- 6. The pipeline asks about itself --------------------------------------------------------

TEST_F(PolicyRunsTest, OwnInProgressRunAndItsDeployRecordDoNotBlockIt) {
  refresh_healthy(policy, t0, {deploy_run(77, RunStatus::InProgress, t0 - 1min)});
  EXPECT_THAT(codes(policy.decide(t0)), ElementsAre("deploy_in_progress", "cooldown"));
  ASSERT_THAT(deploy_keys(policy), ElementsAre("run:77/1"));
  const auto d = policy.decide(t0, AsRun{77});
  EXPECT_TRUE(d.safe) << (d.reasons.empty() ? "" : d.reasons[0].message);
  EXPECT_TRUE(policy.decide(t0, AsRun{77, 1}).safe);
}

TEST_F(PolicyRunsTest, AnotherRunInProgressStillBlocksTheAskingRun) {
  refresh_healthy(policy, t0, {deploy_run(77, RunStatus::InProgress, t0 - 1min),
                               deploy_run(78, RunStatus::Queued, t0 - 30s)});
  const auto d = policy.decide(t0, AsRun{77});
  ASSERT_THAT(codes(d), ElementsAre("deploy_in_progress"));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("run 78"));
  EXPECT_THAT(d.reasons[0].message, Not(HasSubstr("run 77")));
  // Run 78 is queued, not yet a deploy record; once it runs, its record blocks 77 too.
  refresh_healthy(policy, t0 + 1min, {deploy_run(77, RunStatus::InProgress, t0 - 1min),
                                      deploy_run(78, RunStatus::InProgress, t0 + 1min)});
  EXPECT_THAT(codes(policy.decide(t0 + 1min, AsRun{77})), ElementsAre("deploy_in_progress", "cooldown"));
  EXPECT_THAT(codes(policy.decide(t0 + 1min, AsRun{78})), ElementsAre("deploy_in_progress", "cooldown"));
}

TEST_F(PolicyRunsTest, AsRunWithAnAttemptMatchesOnlyThatAttempt) {
  const auto first = deploy_run(77, RunStatus::Completed, t0 - 60min, RunConclusion::Failure, t0 - 50min);
  refresh_healthy(policy, t0, {rerun_attempt(first, 2, RunStatus::InProgress, t0 - 1min)});
  EXPECT_TRUE(policy.decide(t0, AsRun{77, 2}).safe);
  EXPECT_TRUE(policy.decide(t0, AsRun{77}).safe) << "without an attempt: the latest, 2";
  // Attempt 1 asking is another deploy: attempt 2 runs and its record is recent.
  const auto stale_attempt = policy.decide(t0, AsRun{77, 1});
  ASSERT_THAT(codes(stale_attempt), ElementsAre("deploy_in_progress", "cooldown"));
  EXPECT_THAT(stale_attempt.reasons[0].message, HasSubstr("attempt 2"));
  EXPECT_THAT(stale_attempt.reasons[1].message, HasSubstr("run 77 attempt 2"));
}

TEST_F(PolicyRunsTest, EarlierAttemptIsAnotherDeployForTheReRun) {
  // Each attempt is a deploy of its own, so re-running soon after attempt 1 ended waits out its
  // min_interval like any other deploy would.
  const auto first = deploy_run(77, RunStatus::Completed, t0 - 5min, RunConclusion::Failure, t0 - 3min);
  refresh_healthy(policy, t0 - 3min, {first});
  refresh_healthy(policy, t0, {rerun_attempt(first, 2, RunStatus::InProgress, t0)});
  const auto d = policy.decide(t0, AsRun{77, 2});
  ASSERT_THAT(codes(d), ElementsAre("cooldown"));
  EXPECT_EQ(d.reasons[0].until, t0 - 5min + 14min);
  EXPECT_THAT(d.reasons[0].message, HasSubstr("run 77 attempt 1"));
}

TEST_F(PolicyRunsTest, LeaseLinkedToARunAttemptDoesNotBlockThatAttempt) {
  const auto first = deploy_run(77, RunStatus::Completed, t0 - 60min, RunConclusion::Failure, t0 - 50min);
  const auto second = rerun_attempt(first, 2, RunStatus::InProgress, t0 - 1min);
  refresh_healthy(policy, t0, {second});
  auto granted = policy.acquire_lease({"L1", "github-run-77", 30min, 77, 2}, t0);
  ASSERT_TRUE(std::holds_alternative<Lease>(granted));
  EXPECT_EQ(std::get<Lease>(granted).run_attempt, 2);

  EXPECT_TRUE(policy.decide(t0, AsRun{77, 2}).safe);
  EXPECT_TRUE(policy.decide(t0, AsRun{77}).safe);
  EXPECT_TRUE(policy.decide(t0, AsRun{77, 1}).has(ReasonCode::Leased));
  EXPECT_THAT(codes(policy.decide(t0)), ElementsAre("leased", "deploy_in_progress", "cooldown"));

  // A late webhook of attempt 1 does not end attempt 2's lease; attempt 2 completing does.
  policy.apply(RunObserved{first}, t0 + 1min);
  EXPECT_TRUE(policy.lease());
  refresh_healthy(policy, t0 + 4min,
                  {rerun_attempt(first, 2, RunStatus::Completed, t0 - 1min, RunConclusion::Success, t0 + 4min)});
  EXPECT_FALSE(policy.lease());
  ASSERT_THAT(deploy_keys(policy), ElementsAre("run:77/2", "run:77/1")) << "the lease merged into its run's record";
  EXPECT_EQ(policy.deploys()[0].started_at, t0 - 1min);
  EXPECT_EQ(policy.deploys()[0].ended_at, t0 + 4min);
}

TEST_F(PolicyRunsTest, LeaseForTheLatestAttemptIsTakenWithoutAnAttempt) {
  const auto first = deploy_run(77, RunStatus::Completed, t0 - 60min, RunConclusion::Failure, t0 - 50min);
  refresh_healthy(policy, t0, {rerun_attempt(first, 3, RunStatus::InProgress, t0 - 1min)});
  auto granted = policy.acquire_lease({"L1", "github-run-77", 30min, 77}, t0);
  ASSERT_TRUE(std::holds_alternative<Lease>(granted));
  EXPECT_EQ(std::get<Lease>(granted).run_attempt, 3);
  EXPECT_TRUE(policy.decide(t0, AsRun{77, 3}).safe);
  EXPECT_TRUE(policy.decide(t0, AsRun{77, 2}).has(ReasonCode::Leased));
}

// ---- 7. Runs beyond the page ------------------------------------------------------------------

TEST_F(PolicyRunsTest, ActiveRunAbsentFromALaterPollIsLookedUpAndRunGoneEndsIt) {
  const std::vector<WorkflowRun> first_poll{
      deploy_run(5, RunStatus::InProgress, t0 - 20min),
      deploy_run(4, RunStatus::Completed, t0 - 60min, RunConclusion::Success, t0 - 55min)};
  refresh_healthy(policy, t0 - 10min, first_poll);
  EXPECT_THAT(policy.active_runs_not_in(first_poll), IsEmpty());

  // Newer runs pushed run 5 off the first page.
  const std::vector<WorkflowRun> second_poll{
      deploy_run(6, RunStatus::Completed, t0 - 8min, RunConclusion::Skipped, t0 - 8min),
      deploy_run(4, RunStatus::Completed, t0 - 60min, RunConclusion::Success, t0 - 55min)};
  refresh_healthy(policy, t0, second_poll);
  EXPECT_THAT(policy.active_runs_not_in(second_poll), ElementsAre(5));
  EXPECT_THAT(codes(policy.decide(t0)), ElementsAre("deploy_in_progress")) << "absent is not ended";

  policy.apply(RunGone{5}, t0);
  EXPECT_THAT(policy.active_runs_not_in(second_poll), IsEmpty());
  for (const auto& r : policy.runs()) EXPECT_NE(r.id, 5);
  ASSERT_THAT(deploy_keys(policy), ElementsAre("run:5/1", "run:4/1"));
  EXPECT_EQ(policy.deploys()[0].ended_at, t0);
  const auto d = policy.decide(t0);
  ASSERT_THAT(codes(d), ElementsAre("cooldown")) << "it ended by now at the latest";
  EXPECT_EQ(d.reasons[0].until, t0 + 2min);
  EXPECT_TRUE(policy.decide(t0 + 2min).safe);
}

TEST_F(PolicyRunsTest, RunGoneOfAnUnknownRunChangesNothing) {
  refresh_healthy(policy, t0, {deploy_run(5, RunStatus::InProgress, t0 - 20min)});
  policy.apply(RunGone{999}, t0);
  EXPECT_THAT(policy.active_runs_not_in({}), ElementsAre(5));
  EXPECT_TRUE(policy.decide(t0).has(ReasonCode::DeployInProgress));
}

// ---- 8. Source errors -------------------------------------------------------------------------

TEST_F(PolicyRunsTest, PermanentSourceErrorFailsClosedAtOnceUntilTheNextGoodPoll) {
  refresh_healthy(policy, t0);
  policy.apply(SourceFailed{"github", "HTTP 401 Bad credentials", true}, t0 + 1min);
  const auto d = policy.decide(t0 + 1min);
  ASSERT_THAT(codes(d), ElementsAre("source_error"));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("github"));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("Bad credentials"));
  EXPECT_FALSE(d.reasons[0].until);
  EXPECT_FALSE(d.retry_after);

  policy.apply(RunsPolled{}, t0 + 2min);
  EXPECT_TRUE(policy.decide(t0 + 2min).safe);
}

TEST_F(PolicyRunsTest, PermanentSourceErrorBeforeAnySuccessIsASourceError) {
  policy.apply(app_with({revision("r1", true, 100)}), t0);
  policy.apply(RunsPolled{}, t0);
  policy.apply(SourceFailed{postgres_source("staging-env-db"), "HTTP 404 server not found", true}, t0);
  const auto d = policy.decide(t0);
  ASSERT_THAT(codes(d), ElementsAre("source_error"));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("postgres/staging-env-db"));
}

TEST_F(PolicyRunsTest, TransientSourceErrorFailsClosedOnlyOnceStale) {
  refresh_healthy(policy, t0);
  policy.apply(SourceFailed{"github", "timeout"}, t0 + 1min);
  EXPECT_TRUE(policy.decide(t0 + 1min).safe);
  EXPECT_TRUE(policy.decide(t0 + 5min).safe);  // stale_after old is still fresh
  policy.apply(app_with({revision("r1", true, 100)}), t0 + 5min);
  policy.apply(db("Ready"), t0 + 5min);
  const auto d = policy.decide(t0 + 5min + 1ms);
  ASSERT_THAT(codes(d), ElementsAre("stale"));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("github"));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("timeout"));

  policy.apply(RunsPolled{}, t0 + 6min);
  EXPECT_TRUE(policy.decide(t0 + 6min).safe);
}

TEST_F(PolicyRunsTest, PermanentErrorHoldsThroughLaterTransientErrors) {
  refresh_healthy(policy, t0);
  policy.apply(SourceFailed{"github", "HTTP 401 Bad credentials", true}, t0 + 1min);
  // The retry times out: that is no success, so the source stays failed closed.
  policy.apply(SourceFailed{"github", "timeout"}, t0 + 2min);
  const auto d = policy.decide(t0 + 2min);
  ASSERT_THAT(codes(d), ElementsAre("source_error"));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("Bad credentials"));

  policy.apply(RunsPolled{}, t0 + 3min);
  EXPECT_TRUE(policy.decide(t0 + 3min).safe);
  // After a success a transient error is transient again.
  policy.apply(SourceFailed{"github", "timeout"}, t0 + 4min);
  EXPECT_TRUE(policy.decide(t0 + 4min).safe);
}
