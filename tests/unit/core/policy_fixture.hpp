#pragma once
// Builders for timeline tests of EnvironmentPolicy.
#include <string>

#include "core/policy.hpp"

namespace deployguard::testing {

inline TimePoint at(const char* rfc3339) { return parse_timestamp(rfc3339).value(); }

inline EnvironmentRules staging_rules() {
  EnvironmentRules r;
  r.name = "staging";
  r.github = GitHubTarget{"zimaxnet/engram", {"deploy.yml"}, "main"};
  r.has_container_app = true;
  r.postgres_servers = {"staging-env-db"};
  r.min_interval = std::chrono::minutes{14};
  r.cooldown = std::chrono::minutes{2};
  r.busy_backoff = BusyBackoff{std::chrono::minutes{2}, std::chrono::minutes{30}};
  r.max_active_revisions = 1;
  r.stale_after = std::chrono::minutes{5};
  return r;
}

inline WorkflowRun deploy_run(std::int64_t id, RunStatus status, TimePoint started,
                              RunConclusion conclusion = RunConclusion::None,
                              std::optional<TimePoint> updated = {}) {
  WorkflowRun r;
  r.id = id;
  r.workflow_id = 161335;
  r.workflow_name = "Deploy";
  r.workflow_path = ".github/workflows/deploy.yml";
  r.repository = "zimaxnet/engram";
  r.head_branch = "main";
  r.head_sha = "abc" + std::to_string(id);
  r.title = "deploy " + std::to_string(id);
  r.status = status;
  r.status_text = std::string(to_string(status));
  r.conclusion = conclusion;
  r.conclusion_text = std::string(to_string(conclusion));
  r.created_at = started;
  r.run_started_at = started;
  r.updated_at = updated.value_or(started);
  return r;
}

/// Attempt `attempt` of `first`, re-run: GitHub keeps the run id and created_at and moves
/// run_started_at to the attempt's start.
inline WorkflowRun rerun_attempt(WorkflowRun first, int attempt, RunStatus status, TimePoint started,
                                 RunConclusion conclusion = RunConclusion::None,
                                 std::optional<TimePoint> updated = {}) {
  first.run_attempt = attempt;
  first.status = status;
  first.status_text = std::string(to_string(status));
  first.conclusion = conclusion;
  first.conclusion_text = std::string(to_string(conclusion));
  first.run_started_at = started;
  first.updated_at = updated.value_or(started);
  return first;
}

inline RevisionSnapshot revision(std::string name, bool active, int weight,
                                 std::string provisioning = "Provisioned") {
  RevisionSnapshot r;
  r.name = std::move(name);
  r.active = active;
  r.traffic_weight = weight;
  r.provisioning_state = std::move(provisioning);
  r.running_state = active ? "Running" : "Stopped";
  r.health_state = "Healthy";
  r.image = "engram.azurecr.io/api:" + r.name;
  return r;
}

inline ContainerAppPolled app_with(std::vector<RevisionSnapshot> revisions,
                                   std::string provisioning = "Succeeded") {
  ContainerAppPolled e;
  e.app.name = "staging-env-api";
  e.app.provisioning_state = std::move(provisioning);
  e.app.active_revisions_mode = "Multiple";
  for (const auto& r : revisions) {
    if (r.active && r.traffic_weight > 0)
      e.app.traffic.push_back(TrafficEntry{r.name, r.traffic_weight, false, ""});
    e.app.latest_revision_name = r.name;
  }
  e.revisions = std::move(revisions);
  return e;
}

inline PostgresPolled db(std::string state) {
  return PostgresPolled{PostgresServerSnapshot{"staging-env-db", std::move(state), "NotEnabled", "16"}};
}

/// Refreshes every source with a healthy, quiet picture (no runs in the poll).
inline void refresh_healthy(EnvironmentPolicy& p, TimePoint now,
                            std::vector<WorkflowRun> runs = {}) {
  p.apply(RunsPolled{std::move(runs)}, now);
  p.apply(app_with({revision("staging-env-api--0000115", true, 100)}), now);
  p.apply(db("Ready"), now);
}

}  // namespace deployguard::testing
