#include "parse/github.hpp"

#include <nlohmann/json.hpp>

#include "parse/detail/json_reader.hpp"
#include "parse/headers.hpp"

namespace deployguard::parse {

using detail::ErrorSink;
using detail::KeyFilter;
using detail::Reader;
using nlohmann::json;

namespace {

// Key lists. The webhook and list-page parsers build their tree with a KeyFilter: object members
// whose key is not listed are dropped while parsing (a workflow_run webhook is ~22 KB, mostly
// repository/actor/commit detail we never read). Each list sits next to its reader and names
// every key that reader passes to operator[]; a key missing here reads as absent.
// tests/unit/parse/parse_differential_test.cpp checks every lookup against the filter in use.

constexpr std::string_view kRunKeys[] = {
    "id", "workflow_id", "name", "path", "repository", "full_name", "head_branch", "head_sha",
    "display_title", "html_url", "event", "status", "conclusion", "run_attempt", "created_at",
    "run_started_at", "updated_at"};

// Reads one workflow run at `r`. Errors go to r's sink; the caller decides what they fail.
WorkflowRun read_run(const Reader& r) {
  WorkflowRun run;
  if (!r.req_object()) return run;
  if (auto id = r["id"].req_int64()) run.id = *id;
  run.workflow_id = r["workflow_id"].opt_int64().value_or(0);
  run.workflow_name = r["name"].str();
  run.workflow_path = std::string(strip_workflow_ref(r["path"].str()));
  if (r["repository"].opt_object()) run.repository = r["repository"]["full_name"].str();
  run.head_branch = r["head_branch"].str();
  run.head_sha = r["head_sha"].str();
  run.title = r["display_title"].str();
  run.html_url = r["html_url"].str();
  run.event = r["event"].str();
  run.status_text = r["status"].str();
  run.status = parse_run_status(run.status_text);
  run.conclusion_text = r["conclusion"].str();
  run.conclusion = parse_run_conclusion(run.conclusion_text);
  if (auto attempt = r["run_attempt"].opt_int()) {
    if (*attempt < 1)
      r["run_attempt"].error("expected a positive attempt number");
    else
      run.run_attempt = *attempt;
  }
  if (auto t = r["created_at"].req_time()) run.created_at = *t;
  run.run_started_at = r["run_started_at"].opt_time();
  run.updated_at = r["updated_at"].opt_time().value_or(run.created_at);
  return run;
}

constexpr std::string_view kJobKeys[] = {
    "id", "run_id", "run_attempt", "name", "workflow_name", "head_branch", "head_sha", "html_url",
    "status", "conclusion", "created_at", "started_at", "completed_at", "labels", "runner_id",
    "steps"};

WorkflowJob read_job(const Reader& r) {
  WorkflowJob job;
  if (!r.req_object()) return job;
  if (auto id = r["id"].req_int64()) job.id = *id;
  if (auto id = r["run_id"].req_int64()) job.run_id = *id;
  if (auto attempt = r["run_attempt"].opt_int()) job.run_attempt = *attempt;
  job.name = r["name"].str();
  job.workflow_name = r["workflow_name"].str();
  job.head_branch = r["head_branch"].str();
  job.head_sha = r["head_sha"].str();
  job.html_url = r["html_url"].str();
  job.status_text = r["status"].str();
  job.status = parse_run_status(job.status_text);
  job.conclusion_text = r["conclusion"].str();
  job.conclusion = parse_run_conclusion(job.conclusion_text);
  job.created_at = r["created_at"].opt_time();
  job.started_at = r["started_at"].opt_time();
  job.completed_at = r["completed_at"].opt_time();
  if (auto n = r["labels"].opt_array()) {
    for (std::size_t i = 0; i < *n; ++i) {
      if (auto label = r["labels"][i].opt_str()) job.labels.push_back(std::move(*label));
    }
  }
  job.runner_id = r["runner_id"].opt_int64();
  if (auto n = r["steps"].opt_array()) {
    for (std::size_t i = 0; i < *n; ++i) {
      const auto status = r["steps"][i]["status"].str();
      if (!status.empty() && status != "queued" && status != "pending" && status != "waiting")
        ++job.steps_started;
    }
  }
  return job;
}

Workflow read_workflow(const Reader& r) {
  Workflow w;
  if (!r.req_object()) return w;
  if (auto id = r["id"].req_int64()) w.id = *id;
  w.name = r["name"].str();
  w.path = std::string(strip_workflow_ref(r["path"].str()));
  w.state = r["state"].str();
  return w;
}

constexpr std::string_view kDeploymentKeys[] = {
    "id", "environment", "original_environment", "sha", "ref", "task", "created_at", "updated_at"};

Deployment read_deployment(const Reader& r) {
  Deployment d;
  if (!r.req_object()) return d;
  if (auto id = r["id"].req_int64()) d.id = *id;
  d.environment = r["environment"].str();
  d.original_environment = r["original_environment"].str();
  d.sha = r["sha"].str();
  d.ref = r["ref"].str();
  d.task = r["task"].str();
  d.created_at = r["created_at"].opt_time();
  d.updated_at = r["updated_at"].opt_time();
  return d;
}

// read_repository, read_optional_run_id and read_total_count.
constexpr std::string_view kEnvelopeKeys[] = {"repository", "full_name", "workflow_run", "id",
                                              "total_count"};

std::string read_repository(const Reader& envelope) {
  const Reader repo = envelope["repository"];
  return repo.opt_object() ? repo["full_name"].str() : std::string{};
}

std::optional<std::int64_t> read_optional_run_id(const Reader& envelope) {
  const Reader run = envelope["workflow_run"];
  if (!run.opt_object()) return std::nullopt;
  return run["id"].req_int64();
}

std::int64_t read_total_count(const Reader& root, std::size_t fallback) {
  return root["total_count"].opt_int64().value_or(static_cast<std::int64_t>(fallback));
}

// read_webhook's own keys; it also calls read_run, read_job, read_deployment and the envelope
// readers above.
constexpr std::string_view kWebhookKeys[] = {
    "action", "workflow_run", "workflow", "name", "workflow_job", "deployment",
    "deployment_status", "state", "environment", "description", "updated_at", "event", "sha",
    "ref", "deployment_callback_url", "since", "zen", "hook_id", "hook", "app_id"};

/// A GitHub list page, `{"total_count": N, "<items_key>": [...]}`: the items that read (the
/// others are reported in item_errors) and total_count (the item count when it is missing).
template <class Page, class Item>
Parsed<Page> read_page(std::string_view body, std::string_view items_key,
                       std::vector<Item> Page::*items, Item (*read_item)(const Reader&),
                       const KeyFilter* filter = nullptr) {
  return detail::read_body<Page>(
      body,
      [&](const Reader& root) {
        Page page;
        if (!root.req_object()) return page;
        page.*items = detail::read_items<Item>(root, items_key, read_item, page.item_errors);
        page.total_count = read_total_count(root, (page.*items).size());
        return page;
      },
      filter);
}

const KeyFilter& webhook_filter() {
  static const KeyFilter filter{kWebhookKeys, kRunKeys, kJobKeys, kDeploymentKeys, kEnvelopeKeys};
  return filter;
}

WebhookEvent read_webhook(std::string_view type, const Reader& root) {
  if (!root.req_object()) return UnknownEvent{std::string(type), {}};
  const std::string action = root["action"].str();

  if (iequals(type, "workflow_run")) {
    WorkflowRunEvent ev{action, read_run(root["workflow_run"])};
    const Reader workflow = root["workflow"];
    if (ev.run.workflow_name.empty() && workflow.opt_object())
      ev.run.workflow_name = workflow["name"].str();
    if (ev.run.repository.empty()) ev.run.repository = read_repository(root);
    return ev;
  }
  if (iequals(type, "workflow_job")) {
    WorkflowJobEvent ev{action, read_job(root["workflow_job"]), read_repository(root), {}};
    if (root["deployment"].opt_object()) ev.deployment = read_deployment(root["deployment"]);
    return ev;
  }
  if (iequals(type, "deployment")) {
    return DeploymentEvent{action, read_deployment(root["deployment"]), read_repository(root),
                           read_optional_run_id(root)};
  }
  if (iequals(type, "deployment_status")) {
    DeploymentStatusEvent ev;
    ev.action = action;
    const Reader status = root["deployment_status"];
    if (status.req_object()) {
      if (auto state = status["state"].req_str()) ev.state = *state;
      ev.environment = status["environment"].str();
      ev.description = status["description"].str();
      ev.updated_at = status["updated_at"].opt_time();
    }
    ev.deployment = read_deployment(root["deployment"]);
    if (ev.environment.empty()) ev.environment = ev.deployment.environment;
    ev.workflow_run_id = read_optional_run_id(root);
    ev.repository = read_repository(root);
    return ev;
  }
  if (iequals(type, "deployment_protection_rule")) {
    DeploymentProtectionRuleEvent ev;
    ev.action = action;
    // Without the environment and the callback URL the request can be neither judged nor
    // answered, so both are required.
    ev.environment = root["environment"].req_str().value_or("");
    ev.event = root["event"].str();
    ev.sha = root["sha"].str();
    ev.ref = root["ref"].str();
    ev.deployment_callback_url = root["deployment_callback_url"].req_str().value_or("");
    ev.run_id = run_id_from_callback_url(ev.deployment_callback_url);
    if (root["deployment"].opt_object()) {  // object or null (GH-WH-DPR)
      ev.deployment = read_deployment(root["deployment"]);
      if (ev.sha.empty()) ev.sha = ev.deployment->sha;
      if (ev.ref.empty()) ev.ref = ev.deployment->ref;
    }
    ev.repository = read_repository(root);
    return ev;
  }
  if (iequals(type, "deployment_review")) {
    DeploymentReviewEvent ev;
    ev.action = action;
    ev.environment = root["environment"].str();
    ev.since = root["since"].opt_time();
    ev.run = read_run(root["workflow_run"]);
    ev.repository = read_repository(root);
    if (ev.run.repository.empty()) ev.run.repository = ev.repository;
    return ev;
  }
  if (iequals(type, "ping")) {
    PingEvent ev;
    ev.zen = root["zen"].str();
    if (auto id = root["hook_id"].req_int64()) ev.hook_id = *id;
    if (root["hook"].opt_object()) ev.app_id = root["hook"]["app_id"].opt_int64();
    return ev;
  }
  return UnknownEvent{std::string(type), action};
}

}  // namespace

std::string_view strip_workflow_ref(std::string_view path) {
  const auto at = path.find('@');
  return at == std::string_view::npos ? path : path.substr(0, at);
}

Parsed<WorkflowRun> parse_workflow_run(const json& run) {
  return detail::read_document<WorkflowRun>(run, [](const Reader& r) { return read_run(r); });
}

Parsed<WorkflowRun> parse_workflow_run_body(std::string_view body) {
  return detail::read_body<WorkflowRun>(body, [](const Reader& r) { return read_run(r); });
}

Parsed<WorkflowRunsPage> parse_workflow_runs_page(std::string_view body) {
  static constexpr std::string_view kPageKeys[] = {"workflow_runs"};
  static const KeyFilter filter{kPageKeys, kRunKeys, kEnvelopeKeys};
  return read_page(body, "workflow_runs", &WorkflowRunsPage::runs, read_run, &filter);
}

Parsed<WorkflowsPage> parse_workflows_list(std::string_view body) {
  return read_page(body, "workflows", &WorkflowsPage::workflows, read_workflow);
}

Parsed<WorkflowJob> parse_workflow_job(const json& job) {
  return detail::read_document<WorkflowJob>(job, [](const Reader& r) { return read_job(r); });
}

Parsed<WorkflowJob> parse_workflow_job_body(std::string_view body) {
  return detail::read_body<WorkflowJob>(body, [](const Reader& r) { return read_job(r); });
}

Parsed<JobsPage> parse_jobs_list(std::string_view body) {
  static constexpr std::string_view kPageKeys[] = {"jobs"};
  static const KeyFilter filter{kPageKeys, kJobKeys, kEnvelopeKeys};
  return read_page(body, "jobs", &JobsPage::jobs, read_job, &filter);
}

Parsed<WebhookEvent> parse_webhook(std::string_view event_type, std::string_view body) {
  return detail::read_body<WebhookEvent>(
      body, [event_type](const Reader& root) { return read_webhook(event_type, root); },
      &webhook_filter());
}

std::optional<std::int64_t> run_id_from_callback_url(std::string_view url) {
  constexpr std::string_view kRuns = "/actions/runs/";
  constexpr std::string_view kSuffix = "/deployment_protection_rule";
  const auto start = url.rfind(kRuns);
  if (start == std::string_view::npos) return std::nullopt;
  std::string_view rest = url.substr(start + kRuns.size());
  if (rest.size() <= kSuffix.size() || rest.substr(rest.size() - kSuffix.size()) != kSuffix)
    return std::nullopt;
  rest.remove_suffix(kSuffix.size());
  const auto id = detail::parse_int64_text(rest);
  if (!id || *id <= 0) return std::nullopt;
  return id;
}

Parsed<GitHubError> parse_github_error(std::string_view body) {
  return detail::read_body<GitHubError>(body, [](const Reader& root) {
    GitHubError err;
    if (!root.req_object()) return err;
    if (auto m = root["message"].req_str()) err.message = *m;
    err.documentation_url = root["documentation_url"].str();
    err.status = root["status"].opt_int();
    return err;
  });
}

std::optional<TimePoint> RateLimitInfo::retry_at(TimePoint now) const {
  if (retry_after) return now + *retry_after;
  if (exhausted() && reset_at) return std::max(now, *reset_at);
  return std::nullopt;
}

RateLimitInfo parse_rate_limit(std::string_view remaining, std::string_view reset,
                               std::string_view retry_after, TimePoint now) {
  const auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  remaining = trim(remaining);
  reset = trim(reset);
  RateLimitInfo info;
  if (auto v = detail::parse_int64_text(remaining); v && *v >= 0) info.remaining = v;
  // x-ratelimit-reset is UTC epoch seconds. Bound it to years 1970..9999 so the conversion to
  // milliseconds cannot overflow.
  constexpr std::int64_t kMaxEpochSeconds = 253'402'300'799;
  if (auto v = detail::parse_int64_text(reset); v && *v >= 0 && *v <= kMaxEpochSeconds)
    info.reset_at = TimePoint{std::chrono::seconds{*v}};
  info.retry_after = parse_retry_after(retry_after, now);
  return info;
}

}  // namespace deployguard::parse
