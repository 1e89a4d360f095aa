#pragma once
// JSON shapes of the public API. Pure functions of core values: keys appear in the order shown
// in docs (ordered_json), timestamps are RFC 3339 UTC (format_timestamp), durations are integer
// seconds rounded up.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/decision.hpp"
#include "core/live.hpp"
#include "core/policy.hpp"
#include "core/time.hpp"

namespace deployguard::api {

using Json = nlohmann::ordered_json;

/// The value, or JSON null when absent.
template <class T>
Json or_null(const std::optional<T>& value) {
  return value ? Json(*value) : Json(nullptr);
}

/// Whole seconds, rounded up; negative durations give 0. Used for retry_after_s and Retry-After.
std::int64_t seconds_rounded_up(Duration d);

/// {"environment":"staging","safe":false,"reasons":[{"code":"cooldown","message":"...",
///  "until":"..."}],"retry_after_s":312,"evaluated_at":"..."}; `until` and `retry_after_s` are
/// present only when known. Judged on behalf of a run, "for_run":{"run_id":N,"run_attempt":M}
/// (attempt null when not given) follows "environment".
Json decision_json(std::string_view environment, const Decision& decision,
                   const std::optional<AsRun>& as_run = std::nullopt);

/// decision_json(environment, decision).dump(), written directly: /can-deploy is the hot path,
/// and building the ordered_json tree first was most of the handler's cost. Byte for
/// byte the same text (tested against decision_json for every shape).
std::string decision_text(std::string_view environment, const Decision& decision,
                          const std::optional<AsRun>& as_run = std::nullopt);

/// The 201 body of a granted lease (POST .../lease, a granted queue ticket):
/// {"lease_id","holder","run_id","run_attempt","expires_at"}.
Json lease_grant_json(const Lease& lease);

/// Longest `ahead` list of a ticket and ticket list of a queue in status (the counts are whole).
inline constexpr std::size_t kMaxListedTickets = 50;

/// The 202 body of a waiting ticket: {"ticket","environment","position","ahead":[{"holder",
/// "run_id","since"}],"reasons":[...],"estimate","expires_at"}. `decision` is the ticket's own
/// (EnvironmentPolicy::decide_for_ticket); "estimate" (when every reason has an until) is null
/// otherwise; "expires_at" is when the ticket leaves the queue unless polled again.
Json ticket_json(std::string_view environment, const DeployQueue& queue, const Ticket& ticket,
                 const Decision& decision, TimePoint expires_at);

/// The queue in status: {"order","supersede","ticket_ttl_s","max_length","waiting":N,
/// "tickets":[{"position","holder","run_id","run_attempt","ref","sha","since"}]}.
Json queue_json(const DeployQueue& queue);

/// {"id","holder","run_id","run_attempt","acquired_at","expires_at"} or null.
Json lease_json(const std::optional<Lease>& lease);
/// {"reason","by","since","until"} or null.
Json freeze_json(const std::optional<Freeze>& freeze);
/// {"name","start","end","schedule"}: one occurrence of a freeze window.
Json window_span_json(const WindowSpan& span, const EnvironmentPolicy& policy);
/// {"configured":N,"current":{"windows":[...],"until"} or null,"next":{...} or null}.
Json freeze_windows_json(const EnvironmentPolicy& policy, TimePoint now);
/// {"id","reason","by","skip","created_at","expires_at"} or null: a pending break-glass override.
Json override_json(const std::optional<Override>& o);
/// {"consecutive_failures","last_failure_at","last_detail"}.
Json busy_json(const BusyBackoffState& busy);

/// {"revision","run_id","run_attempt","sha","title","url","matched_by"} (unknown fields null) or
/// null when no revision is identified as live.
Json live_json(const std::optional<LiveRevision>& live);

/// Everything /v1/environments/NAME reports: the decision fields above, then runs, container
/// app, revisions, traffic, live, databases, lease, freeze, busy backoff, deploys, unclassified
/// run attempts and sources.
Json environment_status_json(std::string_view environment, const EnvironmentPolicy& policy,
                             const Decision& decision, TimePoint now);

}  // namespace deployguard::api
