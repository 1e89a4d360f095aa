// Remediation end to end: the real deployguard binary against the fake GitHub/Azure
// upstream process, driven through the CLI. Assertions are on exit codes, the fake's request
// log and state, the daemon's verdict and the audit log.
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/daemon_config.hpp"
#include "common/daemon_process.hpp"
#include "common/test_http_client.hpp"

namespace deployguard::testing {
namespace {

const std::string kBinary = DEPLOYGUARD_BINARY;
const std::string kFakeUpstream = FAKE_UPSTREAM_BINARY;
const std::string kApiToken = "remediation-api-token";
using Json = nlohmann::json;

/// Traffic split 70/30 over two active, healthy revisions; two deploy runs still going, one
/// run of another workflow, one finished run.
Json split_state() {
  return Json::parse(R"({
    "github": {"repos": {"acme/shop": {
      "workflows": [{"id": 4242, "name": "Deploy", "path": ".github/workflows/deploy.yml", "state": "active"},
                    {"id": 4343, "name": "Lint", "path": ".github/workflows/lint.yml", "state": "active"}],
      "runs": [{"id": 9000000001, "workflow_id": 4242, "status": "completed", "conclusion": "success",
                "head_branch": "main", "created_at": "now-2h", "run_started_at": "now-2h", "updated_at": "now-119m"}]}}},
    "azure": {"container_apps": {"rg/shop-api": {
                "provisioningState": "Succeeded", "runningStatus": "Running", "activeRevisionsMode": "Multiple",
                "latestRevisionName": "shop-api--r2", "latestReadyRevisionName": "shop-api--r2",
                "revisions": [{"name": "shop-api--r1", "active": true, "createdTime": "now-3h", "healthState": "Healthy"},
                              {"name": "shop-api--r2", "active": true, "createdTime": "now-1h", "healthState": "Healthy"}],
                "traffic": [{"revisionName": "shop-api--r1", "weight": 70}, {"revisionName": "shop-api--r2", "weight": 30}]}},
              "postgres": {"rg/shop-db": {"state": "Ready"}}}})");
}

class RemediationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = DaemonProcess::spawn_ready(kFakeUpstream, dir_, {"--listen", "127.0.0.1:0"}, "fake");
    ASSERT_EQ(fake("PUT", "/_fake/state", split_state().dump()).result_int(), 200);
    const std::string base = "http://127.0.0.1:" + std::to_string(fake_->port());
    const auto arm_token = dir_.write("arm-token", "arm-test-token\n");
    const auto api_tokens = dir_.write("api-tokens", kApiToken + "\n");
    token_file_ = dir_.write("cli-token", kApiToken + "\n").string();
    const std::string config = daemon_config(
        dir_, {.server_extra = "  api_token_file: " + api_tokens.string() + "\n",
               .github_api_url = base,
               .github_token = "gh-test-token",
               .github_extra = "  poll_interval: 1h\n",
               .azure = "  arm_url: " + base + "\n  subscription_id: sub-1\n  poll_interval: 1h\n"
                        "  auth: { method: token_file, token_file: " + arm_token.string() + " }\n",
               .environments = "  staging:\n"
                               "    github: { repo: acme/shop, workflows: [deploy.yml], "
                               "branch: main }\n"
                               "    container_app: { resource_group: rg, name: shop-api }\n"
                               "    postgres_servers: [ { resource_group: rg, name: shop-db } ]\n"
                               "    min_interval: 14m\n    cooldown: 2m\n    stale_after: 2h\n"});
    daemon_ = DaemonProcess::start(kBinary, dir_, config);
    server_ = "http://127.0.0.1:" + std::to_string(daemon_->port());
    // Every source refreshed once. Neither verdict is safe (traffic split), so there is no
    // long-poll to wake on: a bounded readiness poll.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{15};
    for (;;) {
      auto ready = http_get(daemon_->host(), daemon_->port(), "/readyz");
      if (ready && ready->result_int() == 200) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "daemon never became ready";
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    ASSERT_EQ(fake("DELETE", "/_fake/requests").result_int(), 200);
  }

  void TearDown() override {
    if (HasFailure() && daemon_) ADD_FAILURE() << "daemon stderr:\n" << daemon_->stderr_text();
  }

  HttpResponse fake(const std::string& method, const std::string& target, const std::string& body = {}) {
    TestHttpClient client(fake_->host(), fake_->port());
    auto res = client.request(method, target, body.empty() ? "" : "Content-Type: application/json\r\n", body);
    if (!res) throw std::runtime_error("fake request failed: " + client.last_error());
    return *res;
  }

  std::size_t recorded(const std::string& method, const std::string& prefix = "/") {
    return Json::parse(fake("GET", "/_fake/requests?method=" + method + "&path_prefix=" + prefix).body())["count"]
        .get<std::size_t>();
  }

  CommandResult cli(std::vector<std::string> args) {
    args.insert(args.end(), {"--server", server_, "--token-file", token_file_});
    return run_command(kBinary, args, std::chrono::seconds{60});
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> fake_;
  std::unique_ptr<DaemonProcess> daemon_;
  std::string server_;
  std::string token_file_;
};

TEST_F(RemediationTest, DryRunPrintsThePlanWithoutAnyMutatingCall) {
  const auto result = cli({"stabilize", "--env", "staging"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("plan (dry run, nothing changed)"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("shop-api--r1 (proposed"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("shop-api--r1 70%, shop-api--r2 30%  ->  shop-api--r1 100%"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("deactivate: shop-api--r2"), std::string::npos) << result.out;
  EXPECT_EQ(recorded("PATCH") + recorded("POST") + recorded("PUT") + recorded("DELETE"), 0u);

  // --yes without --revision is refused by the CLI itself: nothing reaches the daemon.
  const auto no_revision = cli({"stabilize", "--env", "staging", "--yes"});
  EXPECT_EQ(no_revision.exit_code, 2);
  EXPECT_NE(no_revision.err.find("--yes needs --revision"), std::string::npos) << no_revision.err;
}

TEST_F(RemediationTest, StabilizeMovesTrafficDeactivatesTheRestAndIsAudited) {
  // The token is required.
  TestHttpClient client(daemon_->host(), daemon_->port());
  const auto anonymous = client.request("POST", "/v1/environments/staging/stabilize",
                                        "Content-Type: application/json\r\n", R"({"revision":"shop-api--r1"})");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->result_int(), 401);

  const auto result = cli({"stabilize", "--env", "staging", "--revision", "shop-api--r1", "--yes"});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("stabilize succeeded"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("now:        traffic shop-api--r1 100%; active shop-api--r1"), std::string::npos)
      << result.out;

  const auto app = Json::parse(fake("GET", "/_fake/state").body())["azure"]["container_apps"]["rg/shop-api"];
  EXPECT_EQ(app["traffic"], Json::parse(R"([{"revisionName":"shop-api--r1","weight":100}])"));
  EXPECT_EQ(app["revisions"][0]["active"], true);
  EXPECT_EQ(app["revisions"][1]["active"], false);
  EXPECT_EQ(recorded("PATCH"), 1u);
  EXPECT_EQ(recorded("POST", "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.App/containerApps/"
                             "shop-api/revisions/shop-api--r2/deactivate"),
            1u);
  EXPECT_EQ(recorded("POST"), 1u);  // nothing else was deactivated

  // The daemon took the fresh state: one revision, all traffic, nothing else blocks.
  EXPECT_EQ(http_get(daemon_->host(), daemon_->port(), "/can-deploy?env=staging")->result_int(), 200);

  const auto audit = read_file(dir_.path() / "audit.jsonl");
  EXPECT_NE(audit.find("\"action\":\"stabilize.start\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"action\":\"stabilize\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"actor\":\"token#"), std::string::npos) << audit;

  // A second stabilize on an unknown revision is refused (exit 1), without a mutating call.
  ASSERT_EQ(fake("DELETE", "/_fake/requests").result_int(), 200);
  const auto refused = cli({"stabilize", "--env", "staging", "--revision", "shop-api--r9", "--yes"});
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("has no revision"), std::string::npos) << refused.err;
  EXPECT_EQ(recorded("PATCH") + recorded("POST"), 0u);
}

TEST_F(RemediationTest, StopFreezesAndCancelsExactlyTheRunningDeploys) {
  ASSERT_EQ(fake("POST", "/_fake/github/acme/shop/runs", R"([
      {"id": 9000000101, "workflow_id": 4242, "status": "in_progress", "head_branch": "main", "created_at": "now-5m"},
      {"id": 9000000102, "workflow_id": 4242, "status": "queued", "head_branch": "main", "created_at": "now-1m"},
      {"id": 9000000103, "workflow_id": 4343, "status": "in_progress", "head_branch": "main", "created_at": "now-1m"},
      {"id": 9000000104, "workflow_id": 4242, "status": "in_progress", "head_branch": "release", "created_at": "now-1m"}])")
                .result_int(),
            200);
  const auto result = cli({"stop", "--env", "staging", "--reason", "incident 7", "--by", "alice"});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("staging: frozen (incident 7)"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("cancelled     run 9000000101"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("cancelled     run 9000000102"), std::string::npos) << result.out;

  EXPECT_EQ(recorded("POST"), 2u);
  EXPECT_EQ(recorded("POST", "/repos/acme/shop/actions/runs/9000000101/cancel"), 1u);
  EXPECT_EQ(recorded("POST", "/repos/acme/shop/actions/runs/9000000102/cancel"), 1u);
  const auto runs = Json::parse(fake("GET", "/_fake/state").body())["github"]["repos"]["acme/shop"]["runs"];
  for (const auto& run : runs) {
    const auto id = run["id"].get<std::int64_t>();
    const bool cancelled = run.value("conclusion", Json()).is_string() && run["conclusion"] == "cancelled";
    EXPECT_EQ(cancelled, id == 9000000101 || id == 9000000102) << run.dump();
  }

  const auto verdict = http_get(daemon_->host(), daemon_->port(), "/can-deploy?env=staging");
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->result_int(), 423);
  EXPECT_NE(verdict->body().find("incident 7"), std::string::npos) << verdict->body();
  const auto audit = read_file(dir_.path() / "audit.jsonl");
  EXPECT_NE(audit.find("\"action\":\"freeze.set\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"action\":\"stop\""), std::string::npos) << audit;
}

}  // namespace
}  // namespace deployguard::testing
