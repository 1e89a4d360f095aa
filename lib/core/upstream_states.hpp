#pragma once
// What each state value Azure reports means for a deploy. Every documented value of the fields
// the guard reads has a deliberate verdict here; a value not in the table (the enums are
// extensible strings) blocks, because the guard cannot tell what it means. docs/api.md lists the
// same table (UpstreamStates.DocsApiListsExactlyTheTable compares them).
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/decision.hpp"
#include "core/model.hpp"

namespace deployguard {

/// The state fields the guard judges.
enum class StateField {
  RevisionProvisioning,  // revision properties.provisioningState
  RevisionRunning,       // revision properties.runningState (active revisions)
  RevisionHealth,        // revision properties.healthState (active revisions)
  AppProvisioning,       // container app properties.provisioningState
  AppRunning,            // container app properties.runningStatus
  PostgresState,         // PostgreSQL flexible server properties.state
  PostgresHighAvailability,  // PostgreSQL flexible server properties.highAvailability.state
};

std::string_view to_string(StateField field);  // "revision.provisioningState", ...

struct StateVerdict {
  StateField field;
  std::string_view value;           // as documented (compared case-insensitively); "" = absent
  std::optional<ReasonCode> blocks; // nullopt: this value does not block a deploy
  std::string_view why;             // one line, shown in docs/api.md
};

/// Every documented value of every field, in documentation order.
std::span<const StateVerdict> state_verdicts();

/// The verdict for one observed value: the table's entry, or (for a value the table does not
/// list) a blocking verdict with the field's reason code and `why` "unknown value".
StateVerdict judge_state(StateField field, std::string_view value);

/// The reason code a field's blocking values use.
ReasonCode reason_for(StateField field);

/// The table as docs/api.md shows it (between its "states" markers): one Markdown row per
/// verdict, `| field | value | verdict | why |`.
std::string state_table_markdown();

}  // namespace deployguard
