#include "scenario.hpp"

#include <fstream>
#include <sstream>

namespace deployguard::fake {

ScenarioResult parse_scenario(const Json& doc) {
  ScenarioResult result;
  auto& errors = result.errors;
  if (!doc.is_object()) {
    errors.push_back("$: expected an object");
    return result;
  }
  for (const auto& [key, value] : doc.items())
    if (key != "description" && key != "state" && key != "timeline" && key != "loop" && key != "loop_after_ms")
      errors.push_back("$." + key + ": unknown key");

  Scenario sc;
  if (doc.contains("description")) {
    if (doc["description"].is_string()) sc.description = doc["description"].get<std::string>();
    else errors.push_back("$.description: expected a string");
  }
  if (doc.contains("state")) sc.state = doc["state"];
  if (doc.contains("loop")) {
    if (doc["loop"].is_boolean()) sc.loop = doc["loop"].get<bool>();
    else errors.push_back("$.loop: expected a boolean");
  }
  std::chrono::milliseconds last{0};
  if (doc.contains("timeline")) {
    if (!doc["timeline"].is_array()) {
      errors.push_back("$.timeline: expected an array");
    } else {
      for (std::size_t i = 0; i < doc["timeline"].size(); ++i) {
        const Json& step = doc["timeline"][i];
        const std::string p = "$.timeline[" + std::to_string(i) + "]";
        if (!step.is_object()) {
          errors.push_back(p + ": expected an object");
          continue;
        }
        for (const auto& [key, value] : step.items())
          if (key != "at_ms" && key != "note" && key != "set") errors.push_back(p + "." + key + ": unknown key");
        ScenarioStep s;
        if (!step.contains("at_ms") || !step["at_ms"].is_number_integer() || step["at_ms"].get<long long>() < 0) {
          errors.push_back(p + ".at_ms: required non-negative integer");
        } else {
          s.at = std::chrono::milliseconds(step["at_ms"].get<long long>());
          if (s.at < last) errors.push_back(p + ".at_ms: steps must be in time order");
          last = s.at;
        }
        if (step.contains("note") && step["note"].is_string()) s.note = step["note"].get<std::string>();
        if (!step.contains("set") || !step["set"].is_object()) errors.push_back(p + ".set: required object");
        else s.set = step["set"];
        sc.timeline.push_back(std::move(s));
      }
    }
  }
  sc.loop_after = last + std::chrono::milliseconds(1000);
  if (doc.contains("loop_after_ms")) {
    if (!doc["loop_after_ms"].is_number_integer() || doc["loop_after_ms"].get<long long>() <= last.count())
      errors.push_back("$.loop_after_ms: must be an integer greater than the last at_ms");
    else
      sc.loop_after = std::chrono::milliseconds(doc["loop_after_ms"].get<long long>());
  }
  if (!errors.empty()) return result;

  // Dry run.
  const auto now = std::chrono::system_clock::now();
  FakeUpstream scratch(now);
  try {
    scratch.replace_state(sc.state, now);
  } catch (const ControlError& e) {
    for (const auto& msg : e.errors()) errors.push_back("$.state: " + msg);
  }
  for (std::size_t i = 0; i < sc.timeline.size(); ++i) {
    try {
      scratch.apply_set(sc.timeline[i].set, now);
    } catch (const ControlError& e) {
      for (const auto& msg : e.errors()) errors.push_back("$.timeline[" + std::to_string(i) + "]: " + msg);
    }
  }
  if (errors.empty()) result.scenario = std::move(sc);
  return result;
}

ScenarioResult load_scenario_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return ScenarioResult{std::nullopt, {path + ": cannot open"}};
  std::stringstream ss;
  ss << in.rdbuf();
  Json doc;
  try {
    doc = Json::parse(ss.str());
  } catch (const Json::parse_error& e) {
    return ScenarioResult{std::nullopt, {path + ": " + e.what()}};
  }
  ScenarioResult r = parse_scenario(doc);
  for (auto& msg : r.errors) msg = path + ": " + msg;
  return r;
}

}  // namespace deployguard::fake
