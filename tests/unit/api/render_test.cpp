// decision_text() is the hand-written /can-deploy body; decision_json().dump() is the reference.
#include "api/render.hpp"

#include <string>

#include <gtest/gtest.h>

using namespace deployguard;
using namespace std::chrono_literals;

namespace {

TimePoint at(std::int64_t epoch_ms) { return TimePoint{Duration{epoch_ms}}; }

void expect_same(std::string_view environment, const Decision& d) {
  EXPECT_EQ(api::decision_text(environment, d), api::decision_json(environment, d).dump())
      << "environment " << environment;
}

}  // namespace

TEST(DecisionText, SafeDecisionMatchesTheJsonRendering) {
  Decision d;
  d.safe = true;
  d.evaluated_at = at(1'767'206'638'123);
  expect_same("staging", d);
  EXPECT_EQ(api::decision_text("staging", d),
            R"({"environment":"staging","safe":true,"reasons":[],"evaluated_at":"2025-12-31T18:43:58Z"})");
}

TEST(DecisionText, EveryReasonShapeMatchesTheJsonRendering) {
  Decision d;
  d.safe = false;
  d.evaluated_at = at(1'767'206'638'000);
  d.reasons.push_back({ReasonCode::Cooldown, "last deploy started 18:49:58", at(1'767'207'838'500)});
  d.reasons.push_back({ReasonCode::Frozen, "frozen by \"alice\": incident\\42\n\ttab\r\b\f", {}});
  d.reasons.push_back({ReasonCode::DeployInProgress, std::string("ctl\x01\x1f\x7f end", 10), {}});
  d.reasons.push_back({ReasonCode::Stale, "unicode \xc3\xa9\xe2\x9c\x93 kept", at(0)});
  expect_same("prod-eu", d);
  d.retry_after = 1201500ms;  // rounded up to 1202
  expect_same("prod-eu", d);
  EXPECT_NE(api::decision_text("prod-eu", d).find("\"retry_after_s\":1202,"), std::string::npos);
  d.retry_after = Duration{0};
  expect_same("prod-eu", d);
  d.retry_after = -5s;  // negative rounds to 0
  expect_same("prod-eu", d);
}

TEST(DecisionText, EnvironmentNamesAreEscaped) {
  Decision d;
  d.safe = true;
  for (const char* name : {"", "a\"b", "back\\slash", "new\nline", "x"}) expect_same(name, d);
}

TEST(DecisionText, EveryReasonCodeIsRenderedByItsStableName) {
  for (const ReasonCode code : kAllReasonCodes) {
    Decision d;
    d.reasons.push_back({code, "m", {}});
    expect_same("e", d);
  }
}
