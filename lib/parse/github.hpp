#pragma once
// GitHub REST and webhook JSON -> deployguard model types. Pure: no I/O, no clock reads, no
// logging; safe to call from any thread. No function here throws on bad input: each returns a
// Parsed<T> holding either the value or every problem found, tagged with its JSON path.
//
// Leniency rules (see docs/api-facts.md A, B, D):
//  * unknown fields are ignored; unknown status/conclusion strings map to Unknown (text kept);
//  * null and absent are the same for optional fields; ids and counts may be numbers or strings;
//  * timestamps accept Z, +hh:mm offsets, any fraction, or no offset (UTC);
//  * a field we read that has the wrong type is an error for the enclosing item;
//  * essential fields (run id, created_at; job id and run_id) are required.
// In list pages a bad item does not fail the page: it is left out and reported in item_errors.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/model.hpp"
#include "core/time.hpp"
#include "parse/result.hpp"

namespace deployguard::parse {

/// Removes an optional "@ref" suffix: ".github/workflows/deploy.yml@main" -> ".../deploy.yml".
std::string_view strip_workflow_ref(std::string_view path);

// ---- Workflow runs --------------------------------------------------------------------------

/// One workflow run object (REST or webhook `workflow_run`). Requires `id` and `created_at`;
/// `repository` comes from `repository.full_name`.
Parsed<WorkflowRun> parse_workflow_run(const nlohmann::json& run);
/// GET /repos/{o}/{r}/actions/runs/{id} body.
Parsed<WorkflowRun> parse_workflow_run_body(std::string_view body);

struct WorkflowRunsPage {
  std::int64_t total_count = 0;
  std::vector<WorkflowRun> runs;
  std::vector<ParseError> item_errors;  // runs left out, e.g. "workflow_runs[3].id: missing"
};
/// GET .../actions/runs and .../workflows/{id}/runs. Requires `workflow_runs` (array).
Parsed<WorkflowRunsPage> parse_workflow_runs_page(std::string_view body);

// ---- Workflows ------------------------------------------------------------------------------

struct Workflow {
  std::int64_t id = 0;
  std::string name;
  std::string path;   // "@ref" suffix stripped
  std::string state;  // active, disabled_manually, disabled_inactivity, ... (extensible)
};
struct WorkflowsPage {
  std::int64_t total_count = 0;
  std::vector<Workflow> workflows;
  std::vector<ParseError> item_errors;
};
/// GET .../actions/workflows. Requires `workflows`; each workflow requires `id`.
Parsed<WorkflowsPage> parse_workflows_list(std::string_view body);

// ---- Jobs -----------------------------------------------------------------------------------

struct WorkflowJob {
  std::int64_t id = 0;
  std::int64_t run_id = 0;
  int run_attempt = 1;
  std::string name;
  std::string workflow_name;
  std::string head_branch;
  std::string head_sha;
  std::string html_url;
  RunStatus status = RunStatus::Unknown;  // jobs share the run status vocabulary
  RunConclusion conclusion = RunConclusion::None;
  std::string status_text;
  std::string conclusion_text;
  std::optional<TimePoint> created_at;
  std::optional<TimePoint> started_at;
  std::optional<TimePoint> completed_at;
  std::vector<std::string> labels;
  std::optional<std::int64_t> runner_id;  // null (or 0) while no runner took the job
  int steps_started = 0;                  // steps whose status is not "queued"

  /// A runner took the job or a step ran: the job touched the environment.
  bool ever_started() const { return (runner_id && *runner_id != 0) || steps_started > 0; }
};
/// One job object. Requires `id` and `run_id`.
Parsed<WorkflowJob> parse_workflow_job(const nlohmann::json& job);
/// GET .../actions/jobs/{id} body.
Parsed<WorkflowJob> parse_workflow_job_body(std::string_view body);

struct JobsPage {
  std::int64_t total_count = 0;
  std::vector<WorkflowJob> jobs;
  std::vector<ParseError> item_errors;
};
/// GET .../actions/runs/{id}/jobs. Requires `jobs`.
Parsed<JobsPage> parse_jobs_list(std::string_view body);

// ---- Webhooks -------------------------------------------------------------------------------

struct Deployment {
  std::int64_t id = 0;
  std::string environment;
  std::string original_environment;
  std::string sha;
  std::string ref;
  std::string task;
  std::optional<TimePoint> created_at;
  std::optional<TimePoint> updated_at;
};

struct WorkflowRunEvent {
  std::string action;  // requested, in_progress, completed, ... (kept as sent)
  WorkflowRun run;     // workflow_name falls back to `workflow.name` when the run's is ""
};
struct WorkflowJobEvent {
  std::string action;  // queued, in_progress, completed, waiting, ...
  WorkflowJob job;
  std::string repository;                 // repository.full_name
  std::optional<Deployment> deployment;   // present when the job targets an environment
};
struct DeploymentEvent {
  std::string action;
  Deployment deployment;
  std::string repository;
  std::optional<std::int64_t> workflow_run_id;  // workflow_run.id when not null
};
struct DeploymentStatusEvent {
  std::string action;
  std::string state;        // pending, in_progress, success, failure, error, inactive, ...
  std::string environment;  // deployment_status.environment, else deployment.environment
  std::string description;
  Deployment deployment;
  std::optional<std::int64_t> workflow_run_id;
  std::string repository;
  std::optional<TimePoint> updated_at;  // deployment_status.updated_at
};
/// Custom deployment protection rule request (GitHub asks us to approve/reject). Requires
/// `environment` and `deployment_callback_url`.
struct DeploymentProtectionRuleEvent {
  std::string action;
  std::string environment;
  std::string event;
  std::string sha;  // top level, else deployment.sha
  std::string ref;  // top level, else deployment.ref
  std::string deployment_callback_url;
  std::optional<std::int64_t> run_id;  // from ".../actions/runs/{id}/deployment_protection_rule"
  std::optional<Deployment> deployment;
  std::string repository;
};
struct DeploymentReviewEvent {
  std::string action;  // requested, approved, rejected
  std::string environment;
  std::optional<TimePoint> since;
  WorkflowRun run;
  std::string repository;
};
struct PingEvent {
  std::string zen;
  std::int64_t hook_id = 0;
  std::optional<std::int64_t> app_id;  // hook.app_id for GitHub App hooks
};
/// An event type we do not interpret; acknowledged and ignored by the caller.
struct UnknownEvent {
  std::string type;
  std::string action;  // top-level action when present
};

using WebhookEvent =
    std::variant<WorkflowRunEvent, WorkflowJobEvent, DeploymentEvent, DeploymentStatusEvent,
                 DeploymentProtectionRuleEvent, DeploymentReviewEvent, PingEvent, UnknownEvent>;

/// Parses a webhook delivery body given its X-GitHub-Event header (matched case-insensitively).
/// The body must be a JSON object even for unknown event types.
Parsed<WebhookEvent> parse_webhook(std::string_view event_type, std::string_view body);

/// Run id from a deployment_callback_url; nullopt when the URL has another shape.
std::optional<std::int64_t> run_id_from_callback_url(std::string_view url);

// ---- Errors and rate limits -----------------------------------------------------------------

struct GitHubError {
  std::string message;
  std::string documentation_url;
  std::optional<int> status;  // sent as 403 or "403"
};
/// GitHub error body {"message", "documentation_url", "status"?}. Requires `message`.
Parsed<GitHubError> parse_github_error(std::string_view body);

struct RateLimitInfo {
  std::optional<std::int64_t> remaining;  // x-ratelimit-remaining
  std::optional<TimePoint> reset_at;      // x-ratelimit-reset (UTC epoch seconds)
  std::optional<Duration> retry_after;    // Retry-After (delta seconds or HTTP-date)

  bool exhausted() const { return remaining && *remaining == 0; }
  /// When GitHub allows the next request, following its documented order: Retry-After if sent,
  /// else x-ratelimit-reset when remaining is 0. nullopt when the headers do not say; the caller
  /// then applies its own back-off (GitHub: at least one minute for secondary limits).
  std::optional<TimePoint> retry_at(TimePoint now) const;
};
/// Reads the three rate-limit headers; pass "" for an absent header. A malformed value is
/// treated as absent (headers are advisory; a garbled one must not fail the response).
RateLimitInfo parse_rate_limit(std::string_view remaining, std::string_view reset,
                               std::string_view retry_after, TimePoint now);

}  // namespace deployguard::parse
