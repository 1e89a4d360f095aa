#include "remediation/plan.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "core/policy.hpp"

namespace deployguard::remediation {
namespace {


const RevisionSnapshot* find_revision(const std::vector<RevisionSnapshot>& revisions,
                                      const std::string& name) {
  for (const auto& r : revisions)
    if (r.name == name) return &r;
  return nullptr;
}

/// Weight per revision: ingress traffic when the app has any, else the revisions' own weights.
std::map<std::string, int> weights(const ContainerAppSnapshot& app,
                                   const std::vector<RevisionSnapshot>& revisions) {
  std::map<std::string, int> out;
  const auto traffic = resolved_traffic(app);
  if (!traffic.empty()) {
    for (const auto& t : traffic) out[t.revision_name] += t.weight;
    return out;
  }
  for (const auto& r : revisions) out[r.name] += r.traffic_weight;
  return out;
}

}  // namespace

std::string unhealthy_because(const RevisionSnapshot& r) {
  if (iequals(r.health_state, "Unhealthy")) return "healthState Unhealthy";
  for (const char* bad : {"Failed", "Degraded", "Stopped"})
    if (iequals(r.running_state, bad)) return "runningState " + r.running_state;
  for (const char* bad : {"Failed", "Deprovisioning", "Deprovisioned"})
    if (iequals(r.provisioning_state, bad)) return "provisioningState " + r.provisioning_state;
  return {};
}

std::vector<TrafficEntry> resolved_traffic(const ContainerAppSnapshot& app) {
  std::vector<TrafficEntry> out;
  for (auto t : app.traffic) {
    if (t.revision_name.empty() && t.latest_revision) t.revision_name = app.latest_revision_name;
    out.push_back(std::move(t));
  }
  return out;
}

bool traffic_all_on(const ContainerAppSnapshot& app, const std::string& revision) {
  int on_target = 0;
  int elsewhere = 0;
  for (const auto& t : resolved_traffic(app)) (t.revision_name == revision ? on_target : elsewhere) += t.weight;
  return on_target == 100 && elsewhere == 0;
}

PlanResult plan_stabilize(const StabilizeInput& in) {
  if (!in.app)
    return Refusal{"no_observation",
                   "the container app has not been read yet; retry when the daemon is ready"};
  const auto& app = *in.app;
  if (!in.deploy_blockers.empty()) {
    std::string message = "a deploy is in progress:";
    for (const auto& b : in.deploy_blockers) message += " " + b + ";";
    message.pop_back();
    message += " (stop it first: deployguard stop)";
    return Refusal{"deploy_in_progress", std::move(message)};
  }
  if (!app.provisioning_state.empty() && !iequals(app.provisioning_state, "Succeeded"))
    return Refusal{"app_busy", "container app " + app.name + " provisioning state is " +
                                   app.provisioning_state + "; another operation is running"};

  const auto w = weights(app, in.revisions);
  auto weight_of = [&](const std::string& name) {
    auto it = w.find(name);
    return it == w.end() ? 0 : it->second;
  };

  StabilizePlan plan;
  if (in.requested_revision) {
    const auto* target = find_revision(in.revisions, *in.requested_revision);
    if (!target)
      return Refusal{"unknown_revision", "container app " + app.name + " has no revision \"" +
                                             *in.requested_revision + "\""};
    if (!target->active)
      return Refusal{"revision_inactive", "revision " + target->name +
                                              " is not active; activate it and let it become "
                                              "healthy first"};
    if (auto why = unhealthy_because(*target); !why.empty())
      return Refusal{"revision_unhealthy", "revision " + target->name + " is not healthy (" + why + ")"};
    plan.target = target->name;
  } else {
    const RevisionSnapshot* best = nullptr;
    for (const auto& r : in.revisions) {
      if (!r.active || !unhealthy_because(r).empty()) continue;
      if (!best) {
        best = &r;
        continue;
      }
      const int wr = weight_of(r.name);
      const int wb = weight_of(best->name);
      const bool newer = r.created_time.value_or(TimePoint{}) > best->created_time.value_or(TimePoint{});
      if (wr > wb || (wr == wb && newer)) best = &r;
    }
    if (!best || weight_of(best->name) <= 0)
      return Refusal{"no_candidate", "no active, healthy revision of " + app.name +
                                         " carries traffic; name one with --revision"};
    plan.target = best->name;
    plan.proposed = true;
  }

  plan.traffic_before = resolved_traffic(app);
  TrafficEntry all{plan.target, 100, false, {}};
  for (const auto& t : plan.traffic_before)
    if (t.revision_name == plan.target && !t.label.empty()) all.label = t.label;
  plan.traffic_after = {all};
  plan.traffic_change = !traffic_all_on(app, plan.target);
  for (const auto& r : in.revisions)
    if (r.active && r.name != plan.target) plan.deactivate.push_back(r.name);
  std::sort(plan.deactivate.begin(), plan.deactivate.end());
  return plan;
}

nlohmann::json traffic_patch_body(const StabilizePlan& plan) {
  nlohmann::json traffic = nlohmann::json::array();
  for (const auto& t : plan.traffic_after) {
    nlohmann::json e{{"revisionName", t.revision_name}, {"weight", t.weight}};
    if (!t.label.empty()) e["label"] = t.label;
    traffic.push_back(std::move(e));
  }
  return {{"properties", {{"configuration", {{"ingress", {{"traffic", std::move(traffic)}}}}}}}};
}

std::vector<WorkflowRun> runs_to_cancel(const GitHubTarget& target,
                                        const std::vector<WorkflowRun>& candidates) {
  std::vector<WorkflowRun> out;
  std::set<std::int64_t> seen;
  for (const auto& run : candidates) {
    if (!is_active(run.status) || !run_matches(target, run)) continue;
    if (!seen.insert(run.id).second) continue;
    out.push_back(run);
  }
  std::sort(out.begin(), out.end(),
            [](const WorkflowRun& a, const WorkflowRun& b) { return a.id < b.id; });
  return out;
}

Duration retry_delay(const RetryPolicy& policy, int attempt, double jitter) {
  if (attempt <= 1) return Duration::zero();
  Duration d = policy.initial;
  for (int i = 2; i < attempt && d < policy.max; ++i) d *= 2;
  d = std::min(d, policy.max);
  jitter = std::clamp(jitter, 0.5, 1.5);
  return std::chrono::duration_cast<Duration>(d * jitter);
}

bool arm_retryable(unsigned status, const std::string& code) {
  if (iequals(code, "ServerIsBusy") || iequals(code, "ServerBusy")) return true;
  return status == 0 || status == 409 || status == 429 || status >= 500;
}

bool github_retryable(unsigned status) { return status == 0 || status >= 500; }

}  // namespace deployguard::remediation
