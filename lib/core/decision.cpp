#include "core/decision.hpp"

namespace deployguard {

std::string_view to_string(ReasonCode code) {
  switch (code) {
    case ReasonCode::Starting: return "starting";
    case ReasonCode::SourceError: return "source_error";
    case ReasonCode::Stale: return "stale";
    case ReasonCode::Frozen: return "frozen";
    case ReasonCode::FreezeWindow: return "freeze_window";
    case ReasonCode::Leased: return "leased";
    case ReasonCode::Queued: return "queued";
    case ReasonCode::DeployInProgress: return "deploy_in_progress";
    case ReasonCode::Cooldown: return "cooldown";
    case ReasonCode::BusyBackoff: return "busy_backoff";
    case ReasonCode::ServerBusy: return "server_busy";
    case ReasonCode::AppBusy: return "app_busy";
    case ReasonCode::RevisionProvisioning: return "revision_provisioning";
    case ReasonCode::TrafficSplit: return "traffic_split";
    case ReasonCode::MultipleActiveRevisions: return "multiple_active_revisions";
  }
  return "unknown";
}

bool Decision::same_verdict(const Decision& other) const {
  if (safe != other.safe || reasons.size() != other.reasons.size()) return false;
  for (std::size_t i = 0; i < reasons.size(); ++i)
    if (reasons[i].code != other.reasons[i].code) return false;
  return true;
}

}  // namespace deployguard
