// The pure remediation decisions: target choice, refusals, traffic array, deactivation list,
// runs to cancel and the retry schedule. No I/O.
#include <gtest/gtest.h>

#include "remediation/plan.hpp"

namespace deployguard::remediation {
namespace {

RevisionSnapshot rev(std::string name, bool active, std::string health = "Healthy",
                     std::string running = "Running", int created_min_ago = 60) {
  RevisionSnapshot r;
  r.name = std::move(name);
  r.active = active;
  r.health_state = std::move(health);
  r.running_state = std::move(running);
  r.provisioning_state = "Provisioned";
  r.created_time = TimePoint{} + std::chrono::hours{100} - std::chrono::minutes{created_min_ago};
  return r;
}

StabilizeInput split_input() {
  StabilizeInput in;
  ContainerAppSnapshot app;
  app.name = "api";
  app.provisioning_state = "Succeeded";
  app.latest_revision_name = "api--r3";
  app.traffic = {{"api--r2", 70, false, ""}, {"", 30, true, ""}};  // latest = r3
  in.app = app;
  in.revisions = {rev("api--r1", false, "None", "Stopped", 300), rev("api--r2", true, "Healthy", "Running", 120),
                  rev("api--r3", true, "Healthy", "Running", 10)};
  return in;
}

TEST(PlanStabilize, ProposesTheHealthyRevisionWithMostTraffic) {
  auto result = plan_stabilize(split_input());
  ASSERT_TRUE(std::holds_alternative<StabilizePlan>(result));
  const auto& plan = std::get<StabilizePlan>(result);
  EXPECT_EQ(plan.target, "api--r2");
  EXPECT_TRUE(plan.proposed);
  EXPECT_TRUE(plan.traffic_change);
  ASSERT_EQ(plan.traffic_after.size(), 1u);
  EXPECT_EQ(plan.traffic_after[0].revision_name, "api--r2");
  EXPECT_EQ(plan.traffic_after[0].weight, 100);
  EXPECT_EQ(plan.deactivate, std::vector<std::string>{"api--r3"});  // r1 is inactive already
  // latestRevision entries are shown resolved.
  ASSERT_EQ(plan.traffic_before.size(), 2u);
  EXPECT_EQ(plan.traffic_before[1].revision_name, "api--r3");
}

TEST(PlanStabilize, SkipsAnUnhealthyRevisionWhenProposing) {
  auto in = split_input();
  in.revisions[1].health_state = "Unhealthy";
  const auto plan = std::get<StabilizePlan>(plan_stabilize(in));
  EXPECT_EQ(plan.target, "api--r3");
  EXPECT_EQ(plan.deactivate, std::vector<std::string>{"api--r2"});
}

TEST(PlanStabilize, RequestedRevisionIsUsedAndNeverDeactivated) {
  auto in = split_input();
  in.requested_revision = "api--r3";
  const auto plan = std::get<StabilizePlan>(plan_stabilize(in));
  EXPECT_EQ(plan.target, "api--r3");
  EXPECT_FALSE(plan.proposed);
  EXPECT_EQ(plan.deactivate, std::vector<std::string>{"api--r2"});
  EXPECT_EQ(traffic_patch_body(plan).dump(),
            R"({"properties":{"configuration":{"ingress":{"traffic":[{"revisionName":"api--r3","weight":100}]}}}})");
}

TEST(PlanStabilize, AlreadyStableOnlyDeactivates) {
  auto in = split_input();
  in.app->traffic = {{"api--r2", 100, false, ""}};
  const auto plan = std::get<StabilizePlan>(plan_stabilize(in));
  EXPECT_FALSE(plan.traffic_change);
  EXPECT_EQ(plan.deactivate, std::vector<std::string>{"api--r3"});
}

std::string refusal_code(const StabilizeInput& in) {
  auto result = plan_stabilize(in);
  if (auto* r = std::get_if<Refusal>(&result)) return r->code;
  return "planned";
}

TEST(PlanStabilize, Refusals) {
  auto in = split_input();
  in.requested_revision = "api--nope";
  EXPECT_EQ(refusal_code(in), "unknown_revision");
  in.requested_revision = "api--r1";
  EXPECT_EQ(refusal_code(in), "revision_inactive");
  in = split_input();
  in.requested_revision = "api--r3";
  in.revisions[2].health_state = "Unhealthy";
  EXPECT_EQ(refusal_code(in), "revision_unhealthy");
  in.revisions[2].health_state = "";
  in.revisions[2].running_state = "Failed";
  EXPECT_EQ(refusal_code(in), "revision_unhealthy");
  in.revisions[2].running_state = "Running";
  EXPECT_EQ(refusal_code(in), "planned");  // a missing healthState is accepted

  in = split_input();
  in.deploy_blockers = {"run 42 of Deploy is in_progress"};
  EXPECT_EQ(refusal_code(in), "deploy_in_progress");
  in = split_input();
  in.app->provisioning_state = "InProgress";
  EXPECT_EQ(refusal_code(in), "app_busy");
  in = split_input();
  in.app.reset();
  EXPECT_EQ(refusal_code(in), "no_observation");
  in = split_input();
  for (auto& r : in.revisions) r.health_state = "Unhealthy";
  EXPECT_EQ(refusal_code(in), "no_candidate");
}

WorkflowRun run(std::int64_t id, RunStatus status, std::string path = ".github/workflows/deploy.yml",
                std::string branch = "main") {
  WorkflowRun r;
  r.id = id;
  r.status = status;
  r.workflow_path = std::move(path);
  r.workflow_name = "Deploy";
  r.head_branch = std::move(branch);
  r.repository = "acme/shop";
  return r;
}

TEST(RunsToCancel, OnlyActiveRunsOfTheDeployWorkflowsOnce) {
  GitHubTarget target{"acme/shop", {"deploy.yml"}, std::string("main")};
  std::vector<WorkflowRun> candidates = {
      run(5, RunStatus::InProgress), run(3, RunStatus::Queued), run(5, RunStatus::InProgress),
      run(4, RunStatus::Completed), run(6, RunStatus::InProgress, ".github/workflows/test.yml"),
      run(7, RunStatus::Waiting, ".github/workflows/deploy.yml", "feature")};
  candidates[5].workflow_name = "Other";
  const auto out = runs_to_cancel(target, candidates);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].id, 3);
  EXPECT_EQ(out[1].id, 5);
}

TEST(Retry, ExponentialCappedJitteredAndClassified) {
  RetryPolicy p{5, std::chrono::seconds{2}, std::chrono::seconds{5}};
  EXPECT_EQ(retry_delay(p, 1), Duration::zero());
  EXPECT_EQ(retry_delay(p, 2), std::chrono::seconds{2});
  EXPECT_EQ(retry_delay(p, 3), std::chrono::seconds{4});
  EXPECT_EQ(retry_delay(p, 4), std::chrono::seconds{5});
  EXPECT_EQ(retry_delay(p, 2, 1.5), std::chrono::seconds{3});
  EXPECT_TRUE(arm_retryable(409, "Conflict"));
  EXPECT_TRUE(arm_retryable(400, "ServerIsBusy"));
  EXPECT_TRUE(arm_retryable(0, ""));
  EXPECT_TRUE(arm_retryable(503, ""));
  EXPECT_FALSE(arm_retryable(404, "ContainerAppRevisionNotFound"));
  EXPECT_FALSE(github_retryable(409));
  EXPECT_FALSE(github_retryable(403));
  EXPECT_TRUE(github_retryable(502));
}

}  // namespace
}  // namespace deployguard::remediation
