// Scenario files: an initial state plus a timeline of control "set" steps applied by timers
// relative to the moment the fake starts. See README.md for the format.
#pragma once

#include "fake_upstream.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace deployguard::fake {

struct ScenarioStep {
  std::chrono::milliseconds at{0};
  std::string note;
  Json set;  // same keys as POST /_fake/set
};

struct Scenario {
  std::string description;
  Json state = Json::object();  // same shape as PUT /_fake/state
  std::vector<ScenarioStep> timeline;
  bool loop = false;
  std::chrono::milliseconds loop_after{0};  // timeline period when looping
};

struct ScenarioResult {
  std::optional<Scenario> scenario;  // set only when `errors` is empty
  std::vector<std::string> errors;   // every problem, each prefixed with its JSON path
};

// Parses the document and dry-runs it (initial state and every step in order) on a scratch
// FakeUpstream, so a step that would fail at minute 1 of a demo fails at startup instead.
ScenarioResult parse_scenario(const Json& doc);
ScenarioResult load_scenario_file(const std::string& path);

}  // namespace deployguard::fake
