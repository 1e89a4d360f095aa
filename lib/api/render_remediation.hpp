#pragma once
// JSON shapes of the remediation routes (POST .../stabilize and .../stop): plans, traffic
// arrays, the step-by-step reports. Pure functions of lib/remediation's values.
#include <string>
#include <vector>

#include "api/render.hpp"
#include "core/model.hpp"
#include "remediation/plan.hpp"
#include "remediation/remediation.hpp"

namespace deployguard::api {

/// [{"revision":"app--r2","weight":100,"label":"blue"}, ...] ("label" only when set).
Json traffic_json(const std::vector<TrafficEntry>& traffic);
/// {"target","proposed","traffic_before","traffic_after","traffic_change","deactivate"}.
Json plan_json(const remediation::StabilizePlan& plan);
/// {"id","workflow","status","head_branch","html_url"}: a run as the stop report names it.
Json run_summary_json(const WorkflowRun& run);
/// {"action","target","ok","attempts"[,"status","error","code"]}.
Json step_json(const remediation::StepResult& step);
/// The answer of an applied stabilize: outcome, plan, refusal, steps, what was deactivated and
/// what failed to be, and the app as verified afterwards.
Json stabilize_report_json(const std::string& environment,
                           const remediation::StabilizeReport& report);
/// The cancellation part of a stop's answer: cancelled runs, runs not cancelled, listing errors.
Json stop_report_json(const remediation::StopReport& report);

}  // namespace deployguard::api
