#include "remediation/remediation.hpp"

#include <algorithm>
#include <random>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "log/escape.hpp"
#include "log/log.hpp"
#include "parse/azure.hpp"
#include "parse/github.hpp"
#include "parse/headers.hpp"
#include "upstream/url.hpp"

namespace deployguard::remediation {
namespace {


std::string step_error(const upstream::ArmResult& r) { return r.status.error; }

unsigned status_of(const std::optional<http::HttpResponse>& response) {
  return response ? response->status : 0u;
}

std::vector<std::string> deploy_blockers(const Decision& decision) {
  std::vector<std::string> out;
  for (const auto& r : decision.reasons)
    if (r.code == ReasonCode::DeployInProgress || r.code == ReasonCode::Leased)
      out.push_back(r.message);
  return out;
}

StepResult make_step(std::string action, std::string target, bool ok, int attempts, unsigned status,
                     std::string error) {
  StepResult s;
  s.action = std::move(action);
  s.target = std::move(target);
  s.ok = ok;
  s.attempts = attempts;
  s.status = status;
  s.error = std::move(error);
  return s;
}

std::string millis_text(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
}

}  // namespace

std::string_view to_string(StabilizeReport::Outcome outcome) {
  switch (outcome) {
    case StabilizeReport::Outcome::Refused: return "refused";
    case StabilizeReport::Outcome::Succeeded: return "succeeded";
    case StabilizeReport::Outcome::PartiallyFailed: return "partially_failed";
    case StabilizeReport::Outcome::Failed: return "failed";
  }
  return "failed";
}

// ---- runs ------------------------------------------------------------------------------------

struct RemediationService::ReadResult {
  bool ok = false;
  std::string error;
  ContainerAppSnapshot app;
  std::vector<RevisionSnapshot> revisions;
};

struct RemediationService::StabilizeRun {
  Upstreams up;
  std::string environment;
  AzureResourceRef app;
  std::string app_base;     // URL of the app, no query
  std::string api_version;  // "?api-version=..."
  std::optional<std::string> revision;
  StabilizeCallback done;
  StabilizeReport report;
  std::chrono::steady_clock::time_point lro_deadline{};
  int lro_poll_failures = 0;
};

struct RemediationService::StopRun {
  Upstreams up;
  std::string environment;
  GitHubTarget target;
  StopCallback done;
  StopReport report;
  std::vector<WorkflowRun> listed;
  std::vector<WorkflowRun> to_cancel;
};

RemediationService::RemediationService(boost::asio::any_io_executor executor,
                                       service::GuardService& service, const Config& config,
                                       UpstreamsSource upstreams, RemediationOptions options)
    : executor_(std::move(executor)), service_(service), config_(config),
      upstreams_(std::move(upstreams)), options_(std::move(options)),
      log_(logging::subsystem_logger("remediation")) {
  if (!options_.random) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    options_.random = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
  }
}

RemediationService::~RemediationService() = default;

double RemediationService::jitter() { return 0.5 + options_.random(); }

void RemediationService::after(Duration wait, std::function<void()> fn) {
  auto timer = std::make_shared<boost::asio::steady_timer>(executor_);
  timer->expires_after(stopped_ ? Duration::zero() : std::max(wait, Duration::zero()));
  timers_.insert(timer);
  timer->async_wait([this, timer, alive = guard_.watch(), fn = std::move(fn)](boost::system::error_code) {
    if (alive.expired()) return;
    timers_.erase(timer);
    fn();  // also when stop() cancelled the wait: the operation ends without waiting
  });
}

void RemediationService::stop() {
  stopped_ = true;
  for (const auto& timer : timers_) timer->cancel();
}

std::string RemediationService::app_url(const AzureResourceRef& app) const {
  std::string base = config_.azure->arm_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/subscriptions/" + upstream::encode_query_value(config_.azure->subscription_id) +
         "/resourceGroups/" + upstream::encode_query_value(app.resource_group) +
         "/providers/Microsoft.App/containerApps/" + upstream::encode_query_value(app.name);
}

PlanResult RemediationService::plan_observed(const std::string& environment,
                                             const std::optional<std::string>& revision) const {
  const auto* policy = service_.find(environment);
  if (!policy || !policy->rules().has_container_app)
    return Refusal{"no_container_app", "environment \"" + environment + "\" has no container_app"};
  StabilizeInput in;
  in.app = policy->container_app();
  in.revisions = policy->revisions();
  in.deploy_blockers = deploy_blockers(policy->decide(service_.now()));
  in.requested_revision = revision;
  return plan_stabilize(in);
}

// ---- reading ---------------------------------------------------------------------------------

void RemediationService::read_app(std::shared_ptr<upstream::ArmApi> arm, const std::string& base,
                                  const std::string& version, const std::string& name,
                                  ReadCallback done) {
  auto acc = std::make_shared<ReadResult>();
  arm->send("GET", base + version, {}, stats_,
             [this, arm, alive = guard_.watch(), acc, revisions_url = base + "/revisions" + version,
              name, done = std::move(done)](upstream::ArmResult r) mutable {
               if (alive.expired()) return;
               if (!r.status.ok) {
                 acc->error = "reading the container app: " + step_error(r);
                 return done(std::move(*acc));
               }
               auto app = parse::parse_container_app(r.response->body);
               if (!app) {
                 acc->error = "container app: " + app.error_text();
                 return done(std::move(*acc));
               }
               acc->app = std::move(app.value());
               if (acc->app.name.empty()) acc->app.name = name;
               read_revisions(arm, acc, std::move(revisions_url), 1, std::move(done));
             },
             options_.request_timeout);
}

void RemediationService::read_revisions(std::shared_ptr<upstream::ArmApi> arm,
                                        std::shared_ptr<ReadResult> acc, std::string url, int page,
                                        ReadCallback done) {
  arm->send("GET", std::move(url), {}, stats_,
             [this, arm, alive = guard_.watch(), acc, page, done = std::move(done)](upstream::ArmResult r) mutable {
               if (alive.expired()) return;
               if (!r.status.ok) {
                 acc->error = "reading the revisions: " + step_error(r);
                 return done(std::move(*acc));
               }
               auto parsed = parse::parse_revisions_page(r.response->body);
               if (!parsed) {
                 acc->error = "revisions: " + parsed.error_text();
                 return done(std::move(*acc));
               }
               for (auto& rev : parsed->revisions) acc->revisions.push_back(std::move(rev));
               if (parsed->next_link && !parsed->next_link->empty()) {
                 if (page >= options_.max_revision_pages) {
                   acc->error = "revisions: more than " + std::to_string(options_.max_revision_pages) + " pages";
                   return done(std::move(*acc));
                 }
                 if (auto refused = upstream::refuse_foreign_origin(
                         "ARM nextLink", *parsed->next_link, arm->arm_url(), "the ARM token")) {
                   acc->error = "revisions: " + *refused;
                   return done(std::move(*acc));
                 }
                 return read_revisions(arm, acc, *parsed->next_link, page + 1, std::move(done));
               }
               acc->ok = true;
               done(std::move(*acc));
             },
             options_.request_timeout);
}

void RemediationService::with_retries(StepResult step,
                                      std::function<bool(const StepResult&)> retryable,
                                      Attempt attempt, std::function<void(StepResult)> done) {
  ++step.attempts;
  auto next = [this, alive = guard_.watch(), step, retryable, attempt,
               done = std::move(done)](StepResult result) mutable {
    if (alive.expired()) return;
    result.action = step.action;
    result.target = step.target;
    result.attempts = step.attempts;
    if (result.ok || !retryable(result) || step.attempts >= options_.retry.max_attempts || stopped_)
      return done(std::move(result));
    auto wait = retry_delay(options_.retry, step.attempts + 1, jitter());
    // The server said when it will take the next request (ARM 429 / 503): sooner is rejected.
    if (result.retry_after) wait = std::max(wait, std::min(*result.retry_after, options_.max_retry_after));
    log_->warn("event=remediation_retry action={} target=\"{}\" attempt={} wait={} error=\"{}\"",
               step.action, logging::escape(step.target), step.attempts, millis_text(wait),
               logging::escape(result.error));
    after(wait, [this, step, retryable = std::move(retryable), attempt = std::move(attempt),
                 done = std::move(done)]() mutable {
      with_retries(std::move(step), std::move(retryable), std::move(attempt), std::move(done));
    });
  };
  attempt(std::move(next));
}

// ---- stabilize -------------------------------------------------------------------------------

void RemediationService::stabilize(const std::string& environment,
                                   std::optional<std::string> revision, StabilizeCallback done) {
  auto run = std::make_shared<StabilizeRun>();
  run->environment = environment;
  run->revision = std::move(revision);
  run->done = std::move(done);
  run->up = upstreams_();
  const auto& env = config_.environments.at(environment);
  if (!env.container_app || !run->up.arm || !config_.azure) {
    run->report.outcome = StabilizeReport::Outcome::Refused;
    run->report.refusal = Refusal{"no_container_app",
                                  "environment \"" + environment + "\" has no container_app"};
    return boost::asio::post(executor_, [run] { run->done(std::move(run->report)); });
  }
  if (busy(environment)) {
    run->report.outcome = StabilizeReport::Outcome::Refused;
    run->report.refusal = Refusal{"remediation_in_progress",
                                  "a stabilize of \"" + environment + "\" is already running"};
    return boost::asio::post(executor_, [run] { run->done(std::move(run->report)); });
  }
  busy_.insert(environment);
  run->app = *env.container_app;
  run->app_base = app_url(run->app);
  run->api_version =
      "?api-version=" + upstream::encode_query_value(config_.azure->api_versions.container_apps);
  log_->info("event=stabilize_start env={} revision=\"{}\"", environment,
             logging::escape(run->revision.value_or("(propose)")));
  read_app(run->up.arm, run->app_base, run->api_version, run->app.name, [this, run](ReadResult read) {
    run->report.steps.push_back(make_step("read", run->app.name, read.ok, 1, 0, read.error));
    if (!read.ok) return fail_stabilize(run, "could not read the current state: " + read.error);
    // The guard sees the fresh state too (and decides with it).
    service_.apply(run->environment, ContainerAppPolled{read.app, read.revisions});
    StabilizeInput in;
    in.app = std::move(read.app);
    in.revisions = std::move(read.revisions);
    if (auto decision = service_.decide(run->environment)) in.deploy_blockers = deploy_blockers(*decision);
    in.requested_revision = run->revision;
    auto planned = plan_stabilize(in);
    if (auto* refusal = std::get_if<Refusal>(&planned)) {
      run->report.outcome = StabilizeReport::Outcome::Refused;
      run->report.refusal = *refusal;
      log_->warn("event=stabilize_refused env={} code={} message=\"{}\"", run->environment,
                 refusal->code, logging::escape(refusal->message));
      busy_.erase(run->environment);
      return run->done(std::move(run->report));
    }
    run->report.plan = std::get<StabilizePlan>(std::move(planned));
    stabilize_planned(run);
  });
}

std::optional<Duration> RemediationService::retry_after_of(const upstream::ArmResult& result) const {
  if (!result.response) return std::nullopt;
  const auto header = result.response->header("retry-after");
  if (!header) return std::nullopt;
  return parse::parse_retry_after(*header, service_.now());
}

void RemediationService::stabilize_planned(std::shared_ptr<StabilizeRun> run) {
  const auto& plan = *run->report.plan;
  log_->info("event=stabilize_plan env={} target=\"{}\" traffic_change={} deactivate={}",
             run->environment, logging::escape(plan.target), plan.traffic_change,
             plan.deactivate.size());
  if (!plan.traffic_change) return deactivate_next(run, 0);  // already 100% on the target
  shift_traffic(run);
}

void RemediationService::shift_traffic(std::shared_ptr<StabilizeRun> run) {
  const std::string url = run->app_base + run->api_version;
  const std::string body = traffic_patch_body(*run->report.plan).dump();
  // The long-running operation of the accepted PATCH, taken from its response.
  struct Operation {
    std::string url;
    bool async_header = false;  // Azure-AsyncOperation (status body), else Location (202 = running)
    std::optional<Duration> retry_after;
  };
  auto operation = std::make_shared<Operation>();
  Attempt attempt = [this, arm = run->up.arm, url, body, operation](std::function<void(StepResult)> done) {
    arm->send("PATCH", url, body, stats_,
               [this, alive = guard_.watch(), operation, done = std::move(done)](upstream::ArmResult r) {
                 if (alive.expired()) return;
                 StepResult s;
                 s.status = status_of(r.response);
                 s.ok = r.status.ok;
                 s.retry_after = retry_after_of(r);
                 if (!s.ok) {
                   s.error = r.status.error;
                   // ServerIsBusy in the body counts whatever the status.
                   if (r.response) s.code = upstream::arm_error_code(*r.response);
                   return done(std::move(s));
                 }
                 if (auto h = r.response->header("azure-asyncoperation"))
                   *operation = {std::string(*h), true, s.retry_after};
                 else if (auto l = r.response->header("location"))
                   *operation = {std::string(*l), false, s.retry_after};
                 done(std::move(s));
               },
               options_.request_timeout);
  };
  auto retryable = [](const StepResult& s) { return arm_retryable(s.status, s.code); };
  with_retries(make_step("traffic", run->report.plan->target, false, 0, 0, ""), retryable,
               std::move(attempt), [this, run, operation](StepResult s) {
                 run->report.steps.push_back(s);
                 if (!s.ok && s.status == 401)  // ArmApi already fetched a new token and retried once
                   return fail_stabilize(run, "the traffic change was refused: ARM answered 401 again with a "
                                              "fresh token (" + s.error + "); check the identity's access. "
                                              "Traffic unchanged, nothing deactivated");
                 if (!s.ok)
                   return fail_stabilize(run, "the traffic change was not accepted (" + s.error +
                                                  "); traffic unchanged, nothing deactivated");
                 if (operation->url.empty() || s.status == 200)
                   return verify_traffic(run);  // completed synchronously
                 if (auto refused = upstream::refuse_foreign_origin(
                         operation->async_header ? "ARM Azure-AsyncOperation URL" : "ARM Location URL",
                         operation->url, run->up.arm->arm_url(), "the ARM token"))
                   return fail_stabilize(run, "the traffic change was accepted but cannot be followed: " +
                                                  *refused + "; nothing deactivated (check the app)");
                 run->lro_deadline = std::chrono::steady_clock::now() + options_.lro_timeout;
                 const auto first_wait =
                     operation->retry_after ? std::min(*operation->retry_after, options_.lro_max_poll_interval)
                                            : options_.lro_poll_interval;
                 after(first_wait, [this, run, operation] {
                   poll_operation(run, operation->url, operation->async_header);
                 });
               });
}

void RemediationService::poll_operation(std::shared_ptr<StabilizeRun> run, std::string url,
                                        bool async_header) {
  run->up.arm->send("GET", url, {}, stats_,
             [this, alive = guard_.watch(), run, url, async_header](upstream::ArmResult r) {
               if (alive.expired()) return;
               bool finished = false;
               bool succeeded = false;
               std::string failure;
               if (!r.status.ok) {
                 // A failed poll says nothing about the operation: poll again (bounded).
                 if (stopped_ || ++run->lro_poll_failures >= options_.retry.max_attempts)
                   return fail_stabilize(run, "could not follow the traffic operation: " + r.status.error +
                                                  "; nothing deactivated");
               } else if (async_header) {
                 auto op = parse::parse_operation_status(r.response->body);
                 if (!op) {
                   if (++run->lro_poll_failures >= options_.retry.max_attempts)
                     return fail_stabilize(run, "unreadable operation status: " + op.error_text());
                 } else if (op->is_terminal()) {
                   finished = true;
                   succeeded = op->succeeded();
                   failure = "operation " + op->status;
                   if (op->error) failure += ": " + op->error->code + " " + op->error->message;
                 }
               } else if (r.response->status != 202) {
                 finished = true;
                 succeeded = true;
               }
               if (finished) {
                 run->report.steps.push_back(make_step("operation", run->report.plan->target, succeeded,
                                                        1, status_of(r.response), succeeded ? "" : failure));
                 if (!succeeded)
                   return fail_stabilize(run, "the traffic change failed (" + failure + "); nothing deactivated");
                 return verify_traffic(run);
               }
               auto wait = options_.lro_poll_interval;
               if (auto retry_after = retry_after_of(r)) wait = std::min(*retry_after, options_.lro_max_poll_interval);
               if (stopped_)
                 return fail_stabilize(run, "the daemon is shutting down while the traffic change is "
                                            "still running; nothing deactivated (check the app)");
               if (std::chrono::steady_clock::now() + wait > run->lro_deadline)
                 return fail_stabilize(run, "the traffic change did not finish within " +
                                                format_duration(options_.lro_timeout) +
                                                "; nothing deactivated (check the app before retrying)");
               after(wait, [this, run, url, async_header] { poll_operation(run, url, async_header); });
             },
             options_.request_timeout);
}

void RemediationService::verify_traffic(std::shared_ptr<StabilizeRun> run) {
  read_app(run->up.arm, run->app_base, run->api_version, run->app.name, [this, run](ReadResult read) {
    const auto& target = run->report.plan->target;
    if (!read.ok) {
      run->report.steps.push_back(make_step("verify", target, false, 1, 0, read.error));
      return fail_stabilize(run, "could not confirm the traffic change (" + read.error +
                                     "); nothing deactivated");
    }
    service_.apply(run->environment, ContainerAppPolled{read.app, read.revisions});
    const bool on_target = traffic_all_on(read.app, target);
    run->report.steps.push_back(make_step("verify", target, on_target, 1, 0,
                                           on_target ? "" : "traffic is not 100% on " + target));
    if (!on_target) {
      run->report.app_after = std::move(read.app);
      run->report.revisions_after = std::move(read.revisions);
      return fail_stabilize(run, "traffic is not 100% on " + target + " after the change; nothing deactivated");
    }
    deactivate_next(run, 0);
  });
}

void RemediationService::deactivate_next(std::shared_ptr<StabilizeRun> run, std::size_t index) {
  const auto& plan = *run->report.plan;
  if (index >= plan.deactivate.size()) return finish_stabilize(run);
  const std::string revision = plan.deactivate[index];
  if (revision == plan.target) return deactivate_next(run, index + 1);  // never; belt and braces
  const std::string url = run->app_base + "/revisions/" + upstream::encode_query_value(revision) +
                          "/deactivate" + run->api_version;
  Attempt attempt = [this, arm = run->up.arm, url](std::function<void(StepResult)> done) {
    arm->send("POST", url, {}, stats_,
               [this, alive = guard_.watch(), done = std::move(done)](upstream::ArmResult r) {
                 if (alive.expired()) return;
                 StepResult s;
                 s.status = status_of(r.response);
                 s.ok = r.status.ok;
                 s.retry_after = retry_after_of(r);
                 if (!s.ok) {
                   s.error = r.status.error;
                   if (r.response) s.code = upstream::arm_error_code(*r.response);
                 }
                 done(std::move(s));
               },
               options_.request_timeout);
  };
  auto retryable = [](const StepResult& s) { return arm_retryable(s.status, s.code); };
  with_retries(make_step("deactivate", revision, false, 0, 0, ""), retryable, std::move(attempt),
               [this, run, index](StepResult s) {
                 if (!s.ok)
                   log_->error("event=deactivate_failed env={} revision=\"{}\" attempts={} error=\"{}\"",
                               run->environment, logging::escape(s.target), s.attempts,
                               logging::escape(s.error));
                 run->report.steps.push_back(std::move(s));
                 deactivate_next(run, index + 1);
               });
}

void RemediationService::finish_stabilize(std::shared_ptr<StabilizeRun> run) {
  bool all_ok = true;
  for (const auto& s : run->report.steps)
    if (s.action == "deactivate" && !s.ok) all_ok = false;
  run->report.outcome =
      all_ok ? StabilizeReport::Outcome::Succeeded : StabilizeReport::Outcome::PartiallyFailed;
  read_app(run->up.arm, run->app_base, run->api_version, run->app.name, [this, run](ReadResult read) {
    if (read.ok) {
      service_.apply(run->environment, ContainerAppPolled{read.app, read.revisions});
      run->report.app_after = std::move(read.app);
      run->report.revisions_after = std::move(read.revisions);
    } else {
      run->report.steps.push_back(make_step("read", run->app.name, false, 1, 0, read.error));
    }
    log_->info("event=stabilize_done env={} outcome={} target=\"{}\"", run->environment,
               to_string(run->report.outcome), logging::escape(run->report.plan->target));
    busy_.erase(run->environment);
    run->done(std::move(run->report));
  });
}

void RemediationService::fail_stabilize(std::shared_ptr<StabilizeRun> run, std::string error) {
  log_->error("event=stabilize_failed env={} error=\"{}\"", run->environment, logging::escape(error));
  run->report.outcome = StabilizeReport::Outcome::Failed;
  run->report.error = std::move(error);
  busy_.erase(run->environment);
  run->done(std::move(run->report));
}

// ---- emergency stop --------------------------------------------------------------------------

void RemediationService::cancel_deploy_runs(const std::string& environment, StopCallback done) {
  auto run = std::make_shared<StopRun>();
  run->environment = environment;
  run->done = std::move(done);
  run->up = upstreams_();
  const auto& env = config_.environments.at(environment);
  if (!env.github || !run->up.github) {
    run->report.github_configured = false;
    return boost::asio::post(executor_, [run] { run->done(std::move(run->report)); });
  }
  run->target = *env.github;
  log_->info("event=stop_cancel_start env={} repo={}", environment, run->target.repo);
  std::string url = "/repos/" + run->target.repo + "/actions/runs?status=" +
                    std::string(kActiveRunStatuses[0]) + "&per_page=100";
  if (run->target.branch) url += "&branch=" + upstream::encode_query_value(*run->target.branch);
  list_runs(run, 0, std::move(url), 1);
}

void RemediationService::list_runs(std::shared_ptr<StopRun> run, std::size_t status_index,
                                   std::string url, int page) {
  constexpr std::size_t kStatuses = std::size(kActiveRunStatuses);
  auto next_status = [this, run, status_index] {
    if (status_index + 1 >= kStatuses) {
      // Runs the guard already knows (webhooks) count too, in case the listing missed them.
      auto candidates = run->listed;
      if (const auto* policy = service_.find(run->environment))
        candidates.insert(candidates.end(), policy->runs().begin(), policy->runs().end());
      run->to_cancel = runs_to_cancel(run->target, candidates);
      return cancel_next(run, 0);
    }
    std::string next = "/repos/" + run->target.repo + "/actions/runs?status=" +
                       std::string(kActiveRunStatuses[status_index + 1]) + "&per_page=100";
    if (run->target.branch) next += "&branch=" + upstream::encode_query_value(*run->target.branch);
    list_runs(run, status_index + 1, std::move(next), 1);
  };
  run->up.github->get(std::move(url), {}, stats_,
               [this, alive = guard_.watch(), run, status_index, page,
                next_status = std::move(next_status)](upstream::GitHubApiResult r) {
                 if (alive.expired()) return;
                 const std::string filter = kActiveRunStatuses[status_index];
                 if (!r.status.ok) {
                   run->report.listing_errors.push_back(
                       make_step("list_runs", filter, false, 1, status_of(r.response), r.status.error));
                   return next_status();
                 }
                 auto parsed = parse::parse_workflow_runs_page(r.response->body);
                 if (!parsed) {
                   run->report.listing_errors.push_back(
                       make_step("list_runs", filter, false, 1, r.response->status, parsed.error_text()));
                   return next_status();
                 }
                 for (auto& w : parsed->runs) run->listed.push_back(std::move(w));
                 if (auto link = r.response->header("link")) {
                   if (auto next = upstream::link_next(*link)) {
                     if (auto refused = upstream::refuse_foreign_origin(
                             "GitHub Link rel=next", *next, run->up.github->api_url(), "the GitHub token")) {
                       run->report.listing_errors.push_back(
                           make_step("list_runs", filter, false, page, r.response->status,
                                     *refused + "; the rest not listed"));
                       return next_status();
                     }
                     if (page < options_.max_run_pages) return list_runs(run, status_index, *next, page + 1);
                     run->report.listing_errors.push_back(make_step(
                         "list_runs", filter, false, page, r.response->status,
                         "more than " + std::to_string(options_.max_run_pages) + " pages; the rest not listed"));
                   }
                 }
                 next_status();
               });
}

void RemediationService::cancel_next(std::shared_ptr<StopRun> run, std::size_t index) {
  if (index >= run->to_cancel.size()) {
    log_->info("event=stop_cancel_done env={} cancelled={} not_cancelled={} listing_errors={}",
               run->environment, run->report.cancelled.size(), run->report.not_cancelled.size(),
               run->report.listing_errors.size());
    return run->done(std::move(run->report));
  }
  const WorkflowRun wr = run->to_cancel[index];
  const std::string path = "/repos/" + run->target.repo + "/actions/runs/" + std::to_string(wr.id) + "/cancel";
  Attempt attempt = [this, github = run->up.github, path](std::function<void(StepResult)> done) {
    github->post(path, {}, stats_, [done = std::move(done)](upstream::GitHubApiResult r) {
      StepResult s;
      s.status = status_of(r.response);
      s.ok = r.status.ok;
      if (!s.ok) s.error = r.status.error;
      done(std::move(s));
    });
  };
  auto retryable = [](const StepResult& s) { return github_retryable(s.status); };
  with_retries(make_step("cancel", std::to_string(wr.id), false, 0, 0, ""), retryable,
               std::move(attempt), [this, run, index, wr](StepResult s) {
                 if (s.ok) {
                   run->report.cancelled.push_back(wr);
                 } else {
                   log_->warn("event=cancel_failed env={} run={} status={} error=\"{}\"",
                              run->environment, wr.id, s.status, logging::escape(s.error));
                   run->report.not_cancelled.push_back({wr, std::move(s)});
                 }
                 cancel_next(run, index + 1);
               });
}

}  // namespace deployguard::remediation
