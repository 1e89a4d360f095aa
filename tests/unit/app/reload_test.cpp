// DaemonApp::reload (what SIGHUP runs): a valid config replaces the running one without touching
// unchanged environments; an invalid one is rejected whole with every error, and nothing changes.
// The app is built in-process and never run: reload() is called on this (the io) thread.
#include <fstream>

#include <gtest/gtest.h>

#include "app/daemon_app.hpp"
#include "config/loader.hpp"
#include "common/daemon_config.hpp"
#include "common/temp_dir.hpp"

namespace deployguard::app {
namespace {

using namespace std::chrono_literals;

/// A config file for `dir`: GitHub unreachable (port 9), state in `dir`, the given environments
/// (each watching its own repo).
std::string yaml(const testing::TempDir& dir, const std::vector<std::string>& environments,
                 const std::string& extra_env_lines = "") {
  std::string envs;
  for (const auto& name : environments) {
    envs += "  " + name + ":\n    github: { repo: example/" + name +
            ", workflows: [deploy.yml] }\n";
    envs += extra_env_lines;
  }
  return testing::daemon_config(dir, {.environments = envs});
}

class ReloadTest : public ::testing::Test {
 protected:
  ReloadTest() {
    config_path_ = dir_.write("deployguard.yaml", yaml(dir_, {"production", "staging"})).string();
  }

  std::unique_ptr<DaemonApp> make_app() {
    auto loaded = config::load_config_file(config_path_);
    EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
    DaemonOptions options;
    options.config_path = config_path_;
    auto app = std::make_unique<DaemonApp>(std::move(*loaded.config), std::move(options));
    app->start();
    return app;
  }

  void rewrite(const std::string& content) { dir_.write("deployguard.yaml", content); }

  testing::TempDir dir_;
  std::string config_path_;
};

TEST_F(ReloadTest, ValidConfigAddsRemovesAndChangesEnvironmentsKeepingTheRest) {
  auto app = make_app();
  // Durable state of an environment that stays must survive the reload.
  ASSERT_TRUE(app->service().modify("staging", [](EnvironmentPolicy& policy, TimePoint now) {
    policy.set_freeze(Freeze{"incident", "alice", now, std::nullopt});
  }));

  rewrite(yaml(dir_, {"qa", "staging"}, "    cooldown: 9m\n"));
  const auto result = app->reload();

  ASSERT_TRUE(result.ok) << (result.errors.empty() ? "" : result.errors[0]);
  EXPECT_EQ(result.environments.added, std::vector<std::string>{"qa"});
  EXPECT_EQ(result.environments.removed, std::vector<std::string>{"production"});
  EXPECT_EQ(result.environments.rules_changed, std::vector<std::string>{"staging"});
  EXPECT_TRUE(result.pollers_rebuilt);
  EXPECT_TRUE(result.restart_required.empty());
  EXPECT_FALSE(app->service().find("production"));
  ASSERT_TRUE(app->service().find("qa"));
  ASSERT_TRUE(app->service().find("staging"));
  EXPECT_TRUE(app->service().find("staging")->freeze());
  EXPECT_EQ(app->service().find("staging")->rules().cooldown, 9min);
  EXPECT_TRUE(app->pollers().poller("qa", "github")) << "the new environment is polled";
  EXPECT_FALSE(app->pollers().poller("production", "github"));
  EXPECT_EQ(app->config().environments.count("qa"), 1u);
  EXPECT_EQ(app->reload_counts().at("ok"), 1u);
}

TEST_F(ReloadTest, RuleOnlyChangeKeepsThePollers) {
  auto app = make_app();
  auto* before = app->pollers().poller("staging", "github");
  rewrite(yaml(dir_, {"production", "staging"}, "    min_interval: 20m\n"));
  const auto result = app->reload();
  ASSERT_TRUE(result.ok);
  EXPECT_FALSE(result.pollers_rebuilt);
  EXPECT_EQ(app->pollers().poller("staging", "github"), before);
  EXPECT_EQ(result.environments.rules_changed.size(), 2u);
}

TEST_F(ReloadTest, InvalidConfigIsRejectedWithEveryErrorAndNothingChanges) {
  auto app = make_app();
  rewrite(yaml(dir_, {"staging"}) + "bogus_key: 1\nlog:\n  level: loud\n");
  const auto result = app->reload();
  EXPECT_FALSE(result.ok);
  EXPECT_GE(result.errors.size(), 2u) << "every error, not just the first";
  EXPECT_TRUE(app->service().find("production")) << "the running config stays";
  EXPECT_EQ(app->config().environments.size(), 2u);
  EXPECT_EQ(app->reload_counts().at("failed"), 1u);
  EXPECT_EQ(app->reload_counts().count("ok"), 0u);
}

TEST_F(ReloadTest, UnusableSecretFileRejectsTheReload) {
  auto app = make_app();
  auto config = app->config();
  config.environments.erase("production");
  config.github->webhook_secret_file = (dir_.path() / "missing-secret").string();
  const auto result = app->reload(config);
  EXPECT_FALSE(result.ok);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].find("webhook_secret_file"), std::string::npos) << result.errors[0];
  EXPECT_TRUE(app->service().find("production")) << "nothing applied";
}

TEST_F(ReloadTest, ListenAddressChangeNeedsARestartAndKeepsTheRunningValue) {
  auto app = make_app();
  auto config = app->config();
  const auto running = config.server.listen;
  config.server.listen.port = 18099;
  config.state.path = (dir_.path() / "other.json").string();
  config.server.max_waiters = 7;
  const auto result = app->reload(config);
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(result.restart_required,
            (std::vector<std::string>{"server.listen", "server limits", "state"}));
  EXPECT_EQ(app->config().server.max_waiters, ServerConfig{}.max_waiters);
  EXPECT_EQ(app->config().server.listen, running);
  EXPECT_EQ(app->config().state.path, (dir_.path() / "state.json").string());
}

}  // namespace
}  // namespace deployguard::app
