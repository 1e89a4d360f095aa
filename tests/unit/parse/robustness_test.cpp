// Hostile and damaged input: every parser must answer with a value or an error, never crash,
// never throw, never echo input values in its messages.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixture_registry.hpp"
#include "fixtures.hpp"
#include "parse/azure.hpp"
#include "parse/github.hpp"

namespace deployguard::parse::test {
namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

const FixtureCase& find_case(std::string_view path) {
  for (const auto& c : json_fixtures())
    if (c.path == path) return c;
  throw std::runtime_error("no such fixture case");
}

// Every strict prefix of a JSON document is invalid JSON, so each must be an error.
void expect_every_prefix_fails(const FixtureCase& c) {
  const std::string body = trimmed(body_for(c));
  ASSERT_FALSE(body.empty());
  const std::size_t first = c.parser == Parser::RevisionActionResult ? 1 : 0;  // "" means no body
  for (std::size_t n = first; n < body.size(); ++n) {
    const auto result = run_parser(c, std::string_view(body).substr(0, n));
    ASSERT_FALSE(result.ok) << c.path << " prefix of " << n << " bytes was accepted";
    ASSERT_FALSE(result.error_text.empty());
  }
  EXPECT_EQ(run_parser(c, body).ok, c.expect_ok);
}

TEST(Truncation, EveryPrefixOfSelectedFixturesIsAnError) {
  for (const char* path : {
           "recorded/github/workflow-job.single.2025.json",
           "github/ping/with-organization.payload.json",
           "recorded/azure/containerapp.get.multiple-mode.traffic-50-50.json",
           "recorded/azure/containerapp-revisions.list.Failed-and-Activating.json",
           "recorded/azure/containerapp-revision.deactivate.200.json",
           "azure/constructed/arm-error-ServerBusy.nested-deployment.json",
           "recorded/azure/containerapp-operation-status.InProgress.json",
           "recorded/azure/postgres-flexible.get.Ready-ha-Healthy.json",
       }) {
    SCOPED_TRACE(path);
    expect_every_prefix_fails(find_case(path));
  }
}

TEST(Truncation, SampledPrefixesOfEveryFixtureAreErrors) {
  for (const auto& c : json_fixtures()) {
    SCOPED_TRACE(c.path);
    const std::string body = trimmed(body_for(c));
    if (body.empty()) continue;
    const std::size_t step = std::max<std::size_t>(1, body.size() / 97);
    for (std::size_t n = 1; n < body.size(); n += step) {
      ASSERT_FALSE(run_parser(c, std::string_view(body).substr(0, n)).ok) << "prefix " << n;
    }
  }
}

TEST(Truncation, TokenResponsePrefixes) {
  const std::string body =
      R"({"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOi"})";
  for (std::size_t n = 0; n < body.size(); ++n) {
    const auto r = parse_token_response(std::string_view(body).substr(0, n), TimePoint{});
    ASSERT_FALSE(r.ok()) << n;
    ASSERT_EQ(r.error_text().find("eyJ0eXAi"), std::string::npos) << r.error_text();
  }
  EXPECT_TRUE(parse_token_response(body, TimePoint{}).ok());
}

TEST(Malformed, GarbageAndWrongRootTypesForEveryParser) {
  const std::vector<std::string> inputs = {
      "", " ", "{", "}", "[", "nul", "{\"a\":}", "{\"a\" 1}", "{'a':1}", "{} {}", "\"\xff\xfe\"",
      "\xef\xbb\xbf{", "NaN", "1e99999", "-", "[1,]", std::string("{\"a\":\"\0\"}", 9),
      "[]", "1", "true", "null", "\"text\"", "[{}]", "12345678901234567890123456789",
  };
  for (const auto& c : json_fixtures()) {
    for (const auto& in : inputs) {
      SCOPED_TRACE(std::string(c.path) + " <- " + in);
      const auto r = run_parser(c, in);
      // Only a revision action may be blank, null or a string; nothing else accepts these.
      if (c.parser == Parser::RevisionActionResult) {
        const bool acceptable = in.empty() || in == " " || in == "null" || in == "\"text\"";
        EXPECT_EQ(r.ok, acceptable) << r.error_text;
      } else {
        EXPECT_FALSE(r.ok);
      }
      if (!r.ok) {
        EXPECT_FALSE(r.error_text.empty());
      }
    }
  }
}

TEST(Malformed, DeepNestingDoesNotOverflowTheStack) {
  const std::size_t depth = 100000;
  const std::string arrays = std::string(depth, '[') + std::string(depth, ']');
  std::string objects;
  for (std::size_t i = 0; i < depth; ++i) objects += "{\"error\":";
  objects += "1" + std::string(depth, '}');
  std::set<Parser> done;  // once per parser: these documents are large
  for (const auto& c : json_fixtures()) {
    if (!done.insert(c.parser).second) continue;
    EXPECT_FALSE(run_parser(c, arrays).ok) << c.path;
    EXPECT_FALSE(run_parser(c, objects).ok) << c.path;
  }
  // Deeply nested but valid ARM details: read up to the recursion bound, not beyond.
  std::string valid = "{\"error\":{\"code\":\"top\",\"details\":";
  std::string closing;
  for (int i = 0; i < 5000; ++i) {
    valid += "[{\"code\":\"d\",\"details\":";
    closing += "}]";
  }
  valid += "[]" + closing + "}}";
  auto err = parse_arm_error(valid);
  ASSERT_TRUE(err.ok()) << err.error_text();
  EXPECT_EQ(err->details.size(), static_cast<std::size_t>(kMaxArmErrorDepth));
}

// Replace nodes of every fixture with values of other types; no crash, and messages never echo
// the substituted value.
void collect_pointers(const nlohmann::json& j, const nlohmann::json::json_pointer& at, int depth,
                      std::vector<nlohmann::json::json_pointer>& out) {
  out.push_back(at);
  if (depth == 0) return;
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) collect_pointers(v, at / k, depth - 1, out);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size() && i < 3; ++i) collect_pointers(j[i], at / i, depth - 1, out);
  }
}

TEST(Mutation, TypeSubstitutionAtEveryNodeNeverCrashes) {
  const std::vector<nlohmann::json> replacements = {
      nullptr, 0, -1, 1.5, 1e300, "SENTINEL_VALUE", nlohmann::json::array(), nlohmann::json::object(),
      true, nlohmann::json::parse("18446744073709551615"), "-99999999999999999999",
  };
  std::size_t parsed = 0, rejected = 0;
  for (const auto& c : json_fixtures()) {
    const std::string body = body_for(c);
    if (body.empty()) continue;
    const auto doc = nlohmann::json::parse(body);
    std::vector<nlohmann::json::json_pointer> pointers;
    collect_pointers(doc, nlohmann::json::json_pointer{}, 4, pointers);
    // Sample the nodes evenly; all of them would make this the slowest test by far.
    const std::size_t step = std::max<std::size_t>(1, pointers.size() / 30);
    nlohmann::json mutated = doc;
    for (std::size_t i = 0; i < pointers.size(); i += step) {
      const nlohmann::json original = mutated[pointers[i]];
      for (const auto& value : replacements) {
        mutated[pointers[i]] = value;
        const auto r = run_parser(c, mutated.dump());
        (r.ok ? parsed : rejected)++;
        if (!r.ok) {
          ASSERT_FALSE(r.error_text.empty());
          ASSERT_EQ(r.error_text.find("SENTINEL_VALUE"), std::string::npos)
              << c.path << " " << pointers[i].to_string() << ": " << r.error_text;
        }
      }
      mutated[pointers[i]] = original;
    }
  }
  // Both outcomes must occur, or the sweep is not exercising anything.
  EXPECT_GT(parsed, 100u);
  EXPECT_GT(rejected, 100u);
}

TEST(Mutation, RandomByteFlipsNeverCrash) {
  std::mt19937 rng(20250101);  // fixed seed: reproducible
  std::size_t ok = 0, failed = 0;
  for (const auto& c : json_fixtures()) {
    const std::string body = body_for(c);
    if (body.empty()) continue;
    for (int round = 0; round < 30; ++round) {
      std::string mutated = body;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) mutated[rng() % mutated.size()] = static_cast<char>(rng() % 256);
      const auto r = run_parser(c, mutated);
      (r.ok ? ok : failed)++;
      if (!r.ok) {
        ASSERT_FALSE(r.error_text.empty());
      }
    }
  }
  EXPECT_GT(failed, 0u);
}

TEST(Mutation, UnknownEnumValuesAreKeptNotRejected) {
  auto run = nlohmann::json::parse(read_fixture("recorded/github/workflow-run.in_progress.json"));
  run["status"] = "hibernating";
  run["conclusion"] = "exploded";
  auto parsed = parse_workflow_run(run);
  ASSERT_TRUE(parsed.ok()) << parsed.error_text();
  EXPECT_EQ(parsed->status, RunStatus::Unknown);
  EXPECT_EQ(parsed->status_text, "hibernating");
  EXPECT_EQ(parsed->conclusion, RunConclusion::Unknown);
  EXPECT_EQ(parsed->conclusion_text, "exploded");

  auto rev = nlohmann::json::parse(read_fixture("recorded/azure/containerapp-revision.get.inactive-Stopped-trafficWeight-75.json"));
  rev["properties"]["runningState"] = "Hibernating";
  rev["properties"]["healthState"] = "SortOf";
  auto r = parse_revision(rev);
  ASSERT_TRUE(r.ok()) << r.error_text();
  EXPECT_EQ(r->running_state, "Hibernating");
  EXPECT_EQ(r->health_state, "SortOf");
}

}  // namespace
}  // namespace deployguard::parse::test
