// Secure by default, through the real deployguard binary and the fake GitHub/Azure upstream:
// a default installation (no token) refuses every mutation with 403 auth_not_configured; named,
// scoped tokens reach exactly their routes and environments; stabilize with an empty body is a
// plan that makes no mutating call; the API listener speaks TLS (and the webhook listener falls
// back to its certificate); tokens and certificates are re-read on SIGHUP.
#include <csignal>
#include <string>
#include <future>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/daemon_config.hpp"
#include "common/daemon_process.hpp"
#include "common/test_http_client.hpp"
#include "common/test_pki.hpp"
#include "http/client/beast_http_client.hpp"

namespace deployguard::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

const std::string kBinary = DEPLOYGUARD_BINARY;
const std::string kFakeUpstream = FAKE_UPSTREAM_BINARY;

const std::string kDeploy = "deploy-token-4f1c9a2b7e";
const std::string kOperate = "operate-token-8d3e6b1a0c";
const std::string kRead = "read-token-2b7f4e9c1d";
const std::string kStaging = "staging-token-6a0d3c8e2f";

/// Traffic split 70/30 over two healthy revisions: stabilize has something to plan.
Json split_state() {
  return Json::parse(R"({
    "github": {"repos": {"acme/shop": {
      "workflows": [{"id": 4242, "name": "Deploy", "path": ".github/workflows/deploy.yml", "state": "active"}],
      "runs": []}}},
    "azure": {"container_apps": {"rg/shop-api": {
                "provisioningState": "Succeeded", "runningStatus": "Running", "activeRevisionsMode": "Multiple",
                "latestRevisionName": "shop-api--r2", "latestReadyRevisionName": "shop-api--r2",
                "revisions": [{"name": "shop-api--r1", "active": true, "createdTime": "now-3h", "healthState": "Healthy"},
                              {"name": "shop-api--r2", "active": true, "createdTime": "now-1h", "healthState": "Healthy"}],
                "traffic": [{"revisionName": "shop-api--r1", "weight": 70}, {"revisionName": "shop-api--r2", "weight": 30}]}}}})");
}

struct Call {
  std::string method;
  std::string target;
  std::string body;
  std::string scope;  // "deploy" or "operate"
};

/// Every mutating route of environment `env`.
std::vector<Call> mutations(const std::string& env) {
  const std::string base = "/v1/environments/" + env;
  return {
      {"POST", base + "/lease", R"({"holder":"h","ttl":"1m"})", "deploy"},
      {"DELETE", base + "/lease/0123", "", "deploy"},
      {"POST", base + "/queue", R"({"holder":"h"})", "deploy"},
      {"GET", base + "/queue/0123", "", "deploy"},
      {"DELETE", base + "/queue/0123", "", "deploy"},
      {"POST", base + "/events", R"({"type":"server_busy"})", "deploy"},
      {"POST", base + "/freeze", R"({"reason":"r","by":"b"})", "operate"},
      {"DELETE", base + "/freeze", "", "operate"},
      {"POST", base + "/stabilize", "", "operate"},
      {"POST", base + "/stop", R"({"reason":"r","by":"b"})", "operate"},
  };
}

http::HttpResult https_request(const std::string& ca_file, http::HttpRequest request) {
  boost::asio::io_context io;
  HttpClientConfig config;
  config.ca_file = ca_file;
  config.request_timeout = 10s;
  http::BeastHttpClient client(io, http::BeastHttpClientOptions{config, http::ProxyEnvironment{}});
  std::optional<http::HttpResult> result;
  client.send(std::move(request), [&](http::HttpResult r) {
    result = std::move(r);
    io.stop();
  });
  io.run_for(15s);
  if (!result) return http::HttpError{http::HttpErrorKind::timeout, "no answer within 15 s"};
  return std::move(*result);
}

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = DaemonProcess::spawn_ready(kFakeUpstream, dir_, {"--listen", "127.0.0.1:0"}, "fake");
    ASSERT_EQ(fake("PUT", "/_fake/state", split_state().dump()).result_int(), 200);
  }
  void TearDown() override {
    if (HasFailure() && daemon_) ADD_FAILURE() << "daemon stderr:\n" << daemon_->stderr_text();
  }

  /// The named tokens of these tests, as server.api_tokens lines.
  std::string scoped_tokens() const {
    const auto file = [&](const std::string& name, const std::string& token) {
      return dir_.write("token-" + name, token + "\n").string();
    };
    return "  api_tokens:\n"
           "    - { name: ci, file: " + file("ci", kDeploy) + ", scopes: [deploy] }\n"
           "    - { name: oncall, file: " + file("oncall", kOperate) + ", scopes: [operate] }\n"
           "    - { name: dashboard, file: " + file("dashboard", kRead) + ", scopes: [read] }\n"
           "    - { name: staging-ci, file: " + file("staging-ci", kStaging) +
           ", scopes: [deploy], environments: [staging] }\n";
  }

  std::string config(const std::string& server_extra, bool anonymous,
                     const std::string& more_environments = "") const {
    const std::string base = "http://127.0.0.1:" + std::to_string(fake_->port());
    const auto arm_token = dir_.write("arm-token", "arm-test-token\n");
    std::string environments;
    for (const char* env : {"staging", "production"})
      environments += std::string("  ") + env + ":\n"
                      "    github: { repo: acme/shop, workflows: [deploy.yml] }\n"
                      "    container_app: { resource_group: rg, name: shop-api }\n"
                      "    stale_after: 2h\n";
    return daemon_config(
        dir_, {.server_extra = server_extra,
               .anonymous_mutations = anonymous,
               .github_api_url = base,
               .github_token = "gh-test-token",
               .github_extra = "  poll_interval: 1h\n",
               .azure = "  arm_url: " + base + "\n  subscription_id: sub-1\n  poll_interval: 1h\n"
                        "  auth: { method: token_file, token_file: " + arm_token.string() + " }\n",
               .environments = environments + more_environments});
  }

  void start(const std::string& server_extra, bool anonymous = false) {
    daemon_ = DaemonProcess::start(kBinary, dir_, config(server_extra, anonymous));
  }

  HttpResponse fake(const std::string& method, const std::string& target, const std::string& body = {}) {
    TestHttpClient client(fake_->host(), fake_->port());
    auto res = client.request(method, target, body.empty() ? "" : "Content-Type: application/json\r\n", body);
    if (!res) throw std::runtime_error("fake request failed: " + client.last_error());
    return *res;
  }
  std::size_t mutating_upstream_calls() {
    std::size_t n = 0;
    for (const char* method : {"PATCH", "POST", "PUT", "DELETE"})
      n += Json::parse(fake("GET", std::string("/_fake/requests?method=") + method + "&path_prefix=/subscriptions").body())["count"]
               .get<std::size_t>();
    for (const char* method : {"POST", "DELETE"})
      n += Json::parse(fake("GET", std::string("/_fake/requests?method=") + method + "&path_prefix=/repos").body())["count"]
               .get<std::size_t>();
    return n;
  }

  HttpResponse call(const Call& c, const std::optional<std::string>& token) {
    TestHttpClient client(daemon_->host(), daemon_->port());
    std::string headers = c.body.empty() ? "" : "Content-Type: application/json\r\n";
    if (token) headers += "Authorization: Bearer " + *token + "\r\n";
    auto res = client.request(c.method, c.target, headers, c.body);
    if (!res) throw std::runtime_error(c.method + " " + c.target + ": " + client.last_error());
    return *res;
  }
  static std::string code(const HttpResponse& res) {
    const auto json = Json::parse(res.body(), nullptr, false);
    return json.is_object() && json.contains("error") ? json["error"].value("code", "") : "";
  }

  /// Applies a SIGHUP and waits for it: a long-poll on environment `canary`, which the new config
  /// no longer has, is answered (404) when the reload is applied.
  void reload_without_canary(const std::string& next_config) {
    TestHttpClient waiter{daemon_->host(), daemon_->port()};
    ASSERT_TRUE(waiter.send_request("GET", "/can-deploy?env=canary&wait=30"));
    ASSERT_TRUE(waiter.readable_within(0ms) == false);
    dir_.write("config.yaml", next_config);
    ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
    const auto answered = waiter.read_response(10s);
    ASSERT_TRUE(answered) << waiter.last_error();
    ASSERT_EQ(answered->result_int(), 404) << answered->body();
  }
  /// A repository the fake does not know: canary is never safe, so its long-poll waits until the
  /// reload removes it.
  static std::string canary() {
    return "  canary:\n    github: { repo: acme/unknown, workflows: [deploy.yml] }\n";
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> fake_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(SecurityTest, ADefaultInstallationRefusesEveryMutationAndSaysSo) {
  start("");
  EXPECT_NE(daemon_->stderr_text().find("event=api_mutations_refused"), std::string::npos)
      << daemon_->stderr_text();
  for (const auto& c : mutations("staging")) {
    const auto res = call(c, std::nullopt);
    EXPECT_EQ(res.result_int(), 403) << c.method << " " << c.target << " " << res.body();
    EXPECT_EQ(code(res), "auth_not_configured") << c.target;
  }
  // Nothing happened: no freeze, no lease, no call to GitHub or Azure that changes anything.
  const auto status = call({"GET", "/v1/environments/staging", "", ""}, std::nullopt);
  ASSERT_EQ(status.result_int(), 200);
  const auto body = Json::parse(status.body());
  EXPECT_TRUE(body["freeze"].is_null()) << status.body();
  EXPECT_TRUE(body["lease"].is_null()) << status.body();
  EXPECT_EQ(mutating_upstream_calls(), 0u);
  // Reads stay open.
  EXPECT_NE(call({"GET", "/can-deploy?env=staging", "", ""}, std::nullopt).result_int(), 403);
}

TEST_F(SecurityTest, AllowAnonymousMutationsOpensThemWithAWarning) {
  start("", /*anonymous=*/true);
  EXPECT_NE(daemon_->stderr_text().find("event=api_open"), std::string::npos)
      << daemon_->stderr_text();
  const auto frozen = call({"POST", "/v1/environments/staging/freeze", R"({"reason":"r","by":"b"})", ""},
                           std::nullopt);
  EXPECT_EQ(frozen.result_int(), 200) << frozen.body();
  EXPECT_NE(read_file(dir_.path() / "audit.jsonl").find("\"actor\":\"anonymous\""), std::string::npos);
}

TEST_F(SecurityTest, EachScopeReachesExactlyItsMutatingRoutes) {
  start(scoped_tokens());
  struct Holder {
    std::string token;
    std::string scope;
  };
  for (const Holder& holder : {Holder{kDeploy, "deploy"}, Holder{kOperate, "operate"},
                               Holder{kRead, "read"}}) {
    for (const auto& c : mutations("production")) {
      const auto res = call(c, holder.token);
      if (c.scope == holder.scope) {
        EXPECT_NE(res.result_int(), 401) << holder.scope << " " << c.target << " " << res.body();
        EXPECT_NE(res.result_int(), 403) << holder.scope << " " << c.target << " " << res.body();
      } else {
        EXPECT_EQ(res.result_int(), 403) << holder.scope << " " << c.target << " " << res.body();
        EXPECT_EQ(code(res), "forbidden") << c.target;
        EXPECT_NE(res.body().find("does not have scope " + c.scope), std::string::npos) << res.body();
      }
    }
  }
  // A token limited to staging acts there and nowhere else.
  for (const auto& c : mutations("production")) {
    if (c.scope != "deploy") continue;
    const auto res = call(c, kStaging);
    EXPECT_EQ(res.result_int(), 403) << c.target;
    EXPECT_NE(res.body().find("may not act on environment \\\"production\\\""), std::string::npos)
        << res.body();
  }
  const auto joined = call({"POST", "/v1/environments/staging/queue", R"({"holder":"h"})", ""}, kStaging);
  EXPECT_TRUE(joined.result_int() == 201 || joined.result_int() == 202) << joined.body();
  // No call without a token, or with an unknown one.
  for (const auto& c : mutations("staging"))
    for (const std::optional<std::string>& token :
         {std::optional<std::string>{}, std::optional<std::string>{"nope-not-a-token"}})
      EXPECT_EQ(call(c, token).result_int(), 401) << c.target;

  // The audit log and the metrics name the tokens, never their values.
  const auto audit = read_file(dir_.path() / "audit.jsonl");
  EXPECT_NE(audit.find("\"actor\":\"oncall\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"actor\":\"staging-ci\""), std::string::npos) << audit;
  const auto metrics = call({"GET", "/metrics", "", ""}, std::nullopt).body();
  EXPECT_NE(metrics.find("deployguard_api_auth_total{outcome=\"forbidden\",route=\"/v1/environments/{name}/stop\",token=\"ci\"}"),
            std::string::npos)
      << metrics.substr(metrics.find("deployguard_api_auth_total"), 2000);
  for (const auto* token : {&kDeploy, &kOperate, &kRead, &kStaging}) {
    EXPECT_EQ(audit.find(*token), std::string::npos);
    EXPECT_EQ(metrics.find(*token), std::string::npos);
    EXPECT_EQ(daemon_->stderr_text().find(*token), std::string::npos);
  }
}

TEST_F(SecurityTest, StabilizeWithAnEmptyBodyIsAPlanAndMovesNoTraffic) {
  start(scoped_tokens());
  // Both sources polled once: the plan has an observation to work from. Neither verdict is
  // safe (traffic split), so there is no long-poll to wake on: a bounded readiness poll, as in
  // remediation_test.cpp.
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  for (;;) {
    auto res = http_get(daemon_->host(), daemon_->port(), "/readyz");
    if (res && res->result_int() == 200) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "daemon never became ready";
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(fake("DELETE", "/_fake/requests").result_int(), 200);
  const auto plan = call({"POST", "/v1/environments/staging/stabilize", "", ""}, kOperate);
  ASSERT_EQ(plan.result_int(), 200) << plan.body();
  const auto body = Json::parse(plan.body());
  EXPECT_EQ(body["outcome"], "planned");
  EXPECT_EQ(body["dry_run"], true);
  EXPECT_EQ(body["plan"]["target"], "shop-api--r1") << plan.body();
  const auto no_revision = call({"POST", "/v1/environments/staging/stabilize",
                                 R"({"dry_run":false})", ""},
                                kOperate);
  EXPECT_EQ(no_revision.result_int(), 400) << no_revision.body();
  EXPECT_NE(no_revision.body().find("revision: required with"), std::string::npos);
  EXPECT_EQ(mutating_upstream_calls(), 0u);
  // The fake still splits traffic 70/30.
  const auto state = Json::parse(fake("GET", "/_fake/state").body());
  EXPECT_EQ(state["azure"]["container_apps"]["rg/shop-api"]["traffic"].size(), 2u);
}

TEST_F(SecurityTest, TheApiListenerServesTlsAndBothCertificatesReloadOnSighup) {
  const auto ca = make_ca("api test CA");
  const auto leaf = make_leaf(ca, "deployguard", "DNS:localhost,IP:127.0.0.1");
  const auto ca_file = dir_.write("ca.pem", ca.cert_pem);
  const auto cert = dir_.write("api.crt", leaf.cert_pem);
  const auto key = dir_.write("api.key", leaf.key_pem);
  const auto secret = dir_.write("webhook-secret", "s3cret-for-webhooks\n");
  const std::string server = scoped_tokens() + "  tls: { cert_file: " + cert.string() +
                             ", key_file: " + key.string() + " }\n  webhook_listen: 127.0.0.1:0\n";
  auto yaml = config(server, false, canary());
  // The webhook listener needs its secret; it has no certificate of its own: it uses server.tls.
  yaml.replace(yaml.find("  poll_interval: 1h\n"), 0, "  webhook_secret_file: " + secret.string() + "\n");
  daemon_ = DaemonProcess::start(kBinary, dir_, yaml);
  const auto log = daemon_->stderr_text();
  EXPECT_NE(log.find("event=listening address=127.0.0.1:" + std::to_string(daemon_->port())), std::string::npos);
  const auto api_line = log.substr(log.find("event=listening address="));
  EXPECT_EQ(api_line.substr(0, api_line.find('\n')).find("tls=true") == std::string::npos, false) << log;
  // The webhook listener has no certificate of its own: it serves server.tls's.
  const auto webhook_line = log.substr(log.find("event=listening_webhook"));
  EXPECT_NE(webhook_line.substr(0, webhook_line.find('\n')).find("tls=true"), std::string::npos) << log;

  const std::string base = "https://127.0.0.1:" + std::to_string(daemon_->port());
  http::HttpRequest read;
  read.url = base + "/v1/status";
  const auto status = https_request(ca_file.string(), read);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status.response().status, 200u);
  http::HttpRequest freeze;
  freeze.method = "POST";
  freeze.url = base + "/v1/environments/staging/freeze";
  freeze.body = R"({"reason":"tls","by":"test"})";
  freeze.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + kOperate}};
  const auto frozen = https_request(ca_file.string(), freeze);
  ASSERT_TRUE(frozen) << frozen.error().message;
  EXPECT_EQ(frozen.response().status, 200u) << frozen.response().body;

  // Plain HTTP to the TLS port gets no answer.
  TestHttpClient plain(daemon_->host(), daemon_->port());
  plain.send_request("GET", "/healthz");
  EXPECT_FALSE(plain.read_response(3s));

  // A new certificate from another CA, same paths: after SIGHUP new connections get it.
  const auto ca2 = make_ca("rotated CA");
  const auto leaf2 = make_leaf(ca2, "deployguard", "DNS:localhost,IP:127.0.0.1");
  const auto ca2_file = dir_.write("ca2.pem", ca2.cert_pem);
  dir_.write("api.crt", leaf2.cert_pem);
  dir_.write("api.key", leaf2.key_pem);
  auto next = config(server, false);
  next.replace(next.find("  poll_interval: 1h\n"), 0, "  webhook_secret_file: " + secret.string() + "\n");
  {
    // The canary long-poll goes over TLS too, on a connection verified with the old CA before the
    // reload: a /healthz first opens it (kept alive in the client's pool), then the long-poll.
    boost::asio::io_context io;
    HttpClientConfig client_config;
    client_config.ca_file = ca_file.string();
    client_config.request_timeout = 20s;
    http::BeastHttpClient client(io, http::BeastHttpClientOptions{client_config, http::ProxyEnvironment{}});
    std::promise<void> connected;
    std::promise<http::HttpResult> answered;
    http::HttpRequest health;
    health.url = base + "/healthz";
    client.send(health, [&](http::HttpResult first) {
      EXPECT_TRUE(first);
      connected.set_value();
      http::HttpRequest wait;
      wait.url = base + "/can-deploy?env=canary&wait=30";
      client.send(wait, [&](http::HttpResult r) {
        answered.set_value(std::move(r));
        io.stop();
      });
    });
    std::thread loop([&] { io.run_for(25s); });
    ASSERT_EQ(connected.get_future().wait_for(10s), std::future_status::ready);
    dir_.write("config.yaml", next);
    ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
    auto result = answered.get_future();
    const bool ready = result.wait_for(15s) == std::future_status::ready;
    if (!ready) io.stop();
    loop.join();
    ASSERT_TRUE(ready);
    const auto reloaded = result.get();
    ASSERT_TRUE(reloaded) << reloaded.error().message;
    EXPECT_EQ(reloaded.response().status, 404u) << reloaded.response().body;
  }
  EXPECT_NE(daemon_->stderr_text().find("event=tls_reloaded listener=listen"), std::string::npos);
  EXPECT_NE(daemon_->stderr_text().find("event=tls_reloaded listener=webhook_listen"), std::string::npos);
  const auto old_ca = https_request(ca_file.string(), read);
  EXPECT_FALSE(old_ca) << "the old CA must no longer verify the rotated certificate";
  const auto new_ca = https_request(ca2_file.string(), read);
  ASSERT_TRUE(new_ca) << new_ca.error().message;
  EXPECT_EQ(new_ca.response().status, 200u);
}

TEST_F(SecurityTest, TokensAreReloadedOnSighup) {
  const auto tokens = dir_.write("rotating", "first-generation-token\n");
  const std::string server = "  api_tokens:\n    - { name: ci, file: " + tokens.string() +
                             ", scopes: [operate] }\n";
  daemon_ = DaemonProcess::start(kBinary, dir_, config(server, false, canary()));
  const Call freeze{"POST", "/v1/environments/staging/freeze", R"({"reason":"r","by":"b"})", "operate"};
  EXPECT_EQ(call(freeze, "first-generation-token").result_int(), 200);
  dir_.write("rotating", "second-generation-token\n");
  reload_without_canary(config(server, false));
  EXPECT_EQ(call(freeze, "first-generation-token").result_int(), 401);
  EXPECT_EQ(call(freeze, "second-generation-token").result_int(), 200);
}

}  // namespace
}  // namespace deployguard::testing
