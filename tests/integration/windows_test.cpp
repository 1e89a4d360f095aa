// Freeze windows and break-glass overrides through the real binary, against the fake upstream
// (a second process) for GitHub.
#include <chrono>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <date/date.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/daemon_config.hpp"
#include "common/daemon_process.hpp"
#include "common/temp_dir.hpp"
#include "common/test_http_client.hpp"

namespace deployguard::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

const std::string kBinary = DEPLOYGUARD_BINARY;
const std::string kFakeUpstream = FAKE_UPSTREAM_BINARY;

/// GitHub with one deploy: `started`/`ended` are the fake's relative times ("now-2h").
Json github_with_deploy(const std::string& started, const std::string& ended) {
  return Json::parse(R"({"github": {"repos": {"acme/shop": {
      "workflows": [{"id": 4242, "name": "Deploy", "path": ".github/workflows/deploy.yml", "state": "active"}],
      "runs": [{"id": 9000000001, "workflow_id": 4242, "status": "completed", "conclusion": "success",
                "head_branch": "main", "created_at": ")" + started + R"(", "run_started_at": ")" + started +
                     R"(", "updated_at": ")" + ended + R"("}]}}}})");
}

/// A local date-time in UTC, `offset` from now, as freeze_windows' from/until take it.
std::string utc_local(std::chrono::seconds offset) {
  const auto t = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now() + offset);
  return date::format("%Y-%m-%dT%H:%M:%S", t);
}

class WindowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("GITHUB_RUN_ID");
    ::unsetenv("GITHUB_RUN_ATTEMPT");
  }
  void TearDown() override {
    if (HasFailure() && daemon_) ADD_FAILURE() << "daemon stderr:\n" << daemon_->stderr_text();
    if (HasFailure() && fake_) ADD_FAILURE() << "fake stderr:\n" << fake_->stderr_text();
  }

  void start(const Json& github, const std::string& environment_extra) {
    fake_ = DaemonProcess::spawn_ready(kFakeUpstream, dir_, {"--listen", "127.0.0.1:0"}, "fake");
    TestHttpClient fake(fake_->host(), fake_->port());
    const auto res = fake.request("PUT", "/_fake/state", "Content-Type: application/json\r\n", github.dump());
    ASSERT_TRUE(res && res->result_int() == 200) << (res ? res->body() : fake.last_error());
    const std::string environments =
        "  staging:\n"
        "    github: { repo: acme/shop, workflows: [deploy.yml], branch: main }\n"
        "    min_interval: 14m\n    cooldown: 2m\n    stale_after: 2h\n" +
        environment_extra;
    daemon_ = DaemonProcess::start(
        kBinary, dir_,
        daemon_config(dir_, {.github_api_url = "http://127.0.0.1:" + std::to_string(fake_->port()),
                             .github_token = "gh-test-token",
                             .github_extra = "  poll_interval: 1h\n",
                             .environments = environments}));
  }

  HttpResponse call(const std::string& method, const std::string& target, const std::string& body = "") {
    TestHttpClient c(daemon_->host(), daemon_->port());
    auto res = c.request(method, target, body.empty() ? "" : "Content-Type: application/json\r\n", body);
    if (!res) ADD_FAILURE() << method << " " << target << ": " << c.last_error();
    return res.value_or(HttpResponse{});
  }

  /// GitHub polled once. The environment is blocked on purpose in these tests, so there is no
  /// verdict change to long-poll for: a bounded readiness poll, as in remediation_test.cpp.
  void wait_ready() {
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    for (;;) {
      if (call("GET", "/readyz").result_int() == 200) return;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "daemon never became ready";
      std::this_thread::sleep_for(50ms);
    }
  }

  CommandResult cli(std::vector<std::string> args) {
    args.insert(args.end(), {"--server", "http://127.0.0.1:" + std::to_string(daemon_->port())});
    return run_command(kBinary, args, 30s);
  }

  std::string audit_log() const { return read_file(dir_.path() / "audit.jsonl"); }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> fake_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(WindowsTest, AWindowInForceBlocksAndLapsesByItself) {
  // A one-off window that ends a few seconds from now, next to a recurring one far away.
  const std::string until = utc_local(4s);
  start(github_with_deploy("now-2h", "now-119m"),
        "    freeze_windows:\n"
        "      - { name: release, from: \"" + utc_local(-60s) + "\", until: \"" + until + "\" }\n"
        "      - { name: new-year, cron: \"0 0 1 1 *\", duration: 24h, time_zone: Europe/Berlin }\n");
  wait_ready();
  const auto blocked = call("GET", "/can-deploy?env=staging");
  ASSERT_EQ(blocked.result_int(), 423) << blocked.body();
  const auto body = Json::parse(blocked.body());
  ASSERT_EQ(body["reasons"].size(), 1u) << blocked.body();
  EXPECT_EQ(body["reasons"][0]["code"], "freeze_window");
  EXPECT_EQ(body["reasons"][0]["until"], until + "Z");
  EXPECT_NE(body["reasons"][0]["message"].get<std::string>().find("freeze window \"release\""), std::string::npos);

  const auto status = Json::parse(call("GET", "/v1/environments/staging").body());
  EXPECT_EQ(status["freeze_windows"]["current"]["windows"][0]["name"], "release");
  EXPECT_EQ(status["freeze_windows"]["current"]["until"], until + "Z");
  EXPECT_EQ(status["freeze_windows"]["next"]["name"], "new-year");
  EXPECT_EQ(status["freeze_windows"]["next"]["schedule"], "cron \"0 0 1 1 *\" for 24h, Europe/Berlin");

  const auto listed = cli({"windows", "--env", "staging", "--days", "366"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("staging: in freeze window release until " + until + "Z"), std::string::npos)
      << listed.out;
  EXPECT_NE(listed.out.find("new-year"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("T23:00:00Z"), std::string::npos) << listed.out;  // midnight in Berlin

  // Nobody changes anything: the daemon's own deadline timer ends the window.
  const auto t0 = std::chrono::steady_clock::now();
  const auto safe = call("GET", "/can-deploy?env=staging&wait=20");
  ASSERT_EQ(safe.result_int(), 200) << safe.body();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 15s);
  EXPECT_EQ(Json::parse(call("GET", "/v1/environments/staging").body())["freeze_windows"]["current"], nullptr);
}

TEST_F(WindowsTest, CheckConfigRejectsABadWindowWithItsPath) {
  const auto file = dir_.path() / "bad.yaml";
  write_file(file,
             "github: { token_env: GITHUB_TOKEN }\n"
             "environments:\n"
             "  staging:\n"
             "    github: { repo: acme/shop, workflows: [deploy.yml] }\n"
             "    freeze_windows:\n"
             "      - { name: ok, cron: \"0 20 * * 1-5\", duration: 12h, time_zone: Europe/Berlin }\n"
             "      - { name: bad, cron: \"0 20 * * 1-8\", duration: 12h, time_zone: Europe/Berlin }\n");
  const auto r = run_command(kBinary, {"check-config", file.string()}, 30s);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("environments.staging.freeze_windows[1].cron: day of week field \"1-8\""),
            std::string::npos)
      << r.out << r.err;
}

TEST_F(WindowsTest, AnOverrideLetsExactlyOneDeploySkipTheCooldownAndIsAudited) {
  // The last deploy started 5 minutes ago and ended 1 minute ago: min_interval and cooldown block.
  start(github_with_deploy("now-5m", "now-1m"), "");
  wait_ready();
  const std::string lease_body = R"({"holder":"hotfix","ttl":"10m"})";
  const auto refused = call("POST", "/v1/environments/staging/lease", lease_body);
  ASSERT_EQ(refused.result_int(), 423) << refused.body();
  EXPECT_EQ(Json::parse(refused.body())["reasons"][0]["code"], "cooldown");

  // What protects the platform cannot be skipped, and an unknown rule is a bad request.
  const auto platform = call("POST", "/v1/environments/staging/override",
                             R"({"reason":"r","skip":["cooldown","server_busy"]})");
  EXPECT_EQ(platform.result_int(), 422) << platform.body();
  EXPECT_EQ(Json::parse(platform.body())["error"]["code"], "not_skippable");
  EXPECT_EQ(call("POST", "/v1/environments/staging/override", R"({"reason":"r","skip":["nap"]})").result_int(), 400);

  const auto created = cli({"override", "--env", "staging", "--reason", "INC-42 hotfix", "--by", "alice",
                            "--skip", "cooldown", "--skip", "min_interval", "--ttl", "10m"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_NE(created.out.find("skip cooldown, min_interval"), std::string::npos) << created.out;
  const auto pending = Json::parse(call("GET", "/v1/environments/staging").body())["override"];
  EXPECT_EQ(pending["reason"], "INC-42 hotfix");
  EXPECT_EQ(pending["by"], "alice");
  // /can-deploy still tells everyone the truth.
  EXPECT_EQ(call("GET", "/can-deploy?env=staging").result_int(), 423);

  const auto granted = call("POST", "/v1/environments/staging/lease", lease_body);
  ASSERT_EQ(granted.result_int(), 201) << granted.body();
  const std::string lease = Json::parse(granted.body())["lease_id"];
  EXPECT_EQ(Json::parse(call("GET", "/v1/environments/staging").body())["override"], nullptr);
  ASSERT_EQ(call("DELETE", "/v1/environments/staging/lease/" + lease).result_int(), 204);
  // Exactly one: the next deploy waits for the cooldown again.
  const auto again = call("POST", "/v1/environments/staging/lease", lease_body);
  ASSERT_EQ(again.result_int(), 423) << again.body();
  EXPECT_EQ(Json::parse(again.body())["reasons"][0]["code"], "cooldown");

  // Audited: who asked, why, what it skipped and which lease it let through.
  bool saw_create = false;
  bool saw_use = false;
  std::istringstream lines(audit_log());
  for (std::string line; std::getline(lines, line);) {
    const auto record = Json::parse(line);
    if (record["action"] == "override.create") {
      saw_create = true;
      EXPECT_EQ(record["new"]["reason"], "INC-42 hotfix");
      EXPECT_EQ(record["new"]["skip"], Json::array({"cooldown", "min_interval"}));
    }
    if (record["action"] == "override.use") {
      saw_use = true;
      EXPECT_EQ(record["detail"]["lease"], lease);
      EXPECT_EQ(record["detail"]["skipped"], Json::array({"cooldown"}));
      EXPECT_EQ(record["old"]["by"], "alice");
    }
  }
  EXPECT_TRUE(saw_create) << audit_log();
  EXPECT_TRUE(saw_use) << audit_log();
  const auto metrics = call("GET", "/metrics").body();
  EXPECT_NE(metrics.find(R"(deployguard_overrides_total{environment="staging",event="created"} 1)"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(R"(deployguard_overrides_total{environment="staging",event="used"} 1)"), std::string::npos);
  EXPECT_NE(metrics.find(R"(deployguard_override_pending{environment="staging"} 0)"), std::string::npos);
}

}  // namespace
}  // namespace deployguard::testing
