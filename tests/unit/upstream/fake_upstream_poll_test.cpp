// The pollers against the in-process fake upstream over real loopback HTTP with BeastHttpClient:
// GitHub workflows/runs/jobs/logs (302 to a blob on another host name), ARM container app,
// revisions and PostgreSQL, AAD client-credentials tokens, faults and the request log.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/client/beast_http_client.hpp"
#include "common/scripted_http_client.hpp"
#include "common/temp_dir.hpp"
#include "server.hpp"
#include "upstream/upstream_pollers.hpp"
#include "service/clock.hpp"

namespace deployguard::upstream {
namespace {

using namespace std::chrono_literals;
using deployguard::testing::RecordingSink;
using deployguard::testing::run_until;
using deployguard::testing::TempFile;
using Json = nlohmann::json;

constexpr std::int64_t kBusyRun = 9112233403;

class FakeUpstreamPollTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake::FakeUpstreamServer::Options options;
    options.log_requests = false;
    server = std::make_unique<fake::FakeUpstreamServer>(std::move(options));
    server->start();
    base = "http://127.0.0.1:" + std::to_string(server->port());
    http::BeastHttpClientOptions client_options;
    client_options.config.connect_timeout = 2s;
    client_options.config.request_timeout = 5s;
    client_options.proxies = http::ProxyEnvironment{};  // loopback only, never a proxy
    client = std::make_unique<http::BeastHttpClient>(ioc, client_options);
    ASSERT_EQ(control("PUT", "/_fake/state", state().dump()).status, 200u);
  }

  void TearDown() override {
    pollers.reset();
    client->shutdown();
    deployguard::testing::drain(ioc);
    server->stop();
  }

  Json state() const {
    return {
        {"tokens",
         {{"github", "ghs_test"},
          {"arm", "arm_test"},
          {"aad", {{"tenant", "tenant-1"}, {"client_id", "client-1"}, {"client_secret", "s3cret"}}}}},
        // Job logs redirect to "localhost": another host, so the client must drop Authorization.
        {"github",
         {{"log_redirect_base", "http://localhost:" + std::to_string(server->port())},
          {"repos",
           {{"acme/shop",
             {{"workflows", {{{"id", 161335218}, {"name", "Deploy"}, {"path", ".github/workflows/deploy.yml"}}}},
              {"runs",
               {{{"id", 9112233401}, {"status", "completed"}, {"conclusion", "success"},
                 {"created_at", "now-300s"}},
                {{"id", kBusyRun}, {"status", "completed"}, {"conclusion", "failure"},
                 {"created_at", "now-100s"},
                 {"jobs", {{{"id", 25100000001}, {"name", "deploy-db"}, {"conclusion", "failure"},
                            {"log", "Run az postgres flexible-server update\n"
                                    "ERROR: (ServerIsBusy) Cannot complete operation while server "
                                    "'pg' is busy processing another operation.\n"}}}}}}}}}}}}},
        {"azure",
         {{"container_apps",
           {{"rg/shop",
             {{"revisions", {{{"name", "shop--r1"}}, {{"name", "shop--r2"}}}},
              {"traffic", {{{"revisionName", "shop--r2"}, {"weight", 100}}}}}}}},
          {"postgres", {{"rg/pg", {{"state", "Ready"}}}}}}}};
  }

  http::HttpResponse control(const std::string& method, const std::string& target,
                             const std::string& body = {}) {
    http::HttpRequest req;
    req.method = method;
    req.url = base + target;
    req.body = body;
    if (!body.empty()) req.headers.push_back({"Content-Type", "application/json"});
    std::optional<http::HttpResult> result;
    client->send(req, [&](http::HttpResult r) { result = std::move(r); });
    EXPECT_TRUE(run_until(ioc, [&] { return result.has_value(); }));
    if (!result || !result->ok()) {
      ADD_FAILURE() << "control request failed: " << target;
      return {};
    }
    return result->response();
  }

  Json requests(const std::string& path_prefix) {
    return Json::parse(control("GET", "/_fake/requests?path_prefix=" + path_prefix).body)["requests"];
  }

  Config config(Duration interval) {
    Config c;
    c.github.emplace();
    c.github->api_url = base;
    c.github->token_file = github_token.path();
    c.github->poll_interval = interval;
    c.azure.emplace();
    c.azure->arm_url = base;
    c.azure->subscription_id = "sub-1";
    c.azure->poll_interval = interval;
    c.azure->auth.method = "client_secret";
    c.azure->auth.authority_url = base;
    c.azure->auth.tenant_id = "tenant-1";
    c.azure->auth.client_id = "client-1";
    c.azure->auth.client_secret_file = aad_secret.path();
    c.http_client.max_backoff = interval * 4;
    EnvironmentConfig env;
    env.name = "prod";
    env.github = GitHubTarget{"acme/shop", {"deploy.yml"}, std::nullopt};
    env.container_app = AzureResourceRef{"rg", "shop"};
    env.postgres_servers = {AzureResourceRef{"rg", "pg"}};
    c.environments["prod"] = env;
    sink.add_policy(env);
    return c;
  }

  void make_pollers(Duration interval) {
    UpstreamOptions options;
    options.credentials = CredentialEnvironment{};
    options.jitter = 0.0;
    options.min_refresh_spacing = 0ms;
    pollers = std::make_unique<UpstreamPollers>(ioc, config(interval), *client, sink, wall, options);
  }

  boost::asio::io_context ioc;
  service::SystemClock wall;
  RecordingSink sink{&wall};
  std::unique_ptr<fake::FakeUpstreamServer> server;
  std::string base;
  std::unique_ptr<http::BeastHttpClient> client;
  TempFile github_token{"ghs_test\n"};
  TempFile aad_secret{"s3cret\n"};
  std::unique_ptr<UpstreamPollers> pollers;
};

TEST_F(FakeUpstreamPollTest, FullPollCycleProducesEveryEventAndClassifiesTheBusyRun) {
  make_pollers(1h);
  pollers->start();
  ASSERT_TRUE(run_until(ioc, [&] {
    return sink.count<RunsPolled>() >= 1 && sink.count<ContainerAppPolled>() >= 1 &&
           sink.count<PostgresPolled>() >= 1 && sink.count<RunClassified>() >= 1;
  })) << "failures: " << sink.count<SourceFailed>();
  EXPECT_EQ(sink.count<SourceFailed>(), 0u);

  const auto runs = sink.of<RunsPolled>().front().runs;
  EXPECT_EQ(runs.size(), 2u);
  const auto app = sink.of<ContainerAppPolled>().front();
  EXPECT_EQ(app.revisions.size(), 2u);
  EXPECT_EQ(sink.of<PostgresPolled>().front().server.name, "pg");
  EXPECT_EQ(sink.of<PostgresPolled>().front().server.state, "Ready");

  const auto c = sink.of<RunClassified>().front();
  EXPECT_EQ(c.run.id, kBusyRun);
  EXPECT_EQ(c.result, Classification::ServerBusy);
  EXPECT_EQ(c.detail, "job 'deploy-db' log contains 'ServerIsBusy'");
  const auto& policy = sink.policies.at("prod");
  EXPECT_EQ(policy.busy().consecutive_failures, 1);
  EXPECT_FALSE(policy.decide(wall.now()).safe) << "busy backoff blocks deploys";

  // The log came through the 302: the API call carried the token, the blob fetch did not.
  const auto api_logs = requests("/repos/acme/shop/actions/jobs/25100000001/logs");
  ASSERT_EQ(api_logs.size(), 1u);
  EXPECT_EQ(api_logs[0]["status"], 302);
  EXPECT_EQ(api_logs[0]["headers"].value("authorization", ""), "Bearer ghs_test");
  const auto blob = requests("/_blob/logs/");
  ASSERT_EQ(blob.size(), 1u);
  EXPECT_EQ(blob[0]["status"], 200);
  EXPECT_EQ(blob[0]["headers"].value("host", ""), "localhost:" + std::to_string(server->port()));
  EXPECT_FALSE(blob[0]["headers"].contains("authorization"));

  const auto stats = pollers->stats();
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_EQ(stats[0].source, "github");
  EXPECT_TRUE(stats[0].rate_limit_remaining.has_value());
}

TEST_F(FakeUpstreamPollTest, SecondPollSendsTheETagAndGets304) {
  make_pollers(1h);
  pollers->start();
  ASSERT_TRUE(run_until(ioc, [&] { return sink.count<RunsPolled>() == 1; }));
  ASSERT_TRUE(pollers->refresh_now("prod", "github"));
  ASSERT_TRUE(run_until(ioc, [&] { return sink.count<RunsPolled>() == 2; }));

  Json runs = Json::array();
  for (const Json& r : requests("/repos/acme/shop/actions/workflows/161335218/runs"))
    if (r["target"].get<std::string>().find("status=") == std::string::npos) runs.push_back(r);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["status"], 200);
  EXPECT_EQ(runs[1]["status"], 304);
  EXPECT_FALSE(runs[0]["headers"].contains("if-none-match"));
  EXPECT_TRUE(runs[1]["headers"].contains("if-none-match"));
  EXPECT_EQ(sink.of<RunsPolled>()[1].runs.size(), 2u) << "304 re-delivers the stored runs";
  EXPECT_EQ(pollers->poller("prod", "github")->stats().requests.by_status.at(304), 6u)
      << "every list of the second poll was unchanged: none counted against the rate limit";
}

TEST_F(FakeUpstreamPollTest, ServerErrorFaultGivesSourceFailedThenRecovers) {
  ASSERT_EQ(control("POST", "/_fake/faults",
                    R"({"kind":"status","path_prefix":"/subscriptions/","status":500,)"
                    R"("body":{"error":{"code":"InternalServerError","message":"boom"}},"count":1})")
                .status,
            200u);
  make_pollers(50ms);
  pollers->start();
  ASSERT_TRUE(run_until(ioc, [&] { return sink.count<PostgresPolled>() >= 1 &&
                                          sink.count<ContainerAppPolled>() >= 1; }));
  const auto failed = sink.of<SourceFailed>("prod");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_THAT(failed[0].error, ::testing::StartsWith("ARM 500 InternalServerError: boom"));
  const auto& health = sink.policies.at("prod").sources();
  EXPECT_EQ(health.at(failed[0].source).last_error, "") << "recovered after the fault";
  EXPECT_TRUE(health.at(failed[0].source).last_success.has_value());
}

}  // namespace
}  // namespace deployguard::upstream
