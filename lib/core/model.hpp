#pragma once
// Observed facts about upstream systems, as the pure core sees them. Parsers in lib/parse turn
// GitHub and Azure JSON into these types; nothing here knows about JSON or HTTP.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"

namespace deployguard {

// ---- GitHub Actions -------------------------------------------------------------------------

/// GitHub run status. Unknown strings map to Unknown (the REST schema has no enum).
enum class RunStatus { Requested, Queued, Pending, Waiting, InProgress, ActionRequired, Completed, Unknown };
enum class RunConclusion {
  None,  // null: not completed yet
  Success, Failure, Cancelled, TimedOut, Skipped, Neutral, ActionRequired, Stale, StartupFailure,
  Unknown
};

RunStatus parse_run_status(std::string_view s);          // case-insensitive
RunConclusion parse_run_conclusion(std::string_view s);  // "" -> None
std::string_view to_string(RunStatus s);
std::string_view to_string(RunConclusion c);
/// True for the statuses that mean a deploy is queued or running (the `deploy_in_progress` rule).
bool is_active(RunStatus s);

struct WorkflowRun {
  std::int64_t id = 0;
  std::int64_t workflow_id = 0;
  std::string workflow_name;  // display name ("Deploy")
  std::string workflow_path;  // ".github/workflows/deploy.yml" (any "@ref" suffix stripped)
  std::string repository;     // "owner/name"
  std::string head_branch;
  std::string head_sha;
  std::string title;  // display_title
  std::string html_url;
  std::string event;
  RunStatus status = RunStatus::Unknown;
  RunConclusion conclusion = RunConclusion::None;
  std::string status_text;      // as GitHub sent it, for display
  std::string conclusion_text;  // as GitHub sent it ("" when null)
  int run_attempt = 1;
  TimePoint created_at{};
  std::optional<TimePoint> run_started_at;
  TimePoint updated_at{};

  /// When the deploy started: run_started_at if known, else created_at.
  TimePoint started_at() const { return run_started_at.value_or(created_at); }
};

// ---- Azure Container Apps -------------------------------------------------------------------

struct TrafficEntry {
  std::string revision_name;  // resolved from latestRevisionName when latest_revision is true
  int weight = 0;
  bool latest_revision = false;
  std::string label;
};

struct ContainerAppSnapshot {
  std::string name;
  std::string provisioning_state;      // InProgress, Succeeded, Failed, Canceled, Deleting, ...
  std::string running_status;          // Running, Stopped, ... ("" when absent)
  std::string active_revisions_mode;   // Single (default when absent), Multiple, Labels
  std::string latest_revision_name;
  std::string latest_ready_revision_name;
  std::vector<TrafficEntry> traffic;   // ingress traffic; empty without ingress
};

struct RevisionSnapshot {
  std::string name;
  bool active = false;
  int traffic_weight = 0;
  int replicas = 0;
  std::string provisioning_state;  // Provisioning, Provisioned, Failed, Deprovisioning, ...
  std::string running_state;       // Running, Activating, Processing, Stopped, Degraded, ...
  std::string health_state;        // Healthy, Unhealthy, None ("" when absent)
  std::optional<TimePoint> created_time;
  std::string image;  // first container's image
};

/// Case-insensitive comparison for Azure's extensible PascalCase enums.
bool iequals(std::string_view a, std::string_view b);

// ---- Azure Database for PostgreSQL flexible server -------------------------------------------

struct PostgresServerSnapshot {
  std::string name;
  std::string state;  // Ready, Updating, Starting, Stopping, Stopped, Disabled, Dropping, ...
  std::string ha_state;
  std::string version;
};

}  // namespace deployguard
