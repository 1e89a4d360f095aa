#include "api/render_remediation.hpp"

namespace deployguard::api {

Json traffic_json(const std::vector<TrafficEntry>& traffic) {
  Json out = Json::array();
  for (const auto& t : traffic) {
    Json e;
    e["revision"] = t.revision_name;
    e["weight"] = t.weight;
    if (!t.label.empty()) e["label"] = t.label;
    out.push_back(std::move(e));
  }
  return out;
}

Json plan_json(const remediation::StabilizePlan& plan) {
  Json out;
  out["target"] = plan.target;
  out["proposed"] = plan.proposed;
  out["traffic_before"] = traffic_json(plan.traffic_before);
  out["traffic_after"] = traffic_json(plan.traffic_after);
  out["traffic_change"] = plan.traffic_change;
  out["deactivate"] = plan.deactivate;
  return out;
}

Json run_summary_json(const WorkflowRun& run) {
  Json out;
  out["id"] = run.id;
  out["workflow"] = run.workflow_name;
  out["status"] = run.status_text.empty() ? std::string(to_string(run.status)) : run.status_text;
  out["head_branch"] = run.head_branch;
  out["html_url"] = run.html_url;
  return out;
}

Json step_json(const remediation::StepResult& step) {
  Json out;
  out["action"] = step.action;
  out["target"] = step.target;
  out["ok"] = step.ok;
  out["attempts"] = step.attempts;
  if (step.status) out["status"] = step.status;
  if (!step.error.empty()) out["error"] = step.error;
  if (!step.code.empty()) out["code"] = step.code;
  return out;
}

Json stabilize_report_json(const std::string& environment, const remediation::StabilizeReport& report) {
  Json out;
  out["environment"] = environment;
  out["outcome"] = remediation::to_string(report.outcome);
  out["dry_run"] = false;
  if (report.plan) out["plan"] = plan_json(*report.plan);
  if (report.refusal) out["refusal"] = Json{{"code", report.refusal->code}, {"message", report.refusal->message}};
  if (!report.error.empty()) out["error_detail"] = report.error;
  Json steps = Json::array();
  for (const auto& s : report.steps) steps.push_back(step_json(s));
  out["steps"] = std::move(steps);
  if (report.plan) {
    Json deactivated = Json::array();
    Json failed = Json::array();
    for (const auto& s : report.steps)
      if (s.action == "deactivate") (s.ok ? deactivated : failed).push_back(s.target);
    out["deactivated"] = std::move(deactivated);
    out["deactivation_failed"] = std::move(failed);
  }
  if (report.app_after) {
    Json after;
    after["provisioning_state"] = report.app_after->provisioning_state;
    after["traffic"] = traffic_json(remediation::resolved_traffic(*report.app_after));
    Json active = Json::array();
    for (const auto& r : report.revisions_after)
      if (r.active) active.push_back(r.name);
    after["active_revisions"] = std::move(active);
    out["after"] = std::move(after);
  }
  return out;
}

Json stop_report_json(const remediation::StopReport& report) {
  Json out;
  Json cancelled = Json::array();
  for (const auto& r : report.cancelled) cancelled.push_back(run_summary_json(r));
  out["cancelled"] = std::move(cancelled);
  Json not_cancelled = Json::array();
  for (const auto& n : report.not_cancelled) {
    auto j = run_summary_json(n.run);
    if (n.step.status) j["http_status"] = n.step.status;
    j["attempts"] = n.step.attempts;
    j["error"] = n.step.error;
    not_cancelled.push_back(std::move(j));
  }
  out["not_cancelled"] = std::move(not_cancelled);
  Json listing = Json::array();
  for (const auto& s : report.listing_errors) listing.push_back(step_json(s));
  out["listing_errors"] = std::move(listing);
  if (!report.github_configured) out["note"] = "no GitHub workflows configured for this environment";
  return out;
}

}  // namespace deployguard::api
