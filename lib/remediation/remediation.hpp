#pragma once
// RemediationService: runs what plan.hpp decides, against ARM and GitHub.
//
// stabilize(env, revision):
//   1. reads the container app and all its revisions afresh (and feeds them to the guard);
//   2. plans (plan_stabilize): refuses while a deploy runs / the app is busy / the target is
//      unknown, inactive or unhealthy;
//   3. PATCHes the app with the full traffic array (100% on the target), retrying 409 / 429 /
//      5xx / ServerIsBusy with jittered exponential backoff, or after the answer's Retry-After
//      when that is longer (capped by max_retry_after; bounded attempts), then waits for the
//      long-running operation: GET the Azure-AsyncOperation URL until its status is terminal,
//      else the Location URL until it answers anything but 202; the first poll waits for the
//      PATCH answer's Retry-After, each later one for the previous poll's (capped by
//      lro_max_poll_interval); bounded by lro_timeout. A 401 is retried once with a fresh
//      token by ArmApi, then fails the step (not retried here);
//   4. re-reads the app and checks that all traffic is on the target: only then
//   5. deactivates every other active revision, one after the other, each with the same bounded
//      retries. The target is never deactivated and nothing is deactivated unless the traffic
//      is confirmed on the target, so traffic never points at nothing;
//   6. re-reads the app and revisions (fed to the guard) for the report.
// cancel_deploy_runs(env): lists the queued / running runs of the environment's deploy
//   workflows (GitHub status filters, plus runs the guard already knows of) and POSTs
//   .../actions/runs/{id}/cancel for each. 409 (no longer cancellable) is reported, not retried;
//   transport errors and 5xx are retried (bounded).
//
// One remediation per environment at a time (busy()). Every request has a deadline, every
// wait is a timer on the io thread; nothing blocks.
//
// Threading: io thread only (the executor's). Callbacks run there, never inside the call.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/logger.h>

#include "service/guard_service.hpp"
#include "core/config.hpp"
#include "remediation/plan.hpp"
#include "upstream/arm_api.hpp"
#include "upstream/github_api.hpp"
#include "upstream/lifetime.hpp"
#include "upstream/request_stats.hpp"

namespace deployguard::remediation {

struct RemediationOptions {
  Duration request_timeout = std::chrono::seconds{30};  // each ARM / GitHub request
  Duration lro_poll_interval = std::chrono::seconds{2};  // when the service sends no Retry-After
  Duration lro_max_poll_interval = std::chrono::seconds{30};  // also caps a poll's Retry-After
  /// A Retry-After on a retryable answer (429 / 503 / ...) delays the next attempt by at least
  /// that long, capped here so one answer cannot park a remediation.
  Duration max_retry_after = std::chrono::seconds{30};
  Duration lro_timeout = std::chrono::minutes{10};
  RetryPolicy retry;
  int max_revision_pages = 20;
  int max_run_pages = 5;  // per status filter
  /// Uniform draws in [0, 1) for the retry jitter; default: a seeded std::mt19937_64.
  std::function<double()> random;
};

/// One upstream call (with its retries) and how it ended.
struct StepResult {
  std::string action;  // "traffic", "deactivate", "verify", "cancel", "list_runs", "read"
  std::string target;  // revision name, run id, status filter
  bool ok = false;
  int attempts = 0;
  unsigned status = 0;  // last HTTP status, 0 when no response arrived
  std::string error;    // empty when ok
  std::string code;     // ARM error code of the last answer (ServerIsBusy, Conflict, ...)
  /// Retry-After of the last answer, when it had one: the next attempt waits at least this long.
  std::optional<Duration> retry_after;
};

struct StabilizeReport {
  enum class Outcome {
    Refused,          // the plan refused; nothing was changed
    Succeeded,        // traffic on the target, every other revision deactivated
    PartiallyFailed,  // traffic on the target, some deactivations failed after their retries
    Failed,           // traffic could not be moved (or confirmed); nothing was deactivated
  };
  Outcome outcome = Outcome::Failed;
  std::optional<Refusal> refusal;
  std::optional<StabilizePlan> plan;
  std::vector<StepResult> steps;
  std::string error;  // Failed: what went wrong
  /// State read after the last step (absent if that read failed).
  std::optional<ContainerAppSnapshot> app_after;
  std::vector<RevisionSnapshot> revisions_after;
};

std::string_view to_string(StabilizeReport::Outcome outcome);

struct StopReport {
  bool github_configured = true;
  std::vector<WorkflowRun> cancelled;
  struct NotCancelled {
    WorkflowRun run;
    StepResult step;
  };
  std::vector<NotCancelled> not_cancelled;
  std::vector<StepResult> listing_errors;  // status filters that could not be listed
  bool complete() const { return not_cancelled.empty() && listing_errors.empty(); }
};


/// The upstream adapters to use; asked at the start of each operation, so a config reload
/// that rebuilds them takes effect for the next one, while a running one keeps its own.
struct Upstreams {
  std::shared_ptr<upstream::ArmApi> arm;        // null: azure not configured
  std::shared_ptr<upstream::GitHubApi> github;  // null: github not configured
  std::shared_ptr<void> keep_alive;             // what `arm` refers to (its TokenProvider)
};
using UpstreamsSource = std::function<Upstreams()>;

class RemediationService {
 public:
  using StabilizeCallback = std::function<void(StabilizeReport)>;
  using StopCallback = std::function<void(StopReport)>;

  /// `service` and `config` must outlive this object.
  RemediationService(boost::asio::any_io_executor executor, service::GuardService& service,
                     const Config& config, UpstreamsSource upstreams,
                     RemediationOptions options = {});
  ~RemediationService();
  RemediationService(const RemediationService&) = delete;
  RemediationService& operator=(const RemediationService&) = delete;

  /// The dry run: plans from what the guard last observed. Makes no call at all.
  PlanResult plan_observed(const std::string& environment,
                           const std::optional<std::string>& revision) const;

  /// See the file comment. Precondition: the environment exists. A second call for an
  /// environment that is busy() is answered with Refused / "remediation_in_progress".
  void stabilize(const std::string& environment, std::optional<std::string> revision,
                 StabilizeCallback done);
  /// See the file comment. Precondition: the environment exists.
  void cancel_deploy_runs(const std::string& environment, StopCallback done);

  bool busy(const std::string& environment) const { return busy_.count(environment) > 0; }

  /// Shutdown: no more waiting. Pending backoff / poll timers fire at once and every later
  /// wait is skipped, so running operations end quickly (their requests fail once the HTTP
  /// client is shut down; call this before that) and report what happened.
  void stop();

 private:
  struct StabilizeRun;
  struct StopRun;
  struct ReadResult;
  using ReadCallback = std::function<void(ReadResult)>;
  using Attempt = std::function<void(std::function<void(StepResult)>)>;

  std::string app_url(const AzureResourceRef& app) const;
  /// `app_base`: the app's URL without query; `version`: "?api-version=...". Both are taken
  /// from the config when an operation starts, so a reload cannot change them under it.
  void read_app(std::shared_ptr<upstream::ArmApi> arm, const std::string& app_base,
                const std::string& version, const std::string& name, ReadCallback done);
  void read_revisions(std::shared_ptr<upstream::ArmApi> arm, std::shared_ptr<ReadResult> acc,
                      std::string url, int page, ReadCallback done);
  /// Runs `attempt` until it succeeds, is not retryable, or the retry budget is spent.
  void with_retries(StepResult step, std::function<bool(const StepResult&)> retryable,
                    Attempt attempt, std::function<void(StepResult)> done);
  void after(Duration wait, std::function<void()> fn);
  double jitter();

  void stabilize_planned(std::shared_ptr<StabilizeRun> run);
  void shift_traffic(std::shared_ptr<StabilizeRun> run);
  void poll_operation(std::shared_ptr<StabilizeRun> run, std::string url, bool async_header);
  /// The wait the answer's Retry-After asks for, if it has one (seconds or an HTTP-date).
  std::optional<Duration> retry_after_of(const upstream::ArmResult& result) const;
  void verify_traffic(std::shared_ptr<StabilizeRun> run);
  void deactivate_next(std::shared_ptr<StabilizeRun> run, std::size_t index);
  void finish_stabilize(std::shared_ptr<StabilizeRun> run);
  void fail_stabilize(std::shared_ptr<StabilizeRun> run, std::string error);

  void list_runs(std::shared_ptr<StopRun> run, std::size_t status_index, std::string url, int page);
  void cancel_next(std::shared_ptr<StopRun> run, std::size_t index);

  boost::asio::any_io_executor executor_;
  service::GuardService& service_;
  const Config& config_;
  UpstreamsSource upstreams_;
  RemediationOptions options_;
  std::set<std::string> busy_;
  bool stopped_ = false;
  std::set<std::shared_ptr<boost::asio::steady_timer>> timers_;
  std::shared_ptr<upstream::RequestStats> stats_ = std::make_shared<upstream::RequestStats>();
  std::shared_ptr<spdlog::logger> log_;
  upstream::LifetimeGuard guard_;
};

}  // namespace deployguard::remediation
