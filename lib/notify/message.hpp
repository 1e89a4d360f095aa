#pragma once
// What one notification says, and its three wire formats. Pure: no I/O, no clock.
//
//   slack  {"text": fallback, "blocks": [header, section, context]}   (Block Kit, incoming webhook)
//   teams  {"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",
//           "content":{"type":"AdaptiveCard","version":"1.4","body":[...]}}]}
//   json   {"event","environment","at","decision":{...},"detail":{...}}
//
// A message carries the audit record's facts (action, actor, old/new values, detail) and the
// environment's decision; the audit log never holds a secret, so neither does a message. Text
// that reaches Slack's mrkdwn is escaped (&, <, >), so a reason quoting a workflow name cannot
// turn into a link or a mention.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/decision.hpp"
#include "core/time.hpp"
#include "notify/events.hpp"
#include "state/audit_log.hpp"

namespace deployguard::notify {

enum class Format { Slack, Teams, Json };

/// "slack", "teams", "json" (the configuration's `notify[].format`).
std::string_view to_string(Format format);
std::optional<Format> parse_format(std::string_view name);

struct Notification {
  Category category = Category::Verdict;
  std::string environment;
  TimePoint at{};  // the (latest) audit record's time
  std::string action;
  std::string actor;
  /// The environment's decision when the (latest) event happened: decision_json(), or a
  /// decision.change record's `new` when the environment is no longer known.
  nlohmann::json decision;
  nlohmann::json old_value;
  nlohmann::json new_value;
  nlohmann::json info;  // the audit record's `detail`
  /// How many events this message stands for: 1, or more when coalesced (the latest one's
  /// facts are the message's).
  std::size_t changes = 1;
};

/// {"safe", "reasons": [{"code", "message", "until"?}], "retry_after_s"?, "evaluated_at"}.
nlohmann::json decision_json(const Decision& decision);

/// A notification for `record` in `category`; `decision` as Notification::decision says.
Notification from_audit(const state::AuditRecord& record, Category category,
                        nlohmann::json decision);

/// One line for people: "prod is not safe to deploy: frozen, starting" or
/// "prod: freeze.set by alice", plus " (3 changes)" when coalesced.
std::string summary(const Notification& n);

/// The request body for `format`.
std::string render(Format format, const Notification& n);

/// "sha256=<hex HMAC-SHA256 of body keyed with secret>": the X-Deployguard-Signature value.
std::string signature(std::string_view secret, std::string_view body);

/// Slack mrkdwn escaping: & < > become &amp; &lt; &gt;.
std::string slack_escape(std::string_view text);

}  // namespace deployguard::notify
