// End-to-end tests of the deployguard binary: CLI, start-up on port 0, API answers before any
// upstream was polled, keep-alive, and shutdown on SIGTERM.
#include <signal.h>

#include <csignal>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/daemon_config.hpp"
#include "common/daemon_process.hpp"
#include "common/test_http_client.hpp"

namespace deployguard::testing {
namespace {

const std::string kBinary = DEPLOYGUARD_BINARY;
using Json = nlohmann::json;

/// A valid config on 127.0.0.1:0 whose environments point at an unreachable upstream (nothing
/// polls yet, and nothing must be contacted for these tests). `environments` is the YAML body
/// under `environments:`, indented by 2.
std::string make_config(const TempDir& dir, const std::string& environments,
                        const std::string& listen = "127.0.0.1:0") {
  return daemon_config(dir, {.listen = listen, .environments = environments});
}

std::string github_env(const std::string& name) {
  return "  " + name +
         ":\n"
         "    github:\n"
         "      repo: example/app\n"
         "      workflows: [deploy.yml]\n";
}

class DaemonTest : public ::testing::Test {
 protected:
  std::unique_ptr<DaemonProcess> start(const std::string& environments) {
    auto daemon = DaemonProcess::start(kBinary, dir_, make_config(dir_, environments));
    return daemon;
  }
  void TearDown() override {
    if (HasFailure() && daemon_) ADD_FAILURE() << "daemon stderr:\n" << daemon_->stderr_text();
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(DaemonTest, StartsOnPortZeroAndReportsTheBoundAddress) {
  daemon_ = start(github_env("staging"));
  EXPECT_EQ(daemon_->host(), "127.0.0.1");
  EXPECT_NE(daemon_->port(), 0);
  EXPECT_EQ(daemon_->ready_line(),
            "{\"listen\":\"127.0.0.1:" + std::to_string(daemon_->port()) + "\"}");
  auto res = http_get(daemon_->host(), daemon_->port(), "/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_EQ(Json::parse(res->body()), (Json{{"status", "ok"}}));
  EXPECT_EQ((*res)[boost::beast::http::field::content_type], "application/json");
  // The bound address is logged at info.
  EXPECT_NE(daemon_->stderr_text().find("127.0.0.1:" + std::to_string(daemon_->port())),
            std::string::npos);
}

TEST_F(DaemonTest, ReadyzIs503UntilSourcesRefreshed) {
  daemon_ = start(github_env("staging"));
  auto res = http_get(daemon_->host(), daemon_->port(), "/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 503);
  const auto body = Json::parse(res->body());
  ASSERT_EQ(body["missing"].size(), 1u);
  EXPECT_EQ(body["missing"][0]["environment"], "staging");
  EXPECT_EQ(body["missing"][0]["source"], "github");
}

TEST_F(DaemonTest, CanDeployIsLockedWithReasonStartingBeforeAnyRefresh) {
  daemon_ = start(github_env("staging"));
  for (const std::string target : {"/can-deploy", "/can-deploy?env=staging"}) {
    auto res = http_get(daemon_->host(), daemon_->port(), target);
    ASSERT_TRUE(res) << target;
    EXPECT_EQ(res->result_int(), 423) << target;
    const auto body = Json::parse(res->body());
    EXPECT_EQ(body["environment"], "staging");
    EXPECT_EQ(body["safe"], false);
    ASSERT_FALSE(body["reasons"].empty());
    EXPECT_EQ(body["reasons"][0]["code"], "starting");
    EXPECT_TRUE(body.contains("evaluated_at"));
  }
}

TEST_F(DaemonTest, UnknownEnvironmentIs404AndMissingEnvWithSeveralIs400) {
  daemon_ = start(github_env("production") + github_env("staging"));
  auto unknown = http_get(daemon_->host(), daemon_->port(), "/can-deploy?env=qa");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->result_int(), 404);
  EXPECT_EQ(Json::parse(unknown->body())["error"]["code"], "not_found");

  auto missing = http_get(daemon_->host(), daemon_->port(), "/can-deploy");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->result_int(), 400);
  EXPECT_EQ(Json::parse(missing->body())["error"]["code"], "bad_request");

  auto status = http_get(daemon_->host(), daemon_->port(), "/v1/status");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->result_int(), 200);
  const auto envs = Json::parse(status->body())["environments"];
  EXPECT_TRUE(envs.contains("production"));
  EXPECT_TRUE(envs.contains("staging"));
}

TEST_F(DaemonTest, KeepAliveServesTwoRequestsOnOneConnection) {
  daemon_ = start(github_env("staging"));
  TestHttpClient client{daemon_->host(), daemon_->port()};
  auto first = client.request("GET", "/healthz");
  ASSERT_TRUE(first) << client.last_error();
  EXPECT_EQ(first->result_int(), 200);
  EXPECT_TRUE(first->keep_alive());
  auto second = client.request("GET", "/can-deploy?env=staging");
  ASSERT_TRUE(second) << client.last_error();
  EXPECT_EQ(second->result_int(), 423);
}

TEST_F(DaemonTest, SigtermExitsZeroPromptly) {
  daemon_ = start(github_env("staging"));
  TestHttpClient idle_client{daemon_->host(), daemon_->port()};  // an idle keep-alive connection
  ASSERT_TRUE(idle_client.request("GET", "/healthz"));
  const auto code = daemon_->stop(SIGTERM, 5s);
  ASSERT_TRUE(code) << "daemon did not exit within 5s of SIGTERM";
  EXPECT_EQ(*code, 0);
  EXPECT_TRUE(idle_client.wait_closed(1s));
}

TEST_F(DaemonTest, SighupReloadsTheConfigKeepingUnchangedEnvironments) {
  daemon_ = start(github_env("production") + github_env("staging"));
  TestHttpClient client{daemon_->host(), daemon_->port()};
  // An operator freeze on staging must survive the reload.
  auto frozen = client.request("POST", "/v1/environments/staging/freeze",
                               "Content-Type: application/json\r\n",
                               R"({"reason":"incident 42","by":"alice"})");
  ASSERT_TRUE(frozen);
  ASSERT_EQ(frozen->result_int(), 200) << frozen->body();
  // A pipeline long-polling production: when production is removed, it is answered at once
  // (404) instead of waiting out its 30 s. That answer is the event this test waits for.
  TestHttpClient waiter{daemon_->host(), daemon_->port()};
  ASSERT_TRUE(waiter.send_request("GET", "/can-deploy?env=production&wait=30"));

  dir_.write("config.yaml", make_config(dir_, github_env("staging") + github_env("qa")));
  ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);

  const auto answered = waiter.read_response(10s);
  ASSERT_TRUE(answered) << waiter.last_error();
  EXPECT_EQ(answered->result_int(), 404) << answered->body();

  auto qa = client.request("GET", "/can-deploy?env=qa");
  ASSERT_TRUE(qa);
  EXPECT_EQ(qa->result_int(), 423) << "qa is configured now (nothing polled yet)";
  auto staging = client.request("GET", "/v1/environments/staging");
  ASSERT_TRUE(staging);
  ASSERT_EQ(staging->result_int(), 200);
  const auto body = Json::parse(staging->body());
  EXPECT_EQ(body["freeze"]["reason"], "incident 42") << staging->body();

  // An invalid file must not take the daemon down (what exactly is kept is covered by
  // ReloadTest in tests/unit/app; when this SIGHUP is handled is not observable from here).
  dir_.write("config.yaml", "server: [\n");
  ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
  auto still = client.request("GET", "/can-deploy?env=qa");
  ASSERT_TRUE(still);
  EXPECT_EQ(still->result_int(), 423);
  const auto code = daemon_->stop(SIGTERM, 5s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  const auto log = daemon_->stderr_text();
  EXPECT_NE(log.find("event=config_reloaded added=qa removed=production"), std::string::npos) << log;
}

TEST_F(DaemonTest, PortInUseFailsStartupWithExitCode1) {
  daemon_ = start(github_env("staging"));
  TempDir other_dir;
  const auto config = other_dir.write(
      "config.yaml", make_config(other_dir, github_env("staging"),
                                 "127.0.0.1:" + std::to_string(daemon_->port())));
  auto result = run_command(kBinary, {"serve", "--config", config.string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("deployguard: error:"), std::string::npos) << result.err;
}

TEST(CheckConfigTest, ValidFilePrintsOkAndExitsZero) {
  TempDir dir;
  const auto config = dir.write("good.yaml", make_config(dir, github_env("staging")));
  auto result = run_command(kBinary, {"check-config", config.string()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, config.string() + ": OK\n");
}

TEST(CheckConfigTest, InvalidFilePrintsEveryErrorAndExitsOne) {
  TempDir dir;
  const auto config = dir.write("bad.yaml",
                                "server:\n  listen: nowhere\n"
                                "environments:\n"
                                "  staging:\n    cooldown: soon\n");
  auto result = run_command(kBinary, {"check-config", config.string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("server.listen: "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("environments.staging.cooldown: "), std::string::npos) << result.err;
  EXPECT_EQ(result.out, "");
}

TEST(CheckConfigTest, MissingFileExitsOne) {
  TempDir dir;
  auto result = run_command(kBinary, {"check-config", (dir.path() / "nope.yaml").string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("nope.yaml"), std::string::npos) << result.err;
}

TEST(CliTest, VersionPrintsTheVersion) {
  auto result = run_command(kBinary, {"version"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out.rfind("deployguard ", 0), 0u) << result.out;
}

TEST(CliTest, ServeWithInvalidConfigExitsOneWithTheErrors) {
  TempDir dir;
  const auto config = dir.write("bad.yaml", "environments:\n  staging:\n    cooldown: soon\n");
  auto result = run_command(kBinary, {"serve", "--config", config.string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("environments.staging.cooldown: "), std::string::npos) << result.err;
}

}  // namespace
}  // namespace deployguard::testing
