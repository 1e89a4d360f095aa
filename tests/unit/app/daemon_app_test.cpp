// DaemonApp built in-process on port 0: serves the API, shuts down on request_stop(), and the
// --ready-fd line is well formed.
#include "app/daemon_app.hpp"
#include "log/log.hpp"

#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

#include "common/temp_dir.hpp"
#include "common/test_http_client.hpp"

namespace deployguard::app {
namespace {

/// State, audit log and the GitHub token live in `dir`; GitHub is unreachable (port 9).
Config test_config(const testing::TempDir& dir) {
  Config config;
  config.server.listen = {"127.0.0.1", 0};
  config.state.path = (dir.path() / "state.json").string();
  GitHubConfig github;
  github.api_url = "http://127.0.0.1:9";
  github.token_file = dir.write("github-token", "test-token\n").string();
  config.github = github;
  EnvironmentConfig env;
  env.name = "staging";
  env.github = GitHubTarget{"example/app", {"deploy.yml"}, std::nullopt};
  config.environments.emplace("staging", env);
  return config;
}

TEST(DaemonAppTest, ServesUntilStopRequested) {
  testing::TempDir dir;
  DaemonApp app{test_config(dir)};
  app.start();
  const auto port = app.listen_endpoint().port();
  ASSERT_NE(port, 0);
  int exit_code = -1;
  std::thread io([&] { exit_code = app.run(); });

  testing::TestHttpClient client{"127.0.0.1", port};
  auto res = client.request("GET", "/can-deploy");
  ASSERT_TRUE(res) << client.last_error();
  EXPECT_EQ(res->result_int(), 423);

  app.request_stop();
  io.join();  // run() returns once the server stopped
  EXPECT_EQ(exit_code, 0);
  EXPECT_TRUE(client.wait_closed());
}

TEST(DaemonAppTest, ServerOptionsFollowConfig) {
  ServerConfig server;
  server.listen = {"0.0.0.0", 9000};
  server.max_connections = 7;
  server.max_header_bytes = 2048;
  server.max_body_bytes = 4096;
  server.read_timeout = std::chrono::seconds{3};
  server.idle_timeout = std::chrono::seconds{4};
  const auto options = server_options(server);
  EXPECT_EQ(options.host, "0.0.0.0");
  EXPECT_EQ(options.port, 9000);
  EXPECT_EQ(options.max_connections, 7u);
  EXPECT_EQ(options.max_header_bytes, 2048u);
  EXPECT_EQ(options.max_body_bytes, 4096u);
  EXPECT_EQ(options.read_timeout, std::chrono::seconds{3});
  EXPECT_EQ(options.idle_timeout, std::chrono::seconds{4});
}

TEST(DaemonAppTest, CorruptStateFileStopsStartNamingTheFile) {
  testing::TempDir dir;
  const auto state = dir.write("state.json", "{\"version\": 1, \"envir").string();
  DaemonApp app{test_config(dir)};
  try {
    app.start();
    ADD_FAILURE() << "expected StateLoadError";
  } catch (const service::StateLoadError& e) {
    EXPECT_NE(std::string(e.what()).find(state), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--move-corrupt-state"), std::string::npos) << e.what();
  }
}

TEST(DaemonAppTest, BadLogLevelThrowsAtStartup) {
  testing::TempDir dir;
  auto config = test_config(dir);
  config.log.level = "loud";
  EXPECT_THROW(DaemonApp{config}, std::invalid_argument);
}

TEST(ReadyLineTest, WritesOneJsonLineAndClosesTheFd) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const boost::asio::ip::tcp::endpoint endpoint{boost::asio::ip::make_address("127.0.0.1"), 4321};
  EXPECT_TRUE(write_ready_line(fds[1], endpoint));
  char buf[128];
  const auto n = ::read(fds[0], buf, sizeof buf);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)), "{\"listen\":\"127.0.0.1:4321\"}\n");
  EXPECT_EQ(::read(fds[0], buf, sizeof buf), 0) << "write end closed";
  ::close(fds[0]);
}

TEST(ReadyLineTest, FormatsIpv6WithBrackets) {
  EXPECT_EQ(format_endpoint({boost::asio::ip::make_address("::1"), 8080}), "[::1]:8080");
}

}  // namespace
}  // namespace deployguard::app

namespace deployguard::logging {
TEST(LoggingTest, NoSecondTimestampUnderJournald) {
  EXPECT_EQ(text_log_pattern(true).find("%Y"), std::string::npos);
  EXPECT_NE(text_log_pattern(false).find("%Y-%m-%dT%H:%M:%S"), std::string::npos);
}
}  // namespace deployguard::logging
