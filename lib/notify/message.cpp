#include "notify/message.hpp"

#include <chrono>
#include <utility>

#include "webhook/signature.hpp"

namespace deployguard::notify {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// Slack caps a header's plain_text at 150 characters and a section's text at 3000; Teams has no
// hard cap, but a card that long helps nobody. Cut on a UTF-8 boundary.
std::string cut(std::string text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t end = max - 3;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  return text + "...";
}

bool is_safe(const Json& decision) {
  return decision.is_object() && decision.contains("safe") && decision["safe"].is_boolean() &&
         decision["safe"].get<bool>();
}

// Reason codes of a decision_json() or of a decision.change record ({"reasons":["code"]}).
std::vector<std::string> reason_codes(const Json& decision) {
  std::vector<std::string> out;
  if (!decision.is_object() || !decision.contains("reasons") || !decision["reasons"].is_array())
    return out;
  for (const auto& reason : decision["reasons"]) {
    if (reason.is_string()) out.push_back(reason.get<std::string>());
    else if (reason.is_object() && reason.contains("code") && reason["code"].is_string())
      out.push_back(reason["code"].get<std::string>());
  }
  return out;
}

// "frozen: incident (alice)" lines, for the message body.
std::vector<std::string> reason_lines(const Json& decision) {
  std::vector<std::string> out;
  if (!decision.is_object() || !decision.contains("reasons") || !decision["reasons"].is_array())
    return out;
  for (const auto& reason : decision["reasons"]) {
    if (reason.is_string()) {
      out.push_back(reason.get<std::string>());
    } else if (reason.is_object() && reason.contains("code") && reason["code"].is_string()) {
      std::string line = reason["code"].get<std::string>();
      if (reason.contains("message") && reason["message"].is_string() &&
          !reason["message"].get_ref<const std::string&>().empty())
        line += ": " + reason["message"].get<std::string>();
      out.push_back(std::move(line));
    }
  }
  return out;
}

std::string verdict_text(const Notification& n) {
  if (is_safe(n.decision)) return n.environment + " is safe to deploy";
  std::string out = n.environment + " is not safe to deploy";
  const auto codes = reason_codes(n.decision);
  for (std::size_t i = 0; i < codes.size(); ++i) out += (i == 0 ? ": " : ", ") + codes[i];
  return out;
}

std::string changes_suffix(const Notification& n) {
  return n.changes > 1 ? " (" + std::to_string(n.changes) + " changes)" : "";
}

std::string title(const Notification& n) {
  switch (n.category) {
    case Category::Verdict: return verdict_text(n);
    case Category::SourceError: return n.environment + ": an upstream source is failing";
    default: break;
  }
  return n.environment + ": " + n.action + (n.actor.empty() ? "" : " by " + n.actor);
}

// Facts shown in Slack's context line and Teams' FactSet.
std::vector<std::pair<std::string, std::string>> facts(const Notification& n) {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("Environment", n.environment);
  out.emplace_back("Event", std::string(to_string(n.category)) + " (" + n.action + ")");
  if (!n.actor.empty()) out.emplace_back("By", n.actor);
  out.emplace_back("Verdict", is_safe(n.decision) ? "safe" : "not safe");
  out.emplace_back("At", format_timestamp(n.at));
  if (n.changes > 1)
    out.emplace_back("Changes", std::to_string(n.changes) + " since the last message; this is "
                                                             "the latest");
  return out;
}

std::string body_text(const Notification& n) {
  std::string out;
  const auto lines = reason_lines(n.decision);
  if (lines.empty()) out = is_safe(n.decision) ? "Safe to deploy." : "Not safe to deploy.";
  for (const auto& line : lines) out += (out.empty() ? "" : "\n") + ("- " + line);
  return out;
}

std::string render_slack(const Notification& n) {
  const std::string headline = summary(n);
  std::string context;
  for (const auto& [name, value] : facts(n))
    context += (context.empty() ? "" : " | ") + ("*" + name + ":* " + slack_escape(value));
  OrderedJson blocks = OrderedJson::array();
  blocks.push_back({{"type", "header"},
                    {"text", {{"type", "plain_text"}, {"text", cut(headline, 150)}}}});
  blocks.push_back({{"type", "section"},
                    {"text", {{"type", "mrkdwn"}, {"text", cut(slack_escape(body_text(n)), 3000)}}}});
  blocks.push_back({{"type", "context"},
                    {"elements", OrderedJson::array({{{"type", "mrkdwn"},
                                                      {"text", cut(context, 3000)}}})}});
  OrderedJson out{{"text", slack_escape(headline)}, {"blocks", std::move(blocks)}};
  return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string render_teams(const Notification& n) {
  OrderedJson body = OrderedJson::array();
  body.push_back({{"type", "TextBlock"},
                  {"text", cut(summary(n), 300)},
                  {"size", "Medium"},
                  {"weight", "Bolder"},
                  {"wrap", true}});
  body.push_back({{"type", "TextBlock"}, {"text", cut(body_text(n), 3000)}, {"wrap", true}});
  OrderedJson fact_set = OrderedJson::array();
  for (const auto& [name, value] : facts(n)) fact_set.push_back({{"title", name}, {"value", value}});
  body.push_back({{"type", "FactSet"}, {"facts", std::move(fact_set)}});
  OrderedJson card{{"type", "AdaptiveCard"},
                   {"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
                   {"version", "1.4"},
                   {"body", std::move(body)}};
  OrderedJson out{{"type", "message"},
                  {"attachments",
                   OrderedJson::array({{{"contentType", "application/vnd.microsoft.card.adaptive"},
                                        {"contentUrl", nullptr},
                                        {"content", std::move(card)}}})}};
  return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string render_json(const Notification& n) {
  OrderedJson detail{{"action", n.action},
                     {"actor", n.actor},
                     {"changes", n.changes},
                     {"summary", summary(n)},
                     {"old", n.old_value},
                     {"new", n.new_value},
                     {"info", n.info}};
  OrderedJson out{{"event", to_string(n.category)},
                  {"environment", n.environment},
                  {"at", format_timestamp(n.at)},
                  {"decision", n.decision},
                  {"detail", std::move(detail)}};
  return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

std::string_view to_string(Format format) {
  switch (format) {
    case Format::Slack: return "slack";
    case Format::Teams: return "teams";
    case Format::Json: return "json";
  }
  return "?";
}

std::optional<Format> parse_format(std::string_view name) {
  for (const Format format : {Format::Slack, Format::Teams, Format::Json})
    if (to_string(format) == name) return format;
  return std::nullopt;
}

Json decision_json(const Decision& decision) {
  Json reasons = Json::array();
  for (const auto& reason : decision.reasons) {
    Json r{{"code", std::string(to_string(reason.code))}, {"message", reason.message}};
    if (reason.until) r["until"] = format_timestamp(*reason.until);
    reasons.push_back(std::move(r));
  }
  Json out{{"safe", decision.safe}, {"reasons", std::move(reasons)}};
  if (decision.retry_after)
    out["retry_after_s"] =
        std::chrono::duration_cast<std::chrono::seconds>(*decision.retry_after).count();
  out["evaluated_at"] = format_timestamp(decision.evaluated_at);
  return out;
}

Notification from_audit(const state::AuditRecord& record, Category category, Json decision) {
  Notification n;
  n.category = category;
  n.environment = record.environment;
  n.at = record.time;
  n.action = record.action;
  n.actor = record.actor;
  n.decision = decision.is_null() && record.action == "decision.change" ? record.new_value
                                                                         : std::move(decision);
  n.old_value = record.old_value;
  n.new_value = record.new_value;
  n.info = record.detail;
  return n;
}

std::string summary(const Notification& n) { return title(n) + changes_suffix(n); }

std::string render(Format format, const Notification& n) {
  switch (format) {
    case Format::Slack: return render_slack(n);
    case Format::Teams: return render_teams(n);
    case Format::Json: return render_json(n);
  }
  return render_json(n);
}

std::string signature(std::string_view secret, std::string_view body) {
  return "sha256=" + webhook::hmac_sha256_hex(secret, body);
}

std::string slack_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace deployguard::notify
