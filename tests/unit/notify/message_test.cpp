#include "notify/message.hpp"

#include <gtest/gtest.h>

namespace deployguard::notify {
namespace {

using Json = nlohmann::json;

TimePoint at(const char* text) { return parse_timestamp(text).value(); }

Decision frozen_decision() {
  Decision d;
  d.safe = false;
  d.reasons.push_back(Reason{ReasonCode::Frozen, "frozen by alice: <incident> & more", std::nullopt});
  d.evaluated_at = at("2026-01-05T10:00:00Z");
  return d;
}

Notification freeze_notification() {
  const state::AuditRecord record{at("2026-01-05T10:00:00Z"), "prod", "alice", "freeze.set",
                                  nullptr, Json{{"reason", "incident"}}, Json{{"ticket", "T-1"}}};
  return from_audit(record, Category::Freeze, decision_json(frozen_decision()));
}

TEST(NotifyMessage, JsonIsTheEventWithItsDecisionAndDetail) {
  auto n = freeze_notification();
  n.changes = 3;
  const Json body = Json::parse(render(Format::Json, n));
  std::vector<std::string> keys;
  for (const auto& [key, value] : body.items()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"at", "decision", "detail", "environment", "event"}));
  EXPECT_EQ(body["event"], "freeze");
  EXPECT_EQ(body["environment"], "prod");
  EXPECT_EQ(body["at"], "2026-01-05T10:00:00Z");
  EXPECT_EQ(body["decision"]["safe"], false);
  EXPECT_EQ(body["decision"]["reasons"][0]["code"], "frozen");
  EXPECT_EQ(body["detail"]["action"], "freeze.set");
  EXPECT_EQ(body["detail"]["actor"], "alice");
  EXPECT_EQ(body["detail"]["changes"], 3);
  EXPECT_EQ(body["detail"]["new"]["reason"], "incident");
  EXPECT_EQ(body["detail"]["info"]["ticket"], "T-1");
}

TEST(NotifyMessage, SlackHasBlocksAndATextFallbackWithMrkdwnEscaped) {
  const Json body = Json::parse(render(Format::Slack, freeze_notification()));
  ASSERT_TRUE(body["text"].is_string());
  EXPECT_EQ(body["text"], "prod: freeze.set by alice");
  ASSERT_TRUE(body["blocks"].is_array());
  ASSERT_EQ(body["blocks"].size(), 3u);
  EXPECT_EQ(body["blocks"][0]["type"], "header");
  EXPECT_EQ(body["blocks"][0]["text"]["type"], "plain_text");
  EXPECT_EQ(body["blocks"][1]["type"], "section");
  EXPECT_EQ(body["blocks"][1]["text"]["type"], "mrkdwn");
  EXPECT_EQ(body["blocks"][1]["text"]["text"],
            "- frozen: frozen by alice: &lt;incident&gt; &amp; more");
  EXPECT_EQ(body["blocks"][2]["type"], "context");
}

TEST(NotifyMessage, SlackHeaderIsCutToItsLimit) {
  auto n = freeze_notification();
  n.actor = std::string(400, 'a');
  const Json body = Json::parse(render(Format::Slack, n));
  EXPECT_LE(body["blocks"][0]["text"]["text"].get<std::string>().size(), 150u);
}

TEST(NotifyMessage, TeamsIsAnAdaptiveCardMessage) {
  const Json body = Json::parse(render(Format::Teams, freeze_notification()));
  EXPECT_EQ(body["type"], "message");
  ASSERT_EQ(body["attachments"].size(), 1u);
  const auto& attachment = body["attachments"][0];
  EXPECT_EQ(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
  EXPECT_EQ(attachment["content"]["type"], "AdaptiveCard");
  EXPECT_EQ(attachment["content"]["version"], "1.4");
  const auto& card_body = attachment["content"]["body"];
  ASSERT_GE(card_body.size(), 2u);
  EXPECT_EQ(card_body[0]["type"], "TextBlock");
  EXPECT_EQ(card_body[0]["text"], "prod: freeze.set by alice");
  EXPECT_EQ(card_body.back()["type"], "FactSet");
}

TEST(NotifyMessage, AVerdictSaysWhetherItIsSafeAndHowManyChangesItCovers) {
  const state::AuditRecord record{at("2026-01-05T10:00:00Z"), "prod", "deployguard",
                                  "decision.change",
                                  Json{{"safe", true}, {"reasons", Json::array()}},
                                  Json{{"safe", false}, {"reasons", {"starting", "frozen"}}},
                                  nullptr};
  // The environment is gone: the record's own verdict is the decision.
  auto n = from_audit(record, Category::Verdict, nullptr);
  EXPECT_EQ(summary(n), "prod is not safe to deploy: starting, frozen");
  n.changes = 4;
  EXPECT_EQ(summary(n), "prod is not safe to deploy: starting, frozen (4 changes)");
  n.decision = Json{{"safe", true}, {"reasons", Json::array()}};
  EXPECT_EQ(summary(n), "prod is safe to deploy (4 changes)");
}

TEST(NotifyMessage, SignatureIsHmacSha256OfTheBody) {
  // RFC 4231 test case 2.
  EXPECT_EQ(signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(NotifyMessage, FormatNamesRoundTrip) {
  for (const Format format : {Format::Slack, Format::Teams, Format::Json})
    EXPECT_EQ(parse_format(to_string(format)), format);
  EXPECT_FALSE(parse_format("email"));
}

}  // namespace
}  // namespace deployguard::notify
