// Tests of the pure parts: FakeUpstream driven by hand-built requests and a fixed clock,
// scenario parsing, the demo scenario replay, and the small helpers.
#include "fake_upstream.hpp"
#include "scenario.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace deployguard::fake {
namespace {

using namespace std::chrono_literals;

const SystemTime kT0 = SystemTime{} + std::chrono::seconds(1'750'000'000);

Request make_request(http::verb method, const std::string& target, const std::string& body = {}) {
  Request req{method, target, 11};
  req.set(http::field::host, "fake.test");
  req.body() = body;
  req.prepare_payload();
  return req;
}

Json get_json(FakeUpstream& fake, const std::string& target, SystemTime now = kT0) {
  const Outcome out = fake.handle(make_request(http::verb::get, target), now);
  EXPECT_EQ(out.response.result_int(), 200u) << target << ": " << out.response.body();
  return Json::parse(out.response.body());
}

const std::string kApp =
    "/subscriptions/sub-1/resourceGroups/engram-rg/providers/Microsoft.App/containerApps/staging-env-api";
const std::string kDb =
    "/subscriptions/sub-1/resourceGroups/engram-rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/"
    "staging-env-db?api-version=2024-08-01";
const std::string kRuns = "/repos/zimaxnet/engram/actions/workflows/deploy.yml/runs?per_page=100";

TEST(Helpers, RelativeTimesResolveAgainstTheGivenClock) {
  EXPECT_EQ(resolve_time("now", kT0), format_iso8601_z(kT0));
  EXPECT_EQ(resolve_time("now-90s", kT0), format_iso8601_z(kT0 - 90s));
  EXPECT_EQ(resolve_time("now+2m", kT0), format_iso8601_z(kT0 + 120s));
  EXPECT_EQ(resolve_time("now-1h", kT0, true), format_iso8601_offset(kT0 - 1h));
  EXPECT_EQ(resolve_time("2024-01-01T00:00:00Z", kT0), "2024-01-01T00:00:00Z");
  EXPECT_EQ(resolve_time("nowhere", kT0), "nowhere");
  EXPECT_EQ(format_iso8601_z(kT0), "2025-06-15T15:06:40Z");
}

TEST(Helpers, EtagComparisonIsWeakAndAcceptsLists) {
  const std::string tag = content_etag("{\"a\":1}");
  EXPECT_EQ(tag.rfind("W/\"", 0), 0u);
  EXPECT_NE(tag, content_etag("{\"a\":2}"));
  EXPECT_TRUE(etag_matches(tag, tag));
  EXPECT_TRUE(etag_matches(tag.substr(2), tag));  // strong form of the same tag
  EXPECT_TRUE(etag_matches("\"other\", " + tag, tag));
  EXPECT_TRUE(etag_matches("*", tag));
  EXPECT_FALSE(etag_matches("\"other\"", tag));
  EXPECT_FALSE(etag_matches("", tag));
}

TEST(State, ValidationCollectsEveryErrorWithItsPath) {
  FakeUpstream fake(kT0);
  const Json bad = Json::parse(R"({
    "github": {"repos": {"no-slash": {"runs": [{"status": "queued"}]}}},
    "azure": {"revisions_page_size": 0, "container_apps": {"rg/app": {"traffic": [{"weight": 100}]}}},
    "bogus": 1
  })");
  try {
    fake.replace_state(bad, kT0);
    FAIL() << "expected ControlError";
  } catch (const ControlError& e) {
    const auto& errs = e.errors();
    auto has = [&](const std::string& needle) {
      return std::any_of(errs.begin(), errs.end(), [&](const std::string& s) { return s.find(needle) != std::string::npos; });
    };
    EXPECT_TRUE(has("$.bogus: unknown key"));
    EXPECT_TRUE(has("key must look like"));
    EXPECT_TRUE(has("runs[0].id: required integer"));
    EXPECT_TRUE(has("$.azure.revisions_page_size"));
    EXPECT_TRUE(has("needs revisionName or latestRevision"));
    EXPECT_EQ(errs.size(), 5u);
  }
}

TEST(State, LatestRevisionTrafficEntryCountsForTheLatestRevision) {
  FakeUpstream fake(kT0);
  fake.replace_state(Json::parse(R"({"azure": {"container_apps": {"engram-rg/staging-env-api": {
      "latestRevisionName": "r2",
      "revisions": [{"name": "r1"}, {"name": "r2"}],
      "traffic": [{"latestRevision": true, "weight": 75}, {"revisionName": "r1", "weight": 25}]}}}})"),
                     kT0);
  const Json list = get_json(fake, kApp + "/revisions?api-version=2025-07-01");
  ASSERT_EQ(list["value"].size(), 2u);
  EXPECT_EQ(list["value"][0]["properties"]["trafficWeight"], 25);
  EXPECT_EQ(list["value"][1]["properties"]["trafficWeight"], 75);
  EXPECT_FALSE(list.contains("nextLink"));
}

TEST(GitHub, ReRunKeepsTheIdAndServesEachAttemptWithItsJobs) {
  FakeUpstream fake(kT0);
  fake.replace_state(Json::parse(R"({"github": {"repos": {"o/r": {
      "workflows": [{"id": 5, "name": "Deploy", "path": ".github/workflows/deploy.yml"}],
      "runs": [{"id": 77, "status": "completed", "conclusion": "failure", "created_at": "now-10m",
                "jobs": [{"id": 701, "name": "deploy", "status": "completed", "conclusion": "failure"}]}]}}}})"),
                     kT0);
  fake.upsert_runs("o/r", Json::parse(R"({"runs": [{"id": 77, "run_attempt": 2, "status": "in_progress",
      "jobs": [{"id": 702, "name": "deploy", "status": "in_progress"}]}]})"), kT0 + 60s);

  const Json run = get_json(fake, "/repos/o/r/actions/runs/77");
  EXPECT_EQ(run["run_attempt"], 2);
  EXPECT_EQ(run["status"], "in_progress");
  EXPECT_EQ(run["run_started_at"], format_iso8601_z(kT0 + 60s));
  EXPECT_EQ(run["previous_attempt_url"], "http://fake.test/repos/o/r/actions/runs/77/attempts/1");

  const Json first = get_json(fake, "/repos/o/r/actions/runs/77/attempts/1");
  EXPECT_EQ(first["run_attempt"], 1);
  EXPECT_EQ(first["status"], "completed");
  EXPECT_EQ(first["conclusion"], "failure");
  const Json second = get_json(fake, "/repos/o/r/actions/runs/77/attempts/2");
  EXPECT_EQ(second["status"], "in_progress");
  EXPECT_EQ(first["previous_attempt_url"], nullptr);

  auto job_ids = [&](const std::string& target) {
    std::vector<std::int64_t> ids;
    const Json list = get_json(fake, target);
    for (const Json& job : list["jobs"]) ids.push_back(job["id"].get<std::int64_t>());
    return ids;
  };
  EXPECT_EQ(job_ids("/repos/o/r/actions/runs/77/attempts/1/jobs"), std::vector<std::int64_t>{701});
  EXPECT_EQ(job_ids("/repos/o/r/actions/runs/77/attempts/2/jobs"), std::vector<std::int64_t>{702});
  EXPECT_EQ(job_ids("/repos/o/r/actions/runs/77/jobs"), std::vector<std::int64_t>{702});
  EXPECT_EQ(job_ids("/repos/o/r/actions/runs/77/jobs?filter=all"), (std::vector<std::int64_t>{701, 702}));
  EXPECT_EQ(fake.handle(make_request(http::verb::get, "/repos/o/r/actions/runs/77/attempts/3"), kT0).response.result_int(),
            404u);
  EXPECT_EQ(fake.handle(make_request(http::verb::get, "/repos/o/r/actions/runs/77/attempts/0/jobs"), kT0)
                .response.result_int(),
            404u);
}

TEST(GitHub, RunsListFiltersByStatusOrConclusion) {
  FakeUpstream fake(kT0);
  fake.replace_state(Json::parse(R"({"github": {"repos": {"o/r": {
      "workflows": [{"id": 5, "name": "Deploy", "path": ".github/workflows/deploy.yml"}],
      "runs": [{"id": 1, "status": "in_progress", "created_at": "now-20m"},
               {"id": 2, "status": "completed", "conclusion": "success", "created_at": "now-10m"},
               {"id": 3, "status": "queued", "created_at": "now-5m"}]}}}})"),
                     kT0);
  auto ids = [&](const std::string& query) {
    std::vector<std::int64_t> out;
    const Json list = get_json(fake, "/repos/o/r/actions/workflows/deploy.yml/runs" + query);
    for (const Json& r : list["workflow_runs"])
      out.push_back(r["id"].get<std::int64_t>());
    return out;
  };
  EXPECT_EQ(ids("?status=in_progress"), std::vector<std::int64_t>{1});
  EXPECT_EQ(ids("?status=queued"), std::vector<std::int64_t>{3});
  EXPECT_EQ(ids("?status=success"), std::vector<std::int64_t>{2});
  EXPECT_EQ(ids("?per_page=1"), std::vector<std::int64_t>{3});
}

TEST(Scenario, RejectsUnknownKeysOutOfOrderStepsAndInvalidSets) {
  const Json doc = Json::parse(R"({
    "state": {},
    "timeline": [
      {"at_ms": 100, "set": {"postgres": {"rg/db": {"state": "Updating"}}}},
      {"at_ms": 50, "set": {}},
      {"at_ms": 200, "set": {"github_runs": {"o/r": [{"status": "queued"}]}}},
      {"at_ms": 300, "set": {"teleport": true}}
    ],
    "colour": "blue"
  })");
  const ScenarioResult r = parse_scenario(doc);
  EXPECT_FALSE(r.scenario);
  auto has = [&](const std::string& needle) {
    return std::any_of(r.errors.begin(), r.errors.end(),
                       [&](const std::string& s) { return s.find(needle) != std::string::npos; });
  };
  EXPECT_TRUE(has("$.colour: unknown key"));
  EXPECT_TRUE(has("$.timeline[1].at_ms: steps must be in time order"));
  // The dry run is skipped when the structure is already wrong; fix the order and retry.
  Json fixed = doc;
  fixed.erase("colour");
  fixed["timeline"][1]["at_ms"] = 150;
  const ScenarioResult r2 = parse_scenario(fixed);
  EXPECT_FALSE(r2.scenario);
  ASSERT_EQ(r2.errors.size(), 2u) << ::testing::PrintToString(r2.errors);
  EXPECT_NE(r2.errors[0].find("$.timeline[2]"), std::string::npos);
  EXPECT_NE(r2.errors[0].find("id: required integer"), std::string::npos);
  EXPECT_NE(r2.errors[1].find("$.timeline[3]"), std::string::npos);
  EXPECT_NE(r2.errors[1].find("teleport: unknown key"), std::string::npos);
}

// Replays scripts/demo-scenario.json step by step on a FakeUpstream and checks that what a
// poller would see matches the incident the demo is meant to show.
TEST(DemoScenario, ParsesAndReplaysTheIncident) {
  const ScenarioResult loaded = load_scenario_file(DEPLOYGUARD_DEMO_SCENARIO);
  ASSERT_TRUE(loaded.scenario) << ::testing::PrintToString(loaded.errors);
  const Scenario& sc = *loaded.scenario;
  ASSERT_GE(sc.timeline.size(), 5u);
  EXPECT_GE(sc.timeline.back().at, 60s);
  EXPECT_LE(sc.loop_after, 90s);

  FakeUpstream fake(kT0);
  fake.replace_state(sc.state, kT0);
  auto runs = [&] { return get_json(fake, kRuns)["workflow_runs"]; };
  auto db_state = [&] { return get_json(fake, kDb)["properties"]["state"].get<std::string>(); };
  auto app = [&] { return get_json(fake, kApp + "?api-version=2025-07-01"); };
  auto revisions = [&] { return get_json(fake, kApp + "/revisions?api-version=2025-07-01")["value"]; };
  auto count = [](const Json& list, auto pred) { return std::count_if(list.begin(), list.end(), pred); };
  auto active_weights = [&] {
    std::vector<int> w;
    for (const Json& r : revisions())
      if (r["properties"]["active"] == true) w.push_back(r["properties"]["trafficWeight"].get<int>());
    std::sort(w.begin(), w.end());
    return w;
  };

  // Quiet and healthy.
  ASSERT_EQ(runs().size(), 1u);
  EXPECT_EQ(runs()[0]["conclusion"], "success");
  EXPECT_GT(runs()[0]["id"].get<std::int64_t>(), std::int64_t{1} << 31);
  EXPECT_EQ(db_state(), "Ready");
  EXPECT_EQ(active_weights(), (std::vector<int>{100}));

  bool saw_deploy_in_progress = false;
  bool saw_second_deploy_while_db_updating = false;
  bool saw_split = false;
  SystemTime now = kT0;
  for (const ScenarioStep& step : sc.timeline) {
    now = kT0 + step.at;
    fake.apply_set(step.set, now);
    const Json list = runs();
    const auto in_progress = count(list, [](const Json& r) { return r["status"] == "in_progress"; });
    const auto succeeded = count(list, [](const Json& r) { return r["conclusion"] == "success"; });
    if (in_progress == 1 && succeeded == 1) saw_deploy_in_progress = true;
    if (in_progress == 1 && succeeded == 2 && db_state() == "Updating") saw_second_deploy_while_db_updating = true;
    if (active_weights() == std::vector<int>{50, 50}) saw_split = true;
  }
  EXPECT_TRUE(saw_deploy_in_progress);
  EXPECT_TRUE(saw_second_deploy_while_db_updating);
  EXPECT_TRUE(saw_split);

  // Two failed runs whose job logs carry the ServerIsBusy error.
  const Json final_runs = runs();
  int busy_failures = 0;
  for (const Json& run : final_runs) {
    EXPECT_EQ(run["status"], "completed");
    EXPECT_EQ(run["path"], ".github/workflows/deploy.yml");
    EXPECT_EQ(run["name"], "Deploy");
    if (run["conclusion"] != "failure") continue;
    const std::string id = std::to_string(run["id"].get<std::int64_t>());
    const Json jobs = get_json(fake, "/repos/zimaxnet/engram/actions/runs/" + id + "/jobs", now)["jobs"];
    ASSERT_EQ(jobs.size(), 1u);
    const std::string job_id = std::to_string(jobs[0]["id"].get<std::int64_t>());
    const Outcome redirect =
        fake.handle(make_request(http::verb::get, "/repos/zimaxnet/engram/actions/jobs/" + job_id + "/logs"), now);
    ASSERT_EQ(redirect.response.result_int(), 302u);
    const std::string location(redirect.response[http::field::location]);
    const std::string prefix = "http://fake.test";
    ASSERT_EQ(location.rfind(prefix, 0), 0u) << location;
    const Outcome log = fake.handle(make_request(http::verb::get, location.substr(prefix.size())), now);
    ASSERT_EQ(log.response.result_int(), 200u);
    if (log.response.body().find("ServerIsBusy: Cannot complete operation while server 'staging-env-db' is busy "
                                 "processing another operation") != std::string::npos)
      ++busy_failures;
  }
  EXPECT_EQ(busy_failures, 2);
  EXPECT_EQ(final_runs.size(), 4u);

  // Recovered: one revision with all traffic, the rest inactive, database ready.
  EXPECT_EQ(active_weights(), (std::vector<int>{100}));
  EXPECT_EQ(db_state(), "Ready");
  const Json traffic = app()["properties"]["configuration"]["ingress"]["traffic"];
  ASSERT_EQ(traffic.size(), 1u);
  EXPECT_EQ(traffic[0]["weight"], 100);
}

}  // namespace
}  // namespace deployguard::fake
