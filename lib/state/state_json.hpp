#pragma once
// The state file format, as pure text <-> value functions (no I/O). See state_store.hpp for the
// file handling.
//
// Format (version 1), pretty-printed with two-space indent and *no* trailing newline, so that
// every strict prefix of a file we wrote is unterminated JSON and fails to parse:
//
//   {
//     "version": 1,
//     "environments": {
//       "<name>": {
//         "deploys": [ {"key": "run:42/1", "started_at": T, "ended_at": T | null,
//                       "run_id": 42, "run_attempt": 1, "sha": "...", "title": "...",
//                       "url": "..."}, ... ],       (run_id .. url optional)
//         "busy": {"consecutive_failures": 0, "last_failure_at": T | null, "last_detail": "",
//                  "last_success_started_at": T},   (optional)
//         "busy_runs_counted": [ {"run_id": 42, "attempt": 1}, ... ],
//         "lease": null | {"id": "...", "holder": "...", "run_id": 42 | null,
//                          "run_attempt": 1 | null, "acquired_at": T, "expires_at": T},
//         "freeze": null | {"reason": "...", "by": "...", "since": T, "until": T | null}
//       }
//     },
//     "webhook_deliveries": ["<X-GitHub-Delivery>", ...]   (optional; oldest first)
//   }
//
// T is an RFC 3339 UTC string with exactly three fraction digits ("2025-12-31T19:03:58.123Z"),
// so a round trip is exact to the millisecond (TimePoint's resolution). On reading, any form
// core's parse_timestamp() accepts is taken (an operator may edit the file by hand). Optional
// values are written as null; on reading, an absent optional key means "not set" too. Every
// other key is required, and unknown keys are errors (they would mean a different format).
// Strings that are not valid UTF-8 are written with U+FFFD replacements instead of failing.
// Files from before deploys were kept per run attempt are read as first attempts: a deploy key
// "run:42" becomes "run:42/1", a busy_runs_counted entry 42 becomes {"run_id": 42, "attempt": 1}.
// Keys added later are optional, so older files still load and the version stays 1 (as with
// "queue"): "webhook_deliveries" absent means no delivery remembered; it is written only when
// there is one.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/policy.hpp"

namespace deployguard::state {

/// Durable state of every environment, by environment name.
using EnvironmentStates = std::map<std::string, DurableEnvironmentState>;

/// The webhook delivery ids (X-GitHub-Delivery) the daemon has answered, oldest first; kept
/// across restarts so a replayed delivery is still recognised. Each is a non-empty string.
using DeliveryIds = std::vector<std::string>;

inline constexpr int kStateFormatVersion = 1;

struct SerializeResult {
  std::string text;                 // valid iff errors is empty
  std::vector<std::string> errors;  // e.g. "environments.prod.lease.expires_at: year out of range"
  bool ok() const { return errors.empty(); }
};
/// Never throws.
SerializeResult serialize_state(const EnvironmentStates& states, const DeliveryIds& deliveries = {});

struct ParseResult {
  EnvironmentStates states;         // meaningful iff errors is empty
  DeliveryIds webhook_deliveries;   // likewise; empty when the file has none
  std::vector<std::string> errors;  // every problem found, each prefixed with its JSON path
  bool ok() const { return errors.empty(); }
};
/// Parses and validates the whole document. Never throws.
ParseResult parse_state(std::string_view text);

}  // namespace deployguard::state
