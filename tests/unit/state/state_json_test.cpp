#include "state/state_json.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "state/timestamp.hpp"
#include "state_fixtures.hpp"

namespace deployguard::state {
namespace {

using testing::at_ms;
using testing::expect_same;
using testing::full_states;
using testing::kT0;

bool any_error_contains(const std::vector<std::string>& errors, const std::string& needle) {
  for (const auto& e : errors) {
    if (e.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string all(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += e + "\n";
  return out;
}

// ---- timestamps ------------------------------------------------------------------------------

TEST(TimestampMillis, FormatsThreeFractionDigitsInUtc) {
  EXPECT_EQ(format_timestamp_millis(at_ms(kT0)), "2025-12-31T19:03:58.123Z");
  EXPECT_EQ(format_timestamp_millis(at_ms(kT0 - 123)), "2025-12-31T19:03:58.000Z");
  EXPECT_EQ(format_timestamp_millis(at_ms(kT0 - 122)), "2025-12-31T19:03:58.001Z");
  EXPECT_EQ(format_timestamp_millis(at_ms(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_timestamp_millis(at_ms(-1)), "1969-12-31T23:59:59.999Z");
}

TEST(TimestampMillis, ParseTimestampReadsItBackExactly) {
  for (std::int64_t ms : {kT0, kT0 + 1, kT0 + 999, std::int64_t{0}, std::int64_t{-1},
                          std::int64_t{-62'167'219'200'000} /* 0000-01-01 */,
                          std::int64_t{253'402'300'799'999} /* 9999-12-31T23:59:59.999 */}) {
    const auto text = format_timestamp_millis(at_ms(ms));
    ASSERT_TRUE(text) << ms;
    EXPECT_EQ(parse_timestamp(*text), at_ms(ms)) << *text;
  }
}

TEST(TimestampMillis, RefusesYearsWithoutAFourDigitForm) {
  EXPECT_FALSE(format_timestamp_millis(at_ms(-62'167'219'200'001)));
  EXPECT_FALSE(format_timestamp_millis(at_ms(253'402'300'800'000)));
}

TEST(TimestampCompact, IsFileNameFriendly) {
  EXPECT_EQ(format_timestamp_compact(at_ms(kT0)), "20251231T190358Z");
}

// ---- round trip --------------------------------------------------------------------------------

TEST(StateJson, RoundTripsEveryField) {
  const auto original = full_states();
  const auto text = serialize_state(original);
  ASSERT_TRUE(text.ok()) << all(text.errors);
  const auto parsed = parse_state(text.text);
  ASSERT_TRUE(parsed.ok()) << all(parsed.errors);
  expect_same(original, parsed.states);
}

TEST(StateJson, AnOverrideThatSkipsAProtectedRuleIsRejected) {
  auto states = full_states();
  auto text = serialize_state(states);
  ASSERT_TRUE(text.ok());
  auto doc = nlohmann::json::parse(text.text);
  doc["environments"]["staging"]["override"]["skip"] = {"server_busy"};
  const auto parsed = parse_state(doc.dump());
  EXPECT_FALSE(parsed.ok());
  EXPECT_TRUE(any_error_contains(parsed.errors, "staging.override.skip: rule server_busy protects the platform"))
      << all(parsed.errors);
}

TEST(StateJson, RoundTripsNoEnvironments) {
  const auto text = serialize_state({});
  ASSERT_TRUE(text.ok());
  const auto parsed = parse_state(text.text);
  ASSERT_TRUE(parsed.ok()) << all(parsed.errors);
  EXPECT_TRUE(parsed.states.empty());
}

TEST(StateJson, WritesTheDocumentedFormat) {
  const auto text = serialize_state(full_states());
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text.text.back(), '\n') << "a trailing newline would make a strict prefix valid";
  const auto doc = nlohmann::json::parse(text.text);
  EXPECT_EQ(doc["version"], 1);
  const auto& prod = doc["environments"]["prod"];
  EXPECT_EQ(prod["lease"]["acquired_at"], "2025-12-31T19:03:58.123Z");
  EXPECT_EQ(prod["lease"]["run_id"], 9001);
  EXPECT_EQ(prod["deploys"][0]["ended_at"], nullptr);
  EXPECT_EQ(prod["busy_runs_counted"][2]["run_id"].get<std::int64_t>(), 9'007'199'254'740'993);
  EXPECT_EQ(prod["busy_runs_counted"][1], (nlohmann::json{{"run_id", 42}, {"attempt", 3}}));
  EXPECT_EQ(prod["deploys"][0]["key"], "run:9001/2");
  EXPECT_EQ(prod["deploys"][0]["run_id"], 9001);
  EXPECT_EQ(prod["deploys"][0]["run_attempt"], 2);
  EXPECT_EQ(prod["deploys"][0]["sha"], "8c2e614a3f1b9d0e7c6b5a4f3e2d1c0b9a8f7e6d");
  EXPECT_FALSE(prod["deploys"][1].contains("run_id")) << "a lease without a run has none";
  EXPECT_EQ(prod["lease"]["run_attempt"], 2);
  EXPECT_EQ(prod["busy"]["last_success_started_at"], "2025-12-31T19:02:48.123Z");
  const auto& idle = doc["environments"]["idle"];
  EXPECT_EQ(idle["lease"], nullptr);
  EXPECT_EQ(idle["freeze"], nullptr);
  EXPECT_EQ(idle["busy"]["last_failure_at"], nullptr);
  EXPECT_EQ(doc["environments"]["staging"]["lease"]["run_id"], nullptr);
  EXPECT_EQ(doc["environments"]["staging"]["freeze"]["until"], nullptr);
}

TEST(StateJson, AbsentOptionalKeysMeanNotSet) {
  const auto parsed = parse_state(R"({
    "version": 1,
    "environments": {
      "prod": {
        "deploys": [{"key": "run:1", "started_at": "2025-12-31T19:03:58.123Z"}],
        "busy": {"consecutive_failures": 0, "last_detail": ""},
        "busy_runs_counted": [],
        "lease": {"id": "l", "holder": "h", "acquired_at": "2025-12-31T19:03:58Z",
                  "expires_at": "2025-12-31T19:13:58Z"},
        "freeze": {"reason": "r", "by": "b", "since": "2025-12-31T19:03:58Z"}
      },
      "other": {"deploys": [], "busy": {"consecutive_failures": 1, "last_detail": "x"},
                "busy_runs_counted": [5]}
    }})");
  ASSERT_TRUE(parsed.ok()) << all(parsed.errors);
  const auto& prod = parsed.states.at("prod");
  EXPECT_FALSE(prod.deploys.at(0).ended_at);
  EXPECT_FALSE(prod.busy.last_failure_at);
  ASSERT_TRUE(prod.lease);
  EXPECT_FALSE(prod.lease->run_id);
  ASSERT_TRUE(prod.freeze);
  EXPECT_FALSE(prod.freeze->until);
  const auto& other = parsed.states.at("other");
  EXPECT_FALSE(other.lease);
  EXPECT_FALSE(other.freeze);
  EXPECT_EQ(other.busy.consecutive_failures, 1);
  EXPECT_EQ(other.busy_runs_counted, (std::vector<RunRef>{{5, 1}}));
}

TEST(StateJson, FilesFromBeforeAttemptsReadAsFirstAttempts) {
  const auto parsed = parse_state(R"({"version": 1, "environments": {"prod": {
      "deploys": [{"key": "run:77", "started_at": "2025-12-31T19:03:58Z", "ended_at": null},
                  {"key": "lease:x", "started_at": "2025-12-31T19:03:58Z"},
                  {"key": "run:abc", "started_at": "2025-12-31T19:03:58Z"}],
      "busy": {"consecutive_failures": 1, "last_detail": ""},
      "busy_runs_counted": [77, {"run_id": 78, "attempt": 2}],
      "lease": {"id": "l", "holder": "h", "run_id": 77, "acquired_at": "2025-12-31T19:03:58Z",
                "expires_at": "2025-12-31T19:13:58Z"}}}})");
  ASSERT_TRUE(parsed.ok()) << all(parsed.errors);
  const auto& prod = parsed.states.at("prod");
  EXPECT_EQ(prod.deploys.at(0).key, "run:77/1");
  EXPECT_EQ(prod.deploys.at(0).run, (RunRef{77, 1}));
  EXPECT_EQ(prod.deploys.at(1).key, "lease:x");
  EXPECT_FALSE(prod.deploys.at(1).run);
  EXPECT_EQ(prod.deploys.at(2).key, "run:abc") << "not a run id: kept as it is";
  EXPECT_EQ(prod.busy_runs_counted, (std::vector<RunRef>{{77, 1}, {78, 2}}));
  EXPECT_FALSE(prod.lease->run_attempt);

  const auto bad = parse_state(R"({"version": 1, "environments": {"prod": {
      "deploys": [{"key": "run:1/0", "started_at": "2025-12-31T19:03:58Z", "run_id": 1, "run_attempt": 0}],
      "busy": {"consecutive_failures": 0, "last_detail": ""},
      "busy_runs_counted": [{"run_id": 1}]}}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(any_error_contains(bad.errors, "deploys[0].run_attempt: expected an attempt number >= 1")) << all(bad.errors);
  EXPECT_TRUE(any_error_contains(bad.errors, "busy_runs_counted[0]: missing key \"attempt\"")) << all(bad.errors);
}

TEST(StateJson, AcceptsHandEditedTimestampsWithOffsets) {
  const auto parsed = parse_state(R"({"version": 1, "environments": {"e": {
      "deploys": [{"key": "k", "started_at": "2025-12-31T21:03:58.123+02:00", "ended_at": null}],
      "busy": {"consecutive_failures": 0, "last_failure_at": null, "last_detail": ""},
      "busy_runs_counted": [], "lease": null, "freeze": null}}})");
  ASSERT_TRUE(parsed.ok()) << all(parsed.errors);
  EXPECT_EQ(parsed.states.at("e").deploys.at(0).started_at, at_ms(kT0));
}

TEST(StateJson, InvalidUtf8IsReplacedNotThrown) {
  EnvironmentStates states;
  states["prod"].busy.last_detail = std::string{"bad \xff\xfe byte"};
  states["prod"].freeze = Freeze{std::string{"\xc3"}, "x", at_ms(kT0), std::nullopt};
  const auto text = serialize_state(states);
  ASSERT_TRUE(text.ok()) << all(text.errors);
  const auto parsed = parse_state(text.text);
  ASSERT_TRUE(parsed.ok()) << all(parsed.errors);
  EXPECT_EQ(parsed.states.at("prod").busy.last_detail, "bad \xef\xbf\xbd\xef\xbf\xbd byte");
}

// ---- refusing to write what cannot be read back ---------------------------------------------

TEST(StateJson, SerializeRefusesUnloadableValues) {
  EnvironmentStates states = full_states();
  states["prod"].lease->expires_at = at_ms(253'402'300'800'000);  // year 10000
  states["staging"].busy.consecutive_failures = -1;
  states[""] = DurableEnvironmentState{};
  const auto text = serialize_state(states);
  ASSERT_FALSE(text.ok());
  EXPECT_TRUE(text.text.empty());
  EXPECT_TRUE(any_error_contains(text.errors, "environments.prod.lease.expires_at"))
      << all(text.errors);
  EXPECT_TRUE(any_error_contains(text.errors, "environments.staging.busy.consecutive_failures"))
      << all(text.errors);
  EXPECT_TRUE(any_error_contains(text.errors, "empty environment name")) << all(text.errors);
}

// ---- corrupt input ---------------------------------------------------------------------------

TEST(StateJson, EveryStrictPrefixIsAnErrorAndNeverACrash) {
  const auto text = serialize_state(full_states());
  ASSERT_TRUE(text.ok());
  for (std::size_t n = 0; n < text.text.size(); ++n) {
    const auto parsed = parse_state(std::string_view{text.text}.substr(0, n));
    ASSERT_FALSE(parsed.ok()) << "prefix of " << n << " bytes parsed as valid";
    EXPECT_TRUE(parsed.states.empty());
    ASSERT_FALSE(parsed.errors.empty());
  }
  EXPECT_TRUE(parse_state(text.text).ok());
}

TEST(StateJson, GarbageIsAnError) {
  for (const std::string& garbage :
       {std::string{}, std::string{"   "}, std::string{"null"}, std::string{"[]"},
        std::string{"\"state\""}, std::string{"42"}, std::string{"{"},
        std::string{"{\"version\": 1, \"environments\": {}} trailing"},
        std::string{"\x00\x01\x02\xff", 4}, std::string{"<html>502 Bad Gateway</html>"}}) {
    const auto parsed = parse_state(garbage);
    EXPECT_FALSE(parsed.ok()) << "accepted: " << garbage;
  }
}

TEST(StateJson, RandomBytesNeverCrash) {
  std::mt19937 rng(12345);  // fixed seed: reproducible
  const auto valid = serialize_state(full_states()).text;
  for (int round = 0; round < 2000; ++round) {
    std::string mutated = valid;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) {
      mutated[rng() % mutated.size()] = static_cast<char>(rng() % 256);
    }
    const auto parsed = parse_state(mutated);  // must return, valid or not
    if (!parsed.ok()) {
      EXPECT_TRUE(parsed.states.empty());
    }
  }
}

TEST(StateJson, WrongOrMissingVersionIsAnError) {
  for (const char* doc : {R"({"version": 2, "environments": {}})",
                          R"({"version": 0, "environments": {}})",
                          R"({"version": "1", "environments": {}})",
                          R"({"version": 1.0, "environments": {}})",
                          R"({"environments": {}})"}) {
    const auto parsed = parse_state(doc);
    ASSERT_FALSE(parsed.ok()) << doc;
    EXPECT_TRUE(any_error_contains(parsed.errors, "version")) << all(parsed.errors);
  }
}

TEST(StateJson, WrongShapeCollectsEveryErrorWithItsPath) {
  const auto parsed = parse_state(R"({"version": 1, "extra": true, "environments": {
    "prod": {
      "deploys": [{"key": 5, "started_at": "yesterday"}, 7],
      "busy": {"consecutive_failures": -2, "last_detail": "", "color": "red"},
      "busy_runs_counted": [1, 1.5, 18446744073709551615],
      "lease": {"id": "l", "holder": "h", "run_id": "9", "acquired_at": 0},
      "freeze": "yes"
    },
    "staging": []
  }})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_TRUE(parsed.states.empty());
  const auto& e = parsed.errors;
  for (const char* needle : {
           "unknown key \"extra\"",
           "environments.prod.deploys[0].key: expected a string",
           "environments.prod.deploys[0].started_at: expected an RFC 3339 timestamp, got "
           "\"yesterday\"",
           "environments.prod.deploys[1]: expected an object",
           "environments.prod.busy.consecutive_failures: expected a count",
           "environments.prod.busy: unknown key \"color\"",
           "environments.prod.busy_runs_counted[1]: expected an integer",
           "environments.prod.busy_runs_counted[2]: integer out of range",
           "environments.prod.lease.run_id: expected an integer",
           "environments.prod.lease.acquired_at: expected an RFC 3339 timestamp string",
           "environments.prod.lease: missing key \"expires_at\"",
           "environments.prod.freeze: expected an object",
           "environments.staging: expected an object",
       }) {
    EXPECT_TRUE(any_error_contains(e, needle)) << "no error containing: " << needle << "\n"
                                               << all(e);
  }
}

TEST(StateJson, MissingRequiredKeysAreErrors) {
  const auto parsed = parse_state(R"({"version": 1, "environments": {"prod": {}}})");
  ASSERT_FALSE(parsed.ok());
  for (const char* key : {"deploys", "busy", "busy_runs_counted"}) {
    EXPECT_TRUE(any_error_contains(parsed.errors,
                                   std::string{"environments.prod: missing key \""} + key))
        << all(parsed.errors);
  }
  EXPECT_FALSE(parse_state(R"({"version": 1})").ok());
}

// ---- webhook delivery ids --------------------------------------------------------------------

TEST(StateJson, RoundTripsWebhookDeliveryIdsInOrder) {
  const DeliveryIds ids{"72d3162e-cc78-11e3-81ab-4c9367dc0958", "d-2", "d-\"quoted\"\n"};
  const auto text = serialize_state(full_states(), ids);
  ASSERT_TRUE(text.ok()) << all(text.errors);
  EXPECT_EQ(nlohmann::json::parse(text.text)["webhook_deliveries"][0], ids[0]);
  const auto parsed = parse_state(text.text);
  ASSERT_TRUE(parsed.ok()) << all(parsed.errors);
  EXPECT_EQ(parsed.webhook_deliveries, ids);
  expect_same(full_states(), parsed.states);
}

TEST(StateJson, NoDeliveryIdsWritesNoKey) {
  const auto text = serialize_state(full_states());
  ASSERT_TRUE(text.ok());
  EXPECT_FALSE(nlohmann::json::parse(text.text).contains("webhook_deliveries"))
      << "a file without deliveries stays what older builds wrote and read";
}

TEST(StateJson, FilesFromBeforeDeliveryIdsStillLoad) {
  const auto parsed = parse_state(R"({"version": 1, "environments": {"prod": {
      "deploys": [], "busy": {"consecutive_failures": 0, "last_detail": ""},
      "busy_runs_counted": [], "lease": null, "freeze": null}}})");
  ASSERT_TRUE(parsed.ok()) << all(parsed.errors);
  EXPECT_TRUE(parsed.webhook_deliveries.empty());
  EXPECT_EQ(parsed.states.size(), 1u);
}

TEST(StateJson, MalformedDeliveryIdsAreErrorsWithTheirPath) {
  const auto parsed = parse_state(
      R"({"version": 1, "environments": {}, "webhook_deliveries": ["ok", 7, ""]})");
  EXPECT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.errors, (std::vector<std::string>{"webhook_deliveries[1]: expected a string, got number",
                                                     "webhook_deliveries[2]: empty delivery id"}));
  EXPECT_TRUE(parsed.webhook_deliveries.empty());
  const auto not_array = parse_state(R"({"version": 1, "environments": {}, "webhook_deliveries": {}})");
  EXPECT_EQ(not_array.errors, (std::vector<std::string>{"webhook_deliveries: expected an array, got object"}));
}

TEST(StateJson, SerializeRefusesAnEmptyDeliveryId) {
  const auto text = serialize_state({}, DeliveryIds{"d-1", ""});
  EXPECT_FALSE(text.ok());
  EXPECT_TRUE(text.text.empty());
}

}  // namespace
}  // namespace deployguard::state
