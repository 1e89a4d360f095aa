#include "core/upstream_states.hpp"

#include <array>

namespace deployguard {
namespace {

using F = StateField;
using R = ReasonCode;
constexpr std::optional<ReasonCode> kOk = std::nullopt;

// Sources: docs/api-facts.md (Container Apps revision and app properties, PostgreSQL flexible
// server ServerState and HighAvailabilityState).
constexpr std::array kVerdicts{
    StateVerdict{F::RevisionProvisioning, "", kOk, "absent (list answers often omit it): nothing in progress is reported"},
    StateVerdict{F::RevisionProvisioning, "Provisioning", R::RevisionProvisioning, "a revision is being created: a deploy is rolling out"},
    StateVerdict{F::RevisionProvisioning, "Provisioned", kOk, "the revision exists and no operation runs on it"},
    StateVerdict{F::RevisionProvisioning, "Failed", kOk, "the rollout ended (badly); a new deploy is how it gets fixed"},
    StateVerdict{F::RevisionProvisioning, "Deprovisioning", R::RevisionProvisioning, "an operation on the revision is still running"},
    StateVerdict{F::RevisionProvisioning, "Deprovisioned", kOk, "the revision is gone; nothing runs on it"},

    StateVerdict{F::RevisionRunning, "", kOk, "absent: nothing in progress is reported"},
    StateVerdict{F::RevisionRunning, "Running", kOk, "serving"},
    StateVerdict{F::RevisionRunning, "Processing", R::RevisionProvisioning, "an active revision is still being brought up"},
    StateVerdict{F::RevisionRunning, "Activating", R::RevisionProvisioning, "an active revision is still starting (seen from the live API, undocumented)"},
    StateVerdict{F::RevisionRunning, "Stopped", kOk, "not running (scaled to zero or stopped); no operation in progress"},
    StateVerdict{F::RevisionRunning, "Degraded", kOk, "running with failing replicas; no operation in progress"},
    StateVerdict{F::RevisionRunning, "Failed", kOk, "failed to run; no operation in progress, a new deploy fixes it"},
    StateVerdict{F::RevisionRunning, "Unknown", R::RevisionProvisioning, "Azure itself does not know what the revision is doing"},

    StateVerdict{F::RevisionHealth, "", kOk, "absent: no health probe configured"},
    StateVerdict{F::RevisionHealth, "Healthy", kOk, "health probes pass"},
    StateVerdict{F::RevisionHealth, "Unhealthy", kOk, "health probes fail; no operation in progress, a new deploy fixes it"},
    StateVerdict{F::RevisionHealth, "None", kOk, "no health state reported"},

    StateVerdict{F::AppProvisioning, "", kOk, "absent: the operation has finished (ARM convention)"},
    StateVerdict{F::AppProvisioning, "InProgress", R::AppBusy, "an ARM operation on the app is running"},
    StateVerdict{F::AppProvisioning, "Succeeded", kOk, "the last operation finished"},
    StateVerdict{F::AppProvisioning, "Failed", kOk, "the last operation finished (badly); nothing is running"},
    StateVerdict{F::AppProvisioning, "Canceled", kOk, "the last operation was cancelled; nothing is running"},
    StateVerdict{F::AppProvisioning, "Cancelled", kOk, "spelling variant of Canceled"},
    StateVerdict{F::AppProvisioning, "Deleting", R::AppBusy, "the app is being deleted"},

    StateVerdict{F::AppRunning, "", kOk, "absent (older api-versions)"},
    StateVerdict{F::AppRunning, "Progressing", R::AppBusy, "the app is rolling out a change"},
    StateVerdict{F::AppRunning, "Running", kOk, "serving"},
    StateVerdict{F::AppRunning, "Ready", kOk, "ready to serve"},
    StateVerdict{F::AppRunning, "Stopped", kOk, "stopped by its owner; a deploy does not race anything"},
    StateVerdict{F::AppRunning, "Suspended", kOk, "suspended by its owner; a deploy does not race anything"},

    StateVerdict{F::PostgresState, "", R::ServerBusy, "absent: the server's state is not known"},
    StateVerdict{F::PostgresState, "Ready", kOk, "not undergoing any management operation"},
    StateVerdict{F::PostgresState, "Updating", R::ServerBusy, "a management operation runs (the ServerIsBusy window)"},
    StateVerdict{F::PostgresState, "Starting", R::ServerBusy, "starting: migrations would fail"},
    StateVerdict{F::PostgresState, "Stopping", R::ServerBusy, "stopping: migrations would fail"},
    StateVerdict{F::PostgresState, "Stopped", R::ServerBusy, "stopped: a deploy's migrations cannot run"},
    StateVerdict{F::PostgresState, "Restarting", R::ServerBusy, "restarting: connections drop"},
    StateVerdict{F::PostgresState, "Provisioning", R::ServerBusy, "still being created"},
    StateVerdict{F::PostgresState, "Dropping", R::ServerBusy, "being deleted"},
    StateVerdict{F::PostgresState, "Disabled", R::ServerBusy, "disabled (e.g. subscription suspended): not usable"},
    StateVerdict{F::PostgresState, "Inaccessible", R::ServerBusy, "not reachable (e.g. its key is gone): not usable"},

    StateVerdict{F::PostgresHighAvailability, "", kOk, "absent: no high availability configured"},
    StateVerdict{F::PostgresHighAvailability, "NotEnabled", kOk, "no standby"},
    StateVerdict{F::PostgresHighAvailability, "Healthy", kOk, "primary and standby in sync"},
    StateVerdict{F::PostgresHighAvailability, "CreatingStandby", R::ServerBusy, "a standby is being created"},
    StateVerdict{F::PostgresHighAvailability, "ReplicatingData", R::ServerBusy, "the standby is catching up"},
    StateVerdict{F::PostgresHighAvailability, "FailingOver", R::ServerBusy, "a failover is running: the primary changes"},
    StateVerdict{F::PostgresHighAvailability, "RemovingStandby", R::ServerBusy, "the standby is being removed"},
};

}  // namespace

std::string_view to_string(StateField field) {
  switch (field) {
    case F::RevisionProvisioning: return "revision.provisioningState";
    case F::RevisionRunning: return "revision.runningState";
    case F::RevisionHealth: return "revision.healthState";
    case F::AppProvisioning: return "app.provisioningState";
    case F::AppRunning: return "app.runningStatus";
    case F::PostgresState: return "postgres.state";
    case F::PostgresHighAvailability: return "postgres.highAvailability.state";
  }
  return "unknown";
}

std::span<const StateVerdict> state_verdicts() { return kVerdicts; }

ReasonCode reason_for(StateField field) {
  switch (field) {
    case F::RevisionProvisioning:
    case F::RevisionRunning:
    case F::RevisionHealth: return R::RevisionProvisioning;
    case F::AppProvisioning:
    case F::AppRunning: return R::AppBusy;
    case F::PostgresState:
    case F::PostgresHighAvailability: return R::ServerBusy;
  }
  return R::Starting;
}

StateVerdict judge_state(StateField field, std::string_view value) {
  for (const auto& v : kVerdicts)
    if (v.field == field && iequals(v.value, value)) return v;
  return StateVerdict{field, value, reason_for(field), "unknown value: the guard cannot tell what it means"};
}

std::string state_table_markdown() {
  std::string out = "| field | value | verdict | why |\n|---|---|---|---|\n";
  for (const auto& v : kVerdicts) {
    out += "| `" + std::string(to_string(v.field)) + "` | ";
    out += v.value.empty() ? std::string("(absent)") : "`" + std::string(v.value) + "`";
    out += " | ";
    out += v.blocks ? "blocks: `" + std::string(to_string(*v.blocks)) + "`" : std::string("ok");
    out += " | " + std::string(v.why) + " |\n";
  }
  return out;
}

}  // namespace deployguard
