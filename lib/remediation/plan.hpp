#pragma once
// Remediation decisions as pure functions: which revision to stabilize on, what traffic to set,
// which revisions to deactivate, when to refuse, which runs an emergency stop cancels, and
// which upstream failures are worth a (bounded) retry. No I/O, no clock: the executor
// (remediation.hpp) runs what these functions decide.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/model.hpp"
#include "core/time.hpp"

namespace deployguard::remediation {

/// Why stabilize will not act. `code` is part of the API (error.code of the 409 answer):
/// no_container_app, no_observation, deploy_in_progress, app_busy, no_candidate,
/// unknown_revision, revision_inactive, revision_unhealthy.
struct Refusal {
  std::string code;
  std::string message;
};

/// What stabilize sees: the container app and its revisions (observed or freshly read) and the
/// guard's reasons that a deploy is running (deploy_in_progress / leased messages).
struct StabilizeInput {
  std::optional<ContainerAppSnapshot> app;
  std::vector<RevisionSnapshot> revisions;
  std::vector<std::string> deploy_blockers;  // non-empty: refuse
  std::optional<std::string> requested_revision;
};

struct StabilizePlan {
  std::string target;
  bool proposed = false;  // target chosen by the planner (no revision was requested)
  std::vector<TrafficEntry> traffic_before;
  std::vector<TrafficEntry> traffic_after;  // the full array sent: target 100%
  bool traffic_change = true;               // false when traffic is already 100% on target
  std::vector<std::string> deactivate;      // active revisions other than the target
};

using PlanResult = std::variant<StabilizePlan, Refusal>;

/// Refuses while a deploy runs or the app is not settled (provisioningState other than
/// Succeeded), and an unknown, inactive or unhealthy target. Without a requested revision the
/// target is the healthy active revision with the most traffic (ties: the newest).
PlanResult plan_stabilize(const StabilizeInput& input);

/// Empty when the revision may carry all traffic, else why not ("healthState Unhealthy",
/// "runningState Failed", "provisioningState Failed"). A missing healthState is accepted: ARM
/// often omits it.
std::string unhealthy_because(const RevisionSnapshot& revision);

/// Traffic as the API shows it: revision -> weight, entries with a latestRevision flag resolved
/// through the app's latestRevisionName.
std::vector<TrafficEntry> resolved_traffic(const ContainerAppSnapshot& app);

/// The JSON merge-patch body that points all traffic at `plan.target`.
nlohmann::json traffic_patch_body(const StabilizePlan& plan);

/// True when the app's traffic is exactly 100% on `revision`.
bool traffic_all_on(const ContainerAppSnapshot& app, const std::string& revision);

// ---- emergency stop ------------------------------------------------------------------------

/// The runs to cancel: queued or running (is_active) runs of the target's deploy workflows
/// (run_matches), each once, oldest id first.
std::vector<WorkflowRun> runs_to_cancel(const GitHubTarget& target,
                                        const std::vector<WorkflowRun>& candidates);

/// GitHub `status` filter values listed when looking for runs to cancel.
inline constexpr const char* kActiveRunStatuses[] = {"in_progress", "queued", "waiting",
                                                     "pending", "requested"};

// ---- retries -------------------------------------------------------------------------------

struct RetryPolicy {
  int max_attempts = 4;                         // including the first
  Duration initial = std::chrono::seconds{2};   // wait before the second attempt
  Duration max = std::chrono::seconds{30};
};

/// Wait before attempt `attempt` (2 = first retry): initial * 2^(attempt-2), capped, scaled by
/// `jitter` in [0.5, 1.5) so retries of several revisions do not march in step.
Duration retry_delay(const RetryPolicy& policy, int attempt, double jitter = 1.0);

/// An ARM answer worth retrying: a transport error (status 0), 409 Conflict, 429, 5xx, or a
/// ServerIsBusy / ServerBusy code whatever the status.
bool arm_retryable(unsigned status, const std::string& error_code);

/// A GitHub answer worth retrying: transport error, 5xx. 409 (the run can no longer be
/// cancelled) is final, and so is a rate limit (the gate says when; not a tight loop).
bool github_retryable(unsigned status);

}  // namespace deployguard::remediation
