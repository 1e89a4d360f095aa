// Notifications through the real binary: the fake upstream (tests/fake_upstream) is both the
// GitHub the daemon polls and the loopback receiver of its webhook posts (POST /hooks/...,
// recorded, with fault rules). Operator actions come through the API with a scoped token.
#include <csignal>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/daemon_config.hpp"
#include "common/daemon_process.hpp"
#include "common/test_http_client.hpp"
#include "webhook/signature.hpp"

namespace deployguard::testing {
namespace {

const std::string kBinary = DEPLOYGUARD_BINARY;
const std::string kFakeUpstream = FAKE_UPSTREAM_BINARY;
using Json = nlohmann::json;

const std::string kOperate = "operate-token-5e2a9c7d1b";
const std::string kSigningKey = "notify-signing-key-7f3b";

/// One old successful deploy: the environment is safe once GitHub was polled, and stays so.
Json quiet_github() {
  return Json::parse(R"({"github": {"repos": {"acme/shop": {
      "workflows": [{"id": 4242, "name": "Deploy", "path": ".github/workflows/deploy.yml", "state": "active"}],
      "runs": [{"id": 9000000001, "workflow_id": 4242, "status": "completed", "conclusion": "success",
                "head_branch": "main", "created_at": "now-2h", "run_started_at": "now-2h",
                "updated_at": "now-119m"}]}}}})");
}

class NotifyTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && daemon_) ADD_FAILURE() << "daemon stderr:\n" << daemon_->stderr_text();
    if (HasFailure() && fake_) ADD_FAILURE() << "fake stderr:\n" << fake_->stderr_text();
  }

  void start_fake() {
    fake_ = DaemonProcess::spawn_ready(kFakeUpstream, dir_, {"--listen", "127.0.0.1:0"}, "fake");
    const auto res = fake("PUT", "/_fake/state", quiet_github().dump());
    ASSERT_TRUE(res && res->result_int() == 200);
  }

  std::optional<HttpResponse> fake(const std::string& method, const std::string& target,
                                   const std::string& body = "") {
    TestHttpClient c(fake_->host(), fake_->port());
    if (!c.send_request(method, target, body.empty() ? "" : "Content-Type: application/json\r\n",
                        body))
      return std::nullopt;
    return c.read_response(std::chrono::seconds{20});  // /_fake/wait answers within 15 s
  }

  /// The receiver's URL for `name`, written to a url_file (the URL is a secret).
  std::string url_file(const std::string& name) {
    return dir_
        .write("url-" + name, "http://127.0.0.1:" + std::to_string(fake_->port()) + "/hooks/" +
                                  name + "/SECRETPATH\n")
        .string();
  }

  std::string config(const std::string& notify_yaml) {
    const std::string token_file = dir_.write("token-oncall", kOperate + "\n").string();
    return daemon_config(
        dir_, {.server_extra = "  api_tokens:\n    - { name: oncall, file: " + token_file +
                               ", scopes: [operate] }\n",
               .anonymous_mutations = false,
               .github_api_url = "http://127.0.0.1:" + std::to_string(fake_->port()),
               .github_token = "gh-test-token",
               .github_extra = "  poll_interval: 1h\n",
               .environments = "  staging:\n"
                               "    github: { repo: acme/shop, workflows: [deploy.yml], branch: main }\n"
                               "    stale_after: 2h\n",
               .top_extra = notify_yaml});
  }

  void start(const std::string& notify_yaml) {
    daemon_ = DaemonProcess::start(kBinary, dir_, config(notify_yaml));
  }

  std::optional<HttpResponse> api(const std::string& method, const std::string& target,
                                  const std::string& body = "") {
    TestHttpClient c(daemon_->host(), daemon_->port());
    std::string headers = "Authorization: Bearer " + kOperate + "\r\n";
    if (!body.empty()) headers += "Content-Type: application/json\r\n";
    return c.request(method, target, headers, body);
  }

  void wait_safe() {
    TestHttpClient c(daemon_->host(), daemon_->port());
    ASSERT_TRUE(c.send_request("GET", "/can-deploy?env=staging&wait=20"));
    const auto res = c.read_response(std::chrono::seconds{25});
    ASSERT_TRUE(res) << c.last_error();
    ASSERT_EQ(res->result_int(), 200) << res->body();
  }

  void freeze() {
    const auto res = api("POST", "/v1/environments/staging/freeze", R"({"reason":"incident 7","by":"alice"})");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->result_int(), 200) << res->body();
  }
  void unfreeze() {
    const auto res = api("DELETE", "/v1/environments/staging/freeze");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->result_int(), 204) << res->body();
  }

  /// Long-polls the fake until `count` posts reached the receiver (bounded), then returns the
  /// posts, oldest first.
  Json wait_for_posts(std::size_t count, const std::string& path_prefix = "/hooks/") {
    const auto waited = fake("GET", "/_fake/wait?request_count=" + std::to_string(count) +
                                        "&method=POST&path_prefix=" + path_prefix +
                                        "&timeout_ms=15000");
    EXPECT_TRUE(waited && waited->result_int() == 200)
        << (waited ? waited->body() : std::string("no answer"));
    return posts(path_prefix);
  }
  Json posts(const std::string& path_prefix = "/hooks/") {
    const auto res = fake("GET", "/_fake/requests?method=POST&path_prefix=" + path_prefix);
    EXPECT_TRUE(res && res->result_int() == 200);
    Json body = res ? Json::parse(res->body()) : Json::array();
    return body.is_object() && body.contains("requests") ? body["requests"] : body;
  }

  std::string metrics() {
    TestHttpClient c(daemon_->host(), daemon_->port());
    const auto res = c.request("GET", "/metrics");
    return res ? res->body() : std::string();
  }

  /// Polls /metrics (bounded) until it holds `line`: a post's counter moves when its answer has
  /// been read, which may be after the receiver recorded it. Returns the last page.
  std::string wait_for_metric(const std::string& line) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    std::string text = metrics();
    while (text.find(line) == std::string::npos && std::chrono::steady_clock::now() < deadline)
      text = metrics();
    return text;
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> fake_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(NotifyTest, EachFormatReachesTheReceiverAndJsonIsSigned) {
  start_fake();
  const std::string secret_file = dir_.write("notify-secret", kSigningKey + "\n").string();
  start("notify:\n"
        "  - { name: slack, url_file: " + url_file("slack") + ", format: slack, events: [freeze] }\n"
        "  - { name: teams, url_file: " + url_file("teams") + ", format: teams, events: [freeze] }\n"
        "  - { name: json, url_file: " + url_file("json") + ", format: json, events: [freeze],"
        " secret_file: " + secret_file + " }\n");
  wait_safe();
  freeze();
  const Json got = wait_for_posts(3);
  ASSERT_EQ(got.size(), 3u) << got.dump(2);
  std::map<std::string, Json> by_path;
  for (const auto& post : got) by_path[post["path"].get<std::string>()] = post;

  const Json slack = Json::parse(by_path.at("/hooks/slack/SECRETPATH")["body"].get<std::string>());
  EXPECT_TRUE(slack["text"].is_string()) << slack.dump();
  ASSERT_TRUE(slack["blocks"].is_array()) << slack.dump();
  EXPECT_EQ(slack["blocks"][0]["type"], "header");
  EXPECT_NE(slack["text"].get<std::string>().find("freeze.set by oncall"), std::string::npos);

  const Json teams = Json::parse(by_path.at("/hooks/teams/SECRETPATH")["body"].get<std::string>());
  EXPECT_EQ(teams["type"], "message");
  EXPECT_EQ(teams["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
  EXPECT_EQ(teams["attachments"][0]["content"]["type"], "AdaptiveCard");
  EXPECT_EQ(teams["attachments"][0]["content"]["version"], "1.4");

  const Json& json_post = by_path.at("/hooks/json/SECRETPATH");
  const std::string raw = json_post["body"].get<std::string>();
  EXPECT_EQ(json_post["headers"]["x-deployguard-signature"],
            "sha256=" + webhook::hmac_sha256_hex(kSigningKey, raw));
  const Json event = Json::parse(raw);
  EXPECT_EQ(event["event"], "freeze");
  EXPECT_EQ(event["environment"], "staging");
  EXPECT_TRUE(event["at"].is_string());
  EXPECT_EQ(event["decision"]["safe"], false);
  EXPECT_EQ(event["decision"]["reasons"][0]["code"], "frozen");
  EXPECT_EQ(event["detail"]["action"], "freeze.set");
  EXPECT_EQ(event["detail"]["actor"], "oncall");
  for (const auto& [path, post] : by_path) {
    EXPECT_FALSE(post["headers"].contains("x-deployguard-signature") && path != "/hooks/json/SECRETPATH");
    EXPECT_EQ(post["body"].get<std::string>().find(kOperate), std::string::npos);
    EXPECT_EQ(post["body"].get<std::string>().find(kSigningKey), std::string::npos);
    EXPECT_EQ(post["body"].get<std::string>().find("SECRETPATH"), std::string::npos);
  }
  // Neither the URLs' paths nor the key reach the log.
  const std::string log = daemon_->stderr_text();
  EXPECT_EQ(log.find("SECRETPATH"), std::string::npos);
  EXPECT_EQ(log.find(kSigningKey), std::string::npos);
  const std::string sent = "deployguard_notifications_total{outcome=\"sent\",sink=\"json\"} 1";
  const std::string text = wait_for_metric(sent);
  EXPECT_NE(text.find(sent), std::string::npos) << text;
}

TEST_F(NotifyTest, A503IsRetried) {
  start_fake();
  const auto rule = fake("POST", "/_fake/faults",
                         R"({"kind":"status","method":"POST","path_prefix":"/hooks/","status":503,"count":1})");
  ASSERT_TRUE(rule && rule->result_int() == 200) << (rule ? rule->body() : "");
  start("notify:\n  - { name: team, url_file: " + url_file("team") +
        ", format: json, events: [freeze] }\n");
  wait_safe();
  freeze();
  const Json got = wait_for_posts(2);
  ASSERT_EQ(got.size(), 2u) << got.dump(2);
  EXPECT_EQ(got[0]["status"], 503);
  EXPECT_EQ(got[1]["status"], 200);
  EXPECT_EQ(got[0]["body"], got[1]["body"]);
  const std::string text =
      wait_for_metric("deployguard_notifications_total{outcome=\"sent\",sink=\"team\"} 1");
  EXPECT_NE(text.find("deployguard_notifications_total{outcome=\"sent\",sink=\"team\"} 1"),
            std::string::npos) << text;
  EXPECT_NE(text.find("deployguard_notifications_total{outcome=\"retried\",sink=\"team\"} 1"),
            std::string::npos) << text;
}

TEST_F(NotifyTest, AFlappingVerdictIsOneImmediateAndOneCoalescedMessage) {
  start_fake();
  // Without a verdict sink first: the start-up changes (starting -> safe) are nobody's, and the
  // sink added by SIGHUP starts with no coalescing window open.
  start("");
  wait_safe();
  dir_.write("config.yaml", config("notify:\n  - { name: flap, url_file: " + url_file("flap") +
                                   ", format: json, events: [verdict],"
                                   " min_interval_between: 2s }\n"));
  ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
  const std::string reloaded = "deployguard_config_reloads_total{result=\"ok\"} 1";
  ASSERT_NE(wait_for_metric(reloaded).find(reloaded), std::string::npos);

  for (int i = 0; i < 3; ++i) {
    freeze();
    unfreeze();
  }
  const Json first = wait_for_posts(1);
  ASSERT_GE(first.size(), 1u);
  const Json immediate = Json::parse(first[0]["body"].get<std::string>());
  EXPECT_EQ(immediate["event"], "verdict");
  EXPECT_EQ(immediate["detail"]["changes"], 1);
  EXPECT_EQ(immediate["decision"]["safe"], false);  // the first freeze

  const Json got = wait_for_posts(2);
  ASSERT_EQ(got.size(), 2u) << got.dump(2);
  const Json coalesced = Json::parse(got[1]["body"].get<std::string>());
  EXPECT_EQ(coalesced["event"], "verdict");
  EXPECT_EQ(coalesced["detail"]["changes"], 5);     // the other five changes
  EXPECT_EQ(coalesced["decision"]["safe"], true);   // the latest state: unfrozen
  EXPECT_GE(got[1]["elapsed_ms"].get<std::int64_t>() - got[0]["elapsed_ms"].get<std::int64_t>(),
            1500);
}

}  // namespace
}  // namespace deployguard::testing
