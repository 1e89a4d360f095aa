#pragma once
// The verdict the guard gives for one environment at one instant.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"

namespace deployguard {

/// Why a deploy is blocked. The string codes (to_string) are part of the public API.
/// Declaration order is the order reasons are reported in.
enum class ReasonCode {
  Starting,                 // starting
  SourceError,              // source_error
  Stale,                    // stale
  Frozen,                   // frozen
  FreezeWindow,             // freeze_window
  Leased,                   // leased
  Queued,                   // queued
  DeployInProgress,         // deploy_in_progress
  Cooldown,                 // cooldown
  BusyBackoff,              // busy_backoff
  ServerBusy,               // server_busy
  AppBusy,                  // app_busy
  RevisionProvisioning,     // revision_provisioning
  TrafficSplit,             // traffic_split
  MultipleActiveRevisions,  // multiple_active_revisions
};

inline constexpr ReasonCode kAllReasonCodes[] = {
    ReasonCode::Starting,     ReasonCode::SourceError, ReasonCode::Stale,       ReasonCode::Frozen,
    ReasonCode::FreezeWindow,
    ReasonCode::Leased,       ReasonCode::Queued,      ReasonCode::DeployInProgress,
    ReasonCode::Cooldown,
    ReasonCode::BusyBackoff,  ReasonCode::ServerBusy,  ReasonCode::AppBusy,
    ReasonCode::RevisionProvisioning, ReasonCode::TrafficSplit,
    ReasonCode::MultipleActiveRevisions};

std::string_view to_string(ReasonCode code);

struct Reason {
  ReasonCode code;
  std::string message;             // human-readable, names the facts behind it
  std::optional<TimePoint> until;  // when this reason lapses by itself, if known

  bool operator==(const Reason&) const = default;
};

struct Decision {
  bool safe = false;
  std::vector<Reason> reasons;           // empty iff safe
  std::optional<Duration> retry_after;   // known only when every reason has an `until`
  TimePoint evaluated_at{};

  bool has(ReasonCode code) const {
    for (const auto& r : reasons)
      if (r.code == code) return true;
    return false;
  }
  const Reason* find(ReasonCode code) const {
    for (const auto& r : reasons)
      if (r.code == code) return &r;
    return nullptr;
  }
  /// Same verdict and same reason codes (messages and times may differ).
  bool same_verdict(const Decision& other) const;
};

}  // namespace deployguard
