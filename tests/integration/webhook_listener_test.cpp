// The webhook-only listener (server.webhook_listen) through the real binary: it serves signed
// GitHub deliveries and nothing else, while the API stays on server.listen; over TLS with a
// certificate from a throw-away CA (tests/common/test_pki.*), checked by the daemon's
// own HTTPS client. Loopback only; every wait is bounded by a timeout, nothing sleeps.
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/daemon_config.hpp"
#include "common/daemon_process.hpp"
#include "common/test_http_client.hpp"
#include "http/client/beast_http_client.hpp"
#include "common/test_pki.hpp"
#include "webhook/signature.hpp"

namespace deployguard::testing {
namespace {

const std::string kBinary = DEPLOYGUARD_BINARY;
const std::string kWebhookSecret = "webhook-listener-secret";
using Json = nlohmann::json;

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

HostPort parse_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  return {text.substr(0, colon), static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1)))};
}

std::string in_progress_run_payload(std::int64_t id) {
  Json run = {{"id", id}, {"name", "Deploy"}, {"path", ".github/workflows/deploy.yml"},
              {"head_branch", "main"}, {"head_sha", "0123456789abcdef"}, {"status", "in_progress"},
              {"conclusion", nullptr}, {"workflow_id", 4242}, {"run_attempt", 1},
              {"display_title", "webhook-listener deploy"}, {"event", "push"},
              {"html_url", "https://github.com/acme/shop/actions/runs/" + std::to_string(id)},
              {"created_at", "2099-01-01T00:00:00Z"}, {"run_started_at", "2099-01-01T00:00:00Z"},
              {"updated_at", "2099-01-01T00:00:01Z"}, {"repository", {{"full_name", "acme/shop"}}}};
  return Json{{"action", "in_progress"}, {"workflow_run", run},
              {"workflow", {{"id", 4242}, {"name", "Deploy"}, {"path", ".github/workflows/deploy.yml"}}},
              {"repository", {{"full_name", "acme/shop"}}}}
      .dump();
}

std::string signature_headers(const std::string& event, const std::string& delivery,
                              const std::string& body) {
  return "Content-Type: application/json\r\nX-GitHub-Event: " + event +
         "\r\nX-GitHub-Delivery: " + delivery +
         "\r\nX-Hub-Signature-256: sha256=" + webhook::hmac_sha256_hex(kWebhookSecret, body) +
         "\r\n";
}

/// One HTTPS exchange through the daemon's BeastHttpClient, trusting only `ca_file`.
http::HttpResult https_request(const std::string& ca_file, http::HttpRequest request) {
  boost::asio::io_context io;
  HttpClientConfig config;
  config.ca_file = ca_file;
  config.request_timeout = std::chrono::seconds{10};
  http::BeastHttpClient client(io, http::BeastHttpClientOptions{config, http::ProxyEnvironment{}});
  std::optional<http::HttpResult> result;
  client.send(std::move(request), [&](http::HttpResult r) {
    result = std::move(r);
    io.stop();  // the pooled keep-alive connection would keep run_for() busy
  });
  io.run_for(std::chrono::seconds{15});
  if (!result) return http::HttpError{http::HttpErrorKind::timeout, "no answer within 15 s"};
  return std::move(*result);
}

class WebhookListenerTest : public ::testing::Test {
 protected:
  /// `tls_keys`: extra `server:` lines (cert_file/key_file), indented by 2.
  std::string config(const std::string& tls_keys = "") const {
    const auto secret = dir_.write("webhook-secret", kWebhookSecret + "\n");
    return daemon_config(
        dir_, {.server_extra = "  webhook_listen: 127.0.0.1:0\n" + tls_keys,
               .github_extra = "  webhook_secret_file: " + secret.string() +
                               "\n  poll_interval: 1h\n",
               .environments = "  staging:\n"
                               "    github: { repo: acme/shop, workflows: [deploy.yml], "
                               "branch: main }\n"});
  }

  void start_daemon(const std::string& tls_keys = "") {
    daemon_ = DaemonProcess::start(kBinary, dir_, config(tls_keys));
    const auto ready = Json::parse(daemon_->ready_line());
    ASSERT_TRUE(ready.contains("webhook_listen")) << daemon_->ready_line();
    webhook_ = parse_host_port(ready["webhook_listen"].get<std::string>());
    ASSERT_EQ(webhook_.host, "127.0.0.1");
    ASSERT_NE(webhook_.port, 0);
    ASSERT_NE(webhook_.port, daemon_->port());
  }

  void TearDown() override {
    if (HasFailure() && daemon_) ADD_FAILURE() << "daemon stderr:\n" << daemon_->stderr_text();
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
  HostPort webhook_;
};

TEST_F(WebhookListenerTest, ServesOnlyTheWebhookRouteWhileTheApiStaysOnTheMainListener) {
  start_daemon();
  EXPECT_NE(daemon_->stderr_text().find("event=listening_webhook address=127.0.0.1:" +
                                        std::to_string(webhook_.port) + " tls=false"),
            std::string::npos);

  TestHttpClient hook(webhook_.host, webhook_.port);
  const auto body = in_progress_run_payload(9000000101);
  const auto delivered =
      hook.request("POST", "/webhooks/github", signature_headers("workflow_run", "wl-1", body), body);
  ASSERT_TRUE(delivered) << hook.last_error();
  EXPECT_EQ(delivered->result_int(), 202) << delivered->body();

  // Forged deliveries are refused here as on the main listener.
  const auto forged = hook.request(
      "POST", "/webhooks/github",
      "Content-Type: application/json\r\nX-GitHub-Event: workflow_run\r\n"
      "X-GitHub-Delivery: wl-2\r\nX-Hub-Signature-256: sha256=00\r\n",
      body);
  ASSERT_TRUE(forged) << hook.last_error();
  EXPECT_EQ(forged->result_int(), 401);

  // Nothing else is served on the public listener.
  for (const char* target : {"/can-deploy?env=staging", "/healthz", "/metrics", "/v1/environments"}) {
    const auto res = http_get(webhook_.host, webhook_.port, target);
    ASSERT_TRUE(res) << target;
    EXPECT_EQ(res->result_int(), 404) << target;
    EXPECT_EQ(Json::parse(res->body())["error"]["code"], "not_found") << target;
  }

  // The API on server.listen saw the delivery.
  const auto verdict = http_get(daemon_->host(), daemon_->port(), "/can-deploy?env=staging");
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->result_int(), 423);
  bool in_progress = false;
  const auto decision = Json::parse(verdict->body());
  for (const auto& reason : decision["reasons"])
    in_progress = in_progress || reason["code"] == "deploy_in_progress";
  EXPECT_TRUE(in_progress) << verdict->body();
  EXPECT_EQ(http_get(daemon_->host(), daemon_->port(), "/healthz")->result_int(), 200);

  // Both listeners stop with the daemon.
  EXPECT_EQ(daemon_->stop(SIGTERM), 0);
}

TEST_F(WebhookListenerTest, ServesTheWebhookOverTls) {
  const auto ca = make_ca("webhook test CA");
  const auto leaf = make_leaf(ca, "webhook", "DNS:localhost,IP:127.0.0.1");
  const auto ca_file = dir_.write("ca.pem", ca.cert_pem);
  const auto cert = dir_.write("webhook.crt", leaf.cert_pem);
  const auto key = dir_.write("webhook.key", leaf.key_pem);
  start_daemon("  cert_file: " + cert.string() + "\n  key_file: " + key.string() + "\n");
  EXPECT_NE(daemon_->stderr_text().find("event=listening_webhook address=127.0.0.1:" +
                                        std::to_string(webhook_.port) + " tls=true"),
            std::string::npos);

  const std::string base = "https://127.0.0.1:" + std::to_string(webhook_.port);
  const std::string ping = R"({"zen":"Keep it logically awesome.","hook_id":1})";
  http::HttpRequest request;
  request.method = "POST";
  request.url = base + "/webhooks/github";
  request.body = ping;
  request.headers = {{"Content-Type", "application/json"},
                     {"X-GitHub-Event", "ping"},
                     {"X-GitHub-Delivery", "tls-1"},
                     {"X-Hub-Signature-256", "sha256=" + webhook::hmac_sha256_hex(kWebhookSecret, ping)}};
  const auto pong = https_request(ca_file.string(), request);
  ASSERT_TRUE(pong) << pong.error().message;
  EXPECT_EQ(pong.response().status, 200u) << pong.response().body;

  http::HttpRequest api;
  api.url = base + "/can-deploy?env=staging";
  const auto refused = https_request(ca_file.string(), api);
  ASSERT_TRUE(refused) << refused.error().message;
  EXPECT_EQ(refused.response().status, 404u);

  // Plain HTTP to the TLS port gets no answer, and the daemon carries on.
  TestHttpClient plain(webhook_.host, webhook_.port);
  plain.send_request("GET", "/webhooks/github");
  EXPECT_FALSE(plain.read_response(5s));
  EXPECT_EQ(http_get(daemon_->host(), daemon_->port(), "/healthz")->result_int(), 200);
  EXPECT_EQ(daemon_->stop(SIGTERM), 0);
}

TEST_F(WebhookListenerTest, RelativeCertificateNamesAreReadFromTheCredentialsDirectory) {
  // systemd LoadCredential=: the files are in $CREDENTIALS_DIRECTORY and the config names them
  // relatively, like the other secret files.
  const auto ca = make_ca("credentials test CA");
  const auto leaf = make_leaf(ca, "webhook", "DNS:localhost,IP:127.0.0.1");
  const auto ca_file = dir_.write("ca.pem", ca.cert_pem);
  const auto credentials = dir_.path() / "credentials";
  std::filesystem::create_directories(credentials);
  dir_.write("credentials/webhook.crt", leaf.cert_pem);
  dir_.write("credentials/webhook.key", leaf.key_pem);
  std::optional<std::string> saved;
  if (const char* old = std::getenv("CREDENTIALS_DIRECTORY")) saved = old;
  ::setenv("CREDENTIALS_DIRECTORY", credentials.c_str(), 1);  // inherited by the daemon
  start_daemon("  cert_file: webhook.crt\n  key_file: webhook.key\n");
  if (saved) {
    ::setenv("CREDENTIALS_DIRECTORY", saved->c_str(), 1);
  } else {
    ::unsetenv("CREDENTIALS_DIRECTORY");
  }
  ASSERT_TRUE(daemon_);
  http::HttpRequest request;
  request.method = "POST";
  request.url = "https://127.0.0.1:" + std::to_string(webhook_.port) + "/webhooks/github";
  request.body = R"({"zen":"Design for failure.","hook_id":2})";
  request.headers = {{"Content-Type", "application/json"},
                     {"X-GitHub-Event", "ping"},
                     {"X-GitHub-Delivery", "credentials-1"},
                     {"X-Hub-Signature-256",
                      "sha256=" + webhook::hmac_sha256_hex(kWebhookSecret, request.body)}};
  const auto pong = https_request(ca_file.string(), request);
  ASSERT_TRUE(pong) << pong.error().message;
  EXPECT_EQ(pong.response().status, 200u) << pong.response().body;
  EXPECT_EQ(daemon_->stop(SIGTERM), 0);
}

TEST_F(WebhookListenerTest, AnUnloadableCertificateStopsStartUp) {
  const auto cert = dir_.write("broken.crt", "not a certificate\n");
  const auto key = dir_.write("broken.key", "not a key\n");
  const auto config_file = dir_.write(
      "config.yaml",
      config("  cert_file: " + cert.string() + "\n  key_file: " + key.string() + "\n"));
  const auto result = run_command(kBinary, {"serve", "--config", config_file.string()});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find(cert.string()), std::string::npos) << result.err;
}

}  // namespace
}  // namespace deployguard::testing
