#pragma once
// The per-environment guard: a pure state machine. Feed it observations with apply(event, now),
// ask it decide(now). It never reads a clock, does no I/O and keeps no globals, so every rule can
// be replayed on a timeline in a unit test. Not thread-safe: the daemon calls it from the event
// loop thread only.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/config.hpp"
#include "core/decision.hpp"
#include "core/freeze_window.hpp"
#include "core/model.hpp"
#include "core/override.hpp"
#include "core/queue.hpp"
#include "core/time.hpp"
#include "core/upstream_states.hpp"

namespace deployguard {

/// Identifies an upstream source of one environment: "github", "container_app",
/// or "postgres/<server name>".
using SourceId = std::string;
inline constexpr std::string_view kGitHubSource = "github";
inline constexpr std::string_view kContainerAppSource = "container_app";
SourceId postgres_source(std::string_view server_name);

struct SourceHealth {
  std::optional<TimePoint> last_success;
  std::optional<TimePoint> last_error_at;
  std::string last_error;  // empty after a success
  /// The last error is one that retrying will not fix (401, 403 that is not a rate limit, 404
  /// on a configured resource): the source fails closed at once instead of after stale_after.
  bool last_error_permanent = false;
};

/// One attempt of a workflow run. GitHub re-runs keep the run id and bump the attempt; each
/// attempt is a deploy of its own.
struct RunRef {
  std::int64_t id = 0;
  int attempt = 1;

  auto operator<=>(const RunRef&) const = default;
};
/// "run:<id>/<attempt>", the deploy record key of a run attempt.
std::string run_key(RunRef run);
/// "run <id> attempt <n>", for messages.
std::string describe(RunRef run);

/// Who asks: a pipeline asking for its own run is not blocked by that run. Without an attempt,
/// the run's latest known attempt.
struct AsRun {
  AsRun(std::int64_t run_id, std::optional<int> run_attempt = std::nullopt)  // NOLINT: implicit
      : id(run_id), attempt(run_attempt) {}
  std::int64_t id = 0;
  std::optional<int> attempt;
};

struct Lease {
  std::string id;
  std::string holder;
  std::optional<std::int64_t> run_id;
  TimePoint acquired_at{};
  TimePoint expires_at{};
  std::optional<int> run_attempt = std::nullopt;  // with run_id: the lease ends when this attempt completes

  bool operator==(const Lease&) const = default;
};

struct Freeze {
  std::string reason;
  std::string by;
  TimePoint since{};
  std::optional<TimePoint> until;

  bool operator==(const Freeze&) const = default;
};

/// One deploy the cooldown rules know about: a workflow run attempt or a lease.
struct DeployRecord {
  std::string key;  // run_key() or "lease:<id>"
  TimePoint started_at{};
  std::optional<TimePoint> ended_at;
  std::optional<RunRef> run = std::nullopt;  // the run attempt (a lease: the one it was linked to)
  std::string sha = {};                      // head commit, 40 hex ("" when unknown)
  std::string title = {};                    // the run's display title
  std::string url = {};                      // the run's html_url

  bool operator==(const DeployRecord&) const = default;
};

struct BusyBackoffState {
  int consecutive_failures = 0;
  std::optional<TimePoint> last_failure_at;
  std::string last_detail;
  /// Start of the latest successful deploy: a failure before it no longer counts, whatever
  /// order the two were learnt in.
  std::optional<TimePoint> last_success_started_at = std::nullopt;

  bool operator==(const BusyBackoffState&) const = default;
};

/// What must survive a restart (written by lib/state).
struct DurableEnvironmentState {
  std::vector<DeployRecord> deploys;  // newest first, bounded
  BusyBackoffState busy;
  std::vector<RunRef> busy_runs_counted;  // bounded, so an attempt never counts twice
  std::optional<Lease> lease;
  std::optional<Freeze> freeze;
  std::vector<Ticket> queue = {};  // the deploy queue, join order (poll times are not durable)
  std::optional<Override> pending_override = std::nullopt;  // break-glass, until used or expired

  bool operator==(const DurableEnvironmentState&) const = default;
};

// ---- Events --------------------------------------------------------------------------------

/// A successful poll of the configured workflows' recent runs.
struct RunsPolled {
  std::vector<WorkflowRun> runs;
};
/// One run update from a webhook. Does not count as a refresh of the source.
struct RunObserved {
  WorkflowRun run;
};
/// A successful poll of the container app and its revisions.
struct ContainerAppPolled {
  ContainerAppSnapshot app;
  std::vector<RevisionSnapshot> revisions;
};
/// A successful poll of one PostgreSQL flexible server.
struct PostgresPolled {
  PostgresServerSnapshot server;
};
/// A failed refresh. A transient one keeps the last data until it goes stale; a permanent one
/// (see SourceHealth) fails the environment closed until the next success.
struct SourceFailed {
  SourceId source;
  std::string error;
  bool permanent = false;
};
/// A run the guard believed active is gone (its lookup by id answered 404).
struct RunGone {
  std::int64_t run_id = 0;
};

enum class Classification {
  ServerBusy,    // a failed job's log holds a busy pattern
  NotBusy,       // the logs were read and hold none
  NeverStarted,  // no job of the attempt ever got a runner or ran a step: not a deploy
  Unknown,       // the logs could not be read after retries
};
std::string_view to_string(Classification c);  // "server_busy", "not_busy", ...

/// Result of inspecting one run attempt's jobs and logs (see runs_to_classify()).
struct RunClassified {
  RunRef run;
  Classification result = Classification::NotBusy;
  std::string detail;
  std::optional<TimePoint> ended_at = std::nullopt;  // the attempt's last job completion, when known
};
/// A pipeline reported ServerIsBusy itself (POST /v1/environments/NAME/events). With the run,
/// the same failure found again in that attempt's logs (RunClassified) is not counted twice.
struct BusyReported {
  std::string detail;
  std::optional<std::int64_t> run_id;
  std::optional<int> run_attempt = std::nullopt;  // default: the run's latest known attempt
};

using Event = std::variant<RunsPolled, RunObserved, ContainerAppPolled, PostgresPolled,
                           SourceFailed, RunGone, RunClassified, BusyReported>;

// ---- Rules ---------------------------------------------------------------------------------

/// The part of EnvironmentConfig the policy needs.
struct EnvironmentRules {
  std::string name;
  std::optional<GitHubTarget> github;
  bool has_container_app = false;
  std::vector<std::string> postgres_servers;
  Duration min_interval = std::chrono::minutes{14};
  Duration cooldown = std::chrono::minutes{2};
  BusyBackoff busy_backoff;
  int max_active_revisions = 1;
  Duration stale_after = std::chrono::minutes{5};
  QueueSettings queue = {};
  std::vector<FreezeWindow> freeze_windows = {};
  // Windows from_config could not make (the loader rejects them first, so only a bug or a tz
  // database changed under a running daemon gets here): each blocks as `freeze_window` for good.
  std::vector<std::string> invalid_freeze_windows = {};

  static EnvironmentRules from_config(const EnvironmentConfig& env);
  std::vector<SourceId> sources() const;
};

/// True when the run belongs to this environment's deploy workflows (repo, workflow by file name,
/// path or display name, and branch when configured).
bool run_matches(const GitHubTarget& target, const WorkflowRun& run);

/// Busy backoff length after `consecutive` busy failures: initial * 2^(n-1), capped at max.
Duration busy_backoff_for(const BusyBackoff& cfg, int consecutive);

struct LeaseRequest {
  std::string id;  // chosen by the caller (random), so the core stays deterministic
  std::string holder;
  Duration ttl{};
  std::optional<std::int64_t> run_id;
  std::optional<int> run_attempt = std::nullopt;
};

/// What a busy report did.
enum class BusyReportResult { Counted, Duplicate };

/// A run attempt whose jobs and logs should be inspected.
struct ClassificationRequest {
  WorkflowRun run;  // the latest known state of the run
  int attempt = 1;
};

/// A classification that could not be made, kept for status.
struct Unclassified {
  RunRef run;
  std::string detail;
  TimePoint at{};
};

enum class LeaseEndCause { Released, Expired, RunCompleted };

class EnvironmentPolicy {
 public:
  explicit EnvironmentPolicy(EnvironmentRules rules);

  const EnvironmentRules& rules() const { return rules_; }
  /// Replaces the rules (config reload) keeping observed and durable state.
  void set_rules(EnvironmentRules rules);

  void apply(const Event& event, TimePoint now);

  /// The verdict at `now`. `as_run` evaluates on behalf of that run attempt: it does not block
  /// itself (its own in-progress status, its own deploy record or linked lease).
  Decision decide(TimePoint now, std::optional<AsRun> as_run = std::nullopt) const;

  // ---- leases and freezes (mutations return what happened; the caller persists and audits) --
  /// Grants the lease only if decide(now, request.run_id) is safe; otherwise returns that decision.
  std::variant<Lease, Decision> acquire_lease(const LeaseRequest& request, TimePoint now);
  /// Ends the lease with this id; false if there is no such (unexpired) lease.
  bool release_lease(std::string_view lease_id, TimePoint now);
  void set_freeze(Freeze freeze);
  bool clear_freeze();
  /// A break-glass override: the next lease or queue grant before `expires_at` is judged without
  /// the rules it skips. It replaces a pending one (reported by take_override_ends()).
  void set_override(Override o, TimePoint now);
  const std::optional<Override>& pending_override() const { return durable_.pending_override; }
  /// Withdraws the pending override (not reported: the caller audits it).
  void clear_override() { durable_.pending_override.reset(); }
  /// Overrides used, expired or replaced since the last call, for the audit log.
  std::vector<OverrideEnd> take_override_ends() { return std::exchange(override_ends_, {}); }
  /// A grant for `lease_id` was rolled back (restore()): the override it used was not used.
  void forget_override_use(std::string_view lease_id) {
    std::erase_if(override_ends_, [&](const OverrideEnd& e) {
      return e.why == OverrideEnd::Why::Used && e.lease_id == lease_id;
    });
  }

  /// The freeze windows in force at `now` (all of them, whoever asks), and the next one to start.
  std::optional<ActiveFreeze> freeze_window_in_force(TimePoint now) const;
  std::optional<WindowSpan> next_freeze_window(TimePoint now) const;

  /// Ends leases past their TTL, freezes past their `until` and overrides past their TTL.
  /// Returns true if anything changed.
  bool expire(TimePoint now);
  /// The next instant at which decide() may change without any new event (an `until`, a lease
  /// expiry, a source going stale), or nullopt. The daemon arms a timer for it.
  std::optional<TimePoint> next_deadline(TimePoint now) const;

  /// The latest attempt known for a run id (1 when the run is unknown).
  int latest_attempt(std::int64_t run_id) const;

  // ---- the deploy queue (durable like leases; the caller persists and audits) ---------------
  /// Joins the queue (Full beyond max_length). Tickets it supersedes go to take_ended_tickets().
  DeployQueue::JoinResult join_queue(Ticket ticket, TimePoint now);
  /// A poll of a ticket: keeps it alive. False when unknown.
  bool touch_ticket(std::string_view id, TimePoint now);
  /// Leaves the queue; a granted ticket's lease is released with it. nullopt when unknown.
  std::optional<EndedTicket> leave_queue(std::string_view id, TimePoint now);
  /// Grants the head of the queue the lease `lease_id` (chosen by the caller, random) when no
  /// lease is held and the environment is safe for the head's run, the queue itself aside. The
  /// lease granted, or nullopt. The caller calls it after every change.
  std::optional<Lease> serve_queue(TimePoint now, const std::string& lease_id);
  const DeployQueue& queue() const { return queue_; }
  /// The verdict for a waiting ticket: on behalf of its run (when it names one), blocked by the
  /// tickets ahead of it only. nullopt when no such ticket waits.
  std::optional<Decision> decide_for_ticket(TimePoint now, std::string_view ticket_id) const;
  /// Tickets that ended by themselves since the last call (expired, superseded, their run
  /// ended, their lease ended), for the audit log.
  std::vector<EndedTicket> take_ended_tickets() { return std::exchange(ended_tickets_, {}); }

  /// Busy report from a pipeline: counted once per run attempt.
  BusyReportResult report_busy(const BusyReported& report, TimePoint now);

  /// Run attempts to inspect: ended failure, timed_out or cancelled (cancelled ones may never
  /// have started), and earlier attempts of re-run runs not known to have succeeded.
  std::vector<ClassificationRequest> runs_to_classify() const;
  void mark_classification_started(RunRef run);
  /// Active runs not in `listed` (a poll's answer): the source looks them up by id.
  std::vector<std::int64_t> active_runs_not_in(const std::vector<WorkflowRun>& listed) const;
  /// Classifications that could not be made (newest last, bounded).
  const std::vector<Unclassified>& unclassified() const { return unclassified_; }

  // ---- read access for status ---------------------------------------------------------------
  const std::vector<WorkflowRun>& runs() const { return runs_; }  // newest first
  const std::optional<ContainerAppSnapshot>& container_app() const { return app_; }
  const std::vector<RevisionSnapshot>& revisions() const { return revisions_; }
  const std::map<std::string, PostgresServerSnapshot>& postgres() const { return postgres_; }
  const std::map<SourceId, SourceHealth>& sources() const { return sources_; }
  const std::optional<Lease>& lease() const { return durable_.lease; }
  const std::optional<Freeze>& freeze() const { return durable_.freeze; }
  const BusyBackoffState& busy() const { return durable_.busy; }
  const std::vector<DeployRecord>& deploys() const { return durable_.deploys; }
  /// Revisions with traffic > 0 and their weights (ingress traffic, or revision weights).
  std::map<std::string, int> traffic_by_revision() const;

  const DurableEnvironmentState& durable() const { return durable_; }
  void restore(DurableEnvironmentState state);

  static constexpr std::size_t kMaxRuns = 50;
  static constexpr std::size_t kMaxDeployRecords = 20;
  static constexpr std::size_t kMaxCountedBusyRuns = 100;

 private:
  void on(const RunsPolled& e, TimePoint now);
  void on(const RunObserved& e, TimePoint now);
  void on(const ContainerAppPolled& e, TimePoint now);
  void on(const PostgresPolled& e, TimePoint now);
  void on(const SourceFailed& e, TimePoint now);
  void on(const RunGone& e, TimePoint now);
  void on(const RunClassified& e, TimePoint now);
  void on(const BusyReported& e, TimePoint now);

  // The rules decide() applies, one per kind of danger. Each appends its reasons.
  using Reasons = std::vector<Reason>;
  /// starting, source_error, stale: the guard does not know the current state of a source.
  void source_reasons(TimePoint now, Reasons& out) const;
  /// frozen: a person stopped deploys on purpose.
  void freeze_reason(TimePoint now, Reasons& out) const;
  /// freeze_window: a declared freeze window is in force. A deploy of the asker's own run that
  /// started (or took its lease) before the window began is not stopped by it.
  void freeze_window_reason(TimePoint now, const std::optional<RunRef>& own, Reasons& out) const;
  /// leased: another pipeline holds the environment.
  void lease_reason(TimePoint now, const std::optional<RunRef>& own, Reasons& out) const;
  /// queued: pipelines wait in the deploy queue; nobody may skip the line.
  /// `own_ticket`: the asker is this ticket (blocked by those ahead of it only).
  void queued_reason(const std::optional<RunRef>& own, std::string_view own_ticket, Reasons& out) const;
  /// decide() with the queue rule or without it (serving the head).
  /// `skip`: rules a pending override lets this evaluation ignore.
  Decision evaluate(TimePoint now, const std::optional<RunRef>& own, bool with_queue,
                    std::string_view own_ticket = {}, const SkipSet& skip = {}) const;
  /// Whether `d` (not safe) turns safe under the pending override; if so the override is used
  /// up for `lease_id` (reported by take_override_ends()).
  bool use_override(const Decision& d, TimePoint now, const std::optional<RunRef>& own,
                    bool with_queue, const std::string& lease_id);
  /// Records tickets that ended and mirrors the queue into the durable state.
  void queue_changed(std::vector<EndedTicket> ended);
  /// deploy_in_progress: another deploy run is queued or running (two deploys overlapping).
  void in_progress_reasons(const std::optional<RunRef>& own, Reasons& out) const;
  /// cooldown: deploys too close together (min_interval between starts, cooldown after an end).
  void cooldown_reason(TimePoint now, const std::optional<RunRef>& own, const SkipSet& skip,
                       Reasons& out) const;
  /// busy_backoff: re-running into a PostgreSQL server that just answered ServerIsBusy.
  void busy_backoff_reason(TimePoint now, Reasons& out) const;
  /// server_busy: deploying while a PostgreSQL server is not ready (the ServerIsBusy window).
  void postgres_reasons(Reasons& out) const;
  /// app_busy: deploying while an ARM operation or a rollout runs on the container app.
  void app_reasons(Reasons& out) const;
  /// revision_provisioning: deploying while a revision is still being created or brought up.
  void revision_reasons(Reasons& out) const;
  /// traffic_split: deploying on top of traffic split across revisions (nobody knows what is live).
  void traffic_split_reason(Reasons& out) const;
  /// multiple_active_revisions: deploying while more revisions are active than configured.
  void active_revisions_reason(Reasons& out) const;
  /// The state table's verdict for one observed value, as a reason when it blocks.
  static void judge(StateField field, std::string_view value, const std::string& subject, Reasons& out);

  void upsert_run(const WorkflowRun& run, TimePoint now);
  void record_deploy(DeployRecord record);
  void record_busy_failure(TimePoint at, std::string detail);
  void record_success(TimePoint started);
  /// False if this attempt's busy failure was already counted (by its logs or a report).
  bool count_busy_run_once(RunRef run);
  void end_lease(LeaseEndCause cause, TimePoint now);
  void mark_success(const SourceId& source, TimePoint now);

  EnvironmentRules rules_;
  std::vector<WorkflowRun> runs_;
  std::optional<ContainerAppSnapshot> app_;
  std::vector<RevisionSnapshot> revisions_;
  std::map<std::string, PostgresServerSnapshot> postgres_;
  std::map<SourceId, SourceHealth> sources_;
  std::vector<RunRef> classified_runs_;  // classification started or done (bounded)
  std::map<RunRef, RunConclusion> attempt_conclusions_;  // how attempts were seen to end (bounded)
  std::vector<RunRef> never_started_;  // classified NeverStarted: not deploys however often listed (bounded)
  std::vector<Unclassified> unclassified_;
  DeployQueue queue_;  // its tickets mirrored in durable_.queue after every change
  std::vector<EndedTicket> ended_tickets_;  // bounded, drained by take_ended_tickets()
  std::vector<OverrideEnd> override_ends_;  // bounded, drained by take_override_ends()
  DurableEnvironmentState durable_;
};

}  // namespace deployguard
