// End to end through real processes: the deployguard binary polls the fake GitHub/Azure upstream
// (tests/fake_upstream) over loopback, and GitHub webhooks change its answer before any poll
// could have run.
#include <cstdlib>
#include <csignal>
#include <functional>
#include <set>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/daemon_config.hpp"
#include "common/daemon_process.hpp"
#include "common/test_http_client.hpp"
#include "core/time.hpp"
#include "webhook/signature.hpp"

namespace deployguard::testing {
namespace {

const std::string kBinary = DEPLOYGUARD_BINARY;
const std::string kFakeUpstream = FAKE_UPSTREAM_BINARY;
const std::string kWebhookSecret = "integration-webhook-secret";
using Json = nlohmann::json;

/// A quiet, healthy world: one old successful deploy, one revision with all traffic, db Ready.
Json quiet_state() {
  return Json::parse(R"({
    "github": {"repos": {"acme/shop": {
      "workflows": [{"id": 4242, "name": "Deploy", "path": ".github/workflows/deploy.yml", "state": "active"}],
      "runs": [{"id": 9000000001, "workflow_id": 4242, "status": "completed", "conclusion": "success",
                "head_branch": "main", "created_at": "now-2h", "run_started_at": "now-2h", "updated_at": "now-119m"}]}}},
    "azure": {"container_apps": {"rg/shop-api": {
                "provisioningState": "Succeeded", "runningStatus": "Running", "activeRevisionsMode": "Multiple",
                "latestRevisionName": "shop-api--r1", "latestReadyRevisionName": "shop-api--r1",
                "revisions": [{"name": "shop-api--r1", "active": true, "createdTime": "now-2h", "image": "acme/shop:1"}],
                "traffic": [{"revisionName": "shop-api--r1", "weight": 100}]}},
              "postgres": {"rg/shop-db": {"state": "Ready"}}}})");
}

class UpstreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = DaemonProcess::spawn_ready(kFakeUpstream, dir_, {"--listen", "127.0.0.1:0"}, "fake");
    TestHttpClient fake(fake_->host(), fake_->port());
    const auto res = fake.request("PUT", "/_fake/state", "Content-Type: application/json\r\n",
                                  quiet_state().dump());
    ASSERT_TRUE(res && res->result_int() == 200) << (res ? res->body() : fake.last_error());
  }

  /// `azure_auth`: the value of azure.auth; empty means a token file holding "arm-test-token".
  /// `extra`: more top-level YAML (e.g. a log section).
  void start_daemon(const std::string& github_poll = "1h", std::string azure_auth = "",
                    const std::string& extra = "") {
    const std::string base = "http://127.0.0.1:" + std::to_string(fake_->port());
    const auto arm_token = dir_.write("arm-token", "arm-test-token\n");
    const auto secret = dir_.write("webhook-secret", kWebhookSecret + "\n");
    if (azure_auth.empty())
      azure_auth = "{ method: token_file, token_file: " + arm_token.string() + " }";
    config_ = daemon_config(
        dir_, {.github_api_url = base,
               .github_token = "gh-test-token",
               .github_extra = "  webhook_secret_file: " + secret.string() +
                               "\n  poll_interval: " + github_poll + "\n",
               .azure = "  arm_url: " + base + "\n  subscription_id: sub-1\n  poll_interval: 1h\n"
                        "  auth: " + azure_auth + "\n",
               .environments = "  staging:\n"
                               "    github: { repo: acme/shop, workflows: [deploy.yml], "
                               "branch: main }\n"
                               "    container_app: { resource_group: rg, name: shop-api }\n"
                               "    postgres_servers: [ { resource_group: rg, name: shop-db } ]\n"
                               "    min_interval: 14m\n    cooldown: 2m\n    stale_after: 2h\n",
               .top_extra = extra});
    daemon_ = DaemonProcess::start(kBinary, dir_, config_);
  }

  /// Waits (on the fake, up to 10 s) until `count` requests whose path starts with `path` have
  /// been answered.
  void wait_for_requests(const std::string& path, int count) {
    TestHttpClient fake(fake_->host(), fake_->port());
    ASSERT_TRUE(fake.send_request("GET", "/_fake/wait?request_count=" + std::to_string(count) +
                                             "&path_prefix=" + path + "&timeout_ms=10000"));
    const auto res = fake.read_response(12s);
    ASSERT_TRUE(res) << fake.last_error();
    ASSERT_EQ(res->result_int(), 200) << count << " requests to " << path << " not seen";
  }

  /// SIGHUP with a config that adds environment `qa` (watching staging's database only), and
  /// waits until the reload has happened: the rebuilt pollers poll that database again (the
  /// second request to it; the first was at start-up and the next scheduled one is 1 h away).
  void reload_adding_qa() {
    dir_.write("config.yaml", config_ + "  qa:\n"
                                        "    postgres_servers: [ { resource_group: rg, name: shop-db } ]\n");
    ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
    wait_for_requests(kDatabasePath, 2);
  }

  /// Recorded requests whose path starts with `path`, oldest first.
  Json requests_to(const std::string& path) {
    TestHttpClient fake(fake_->host(), fake_->port());
    const auto res = fake.request("GET", "/_fake/requests?path_prefix=" + path);
    EXPECT_TRUE(res) << fake.last_error();
    return res ? Json::parse(res->body()).at("requests") : Json::array();
  }

  /// Long-polls /can-deploy until the daemon has refreshed every source and says safe.
  std::optional<HttpResponse> wait_safe() {
    TestHttpClient client(daemon_->host(), daemon_->port());
    client.send_request("GET", "/can-deploy?env=staging&wait=20");
    return client.read_response(25s);
  }

  std::optional<HttpResponse> deliver(const std::string& event, const std::string& body,
                                      const std::string& delivery, const std::string& secret) {
    TestHttpClient client(daemon_->host(), daemon_->port());
    const std::string headers = "Content-Type: application/json\r\nX-GitHub-Event: " + event +
                                "\r\nX-GitHub-Delivery: " + delivery +
                                "\r\nX-Hub-Signature-256: sha256=" +
                                webhook::hmac_sha256_hex(secret, body) + "\r\n";
    return client.request("POST", "/webhooks/github", headers, body);
  }

  /// Scripts the fake: POST /_fake/PATH with `body`.
  void script(const std::string& path, const Json& body) {
    TestHttpClient fake(fake_->host(), fake_->port());
    const auto res = fake.request("POST", "/_fake/" + path, "Content-Type: application/json\r\n",
                                  body.dump());
    ASSERT_TRUE(res && res->result_int() == 200) << path << ": " << (res ? res->body() : fake.last_error());
  }
  void upsert_runs(const Json& runs) { script("github/acme/shop/runs", runs); }

  /// GET /v1/environments/staging until `done` holds for its body (up to `timeout`), which it
  /// returns; the last body seen otherwise (with a test failure). The daemon applies what it
  /// fetched right after the fake answered, on its own thread, and says nothing when an
  /// environment becomes *more* blocked (the long-poll only wakes on safe), so the body is
  /// re-read every 20 ms until then.
  Json status_when(const std::function<bool(const Json&)>& done, std::chrono::milliseconds timeout = 15s) {
    TestHttpClient client(daemon_->host(), daemon_->port());
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    Json last;
    for (;;) {
      const auto res = client.request("GET", "/v1/environments/staging");
      if (res && res->result_int() == 200) {
        last = Json::parse(res->body());
        if (done(last)) return last;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "status never reached the expected state; last:\n" << last.dump(2);
    return last;
  }
  static bool has_reason(const Json& status, const std::string& code) {
    for (const auto& r : status["reasons"])
      if (r["code"] == code) return true;
    return false;
  }

  void TearDown() override {
    if (HasFailure() && daemon_) ADD_FAILURE() << "daemon stderr:\n" << daemon_->stderr_text();
    if (HasFailure() && fake_) ADD_FAILURE() << "fake stderr:\n" << fake_->stderr_text();
  }

  static constexpr const char* kDatabasePath =
      "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/shop-db";

  TempDir dir_;
  std::string config_;  // what start_daemon() wrote to config.yaml
  std::unique_ptr<DaemonProcess> fake_;
  std::unique_ptr<DaemonProcess> daemon_;
};

std::string in_progress_run_payload(std::int64_t id) {
  Json run = {{"id", id}, {"name", "Deploy"}, {"path", ".github/workflows/deploy.yml"},
              {"head_branch", "main"}, {"head_sha", "0123456789abcdef"}, {"status", "in_progress"},
              {"conclusion", nullptr}, {"workflow_id", 4242}, {"run_attempt", 1},
              {"display_title", "webhook-driven deploy"}, {"event", "push"},
              {"html_url", "https://github.com/acme/shop/actions/runs/" + std::to_string(id)},
              {"created_at", "2099-01-01T00:00:00Z"}, {"run_started_at", "2099-01-01T00:00:00Z"},
              {"updated_at", "2099-01-01T00:00:01Z"}, {"repository", {{"full_name", "acme/shop"}}}};
  return Json{{"action", "in_progress"}, {"workflow_run", run},
              {"workflow", {{"id", 4242}, {"name", "Deploy"}, {"path", ".github/workflows/deploy.yml"}}},
              {"repository", {{"full_name", "acme/shop"}}}}
      .dump();
}

TEST_F(UpstreamTest, PollsEverySourceAndAnswersSafe) {
  start_daemon();
  const auto res = wait_safe();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200) << res->body();

  TestHttpClient client(daemon_->host(), daemon_->port());
  const auto ready = client.request("GET", "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->result_int(), 200);
  const auto status = client.request("GET", "/v1/environments/staging");
  ASSERT_TRUE(status);
  const auto body = Json::parse(status->body());
  EXPECT_EQ(body["traffic"], Json({{"shop-api--r1", 100}}));
  EXPECT_EQ(body["databases"][0]["state"], "Ready");
  ASSERT_EQ(body["runs"].size(), 1u);
  EXPECT_EQ(body["runs"][0]["id"], 9000000001LL);

  // Metrics agree with the verdict and count the answers.
  const auto metrics = client.request("GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->result_int(), 200);
  EXPECT_NE(metrics->body().find("deployguard_safe{environment=\"staging\"} 1"), std::string::npos)
      << metrics->body();
  EXPECT_NE(metrics->body().find("deployguard_http_requests_total{route=\"/can-deploy\",status=\"200\"} 1"),
            std::string::npos)
      << metrics->body();
  EXPECT_NE(metrics->body().find("deployguard_source_refresh_age_seconds{environment=\"staging\",source=\"github\"}"),
            std::string::npos);

  // The pollers authenticated as configured.
  TestHttpClient fake(fake_->host(), fake_->port());
  const auto requests = Json::parse(fake.request("GET", "/_fake/requests?path_prefix=/repos/")->body());
  ASSERT_FALSE(requests.empty());
  EXPECT_NE(requests.dump().find("Bearer gh-test-token"), std::string::npos) << requests.dump();
}

// The ARM token is for arm_url's origin only. A revisions page whose nextLink names another
// server (here a second fake that records every request) is refused, and the environment is
// closed with a source_error saying so.
TEST_F(UpstreamTest, ANextLinkToAnotherOriginIsRefusedAndTheTokenNeverGoesThere) {
  const auto elsewhere = DaemonProcess::spawn_ready(kFakeUpstream, dir_, {"--listen", "127.0.0.1:0"},
                                                    "elsewhere");
  const std::string other = "http://127.0.0.1:" + std::to_string(elsewhere->port());
  script("azure/containerapps/rg/shop-api",
         {{"revisions", {{{"name", "shop-api--r0"}, {"active", false}, {"createdTime", "now-3h"}}}}});
  TestHttpClient fake(fake_->host(), fake_->port());
  const auto patched = fake.request("PATCH", "/_fake/state", "Content-Type: application/json\r\n",
                                    Json{{"azure", {{"revisions_page_size", 1}, {"link_base", other}}}}.dump());
  ASSERT_TRUE(patched && patched->result_int() == 200) << (patched ? patched->body() : fake.last_error());

  start_daemon();
  const std::string refusal = "ARM nextLink points to " + other + ", not http://127.0.0.1:" +
                              std::to_string(fake_->port()) + " (the origin the ARM token is for); refused";
  const auto mentions_refusal = [&](const Json& reasons) {
    for (const auto& r : reasons)
      if (r["code"] == "source_error" && r["message"].get<std::string>().find(refusal) != std::string::npos)
        return true;
    return false;
  };
  status_when([&](const Json& s) { return mentions_refusal(s["reasons"]); });

  TestHttpClient client(daemon_->host(), daemon_->port());
  const auto verdict = client.request("GET", "/can-deploy?env=staging");
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->result_int(), 423);
  EXPECT_TRUE(mentions_refusal(Json::parse(verdict->body())["reasons"])) << verdict->body();

  // The first page went to the configured origin with the token; nothing reached the other one.
  const auto pages = requests_to(
      "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.App/containerApps/shop-api/revisions");
  ASSERT_EQ(pages.size(), 1u) << pages.dump();
  EXPECT_EQ(pages[0]["headers"]["authorization"], "Bearer arm-test-token");
  TestHttpClient other_fake(elsewhere->host(), elsewhere->port());
  const auto seen = other_fake.request("GET", "/_fake/requests");
  ASSERT_TRUE(seen) << other_fake.last_error();
  EXPECT_EQ(Json::parse(seen->body())["requests"], Json::array()) << seen->body();
}

TEST_F(UpstreamTest, SignedWebhookBlocksBeforeAnyPollCouldRun) {
  start_daemon("1h");  // the next GitHub poll is an hour away
  ASSERT_EQ(wait_safe()->result_int(), 200);
  // The run exists only in the webhook (not in the fake's GitHub), so only the webhook can
  // have blocked the environment.
  const auto res = deliver("workflow_run", in_progress_run_payload(9000000077), "d-1", kWebhookSecret);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 202) << res->body();

  TestHttpClient client(daemon_->host(), daemon_->port());
  const auto verdict = client.request("GET", "/can-deploy?env=staging");
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->result_int(), 423);
  const auto body = Json::parse(verdict->body());
  ASSERT_FALSE(body["reasons"].empty());
  EXPECT_EQ(body["reasons"][0]["code"], "deploy_in_progress");
  EXPECT_NE(body["reasons"][0]["message"].get<std::string>().find("9000000077"), std::string::npos);

  // A replay of the same delivery is acknowledged, not applied twice.
  const auto replay = deliver("workflow_run", in_progress_run_payload(9000000077), "d-1", kWebhookSecret);
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->result_int(), 200);
  EXPECT_NE(replay->body().find("duplicate"), std::string::npos);
}

// A config reload keeps the webhook delivery ids already seen: GitHub redelivering a delivery
// right after a SIGHUP must not apply it a second time.
TEST_F(UpstreamTest, RedeliveryAfterAReloadIsStillADuplicate) {
  start_daemon("1h");
  ASSERT_EQ(wait_safe()->result_int(), 200);
  const auto payload = in_progress_run_payload(9000000081);
  const auto first = deliver("workflow_run", payload, "d-reload", kWebhookSecret);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->result_int(), 202) << first->body();

  reload_adding_qa();
  if (HasFatalFailure()) return;

  const auto again = deliver("workflow_run", payload, "d-reload", kWebhookSecret);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->result_int(), 200) << again->body();
  EXPECT_EQ(Json::parse(again->body())["outcome"], "duplicate") << again->body();
  // Still accepted after the reload: a new delivery is applied.
  EXPECT_EQ(deliver("workflow_run", payload, "d-after-reload", kWebhookSecret)->result_int(), 202);
}

// The delivery ids are kept in the state file: a delivery replayed after a restart (GitHub's
// "Redeliver", or anyone who captured it) is answered as a duplicate and changes nothing.
TEST_F(UpstreamTest, RedeliveryAfterARestartIsStillADuplicate) {
  const auto ago = [](std::chrono::minutes m) {
    return format_timestamp(
        std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now() - m));
  };
  // GitHub says the run completed 170 minutes ago; the delivery says it was in progress an hour
  // ago, which is newer: applied, it would make the run block the environment again.
  upsert_runs(Json::array({{{"id", 9000000082}, {"workflow_id", 4242}, {"status", "completed"},
                            {"conclusion", "success"}, {"head_branch", "main"},
                            {"created_at", ago(180min)}, {"run_started_at", ago(180min)},
                            {"updated_at", ago(170min)}}}));
  Json payload = Json::parse(in_progress_run_payload(9000000082));
  payload["workflow_run"]["created_at"] = ago(180min);
  payload["workflow_run"]["run_started_at"] = ago(180min);
  payload["workflow_run"]["updated_at"] = ago(60min);

  start_daemon("1h");
  ASSERT_EQ(wait_safe()->result_int(), 200);
  const auto first = deliver("workflow_run", payload.dump(), "d-restart", kWebhookSecret);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->result_int(), 202) << first->body();

  ASSERT_EQ(daemon_->stop(SIGTERM, 10s), 0) << daemon_->stderr_text();
  const auto saved = Json::parse(read_file(dir_.path() / "state.json"));
  EXPECT_EQ(saved["webhook_deliveries"], Json::array({"d-restart"})) << saved.dump(2);

  daemon_ = DaemonProcess::start(kBinary, dir_, config_);  // the same state file
  ASSERT_EQ(wait_safe()->result_int(), 200);
  const auto again = deliver("workflow_run", payload.dump(), "d-restart", kWebhookSecret);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->result_int(), 200) << again->body();
  EXPECT_EQ(Json::parse(again->body())["outcome"], "duplicate") << again->body();

  // Not applied: the environment is still safe, and the metrics count no application.
  TestHttpClient client(daemon_->host(), daemon_->port());
  const auto verdict = client.request("GET", "/can-deploy?env=staging");
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->result_int(), 200) << verdict->body();
  const auto metrics = client.request("GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body().find("deployguard_webhook_deliveries_total{outcome=\"duplicate\"} 1"),
            std::string::npos)
      << metrics->body();
  EXPECT_EQ(metrics->body().find("deployguard_webhook_deliveries_total{outcome=\"applied\"}"),
            std::string::npos)
      << metrics->body();

  // The same payload under a new delivery id is applied: the duplicate answer was the id's.
  const auto fresh = deliver("workflow_run", payload.dump(), "d-after-restart", kWebhookSecret);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->result_int(), 202) << fresh->body();
  EXPECT_EQ(client.request("GET", "/can-deploy?env=staging")->result_int(), 423);
}

// A reload that rebuilds the pollers (here: an environment is added) keeps the ETag of a GitHub
// source whose settings did not change, so its first poll afterwards is a 304 (free of rate
// limit), and its workflows are not listed again.
TEST_F(UpstreamTest, ReloadKeepsTheETagOfAnUnchangedGitHubSource) {
  start_daemon("1h");
  ASSERT_EQ(wait_safe()->result_int(), 200);
  const std::string runs = "/repos/acme/shop/actions/workflows/4242/runs";

  reload_adding_qa();
  if (HasFatalFailure()) return;
  // Each poll lists the recent runs and the runs of each of the 5 active statuses.
  constexpr std::size_t kLists = 6;
  wait_for_requests(runs, 2 * kLists);
  if (HasFatalFailure()) return;

  const auto polled = requests_to(runs);
  ASSERT_EQ(polled.size(), 2 * kLists) << polled.dump();
  for (std::size_t i = 0; i < kLists; ++i) {
    EXPECT_EQ(polled[i]["status"], 200) << polled.dump();
    EXPECT_EQ(polled[kLists + i]["status"], 304) << "the poll after the reload was not conditional: "
                                                 << polled[kLists + i].dump();
    EXPECT_EQ(polled[i]["target"], polled[kLists + i]["target"]);
  }
  std::size_t listings = 0;
  for (const auto& r : requests_to("/repos/acme/shop/actions/workflows"))
    if (r["path"] == "/repos/acme/shop/actions/workflows") ++listings;
  EXPECT_EQ(listings, 1u) << "workflows resolved again after the reload";
}

TEST_F(UpstreamTest, ForgedWebhookChangesNothing) {
  start_daemon();
  ASSERT_EQ(wait_safe()->result_int(), 200);
  const auto res = deliver("workflow_run", in_progress_run_payload(9000000078), "d-2", "wrong-secret");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 401);
  TestHttpClient client(daemon_->host(), daemon_->port());
  EXPECT_EQ(client.request("GET", "/can-deploy?env=staging")->result_int(), 200);

  // Not JSON but correctly signed: 400; ping: 200.
  EXPECT_EQ(deliver("workflow_run", "{not json", "d-3", kWebhookSecret)->result_int(), 400);
  EXPECT_EQ(deliver("ping", R"({"zen":"Keep it logically awesome.","hook_id":1})", "d-4", kWebhookSecret)
                ->result_int(),
            200);
}

TEST_F(UpstreamTest, WebhookOverTheSizeCapIsRefusedUnread) {
  start_daemon();
  TestHttpClient client(daemon_->host(), daemon_->port());
  // Announce 6 MiB (the cap is 5 MiB) and send only the headers: the answer must not wait for
  // the body.
  client.send_raw("POST /webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  "X-GitHub-Event: ping\r\nContent-Length: 6291456\r\n\r\n");
  const auto res = client.read_response(5s);
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->result_int(), 413);
}

// Secrets are never logged. The daemon runs at debug level with every kind of secret
// in use (GitHub token, webhook secret, an Entra ID client secret and the ARM access token it
// buys), the fake insists on each of them, and the whole captured output is searched for them.
TEST_F(UpstreamTest, SecretsNeverReachTheLog) {
  const std::string kClientSecret = "azure-client-secret-value-x9";
  const std::string kArmAccessToken = "arm-access-token-issued-by-the-fake-q7";
  Json state = quiet_state();
  state["tokens"] = {{"github", "gh-test-token"},
                     {"arm", kArmAccessToken},
                     {"aad", {{"tenant", "tenant-1"}, {"client_id", "client-1"},
                              {"client_secret", kClientSecret}}}};
  TestHttpClient fake(fake_->host(), fake_->port());
  const auto put = fake.request("PUT", "/_fake/state", "Content-Type: application/json\r\n",
                                state.dump());
  ASSERT_TRUE(put && put->result_int() == 200) << (put ? put->body() : fake.last_error());

  const auto client_secret = dir_.write("azure-client-secret", kClientSecret + "\n");
  const std::string base = "http://127.0.0.1:" + std::to_string(fake_->port());
  start_daemon("1h",
               "{ method: client_secret, tenant_id: tenant-1, client_id: client-1, "
               "client_secret_file: " + client_secret.string() + ", authority_url: " + base + " }",
               "log: { level: debug }\n");
  // Safe means every source was polled with the right credentials (the fake refuses others).
  const auto safe = wait_safe();
  ASSERT_TRUE(safe);
  ASSERT_EQ(safe->result_int(), 200) << safe->body();
  const auto requests = Json::parse(fake.request("GET", "/_fake/requests")->body()).dump();
  EXPECT_NE(requests.find("/tenant-1/oauth2/v2.0/token"), std::string::npos) << requests;

  // Webhooks signed with the secret and with a wrong one both pass through the log.
  EXPECT_EQ(deliver("workflow_run", in_progress_run_payload(9000000079), "d-5", kWebhookSecret)
                ->result_int(),
            202);
  EXPECT_EQ(deliver("workflow_run", in_progress_run_payload(9000000080), "d-6", "wrong-secret")
                ->result_int(),
            401);
  // A graceful stop flushes everything the daemon had to say.
  ASSERT_EQ(daemon_->stop(SIGTERM), 0);

  const std::string log = daemon_->stderr_text() + read_file(dir_.path() / "daemon.stdout");
  // Sanity check that the search covers the whole run, up to the last line.
  ASSERT_NE(log.find("event=stopped"), std::string::npos) << log;
  for (const std::string& secret :
       {std::string("gh-test-token"), kWebhookSecret, kClientSecret, kArmAccessToken}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret << " was logged:\n" << log;
  }
}


// ---- GitHub Actions as it really runs deploys ---------------------------------------------

// A run seen in progress that drops off the first page of runs (newer runs pushed it there) is
// looked up by id, so its completion is noticed; a run whose lookup answers 404 is over.
TEST_F(UpstreamTest, ARunThatFallsOffTheFirstPageIsLookedUpByIdAndStopsBlocking) {
  upsert_runs(Json::parse(R"([{"id": 9000000002, "workflow_id": 4242, "status": "in_progress",
      "head_branch": "main", "created_at": "now-3h", "run_started_at": "now-3h"}])"));
  start_daemon("1s");
  status_when([](const Json& s) { return has_reason(s, "deploy_in_progress"); });
  if (HasFailure()) return;

  // 25 newer completed deploys (the first page holds 20), and run 9000000002 completes meanwhile.
  Json newer = Json::array();
  for (int i = 0; i < 25; ++i)
    newer.push_back({{"id", 9000000100 + i}, {"workflow_id", 4242}, {"status", "completed"},
                     {"conclusion", "success"}, {"head_branch", "main"},
                     {"created_at", "now-" + std::to_string(170 - i) + "m"},
                     {"run_started_at", "now-" + std::to_string(170 - i) + "m"},
                     {"updated_at", "now-" + std::to_string(169 - i) + "m"}});
  newer.push_back({{"id", 9000000002}, {"status", "completed"}, {"conclusion", "success"}});
  upsert_runs(newer);
  const auto done = status_when([](const Json& s) { return !has_reason(s, "deploy_in_progress"); });
  std::string seen = "not known";
  for (const auto& r : done["runs"])
    if (r["id"] == 9000000002LL) seen = r["status"].get<std::string>() + "/" + r["conclusion"].get<std::string>();
  EXPECT_EQ(seen, "completed/success");
  EXPECT_FALSE(requests_to("/repos/acme/shop/actions/runs/9000000002").empty())
      << "the run is no longer listed, only a lookup by id can have seen it complete";

  // A run the guard believes active and that GitHub no longer knows at all (404) is over.
  upsert_runs(Json::parse(R"([{"id": 9000000003, "workflow_id": 4242, "status": "in_progress",
      "head_branch": "main", "created_at": "now-3h", "run_started_at": "now-3h"}])"));
  status_when([](const Json& s) { return has_reason(s, "deploy_in_progress"); });
  Json state = quiet_state();  // without runs 9000000002 and 9000000003
  TestHttpClient fake(fake_->host(), fake_->port());
  ASSERT_EQ(fake.request("PUT", "/_fake/state", "Content-Type: application/json\r\n", state.dump())
                ->result_int(),
            200);
  status_when([](const Json& s) { return !has_reason(s, "deploy_in_progress"); });
  bool saw_404 = false;
  for (const auto& r : requests_to("/repos/acme/shop/actions/runs/9000000003"))
    saw_404 = saw_404 || r["status"] == 404;
  EXPECT_TRUE(saw_404);
}

// The seed incident: a deploy fails with ServerIsBusy, is re-run (same run id, attempt 2) and
// fails again. Each attempt's failure counts, so the backoff doubles instead of leaving the
// environment safe after the first backoff.
TEST_F(UpstreamTest, AReRunFailingBusyTwiceCountsTwiceAndDoublesTheBackoff) {
  start_daemon("1s");
  ASSERT_EQ(wait_safe()->result_int(), 200);
  const std::string busy_log = "##[error]Deployment failed: ServerIsBusy: the server is busy "
                               "processing another operation.";
  upsert_runs(Json::array({{{"id", 9000000010}, {"workflow_id", 4242}, {"status", "completed"},
                            {"conclusion", "failure"}, {"head_branch", "main"},
                            {"created_at", "now-3m"}, {"run_started_at", "now-3m"},
                            {"updated_at", "now-2m"},
                            {"jobs", Json::array({{{"id", 31}, {"status", "completed"},
                                                   {"conclusion", "failure"}, {"log", busy_log}}})}}}));
  auto first = status_when([](const Json& s) { return s["busy_backoff"]["consecutive_failures"] == 1; });
  if (HasFailure()) return;

  upsert_runs(Json::array({{{"id", 9000000010}, {"run_attempt", 2}, {"status", "completed"},
                            {"conclusion", "failure"}, {"run_started_at", "now-1m"},
                            {"updated_at", "now"},
                            {"jobs", Json::array({{{"id", 32}, {"status", "completed"},
                                                   {"conclusion", "failure"}, {"log", busy_log}}})}}}));
  const auto second = status_when([](const Json& s) { return s["busy_backoff"]["consecutive_failures"] == 2; });
  if (HasFailure()) return;
  EXPECT_FALSE(requests_to("/repos/acme/shop/actions/runs/9000000010/attempts/2/jobs").empty());
  // Each attempt is a deploy record of its own.
  std::set<std::string> keys;
  for (const auto& d : second["deploys"]) keys.insert(d["key"].get<std::string>());
  EXPECT_TRUE(keys.contains("run:9000000010/1") && keys.contains("run:9000000010/2")) << second["deploys"].dump();
  // The backoff after two failures is twice the first one (busy_backoff.initial is 2m).
  const Json* reason = nullptr;
  for (const auto& r : second["reasons"])
    if (r["code"] == "busy_backoff") reason = &r;
  ASSERT_NE(reason, nullptr) << second.dump(2);
  const auto failed_at = parse_timestamp(second["busy_backoff"]["last_failure_at"].get<std::string>());
  const auto until = parse_timestamp((*reason)["until"].get<std::string>());
  ASSERT_TRUE(failed_at && until);
  EXPECT_EQ(*until - *failed_at, std::chrono::minutes{4}) << second.dump(2);
}

// A run cancelled while it was still queued (no job ever got a runner) never deployed anything:
// it starts no cooldown. The environment turns safe as soon as that is known.
TEST_F(UpstreamTest, ARunCancelledWhileQueuedIsNotADeploy) {
  upsert_runs(Json::parse(R"([{"id": 9000000020, "workflow_id": 4242, "status": "completed",
      "conclusion": "cancelled", "head_branch": "main", "created_at": "now-1m",
      "run_started_at": "now-1m", "updated_at": "now",
      "jobs": [{"id": 41, "status": "completed", "conclusion": "cancelled", "runner_id": null,
                "runner_name": null, "started_at": null}]}])"));
  start_daemon("1h");  // one poll: what it lists and what the jobs say must be enough
  const auto res = wait_safe();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200) << "a cooldown from a run that never ran: " << res->body();
  EXPECT_FALSE(requests_to("/repos/acme/shop/actions/runs/9000000020/attempts/1/jobs").empty());
}

// The deploy pipeline asks about itself: its own in-progress run does not block it (with or
// without the CLI's --run-id, which defaults to $GITHUB_RUN_ID), every other reason does.
TEST_F(UpstreamTest, ThePipelinesOwnWaitIsNotBlockedByItsOwnRun) {
  ::unsetenv("GITHUB_RUN_ID");
  ::unsetenv("GITHUB_RUN_ATTEMPT");
  upsert_runs(Json::parse(R"([{"id": 9000000030, "workflow_id": 4242, "status": "in_progress",
      "head_branch": "main", "created_at": "now", "run_started_at": "now"}])"));
  start_daemon("1h");
  status_when([](const Json& s) { return has_reason(s, "deploy_in_progress"); });
  if (HasFailure()) return;
  TestHttpClient client(daemon_->host(), daemon_->port());
  ASSERT_EQ(client.request("POST", "/v1/environments/staging/freeze", "Content-Type: application/json\r\n",
                           R"({"reason":"hold","by":"test"})")->result_int(),
            200);

  const std::string server = "http://127.0.0.1:" + std::to_string(daemon_->port());
  auto lease = std::async(std::launch::async, [&] {
    return run_command(kBinary, {"lease", "acquire", "--env", "staging", "--holder", "run-9000000030",
                                 "--run-id", "9000000030", "--wait", "40s", "--server", server}, 60s);
  });
  auto other = std::async(std::launch::async, [&] {
    return run_command(kBinary, {"can-deploy", "--env", "staging", "--wait", "3s", "--server", server}, 60s);
  });
  // Everyone else is blocked by run 9000000030 (and the freeze, and its cooldown).
  const auto blocked = other.get();
  EXPECT_EQ(blocked.exit_code, 1) << blocked.out << blocked.err;
  EXPECT_NE(blocked.err.find("deploy_in_progress"), std::string::npos) << blocked.err;
  ASSERT_EQ(client.request("DELETE", "/v1/environments/staging/freeze")->result_int(), 204);
  const auto granted = lease.get();
  ASSERT_EQ(granted.exit_code, 0) << granted.out << granted.err;
  const auto status = Json::parse(client.request("GET", "/v1/environments/staging")->body());
  EXPECT_EQ(status["lease"]["run_id"], 9000000030LL);
  EXPECT_EQ(status["lease"]["run_attempt"], 1);
  EXPECT_EQ(granted.out, status["lease"]["id"].get<std::string>() + "\n");

  // Its lease does not block it either; the same rule from $GITHUB_RUN_ID, as a workflow step
  // runs it. Anyone else now also meets the lease.
  ::setenv("GITHUB_RUN_ID", "9000000030", 1);
  const auto own = run_command(kBinary, {"can-deploy", "--env", "staging", "--server", server}, 30s);
  ::unsetenv("GITHUB_RUN_ID");
  EXPECT_EQ(own.exit_code, 0) << own.out << own.err;
  EXPECT_EQ(own.out, "staging: safe to deploy\n");
  const auto others = run_command(kBinary, {"can-deploy", "--env", "staging", "--server", server}, 30s);
  EXPECT_EQ(others.exit_code, 1);
  EXPECT_NE(others.err.find("leased"), std::string::npos) << others.err;
}

// Which commit is live: the revision serving traffic is linked to the deploy run whose commit its
// image tag carries, in the status body, the CLI's status view and the metrics.
TEST_F(UpstreamTest, TheLiveRevisionIsLinkedToTheRunAndCommitThatDeployedIt) {
  const std::string sha = "4f9c2e1b7d3a5c8e0f1a2b3c4d5e6f708192a3b4";
  upsert_runs(Json::array({{{"id", 9000000001}, {"head_sha", sha}, {"display_title", "Bump payments client"},
                            {"updated_at", "now-119m"}}}));
  script("azure/containerapps/rg/shop-api",
         {{"revisions", Json::array({{{"name", "shop-api--r1"}, {"image", "acme/shop:" + sha.substr(0, 7)}}})}});
  start_daemon();
  ASSERT_EQ(wait_safe()->result_int(), 200);
  TestHttpClient client(daemon_->host(), daemon_->port());
  const auto status = Json::parse(client.request("GET", "/v1/environments/staging")->body());
  EXPECT_EQ(status["live"]["revision"], "shop-api--r1") << status.dump(2);
  EXPECT_EQ(status["live"]["run_id"], 9000000001LL);
  EXPECT_EQ(status["live"]["run_attempt"], 1);
  EXPECT_EQ(status["live"]["sha"], sha);
  EXPECT_EQ(status["live"]["title"], "Bump payments client");
  EXPECT_EQ(status["live"]["matched_by"], "image_tag");

  const std::string server = "http://127.0.0.1:" + std::to_string(daemon_->port());
  const auto view = run_command(kBinary, {"status", "--env", "staging", "--server", server}, 30s);
  EXPECT_NE(view.out.find("live      shop-api--r1 <- run 9000000001 attempt 1, 4f9c2e1 \"Bump payments client\""),
            std::string::npos)
      << view.out;
  const auto metrics = client.request("GET", "/metrics")->body();
  EXPECT_NE(metrics.find("deployguard_live_info{environment=\"staging\",matched_by=\"image_tag\",revision=\"shop-api--r1\",run_attempt=\"1\",run_id=\"9000000001\",sha=\"" + sha + "\"} 1"),
            std::string::npos)
      << metrics;
}

}  // namespace
}  // namespace deployguard::testing
