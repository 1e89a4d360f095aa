#include "upstream/upstream_pollers.hpp"

#include <boost/asio/post.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/scripted_http_client.hpp"

namespace deployguard::upstream {
namespace {

using namespace std::chrono_literals;
using deployguard::testing::header;
using deployguard::testing::response;
using deployguard::testing::run_until;
using deployguard::testing::RecordingSink;
using deployguard::testing::ScriptedHttpClient;

class FixedTokens final : public TokenProvider {
 public:
  explicit FixedTokens(boost::asio::io_context& ioc) : ioc_(ioc) {}
  void get_token(Callback done) override {
    boost::asio::post(ioc_, [done = std::move(done)] { done(TokenResult{"arm-token", ""}); });
  }

 private:
  boost::asio::io_context& ioc_;
};

class UpstreamPollersTest : public ::testing::Test {
 protected:
  UpstreamPollersTest() {
    config.github.emplace();
    config.github->api_url = "https://gh.test";
    config.azure.emplace();
    config.azure->arm_url = "https://arm.test";
    config.azure->subscription_id = "sub";
    EnvironmentConfig env;
    env.name = "prod";
    env.github = GitHubTarget{"acme/shop", {"Deploy"}, std::nullopt};
    env.container_app = AzureResourceRef{"rg", "shop"};
    env.postgres_servers = {AzureResourceRef{"rg", "pg-a"}, AzureResourceRef{"rg", "pg-b"}};
    config.environments["prod"] = env;
    EnvironmentConfig staging;
    staging.name = "staging";
    staging.postgres_servers = {AzureResourceRef{"rg", "pg-s"}};
    config.environments["staging"] = staging;

    options.azure_tokens = std::make_shared<FixedTokens>(ioc);
    options.github_tokens = [](std::string&) -> std::optional<std::string> { return "gh-token"; };
    options.jitter = 0.0;
    options.min_refresh_spacing = 0ms;

    client.always("/actions/workflows?", response(200, R"({"total_count":1,"workflows":[{"id":7,"name":"Deploy","path":".github/workflows/deploy.yml"}]})"));
    client.always("/workflows/7/runs", response(200, R"({"total_count":0,"workflow_runs":[]})"));
    client.always("/containerApps/shop?", response(200, R"({"name":"shop","properties":{"provisioningState":"Succeeded"}})"));
    client.always("/revisions?", response(200, R"({"value":[]})"));
    client.always("/flexibleServers/", response(200, R"({"name":"x","properties":{"state":"Ready"}})"));
  }

  boost::asio::io_context ioc;
  ManualClock wall{TimePoint{std::chrono::seconds{1'700'000'000}}};
  ScriptedHttpClient client{ioc};
  RecordingSink sink;
  Config config;
  UpstreamOptions options;
};

TEST_F(UpstreamPollersTest, OnePollerPerSourcePerEnvironment) {
  UpstreamPollers pollers(ioc, config, client, sink, wall, options);
  const auto stats = pollers.stats();
  std::vector<std::string> ids;
  for (const auto& s : stats) ids.push_back(s.environment + ":" + s.source);
  EXPECT_THAT(ids, ::testing::ElementsAre("prod:github", "prod:container_app", "prod:postgres/pg-a",
                                          "prod:postgres/pg-b", "staging:postgres/pg-s"));
}

TEST_F(UpstreamPollersTest, StartPollsEverySourceAndRefreshNowTargetsOne) {
  UpstreamPollers pollers(ioc, config, client, sink, wall, options);
  pollers.start();
  ASSERT_TRUE(run_until(ioc, [&] {
    return sink.count<RunsPolled>("prod") == 1 && sink.count<ContainerAppPolled>("prod") == 1 &&
           sink.count<PostgresPolled>("prod") == 2 && sink.count<PostgresPolled>("staging") == 1;
  }));
  EXPECT_EQ(sink.count<SourceFailed>(), 0u);

  EXPECT_FALSE(pollers.refresh_now("nope"));
  EXPECT_FALSE(pollers.refresh_now("prod", "postgres/unknown"));
  EXPECT_TRUE(pollers.refresh_now("prod", "postgres/pg-b"));
  ASSERT_TRUE(run_until(ioc, [&] { return sink.count<PostgresPolled>("prod") == 3; }));
  EXPECT_EQ(client.count("/flexibleServers/pg-b?"), 2u);
  EXPECT_EQ(client.count("/flexibleServers/pg-a?"), 1u);
  EXPECT_EQ(sink.count<RunsPolled>("prod"), 1u);

  pollers.stop();
  EXPECT_FALSE(pollers.refresh_now("prod", "github"));
}

// Config reload: the set that replaces the running pollers gets their GitHub state. A source
// whose key (API, token, target) is unchanged polls conditionally at once; a changed one starts
// fresh (workflows listed again, no If-None-Match).
class RebuiltPollersTest : public UpstreamPollersTest {
 protected:
  RebuiltPollersTest() {
    // One-shot rules win over the fixture's persistent one: the first poll gets an ETag.
    client.once("/workflows/7/runs", response(200, R"({"total_count":0,"workflow_runs":[]})",
                                              {{"ETag", "W/\"runs-1\""}}));
  }

  /// Runs one set of pollers until prod's GitHub source has polled; returns its GitHub state.
  GitHubSourceStates first_generation() {
    UpstreamPollers pollers(ioc, config, client, sink, wall, options);
    pollers.start();
    EXPECT_TRUE(run_until(ioc, [&] { return sink.count<RunsPolled>("prod") == 1; }));
    pollers.stop();
    return pollers.github_states();
  }

  /// A second set built from `next` with `states`, run until prod's GitHub source has polled;
  /// its runs request is answered `runs`.
  void second_generation(const Config& next, GitHubSourceStates states, http::HttpResult runs) {
    client.once("/workflows/7/runs", std::move(runs));
    UpstreamOptions carried = options;
    carried.github_states = std::move(states);
    UpstreamPollers pollers(ioc, next, client, sink, wall, carried);
    pollers.start();
    EXPECT_TRUE(run_until(ioc, [&] { return sink.count<RunsPolled>("prod") == 2; }));
    pollers.stop();
  }
};

TEST_F(RebuiltPollersTest, UnchangedSourceKeepsItsETagAndWorkflowIds) {
  auto states = first_generation();
  ASSERT_EQ(states.count("prod"), 1u);
  EXPECT_EQ(states.at("prod").cache.workflow_ids, std::vector<std::int64_t>{7});

  Config next = config;  // an unrelated environment added: the pollers are rebuilt
  EnvironmentConfig qa;
  qa.name = "qa";
  qa.postgres_servers = {AzureResourceRef{"rg", "pg-q"}};
  next.environments["qa"] = qa;
  second_generation(next, std::move(states), response(304, ""));

  const http::HttpRequest* recent = nullptr;
  for (const auto& r : client.requests())
    if (r.url.find("/workflows/7/runs") != std::string::npos && r.url.find("&status=") == std::string::npos)
      recent = &r;
  ASSERT_NE(recent, nullptr);
  EXPECT_EQ(header(*recent, "If-None-Match"), "W/\"runs-1\"");
  EXPECT_EQ(client.count("/actions/workflows?"), 1u) << "workflow ids kept";
  EXPECT_EQ(sink.count<SourceFailed>("prod"), 0u) << "the 304 was answered from the kept runs";
}

TEST_F(RebuiltPollersTest, SourceWithAnotherTokenStartsFresh) {
  // Same runs URL: only the key tells the old ETag does not belong to this source any more.
  Config next = config;
  next.github->token_env = "OTHER_GITHUB_TOKEN";
  second_generation(next, first_generation(),
                    response(200, R"({"total_count":0,"workflow_runs":[]})"));
  EXPECT_EQ(header(client.last("/workflows/7/runs"), "If-None-Match"), "");
  EXPECT_EQ(client.count("/actions/workflows?"), 2u) << "workflows resolved again";
}

TEST_F(RebuiltPollersTest, SourceWithOtherWorkflowsStartsFresh) {
  Config next = config;
  next.environments["prod"].github->workflows = {"deploy.yml"};  // resolves to the same id 7
  second_generation(next, first_generation(),
                    response(200, R"({"total_count":0,"workflow_runs":[]})"));
  EXPECT_EQ(header(client.last("/workflows/7/runs"), "If-None-Match"), "");
  EXPECT_EQ(client.count("/actions/workflows?"), 2u) << "workflows resolved again";
}

TEST_F(UpstreamPollersTest, MissingTopLevelSectionsAreStartupErrors) {
  Config no_github = config;
  no_github.github.reset();
  EXPECT_THROW(UpstreamPollers(ioc, no_github, client, sink, wall, options), std::runtime_error);
  Config no_azure = config;
  no_azure.azure.reset();
  EXPECT_THROW(UpstreamPollers(ioc, no_azure, client, sink, wall, options), std::runtime_error);
}

}  // namespace
}  // namespace deployguard::upstream
