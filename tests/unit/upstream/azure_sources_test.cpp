#include "upstream/azure_sources.hpp"

#include <boost/asio/post.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/scripted_http_client.hpp"
#include "upstream/source_poller.hpp"

namespace deployguard::upstream {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using deployguard::testing::header;
using deployguard::testing::response;
using deployguard::testing::run_until;
using deployguard::testing::RecordingSink;
using deployguard::testing::ScriptedHttpClient;
using Json = nlohmann::json;

/// Hands out "token-1", "token-2", ... (a new one after each invalidate), or an error.
class CountingTokens final : public TokenProvider {
 public:
  explicit CountingTokens(boost::asio::io_context& ioc) : ioc_(ioc) {}
  void get_token(Callback done) override {
    TokenResult r;
    if (!error.empty()) r.error = error;
    else r.token = "token-" + std::to_string(generation);
    boost::asio::post(ioc_, [done = std::move(done), r] { done(r); });
  }
  void invalidate() override { ++generation; }
  int generation = 1;
  std::string error;

 private:
  boost::asio::io_context& ioc_;
};

std::string app_body(const std::string& name) {
  return Json{{"id", "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.App/containerApps/" + name},
              {"name", name},
              {"properties",
               {{"provisioningState", "Succeeded"},
                {"runningStatus", "Running"},
                {"latestRevisionName", name + "--r2"},
                {"latestReadyRevisionName", name + "--r2"},
                {"configuration", {{"activeRevisionsMode", "Single"},
                                   {"ingress", {{"traffic", Json::array({{{"latestRevision", true}, {"weight", 100}}})}}}}}}}}
      .dump();
}

Json revision(const std::string& name, bool active, int weight) {
  return {{"name", name},
          {"properties", {{"active", active}, {"trafficWeight", weight}, {"replicas", active ? 1 : 0},
                          {"provisioningState", "Provisioned"}, {"runningState", active ? "Running" : "Stopped"},
                          {"createdTime", "2021-05-24T21:24:22+00:00"}}}};
}

class AzureSourcesTest : public ::testing::Test {
 protected:
  AzureSourcesTest() {
    config.arm_url = "https://arm.test/";
    config.subscription_id = "sub-1";
    arm = std::make_shared<ArmApi>(ioc, client, tokens, clock, config.arm_url);
  }

  PollStatus poll(PolledSource& s) {
    std::optional<PollStatus> status;
    s.poll([&](PollStatus st) { status = std::move(st); });
    EXPECT_TRUE(run_until(ioc, [&] { return status.has_value(); }));
    return status.value_or(PollStatus::failure("poll did not finish"));
  }

  boost::asio::io_context ioc;
  ManualClock clock{TimePoint{std::chrono::seconds{1'700'000'000}}};
  ScriptedHttpClient client{ioc};
  CountingTokens tokens{ioc};
  RecordingSink sink;
  AzureConfig config;
  std::shared_ptr<ArmApi> arm;
};

constexpr const char* kAppPath =
    "https://arm.test/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.App/containerApps/shop";

TEST_F(AzureSourcesTest, ContainerAppAndEveryRevisionsPageBecomeOneEvent) {
  ContainerAppSource source(arm, config, "prod", AzureResourceRef{"rg", "shop"}, sink);
  client.always("/containerApps/shop?api-version=2025-07-01", response(200, app_body("shop")));
  // nextLink is followed verbatim, opaque token and all.
  const std::string next = "https://arm.test/subscriptions/sub-1/resourceGroups/rg/providers/"
                           "Microsoft.App/containerApps/shop/revisions?api-version=2025-07-01"
                           "&$skiptoken=eyJuZXh0IjoyfQ%3D%3D";
  client.always("/revisions?api-version=2025-07-01&$skiptoken",
                response(200, Json{{"value", {revision("shop--r1", false, 0)}}, {"nextLink", nullptr}}.dump()));
  client.always("/revisions?api-version=2025-07-01",
                response(200, Json{{"value", {revision("shop--r2", true, 100)}}, {"nextLink", next}}.dump()));

  ASSERT_TRUE(poll(source).ok);
  EXPECT_EQ(client.requests()[0].url, std::string(kAppPath) + "?api-version=2025-07-01");
  EXPECT_EQ(client.requests()[1].url, std::string(kAppPath) + "/revisions?api-version=2025-07-01");
  EXPECT_EQ(client.requests()[2].url, next);
  EXPECT_EQ(header(client.requests()[0], "Authorization"), "Bearer token-1");

  const auto polled = sink.of<ContainerAppPolled>("prod");
  ASSERT_EQ(polled.size(), 1u);
  EXPECT_EQ(polled[0].app.latest_revision_name, "shop--r2");
  ASSERT_EQ(polled[0].revisions.size(), 2u);
  EXPECT_EQ(polled[0].revisions[0].name, "shop--r2");
  EXPECT_EQ(polled[0].revisions[1].name, "shop--r1");
}

TEST_F(AzureSourcesTest, RevisionPagingIsBounded) {
  ContainerAppSource source(arm, config, "prod", AzureResourceRef{"rg", "shop"}, sink, 3);
  client.always("/containerApps/shop?", response(200, app_body("shop")));
  client.always("/revisions", [](const http::HttpRequest& req) -> http::HttpResult {
    // Every page links to another one: a misbehaving server must not keep us paging.
    return response(200, Json{{"value", Json::array()}, {"nextLink", req.url + "&p=1"}}.dump());
  });
  const auto status = poll(source);
  EXPECT_FALSE(status.ok);
  EXPECT_EQ(status.error, "revisions: more than 3 pages");
  EXPECT_EQ(client.count("/revisions"), 3u);
  EXPECT_EQ(sink.count<ContainerAppPolled>(), 0u);
}

// ---- the ARM token stays with arm_url's origin -----------------------------------------------

/// A revisions page of one revision whose nextLink is `next`.
http::HttpResponse page_linking_to(const std::string& next) {
  return response(200, Json{{"value", {revision("shop--r2", true, 100)}}, {"nextLink", next}}.dump());
}

constexpr const char* kRevisionsQuery = "/revisions?api-version=2025-07-01";

TEST_F(AzureSourcesTest, NextLinkToAnotherOriginIsRefusedAndNeverRequested) {
  ContainerAppSource source(arm, config, "prod", AzureResourceRef{"rg", "shop"}, sink);
  client.always("/containerApps/shop?", response(200, app_body("shop")));
  client.always(kRevisionsQuery,
                page_linking_to("https://evil.example/subscriptions/sub-1/revisions?$skiptoken=2"));
  client.always("evil.example", response(200, R"({"value":[]})"));

  const auto status = poll(source);
  EXPECT_FALSE(status.ok);
  EXPECT_EQ(status.kind, FailureKind::permanent) << "the environment closes at once";
  EXPECT_EQ(status.error,
            "revisions: ARM nextLink points to https://evil.example:443, not https://arm.test:443 "
            "(the origin the ARM token is for); refused");
  EXPECT_EQ(client.count("evil.example"), 0u) << "the token never went there";
  EXPECT_EQ(client.requests().size(), 2u);
  EXPECT_EQ(sink.count<ContainerAppPolled>(), 0u) << "no partial revision list";
}

TEST_F(AzureSourcesTest, NextLinkOnTheSameHostButAnotherPortOrSchemeIsRefused) {
  ContainerAppSource source(arm, config, "prod", AzureResourceRef{"rg", "shop"}, sink);
  client.always("/containerApps/shop?", response(200, app_body("shop")));
  for (const std::string next : {"https://arm.test:8443/revisions?p=2", "http://arm.test/revisions?p=2",
                                 "/subscriptions/sub-1/revisions?p=2"}) {
    SCOPED_TRACE(next);
    client.once(kRevisionsQuery, page_linking_to(next));
    const auto status = poll(source);
    EXPECT_FALSE(status.ok);
    EXPECT_THAT(status.error, HasSubstr("(the origin the ARM token is for); refused"));
  }
  EXPECT_EQ(client.count("p=2"), 0u);
}

TEST_F(AzureSourcesTest, NextLinkOnTheSameOriginIsFollowedWhateverItsSpelling) {
  ContainerAppSource source(arm, config, "prod", AzureResourceRef{"rg", "shop"}, sink);
  client.always("/containerApps/shop?", response(200, app_body("shop")));
  // Host case and an explicit default port do not make another origin.
  client.once(kRevisionsQuery, page_linking_to("HTTPS://ARM.test:443/subscriptions/sub-1/x/revisions?p=2"));
  client.always("p=2", response(200, Json{{"value", {revision("shop--r1", false, 0)}}}.dump()));
  ASSERT_TRUE(poll(source).ok);
  EXPECT_EQ(client.count("p=2"), 1u);
  ASSERT_EQ(sink.count<ContainerAppPolled>(), 1u);
  EXPECT_EQ(sink.of<ContainerAppPolled>()[0].revisions.size(), 2u);
}

TEST_F(AzureSourcesTest, ARefusedNextLinkReachesTheSinkAsAPermanentSourceFailed) {
  client.always("/containerApps/shop?", response(200, app_body("shop")));
  client.always(kRevisionsQuery, page_linking_to("https://evil.example/next"));
  SourcePoller poller(ioc, "prod",
                      std::make_unique<ContainerAppSource>(arm, config, "prod",
                                                           AzureResourceRef{"rg", "shop"}, sink),
                      sink, SchedulePolicy{}, 1s, [] { return 0.5; });
  poller.start();
  ASSERT_TRUE(run_until(ioc, [&] { return sink.count<SourceFailed>("prod") > 0; }));
  poller.stop();
  const auto failed = sink.of<SourceFailed>("prod").front();
  EXPECT_EQ(failed.source, kContainerAppSource);
  EXPECT_TRUE(failed.permanent);
  EXPECT_THAT(failed.error, HasSubstr("ARM nextLink points to https://evil.example:443"));
  EXPECT_EQ(client.count("evil.example"), 0u);
}

TEST_F(AzureSourcesTest, ArmApiRefusesAnyUrlOffItsOriginWithoutFetchingAToken) {
  std::optional<ArmResult> result;
  arm->get("https://evil.example/subscriptions", nullptr, [&](ArmResult r) { result = std::move(r); });
  EXPECT_FALSE(result.has_value()) << "never answered from inside get()";
  ASSERT_TRUE(run_until(ioc, [&] { return result.has_value(); }));
  EXPECT_FALSE(result->status.ok);
  EXPECT_EQ(result->status.kind, FailureKind::permanent);
  EXPECT_EQ(result->status.error,
            "ARM request URL points to https://evil.example:443, not https://arm.test:443 (the "
            "origin the ARM token is for); refused");
  EXPECT_TRUE(client.requests().empty());
}

TEST_F(AzureSourcesTest, ArmErrorEnvelopeIsTheFailureText) {
  ContainerAppSource source(arm, config, "prod", AzureResourceRef{"rg", "gone"}, sink);
  client.always("/containerApps/gone?",
                response(404, R"({"error":{"code":"ResourceNotFound","message":"The Resource 'Microsoft.App/containerApps/gone' under resource group 'rg' was not found."}})",
                         {{"x-ms-failure-cause", "gateway"}}));
  const auto status = poll(source);
  EXPECT_FALSE(status.ok);
  EXPECT_EQ(status.kind, FailureKind::permanent) << "a configured resource that is not there";
  EXPECT_EQ(status.error,
            "ARM 404 ResourceNotFound: The Resource 'Microsoft.App/containerApps/gone' under "
            "resource group 'rg' was not found.");
}

TEST_F(AzureSourcesTest, NestedArmErrorCodeIsShown) {
  http::HttpResponse r = response(409, R"({"error":{"code":"ResourceDeploymentFailure","message":"failed","details":[{"code":"ServerBusy","message":"Server 'pg' is busy with another operation."}]}})");
  EXPECT_EQ(arm_error_text(r),
            "ARM 409 ResourceDeploymentFailure: failed [ServerBusy: Server 'pg' is busy with another operation.]");
  EXPECT_EQ(arm_error_text(response(503, "")), "ARM 503");
}

TEST_F(AzureSourcesTest, ThrottlingHonoursRetryAfter) {
  PostgresSource source(arm, config, "prod", AzureResourceRef{"rg", "pg"}, sink);
  client.once("/flexibleServers/pg?",
              response(429, R"({"error":{"code":"TooManyRequests","message":"slow down"}})",
                       {{"Retry-After", "17"}}));
  auto status = poll(source);
  EXPECT_FALSE(status.ok);
  EXPECT_EQ(status.kind, FailureKind::rate_limited);
  EXPECT_EQ(status.wait, Duration{17s});
  EXPECT_EQ(status.error, "ARM 429 TooManyRequests: slow down");

  client.once("/flexibleServers/pg?", response(429, ""));
  status = poll(source);
  EXPECT_EQ(status.kind, FailureKind::transient) << "no Retry-After: ordinary backoff";
  EXPECT_FALSE(status.wait);
}

TEST_F(AzureSourcesTest, Unauthorized401FetchesANewTokenAndRetriesOnce) {
  PostgresSource source(arm, config, "prod", AzureResourceRef{"rg", "pg"}, sink);
  client.once("/flexibleServers/pg?", response(401, R"({"error":{"code":"ExpiredAuthenticationToken","message":"expired"}})"));
  client.always("/flexibleServers/pg?",
                response(200, R"({"name":"PG","properties":{"state":"Ready","version":"16"}})"));
  ASSERT_TRUE(poll(source).ok);
  ASSERT_EQ(client.requests().size(), 2u);
  EXPECT_EQ(header(client.requests()[0], "Authorization"), "Bearer token-1");
  EXPECT_EQ(header(client.requests()[1], "Authorization"), "Bearer token-2");

  client.once("/flexibleServers/pg?", response(401, "{}"));
  client.once("/flexibleServers/pg?", response(401, "{}"));
  const auto status = poll(source);
  EXPECT_FALSE(status.ok);
  EXPECT_EQ(status.error, "ARM 401");
  EXPECT_EQ(client.requests().size(), 4u) << "one retry only";
}

TEST_F(AzureSourcesTest, PostgresServerIsReportedUnderItsConfiguredName) {
  PostgresSource source(arm, config, "prod", AzureResourceRef{"data-rg", "pg-main"}, sink);
  client.always("/flexibleServers/pg-main?api-version=2024-08-01",
                response(200, R"({"name":"PG-MAIN","properties":{"state":"Updating","version":"16",)"
                              R"("highAvailability":{"mode":"ZoneRedundant","state":"Healthy"}}})"));
  ASSERT_TRUE(poll(source).ok);
  EXPECT_EQ(source.id(), "postgres/pg-main");
  EXPECT_EQ(client.requests()[0].url,
            "https://arm.test/subscriptions/sub-1/resourceGroups/data-rg/providers/"
            "Microsoft.DBforPostgreSQL/flexibleServers/pg-main?api-version=2024-08-01");
  const auto polled = sink.of<PostgresPolled>("prod");
  ASSERT_EQ(polled.size(), 1u);
  EXPECT_EQ(polled[0].server.name, "pg-main");
  EXPECT_EQ(polled[0].server.state, "Updating");
}

TEST_F(AzureSourcesTest, TokenFailureFailsThePollWithoutARequest) {
  tokens.error = "AAD 401 invalid_client: AADSTS7000215";
  PostgresSource source(arm, config, "prod", AzureResourceRef{"rg", "pg"}, sink);
  const auto status = poll(source);
  EXPECT_FALSE(status.ok);
  EXPECT_EQ(status.error, "AAD 401 invalid_client: AADSTS7000215");
  EXPECT_TRUE(client.requests().empty());
}

TEST_F(AzureSourcesTest, NonJsonSuccessBodyIsAFailure) {
  PostgresSource source(arm, config, "prod", AzureResourceRef{"rg", "pg"}, sink);
  client.always("/flexibleServers/pg?", response(200, "<html>proxy login</html>"));
  const auto status = poll(source);
  EXPECT_FALSE(status.ok);
  EXPECT_THAT(status.error, HasSubstr("postgres server:"));
  EXPECT_EQ(sink.count<PostgresPolled>(), 0u);
}

}  // namespace
}  // namespace deployguard::upstream
