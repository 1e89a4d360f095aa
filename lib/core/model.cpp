#include "core/model.hpp"

#include <algorithm>
#include <cctype>

namespace deployguard {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

RunStatus parse_run_status(std::string_view s) {
  if (iequals(s, "requested")) return RunStatus::Requested;
  if (iequals(s, "queued")) return RunStatus::Queued;
  if (iequals(s, "pending")) return RunStatus::Pending;
  if (iequals(s, "waiting")) return RunStatus::Waiting;
  if (iequals(s, "in_progress")) return RunStatus::InProgress;
  if (iequals(s, "action_required")) return RunStatus::ActionRequired;
  if (iequals(s, "completed")) return RunStatus::Completed;
  return RunStatus::Unknown;
}

RunConclusion parse_run_conclusion(std::string_view s) {
  if (s.empty()) return RunConclusion::None;
  if (iequals(s, "success")) return RunConclusion::Success;
  if (iequals(s, "failure")) return RunConclusion::Failure;
  if (iequals(s, "cancelled")) return RunConclusion::Cancelled;
  if (iequals(s, "timed_out")) return RunConclusion::TimedOut;
  if (iequals(s, "skipped")) return RunConclusion::Skipped;
  if (iequals(s, "neutral")) return RunConclusion::Neutral;
  if (iequals(s, "action_required")) return RunConclusion::ActionRequired;
  if (iequals(s, "stale")) return RunConclusion::Stale;
  if (iequals(s, "startup_failure")) return RunConclusion::StartupFailure;
  return RunConclusion::Unknown;
}

std::string_view to_string(RunStatus s) {
  switch (s) {
    case RunStatus::Requested: return "requested";
    case RunStatus::Queued: return "queued";
    case RunStatus::Pending: return "pending";
    case RunStatus::Waiting: return "waiting";
    case RunStatus::InProgress: return "in_progress";
    case RunStatus::ActionRequired: return "action_required";
    case RunStatus::Completed: return "completed";
    case RunStatus::Unknown: break;
  }
  return "unknown";
}

std::string_view to_string(RunConclusion c) {
  switch (c) {
    case RunConclusion::None: return "";
    case RunConclusion::Success: return "success";
    case RunConclusion::Failure: return "failure";
    case RunConclusion::Cancelled: return "cancelled";
    case RunConclusion::TimedOut: return "timed_out";
    case RunConclusion::Skipped: return "skipped";
    case RunConclusion::Neutral: return "neutral";
    case RunConclusion::ActionRequired: return "action_required";
    case RunConclusion::Stale: return "stale";
    case RunConclusion::StartupFailure: return "startup_failure";
    case RunConclusion::Unknown: break;
  }
  return "unknown";
}

bool is_active(RunStatus s) {
  switch (s) {
    case RunStatus::Requested:
    case RunStatus::Queued:
    case RunStatus::Pending:
    case RunStatus::Waiting:
    case RunStatus::InProgress:
    case RunStatus::ActionRequired:
    case RunStatus::Unknown:  // fail closed: a status we do not know may be a running deploy
      return true;
    case RunStatus::Completed:
      return false;
  }
  return false;
}

}  // namespace deployguard
