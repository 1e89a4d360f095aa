#pragma once
// The per-environment guard: a pure state machine. Feed it observations with apply(event, now),
// ask it decide(now). It never reads a clock, does no I/O and keeps no globals, so every rule can
// be replayed on a timeline in a unit test. Not thread-safe: the daemon calls it from the event
// loop thread only.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/config.hpp"
#include "core/decision.hpp"
#include "core/model.hpp"
#include "core/time.hpp"

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
};

struct Lease {
  std::string id;
  std::string holder;
  std::optional<std::int64_t> run_id;
  TimePoint acquired_at{};
  TimePoint expires_at{};

  bool operator==(const Lease&) const = default;
};

struct Freeze {
  std::string reason;
  std::string by;
  TimePoint since{};
  std::optional<TimePoint> until;

  bool operator==(const Freeze&) const = default;
};

/// One deploy the cooldown rules know about: a workflow run or a lease.
struct DeployRecord {
  std::string key;  // "run:<id>" or "lease:<id>"
  TimePoint started_at{};
  std::optional<TimePoint> ended_at;

  bool operator==(const DeployRecord&) const = default;
};

struct BusyBackoffState {
  int consecutive_failures = 0;
  std::optional<TimePoint> last_failure_at;
  std::string last_detail;

  bool operator==(const BusyBackoffState&) const = default;
};

/// What must survive a restart (written by lib/state).
struct DurableEnvironmentState {
  std::vector<DeployRecord> deploys;  // newest first, bounded
  BusyBackoffState busy;
  std::vector<std::int64_t> busy_runs_counted;  // bounded, so a run never counts twice
  std::optional<Lease> lease;
  std::optional<Freeze> freeze;

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
/// A failed refresh; the source keeps its last data until it goes stale.
struct SourceFailed {
  SourceId source;
  std::string error;
};
/// Result of inspecting a failed run's logs (see runs_to_classify()).
struct RunClassified {
  std::int64_t run_id = 0;
  bool server_busy = false;
  std::string detail;
};
/// A pipeline reported ServerIsBusy itself (POST /v1/environments/NAME/events). With the run
/// id, the same failure found again in that run's logs (RunClassified) is not counted twice.
struct BusyReported {
  std::string detail;
  std::optional<std::int64_t> run_id;
};

using Event = std::variant<RunsPolled, RunObserved, ContainerAppPolled, PostgresPolled,
                           SourceFailed, RunClassified, BusyReported>;

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
};

enum class LeaseEndCause { Released, Expired, RunCompleted };

class EnvironmentPolicy {
 public:
  explicit EnvironmentPolicy(EnvironmentRules rules);

  const EnvironmentRules& rules() const { return rules_; }
  /// Replaces the rules (config reload) keeping observed and durable state.
  void set_rules(EnvironmentRules rules);

  void apply(const Event& event, TimePoint now);

  /// The verdict at `now`. `as_run_id` evaluates on behalf of that run: it does not block itself
  /// (its own in-progress status, start time or linked lease).
  Decision decide(TimePoint now, std::optional<std::int64_t> as_run_id = std::nullopt) const;

  // ---- leases and freezes (mutations return what happened; the caller persists and audits) --
  /// Grants the lease only if decide(now, request.run_id) is safe; otherwise returns that decision.
  std::variant<Lease, Decision> acquire_lease(const LeaseRequest& request, TimePoint now);
  /// Ends the lease with this id; false if there is no such (unexpired) lease.
  bool release_lease(std::string_view lease_id, TimePoint now);
  void set_freeze(Freeze freeze);
  bool clear_freeze();
  /// Ends leases past their TTL and freezes past their `until`. Returns true if anything changed.
  bool expire(TimePoint now);
  /// The next instant at which decide() may change without any new event (an `until`, a lease
  /// expiry, a source going stale), or nullopt. The daemon arms a timer for it.
  std::optional<TimePoint> next_deadline(TimePoint now) const;

  /// Completed failed runs whose logs have not been classified yet (ServerIsBusy or not).
  std::vector<WorkflowRun> runs_to_classify() const;
  void mark_classification_started(std::int64_t run_id);

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
  void on(const RunClassified& e, TimePoint now);
  void on(const BusyReported& e, TimePoint now);

  void upsert_run(const WorkflowRun& run, TimePoint now);
  void record_deploy(std::string key, TimePoint started, std::optional<TimePoint> ended);
  void record_busy_failure(TimePoint at, std::string detail);
  /// False if this run's busy failure was already counted (by its logs or a report).
  bool count_busy_run_once(std::int64_t run_id);
  void end_lease(LeaseEndCause cause, TimePoint now);
  void mark_success(const SourceId& source, TimePoint now);

  EnvironmentRules rules_;
  std::vector<WorkflowRun> runs_;
  std::optional<ContainerAppSnapshot> app_;
  std::vector<RevisionSnapshot> revisions_;
  std::map<std::string, PostgresServerSnapshot> postgres_;
  std::map<SourceId, SourceHealth> sources_;
  std::vector<std::int64_t> classified_runs_;  // classification started or done (bounded)
  DurableEnvironmentState durable_;
};

}  // namespace deployguard
