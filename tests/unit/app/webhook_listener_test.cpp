// DaemonApp's webhook-only listener in-process: bound on port 0 next to the API listener, and
// reload_tls() (what SIGHUP calls) keeps the old certificate when the new files do not load.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "app/daemon_app.hpp"
#include "common/temp_dir.hpp"
#include "common/test_http_client.hpp"
#include "common/test_pki.hpp"

namespace deployguard::app {
namespace {

Config webhook_config(const testing::TempDir& dir) {
  Config config;
  config.server.listen = {"127.0.0.1", 0};
  config.server.webhook_listen = ListenAddress{"127.0.0.1", 0};
  config.state.path = (dir.path() / "state.json").string();
  GitHubConfig github;
  github.api_url = "http://127.0.0.1:9";
  github.token_file = dir.write("github-token", "test-token\n").string();
  github.webhook_secret_file = dir.write("webhook-secret", "s3cret\n").string();
  config.github = github;
  EnvironmentConfig env;
  env.name = "staging";
  env.github = GitHubTarget{"example/app", {"deploy.yml"}, std::nullopt};
  config.environments.emplace("staging", env);
  return config;
}

TEST(WebhookListenerTest, PlainListenerServesOnlyTheWebhookAndStopsWithTheDaemon) {
  testing::TempDir dir;
  DaemonApp app{webhook_config(dir)};
  app.start();
  ASSERT_TRUE(app.webhook_endpoint());
  const auto port = app.webhook_endpoint()->port();
  ASSERT_NE(port, 0);
  ASSERT_NE(port, app.listen_endpoint().port());
  EXPECT_TRUE(app.reload_tls());  // no TLS: nothing to do
  int exit_code = -1;
  std::thread io([&] { exit_code = app.run(); });

  testing::TestHttpClient hook{"127.0.0.1", port};
  auto res = hook.request("GET", "/can-deploy?env=staging");
  ASSERT_TRUE(res) << hook.last_error();
  EXPECT_EQ(res->result_int(), 404);
  res = hook.request("POST", "/webhooks/github", "Content-Type: application/json\r\n", "{}");
  ASSERT_TRUE(res) << hook.last_error();
  EXPECT_EQ(res->result_int(), 401);  // reached the webhook receiver: unsigned

  app.request_stop();
  io.join();  // run() returns only once both listeners stopped
  EXPECT_EQ(exit_code, 0);
  EXPECT_TRUE(hook.wait_closed());
}

TEST(WebhookListenerTest, ReloadTlsKeepsTheOldCertificateOnFailure) {
  testing::TempDir dir;
  const auto ca = deployguard::testing::make_ca("app test CA");
  const auto leaf = deployguard::testing::make_leaf(ca, "hooks", "DNS:localhost,IP:127.0.0.1");
  auto config = webhook_config(dir);
  config.server.cert_file = dir.write("webhook.crt", leaf.cert_pem).string();
  config.server.key_file = dir.write("webhook.key", leaf.key_pem).string();
  DaemonApp app{config};
  app.start();
  EXPECT_TRUE(app.reload_tls());

  dir.write("webhook.crt", "garbage\n");
  EXPECT_FALSE(app.reload_tls());

  const auto renewed = deployguard::testing::make_leaf(ca, "hooks-renewed", "DNS:localhost");
  dir.write("webhook.crt", renewed.cert_pem);
  dir.write("webhook.key", renewed.key_pem);
  EXPECT_TRUE(app.reload_tls());
}

TEST(WebhookListenerTest, ReadyLineCarriesTheWebhookAddress) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const boost::asio::ip::tcp::endpoint api{boost::asio::ip::make_address("127.0.0.1"), 8080};
  const boost::asio::ip::tcp::endpoint hook{boost::asio::ip::make_address("::1"), 8443};
  ASSERT_TRUE(write_ready_line(fds[1], api, hook));
  char buffer[256] = {};
  const auto n = ::read(fds[0], buffer, sizeof buffer - 1);
  ::close(fds[0]);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(n)),
            "{\"listen\":\"127.0.0.1:8080\",\"webhook_listen\":\"[::1]:8443\"}\n");
}

}  // namespace
}  // namespace deployguard::app
