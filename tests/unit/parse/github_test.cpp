// GitHub fixtures parsed with concrete field expectations.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fixtures.hpp"
#include "parse/github.hpp"

namespace deployguard::parse {
namespace {

using test::read_fixture;
using test::ts;

template <class Event>
Event webhook(std::string_view type, std::string_view fixture) {
  auto parsed = parse_webhook(type, read_fixture(fixture));
  EXPECT_TRUE(parsed.ok()) << fixture << ": " << parsed.error_text();
  if (!parsed.ok()) return {};
  EXPECT_TRUE(std::holds_alternative<Event>(*parsed)) << fixture << " index " << parsed->index();
  if (!std::holds_alternative<Event>(*parsed)) return {};
  return std::get<Event>(*parsed);
}

// ---- REST ------------------------------------------------------------------------------------

TEST(GitHubRest, ListWorkflowRunsDocExampleStripsRefFromPath) {
  auto page = parse_workflow_runs_page(
      read_fixture("github/rest/list-workflow-runs-for-a-repository.example.json"));
  ASSERT_TRUE(page.ok()) << page.error_text();
  EXPECT_EQ(page->total_count, 1);
  EXPECT_TRUE(page->item_errors.empty());
  ASSERT_EQ(page->runs.size(), 1u);
  const WorkflowRun& run = page->runs[0];
  EXPECT_EQ(run.id, 30433642);
  EXPECT_EQ(run.workflow_id, 159038);
  EXPECT_EQ(run.workflow_name, "Build");
  EXPECT_EQ(run.workflow_path, ".github/workflows/build.yml");  // "@main" stripped
  EXPECT_EQ(run.repository, "octocat/Hello-World");
  EXPECT_EQ(run.head_branch, "master");
  EXPECT_EQ(run.head_sha, "acb5820ced9479c074f688cc328bf03f341a511d");
  EXPECT_EQ(run.title, "Update README.md");
  EXPECT_EQ(run.event, "push");
  EXPECT_EQ(run.status, RunStatus::Queued);
  EXPECT_EQ(run.status_text, "queued");
  EXPECT_EQ(run.conclusion, RunConclusion::None);
  EXPECT_EQ(run.conclusion_text, "");
  EXPECT_EQ(run.run_attempt, 1);
  EXPECT_EQ(run.created_at, ts("2020-01-22T19:33:08Z"));
  EXPECT_EQ(run.started_at(), ts("2020-01-22T19:33:08Z"));
}

TEST(GitHubRest, RecordedRunsPageWithHeadShaFilter) {
  auto page = parse_workflow_runs_page(
      read_fixture("recorded/github/workflow-runs.list.head_sha-filter.2-completed.json"));
  ASSERT_TRUE(page.ok()) << page.error_text();
  EXPECT_EQ(page->total_count, 2);
  ASSERT_EQ(page->runs.size(), 2u);
  EXPECT_EQ(page->runs[0].id, 720994709);
  EXPECT_EQ(page->runs[0].workflow_name, "Unit Test");
  EXPECT_EQ(page->runs[0].workflow_path, ".github/workflows/Unit_Test.yml");
  EXPECT_EQ(page->runs[0].repository, "ReDASers/PhishBench");
  EXPECT_EQ(page->runs[0].conclusion, RunConclusion::Success);
  EXPECT_EQ(page->runs[0].run_started_at, ts("2021-04-06T01:41:03Z"));
  EXPECT_EQ(page->runs[1].id, 720994708);
  EXPECT_EQ(page->runs[1].workflow_id, 4477712);
  EXPECT_EQ(page->runs[1].updated_at, ts("2021-04-06T02:37:49Z"));
  EXPECT_EQ(page->runs[1].status, RunStatus::Completed);
}

TEST(GitHubRest, RecordedCompletedFailureRunIsARerun) {
  auto run = parse_workflow_run_body(read_fixture("recorded/github/workflow-run.completed-failure.json"));
  ASSERT_TRUE(run.ok()) << run.error_text();
  EXPECT_EQ(run->id, 3881497935);  // > 2^31
  EXPECT_EQ(run->workflow_id, 110005609);
  EXPECT_EQ(run->status, RunStatus::Completed);
  EXPECT_EQ(run->conclusion, RunConclusion::Failure);
  EXPECT_EQ(run->conclusion_text, "failure");
  EXPECT_EQ(run->run_attempt, 2);
  // run_started_at resets on re-run, so started_at() is the second attempt's start.
  EXPECT_EQ(run->created_at, ts("2024-07-30T20:58:42Z"));
  EXPECT_EQ(run->started_at(), ts("2024-07-30T21:36:08Z"));
  EXPECT_EQ(run->repository, "PyGithub/PyGithub");
}

TEST(GitHubRest, RecordedInProgressRun) {
  auto run = parse_workflow_run_body(read_fixture("recorded/github/workflow-run.in_progress.json"));
  ASSERT_TRUE(run.ok()) << run.error_text();
  EXPECT_EQ(run->id, 3911660493);
  EXPECT_EQ(run->status, RunStatus::InProgress);
  EXPECT_TRUE(is_active(run->status));
  EXPECT_EQ(run->conclusion, RunConclusion::None);
  EXPECT_EQ(run->head_branch, "feat/workflow-run");
  EXPECT_EQ(run->event, "pull_request");
  EXPECT_EQ(run->title, "TEST PR");
  EXPECT_EQ(run->html_url, "https://github.com/PyGithub/PyGithub/actions/runs/3911660493");
}

TEST(GitHubRest, RecordedJobsList) {
  auto page = parse_jobs_list(read_fixture("recorded/github/workflow-run.jobs-list.5-completed.json"));
  ASSERT_TRUE(page.ok()) << page.error_text();
  EXPECT_EQ(page->total_count, 5);
  ASSERT_EQ(page->jobs.size(), 5u);
  const WorkflowJob& first = page->jobs[0];
  EXPECT_EQ(first.id, 10545727758);
  EXPECT_EQ(first.run_id, 3881497935);
  EXPECT_EQ(first.name, "test (Python 3.7)");
  EXPECT_EQ(first.workflow_name, "CI");
  EXPECT_EQ(first.status, RunStatus::Completed);
  EXPECT_EQ(first.conclusion, RunConclusion::Success);
  EXPECT_EQ(first.started_at, ts("2023-01-10T08:24:28Z"));
  EXPECT_EQ(first.completed_at, ts("2023-01-10T08:25:28Z"));
  EXPECT_EQ(page->jobs[4].name, "test (Python 3.11-dev)");
  EXPECT_EQ(page->jobs[4].completed_at, ts("2023-01-10T08:25:50Z"));
}

TEST(GitHubRest, RecordedSingleJob) {
  auto job = parse_workflow_job_body(read_fixture("recorded/github/workflow-job.single.2025.json"));
  ASSERT_TRUE(job.ok()) << job.error_text();
  EXPECT_EQ(job->id, 54251022208);
  EXPECT_EQ(job->run_id, 18993936308);
  EXPECT_EQ(job->name, "OpenAPI sync branch");
  EXPECT_EQ(job->workflow_name, "OpenAPI");
  EXPECT_EQ(job->head_sha, "9e1c2bfe545a53beae4b79fcbc52a212b71c17d2");
  EXPECT_EQ(job->conclusion, RunConclusion::Success);
  EXPECT_EQ(job->created_at, ts("2025-11-01T08:16:07Z"));
  EXPECT_EQ(job->labels, std::vector<std::string>{"ubuntu-latest"});
}

TEST(GitHubRest, RecordedWorkflowsListWithPlusTenOffsets) {
  auto page = parse_workflows_list(read_fixture("recorded/github/workflows.list.2020.json"));
  ASSERT_TRUE(page.ok()) << page.error_text();
  EXPECT_EQ(page->total_count, 2);
  ASSERT_EQ(page->workflows.size(), 2u);
  EXPECT_EQ(page->workflows[0].id, 1026390);
  EXPECT_EQ(page->workflows[0].name, "check");
  EXPECT_EQ(page->workflows[0].path, ".github/workflows/check.yml");
  EXPECT_EQ(page->workflows[0].state, "active");
  EXPECT_EQ(page->workflows[1].id, 1122712);
  EXPECT_EQ(page->workflows[1].name, "Publish to PyPI");
}

TEST(GitHubRest, ErrorBodies) {
  auto primary = parse_github_error(read_fixture("recorded/github/rate-limit.403.primary-exhausted.2013.json"));
  ASSERT_TRUE(primary.ok()) << primary.error_text();
  EXPECT_EQ(primary->message, "API Rate Limit Exceeded for 92.104.200.119");
  EXPECT_EQ(primary->documentation_url, "");
  EXPECT_EQ(primary->status, std::nullopt);

  auto secondary = parse_github_error(
      read_fixture("recorded/github/rate-limit.403.secondary-abuse.retry-after.2018.json"));
  ASSERT_TRUE(secondary.ok()) << secondary.error_text();
  EXPECT_EQ(secondary->documentation_url, "https://developer.github.com/v3/#abuse-rate-limits");
  EXPECT_NE(secondary->message.find("abuse detection"), std::string::npos);

  auto as_string = parse_github_error(
      read_fixture("recorded/github/workflow-disable.403.status-as-string.2024.json"));
  ASSERT_TRUE(as_string.ok()) << as_string.error_text();
  EXPECT_EQ(as_string->status, 403);  // sent as "403"
  EXPECT_EQ(as_string->message, "Unable to disable a workflow that is not active.");

  auto cancel = parse_github_error(read_fixture("recorded/github/workflow-run.cancel.403-admin-rights.json"));
  ASSERT_TRUE(cancel.ok()) << cancel.error_text();
  EXPECT_EQ(cancel->message, "Must have admin rights to Repository.");
  EXPECT_EQ(cancel->documentation_url,
            "https://docs.github.com/rest/reference/actions#cancel-a-workflow-run");

  EXPECT_EQ(parse_github_error(R"({"message":"x","status":403})")->status, 403);
  EXPECT_FALSE(parse_github_error(R"({"documentation_url":"u"})").ok());
}

// ---- Webhooks -------------------------------------------------------------------------------

TEST(GitHubWebhook, WorkflowRunEventsFallBackToWorkflowName) {
  struct Case {
    const char* file;
    const char* action;
    RunStatus status;
    RunConclusion conclusion;
  };
  const Case cases[] = {
      {"github/workflow_run/requested.payload.json", "requested", RunStatus::Queued, RunConclusion::None},
      {"github/workflow_run/requested.with-conclusion.payload.json", "requested", RunStatus::Completed,
       RunConclusion::ActionRequired},
      {"github/workflow_run/in_progress.payload.json", "in_progress", RunStatus::InProgress, RunConclusion::None},
      {"github/workflow_run/completed.payload.json", "completed", RunStatus::Completed, RunConclusion::Success},
      {"github/workflow_run/completed.with-pull-requests.payload.json", "completed", RunStatus::Completed,
       RunConclusion::Success},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const auto ev = webhook<WorkflowRunEvent>("workflow_run", c.file);
    EXPECT_EQ(ev.action, c.action);
    EXPECT_EQ(ev.run.id, 289782451);
    EXPECT_EQ(ev.run.workflow_id, 2823525);
    EXPECT_EQ(ev.run.workflow_name, "test");  // run name is "", taken from `workflow`
    EXPECT_EQ(ev.run.workflow_path, ".github/workflows/test.yml");
    EXPECT_EQ(ev.run.repository, "octo-org/octo-repo");
    EXPECT_EQ(ev.run.status, c.status);
    EXPECT_EQ(ev.run.conclusion, c.conclusion);
    EXPECT_EQ(ev.run.created_at, ts("2020-10-05T16:33:24Z"));
    EXPECT_EQ(ev.run.run_started_at, ts("2020-10-05T16:33:49Z"));
  }
}

TEST(GitHubWebhook, WorkflowJobEvents) {
  const auto queued = webhook<WorkflowJobEvent>("workflow_job", "github/workflow_job/queued.payload.json");
  EXPECT_EQ(queued.action, "queued");
  EXPECT_EQ(queued.job.id, 289782451);
  EXPECT_EQ(queued.job.run_id, 2202229078);
  EXPECT_EQ(queued.job.name, "update");
  EXPECT_EQ(queued.job.workflow_name, "CodeQL");
  EXPECT_EQ(queued.job.status, RunStatus::Queued);
  EXPECT_EQ(queued.job.completed_at, std::nullopt);
  EXPECT_EQ(queued.repository, "Codertocat/Hello-World");
  EXPECT_FALSE(queued.deployment.has_value());

  const auto running = webhook<WorkflowJobEvent>("workflow_job", "github/workflow_job/in_progress.payload.json");
  EXPECT_EQ(running.job.status, RunStatus::InProgress);
  EXPECT_EQ(running.job.name, "Analyze (javascript)");
  EXPECT_EQ(running.job.started_at, ts("2021-09-13T02:21:13Z"));

  const auto done = webhook<WorkflowJobEvent>(
      "workflow_job", "github/workflow_job/completed.success.with-organization.payload.json");
  EXPECT_EQ(done.action, "completed");
  EXPECT_EQ(done.job.conclusion, RunConclusion::Success);
  EXPECT_EQ(done.job.completed_at, ts("2021-08-05T10:38:16Z"));

  const auto waiting = webhook<WorkflowJobEvent>("workflow_job", "github/workflow_job/waiting.payload.json");
  EXPECT_EQ(waiting.action, "waiting");
  EXPECT_EQ(waiting.job.id, 12877621891);
  EXPECT_EQ(waiting.job.run_id, 4747967848);
  EXPECT_EQ(waiting.job.status, RunStatus::Waiting);
  EXPECT_EQ(waiting.job.workflow_name, "Env Test");
  EXPECT_EQ(waiting.repository, "lineville/elastic-machines-testing");

  const auto with_env = webhook<WorkflowJobEvent>(
      "workflow_job", "github/workflow_job/queued.with-deployment.payload.json");
  EXPECT_EQ(with_env.job.status, RunStatus::Waiting);
  ASSERT_TRUE(with_env.deployment.has_value());
  EXPECT_EQ(with_env.deployment->id, 875096709);
  EXPECT_EQ(with_env.deployment->environment, "Test");
  EXPECT_EQ(with_env.deployment->sha, "16c5286e8d9a0629956a28938386b36608707a71");
  EXPECT_EQ(with_env.deployment->ref, "main");
}

TEST(GitHubWebhook, DeploymentEvents) {
  for (const char* file : {"github/deployment/payload.json", "github/deployment/with-installation.payload.json"}) {
    SCOPED_TRACE(file);
    const auto ev = webhook<DeploymentEvent>("deployment", file);
    EXPECT_EQ(ev.action, "created");
    EXPECT_EQ(ev.deployment.id, 145988746);
    EXPECT_EQ(ev.deployment.environment, "production");
    EXPECT_EQ(ev.deployment.sha, "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
    EXPECT_EQ(ev.deployment.ref, "master");
    EXPECT_EQ(ev.deployment.task, "deploy");
    EXPECT_EQ(ev.deployment.created_at, ts("2019-05-15T15:20:53Z"));
    EXPECT_EQ(ev.repository, "Codertocat/Hello-World");
    EXPECT_EQ(ev.workflow_run_id, std::nullopt);  // "workflow_run": null
  }
}

TEST(GitHubWebhook, DeploymentStatusEvents) {
  for (const char* file :
       {"github/deployment_status/payload.json", "github/deployment_status/with-installation.payload.json"}) {
    SCOPED_TRACE(file);
    const auto ev = webhook<DeploymentStatusEvent>("deployment_status", file);
    EXPECT_EQ(ev.action, "created");
    EXPECT_EQ(ev.state, "success");
    EXPECT_EQ(ev.environment, "production");
    EXPECT_EQ(ev.deployment.id, 145988746);
    EXPECT_EQ(ev.deployment.updated_at, ts("2019-05-15T15:20:55Z"));
    EXPECT_EQ(ev.updated_at, ts("2019-05-15T15:20:55Z"));
    EXPECT_EQ(ev.repository, "Codertocat/Hello-World");
    EXPECT_EQ(ev.workflow_run_id, std::nullopt);
  }
}

TEST(GitHubWebhook, DeploymentStatusWithWorkflowRunId) {
  auto body = nlohmann::json::parse(read_fixture("github/deployment_status/payload.json"));
  body["workflow_run"] = {{"id", 5453085689LL}};
  body["deployment_status"].erase("environment");
  auto parsed = parse_webhook("deployment_status", body.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error_text();
  const auto& ev = std::get<DeploymentStatusEvent>(*parsed);
  EXPECT_EQ(ev.workflow_run_id, 5453085689);
  EXPECT_EQ(ev.environment, "production");  // fell back to deployment.environment
}

TEST(GitHubWebhook, DeploymentProtectionRule) {
  const auto ev = webhook<DeploymentProtectionRuleEvent>(
      "deployment_protection_rule", "github/deployment_protection_rule/requested.payload.json");
  EXPECT_EQ(ev.action, "requested");
  EXPECT_EQ(ev.environment, "my-environment");
  EXPECT_EQ(ev.event, "my-event");
  EXPECT_EQ(ev.deployment_callback_url, "https://github.local/deploy-the-thing");
  EXPECT_EQ(ev.run_id, std::nullopt);  // callback URL of another shape
  ASSERT_TRUE(ev.deployment.has_value());
  EXPECT_EQ(ev.deployment->id, 145988746);
  EXPECT_EQ(ev.sha, "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");  // from deployment
  EXPECT_EQ(ev.ref, "master");
  EXPECT_EQ(ev.repository, "Codertocat/Hello-World");

  // Documented shape: top-level sha/ref, null deployment, run id in the callback URL.
  const auto documented = parse_webhook("deployment_protection_rule", R"({
    "action":"requested","environment":"prod","event":"push","sha":"abc","ref":"refs/heads/main",
    "deployment_callback_url":"https://api.github.com/repos/o/r/actions/runs/5453085689/deployment_protection_rule",
    "deployment":null,"repository":{"full_name":"o/r"}})");
  ASSERT_TRUE(documented.ok()) << documented.error_text();
  const auto& d = std::get<DeploymentProtectionRuleEvent>(*documented);
  EXPECT_EQ(d.run_id, 5453085689);
  EXPECT_FALSE(d.deployment.has_value());
  EXPECT_EQ(d.sha, "abc");
  EXPECT_EQ(d.ref, "refs/heads/main");
}

TEST(GitHubWebhook, DeploymentReviewCarriesWaitingRun) {
  const auto ev = webhook<DeploymentReviewEvent>("deployment_review", "github/deployment_review/requested.payload.json");
  EXPECT_EQ(ev.action, "requested");
  EXPECT_EQ(ev.environment, "TST");
  EXPECT_EQ(ev.since, ts("2023-07-04T09:28:15Z"));
  EXPECT_EQ(ev.run.id, 5453085689);
  EXPECT_EQ(ev.run.status, RunStatus::Waiting);
  EXPECT_EQ(ev.run.workflow_path, ".github/workflows/pr.yaml");
  EXPECT_EQ(ev.repository, "terraform-test-github/sample-app");
  EXPECT_EQ(ev.run.repository, "terraform-test-github/sample-app");
}

TEST(GitHubWebhook, Ping) {
  const auto repo = webhook<PingEvent>("ping", "github/ping/payload.json");
  EXPECT_EQ(repo.zen, "Anything added dilutes everything else.");
  EXPECT_EQ(repo.hook_id, 109948940);
  EXPECT_EQ(repo.app_id, std::nullopt);
  const auto app = webhook<PingEvent>("ping", "github/ping/with-app_id.payload.json");
  EXPECT_EQ(app.app_id, 29310);
  const auto org = webhook<PingEvent>("ping", "github/ping/with-organization.payload.json");
  EXPECT_EQ(org.hook_id, 109948940);
}

TEST(GitHubWebhook, EventTypeIsCaseInsensitiveAndUnknownTypesAreKept) {
  EXPECT_TRUE(std::holds_alternative<PingEvent>(*parse_webhook("PING", R"({"zen":"z","hook_id":1})")));
  auto unknown = parse_webhook("issues", R"({"action":"opened","issue":{}})");
  ASSERT_TRUE(unknown.ok());
  const auto& u = std::get<UnknownEvent>(*unknown);
  EXPECT_EQ(u.type, "issues");
  EXPECT_EQ(u.action, "opened");
  EXPECT_FALSE(parse_webhook("issues", "[1,2]").ok());  // still must be an object
}

TEST(GitHubWebhook, EssentialFieldsAreRequired) {
  auto no_run = parse_webhook("workflow_run", R"({"action":"completed"})");
  ASSERT_FALSE(no_run.ok());
  EXPECT_EQ(no_run.error().to_string(), "workflow_run: missing");
  auto no_id = parse_webhook("workflow_run", R"({"action":"completed","workflow_run":{"created_at":"2020-01-01T00:00:00Z"}})");
  ASSERT_FALSE(no_id.ok());
  EXPECT_EQ(no_id.error().to_string(), "workflow_run.id: missing");
  auto no_hook = parse_webhook("ping", R"({"zen":"z"})");
  ASSERT_FALSE(no_hook.ok());
  EXPECT_EQ(no_hook.error().to_string(), "hook_id: missing");
  auto no_state = parse_webhook("deployment_status", R"({"deployment_status":{},"deployment":{"id":1}})");
  ASSERT_FALSE(no_state.ok());
  EXPECT_EQ(no_state.error().to_string(), "deployment_status.state: missing");
}

TEST(GitHubRun, NumbersAsStringsNullsAndUnknownEnums) {
  auto run = parse_workflow_run(nlohmann::json::parse(R"({
    "id": "9223372036854775807", "workflow_id": "42", "name": null, "head_branch": null,
    "path": "dir/deploy.yml@refs/heads/main", "status": "Brand_New_Status", "conclusion": "SUCCESS",
    "run_attempt": "3", "created_at": "2025-01-02T03:04:05.1234567", "updated_at": null,
    "repository": {"full_name": "o/r"}, "pull_requests": null, "extra": {"ignored": [1, 2]}})"));
  ASSERT_TRUE(run.ok()) << run.error_text();
  EXPECT_EQ(run->id, 9223372036854775807);
  EXPECT_EQ(run->workflow_id, 42);
  EXPECT_EQ(run->workflow_name, "");
  EXPECT_EQ(run->head_branch, "");
  EXPECT_EQ(run->workflow_path, "dir/deploy.yml");
  EXPECT_EQ(run->status, RunStatus::Unknown);
  EXPECT_EQ(run->status_text, "Brand_New_Status");
  EXPECT_TRUE(is_active(run->status));  // unknown fails closed
  EXPECT_EQ(run->conclusion, RunConclusion::Success);  // case-insensitive
  EXPECT_EQ(run->run_attempt, 3);
  EXPECT_EQ(run->created_at, ts("2025-01-02T03:04:05.123Z"));
  EXPECT_EQ(run->updated_at, run->created_at);  // null falls back to created_at
}

TEST(GitHubRun, WrongTypesAndHugeIntegersAreErrorsWithPaths) {
  const auto err = [](const char* body) {
    auto r = parse_workflow_run(nlohmann::json::parse(body));
    return r.ok() ? std::string("ok") : r.error_text();
  };
  EXPECT_EQ(err(R"({"id":"abc","created_at":"2020-01-01T00:00:00Z"})"),
            "id: expected integer, got string that is not a 64-bit integer");
  EXPECT_EQ(err(R"({"id":1.5,"created_at":"2020-01-01T00:00:00Z"})"),
            "id: expected integer, got fractional number");
  EXPECT_EQ(err(R"({"id":9223372036854775808,"created_at":"2020-01-01T00:00:00Z"})"),
            "id: integer out of range");
  EXPECT_EQ(err(R"({"id":123456789012345678901234567890,"created_at":"2020-01-01T00:00:00Z"})"),
            "id: integer out of range");
  EXPECT_EQ(err(R"({"id":true,"created_at":"2020-01-01T00:00:00Z"})"), "id: expected integer, got boolean");
  EXPECT_EQ(err(R"({"id":1,"created_at":"yesterday"})"), "created_at: expected RFC 3339 timestamp");
  EXPECT_EQ(err(R"({"id":1})"), "created_at: missing");
  EXPECT_EQ(err(R"({"id":1,"created_at":"2020-01-01T00:00:00Z","repository":"o/r"})"),
            "repository: expected object, got string");
  EXPECT_EQ(err(R"({"id":1,"created_at":"2020-01-01T00:00:00Z","run_attempt":0})"),
            "run_attempt: expected a positive attempt number");
  EXPECT_EQ(err(R"({"id":1,"created_at":"2020-01-01T00:00:00Z","run_attempt":99999999999})"),
            "run_attempt: integer out of range");
  // Every problem is collected, not only the first.
  EXPECT_EQ(err(R"({"head_sha":7})"), "id: missing; head_sha: expected string, got number; created_at: missing");
  EXPECT_EQ(err("[]"), "expected object, got array");
}

TEST(GitHubRunsPage, BadRunIsSkippedAndReportedWithItsIndex) {
  auto page = parse_workflow_runs_page(R"({"total_count": 3, "workflow_runs": [
      {"id": 1, "created_at": "2020-01-01T00:00:00Z"},
      {"created_at": "2020-01-01T00:00:00Z"},
      {"id": 3, "created_at": "2020-01-01T00:00:00Z"}, 17]})");
  ASSERT_TRUE(page.ok()) << page.error_text();
  EXPECT_EQ(page->total_count, 3);
  ASSERT_EQ(page->runs.size(), 2u);
  EXPECT_EQ(page->runs[0].id, 1);
  EXPECT_EQ(page->runs[1].id, 3);
  ASSERT_EQ(page->item_errors.size(), 2u);
  EXPECT_EQ(page->item_errors[0].to_string(), "workflow_runs[1].id: missing");
  EXPECT_EQ(page->item_errors[1].to_string(), "workflow_runs[3]: expected object, got number");
}

TEST(GitHubRunsPage, PageShapeErrors) {
  EXPECT_EQ(parse_workflow_runs_page(R"({"total_count":0})").error_text(), "workflow_runs: missing");
  EXPECT_EQ(parse_workflow_runs_page(R"({"workflow_runs":{}})").error_text(),
            "workflow_runs: expected array, got object");
  EXPECT_EQ(parse_workflow_runs_page(R"({"total_count":"x","workflow_runs":[]})").error_text(),
            "total_count: expected integer, got string that is not a 64-bit integer");
  EXPECT_EQ(parse_jobs_list(R"({"jobs":[{"id":1}]})")->item_errors.at(0).to_string(), "jobs[0].run_id: missing");
  EXPECT_EQ(parse_workflows_list(R"({"workflows":[{"name":"x"}]})")->item_errors.at(0).to_string(),
            "workflows[0].id: missing");
}

TEST(GitHubCallbackUrl, RunIdExtraction) {
  EXPECT_EQ(run_id_from_callback_url(
                "https://api.github.com/repos/test-org/test-repo/actions/runs/1234/deployment_protection_rule"),
            1234);
  EXPECT_EQ(run_id_from_callback_url("https://x/actions/runs//deployment_protection_rule"), std::nullopt);
  EXPECT_EQ(run_id_from_callback_url("https://x/actions/runs/-5/deployment_protection_rule"), std::nullopt);
  EXPECT_EQ(run_id_from_callback_url("https://x/actions/runs/12/approvals"), std::nullopt);
  EXPECT_EQ(run_id_from_callback_url(""), std::nullopt);
}

TEST(GitHubPath, StripRef) {
  EXPECT_EQ(strip_workflow_ref(".github/workflows/build.yml@main"), ".github/workflows/build.yml");
  EXPECT_EQ(strip_workflow_ref(".github/workflows/build.yml"), ".github/workflows/build.yml");
  EXPECT_EQ(strip_workflow_ref("@"), "");
}

}  // namespace
}  // namespace deployguard::parse
