#pragma once
// Which audit records are notified, and as what. The notifier's only input is the audit trail
// (service::Persistence::add_audit_observer): every operator action and decision change is an
// audit record, so whatever an operator can read in audit.jsonl is what a sink can be sent.
// The mapping, one table (docs/notifications.md repeats it):
//
//   audit action              category
//   decision.change           verdict; also source_error when the new decision has the
//                             source_error reason and the old one did not
//   queue.*                   queue
//   freeze.*                  freeze
//   stop                      stop
//   override.*                override
//   gate.*                    gate (accepted in the config; nothing emits it yet)
//   anything else             not notified (lease.*, busy.report, stabilize*)
//
// Pure: no I/O.
#include <optional>
#include <string_view>
#include <vector>

#include "state/audit_log.hpp"

namespace deployguard::notify {

enum class Category { Verdict, Queue, Gate, Freeze, Stop, Override, SourceError };

inline constexpr Category kAllCategories[] = {Category::Verdict, Category::Queue,
                                              Category::Gate,    Category::Freeze,
                                              Category::Stop,    Category::Override,
                                              Category::SourceError};

/// "verdict", "queue", "gate", "freeze", "stop", "override", "source_error": the names the
/// configuration's `notify[].events` uses.
std::string_view to_string(Category category);
std::optional<Category> parse_category(std::string_view name);

/// The categories `record` is notified as, in kAllCategories order; empty when it is not.
std::vector<Category> categories_of(const state::AuditRecord& record);

}  // namespace deployguard::notify
