// End-to-end tests of the fake upstream over real sockets: the server runs in-process on
// port 0 (its own thread) and the tests talk to it with a synchronous Beast client.
#include "server.hpp"
#include "test_client.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <future>
#include <sys/wait.h>
#include <unistd.h>

namespace deployguard::fake {
namespace {

using namespace std::chrono_literals;
using testing::Headers;
using testing::HttpResult;
using testing::TestClient;
using testing::http_once;
using testing::origin_form;
using verb = http::verb;

const Headers kGh{{"Authorization", "Bearer ghs_test"}};
const Headers kArm{{"Authorization", "Bearer arm_test"}};
const std::string kRepo = "/repos/zimaxnet/engram/actions";
const std::string kApp =
    "/subscriptions/sub-1/resourceGroups/engram-rg/providers/Microsoft.App/containerApps/staging-env-api";
const std::string kV = "?api-version=2025-07-01";

Json test_state() {
  return Json::parse(R"({
    "tokens": {"github": "ghs_test", "arm": "arm_test", "identity_header": "ih-123",
               "aad": {"tenant": "tenant-1", "client_id": "client-1", "client_secret": "s3cret"}},
    "github": {"repos": {"zimaxnet/engram": {
      "workflows": [{"id": 161335218, "name": "Deploy", "path": ".github/workflows/deploy.yml"}],
      "runs": [
        {"id": 9112233401, "status": "completed", "conclusion": "success", "created_at": "now-300s",
         "jobs": [{"id": 25100000001, "name": "deploy-staging", "log": "all good\n"}]},
        {"id": 9112233402, "status": "in_progress", "conclusion": null, "created_at": "now-200s"},
        {"id": 9112233403, "status": "completed", "conclusion": "failure", "created_at": "now-100s",
         "head_branch": "feature/x"}
      ]}}},
    "azure": {"revisions_page_size": 2, "lro_polls": 2,
      "container_apps": {"engram-rg/staging-env-api": {
        "revisions": [{"name": "api--r1"}, {"name": "api--r2"}, {"name": "api--r3"}, {"name": "api--r4"},
                      {"name": "api--r5"}],
        "traffic": [{"revisionName": "api--r4", "weight": 60}, {"revisionName": "api--r5", "weight": 40}]}},
      "postgres": {"engram-rg/staging-env-db": {"state": "Ready"}}}
  })");
}

class FakeServerTest : public ::testing::Test {
 protected:
  void SetUp() override { start_server(std::nullopt); }
  void TearDown() override { server_->stop(); }

  void start_server(std::optional<Scenario> scenario) {
    if (server_) server_->stop();
    FakeUpstreamServer::Options options;
    options.log_requests = false;
    options.scenario = std::move(scenario);
    server_ = std::make_unique<FakeUpstreamServer>(std::move(options));
    server_->start();
    port_ = server_->port();
    if (!options_has_scenario_) put_state(test_state());
  }

  void put_state(const Json& state) {
    const HttpResult r = call(verb::put, "/_fake/state", state.dump());
    ASSERT_EQ(r.status, 200u) << r.body;
  }

  HttpResult call(verb method, const std::string& target, const std::string& body = {}, const Headers& h = {}) {
    return http_once(port_, method, target, body, h);
  }
  HttpResult get(const std::string& target, const Headers& h = {}) { return call(verb::get, target, {}, h); }
  void add_fault(const Json& rule) {
    const HttpResult r = call(verb::post, "/_fake/faults", rule.dump());
    ASSERT_EQ(r.status, 200u) << r.body;
  }

  std::unique_ptr<FakeUpstreamServer> server_;
  std::uint16_t port_ = 0;
  bool options_has_scenario_ = false;
};

// ---- GitHub -----------------------------------------------------------------------------

TEST_F(FakeServerTest, ListsRunsNewestFirstWithRealFieldNamesAndFilters) {
  const HttpResult r = get(kRepo + "/workflows/deploy.yml/runs", kGh);
  ASSERT_EQ(r.status, 200u) << r.body;
  const Json body = r.json();
  EXPECT_EQ(body["total_count"], 3);
  const Json& runs = body["workflow_runs"];
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0]["id"].get<std::int64_t>(), 9112233403);
  EXPECT_EQ(runs[1]["id"].get<std::int64_t>(), 9112233402);
  EXPECT_EQ(runs[2]["id"].get<std::int64_t>(), 9112233401);
  for (const char* field : {"id", "name", "head_branch", "head_sha", "path", "display_title", "run_number", "event",
                            "status", "conclusion", "workflow_id", "html_url", "created_at", "updated_at",
                            "run_started_at", "run_attempt"})
    EXPECT_TRUE(runs[0].contains(field)) << field;
  EXPECT_EQ(runs[0]["repository"]["full_name"], "zimaxnet/engram");
  EXPECT_EQ(runs[0]["path"], ".github/workflows/deploy.yml");
  EXPECT_EQ(runs[0]["workflow_id"], 161335218);
  EXPECT_TRUE(runs[1]["conclusion"].is_null());

  EXPECT_EQ(get(kRepo + "/workflows/161335218/runs?branch=main", kGh).json()["total_count"], 2);
  EXPECT_EQ(get(kRepo + "/workflows/deploy.yml/runs?status=failure", kGh).json()["total_count"], 1);
  EXPECT_EQ(get(kRepo + "/workflows/deploy.yml/runs?status=in_progress", kGh).json()["total_count"], 1);
  EXPECT_EQ(get(kRepo + "/workflows/missing.yml/runs", kGh).status, 404u);

  const HttpResult page1 = get(kRepo + "/workflows/deploy.yml/runs?per_page=1", kGh);
  ASSERT_EQ(page1.json()["workflow_runs"].size(), 1u);
  const std::string link = page1.header("link");
  ASSERT_NE(link.find("rel=\"next\""), std::string::npos) << link;
  const std::string next = link.substr(1, link.find('>') - 1);
  const HttpResult page2 = get(origin_form(next), kGh);
  ASSERT_EQ(page2.status, 200u) << next;
  EXPECT_EQ(page2.json()["workflow_runs"][0]["id"].get<std::int64_t>(), 9112233402);

  const Json wfs = get(kRepo + "/workflows", kGh).json();
  EXPECT_EQ(wfs["workflows"][0]["name"], "Deploy");
  EXPECT_EQ(wfs["workflows"][0]["state"], "active");
}

TEST_F(FakeServerTest, EtagGivesNotModifiedWithoutSpendingRateLimit) {
  const std::string run = kRepo + "/runs/9112233402";
  const HttpResult first = get(run, kGh);
  ASSERT_EQ(first.status, 200u);
  const std::string etag = first.header("etag");
  ASSERT_FALSE(etag.empty());
  const long remaining = std::stol(first.header("x-ratelimit-remaining"));
  EXPECT_EQ(std::stol(first.header("x-ratelimit-used")), 5000 - remaining);
  EXPECT_EQ(first.header("x-ratelimit-resource"), "core");
  EXPECT_FALSE(first.header("x-ratelimit-reset").empty());

  Headers conditional = kGh;
  conditional.emplace_back("If-None-Match", etag);
  const HttpResult cached = get(run, conditional);
  EXPECT_EQ(cached.status, 304u);
  EXPECT_TRUE(cached.body.empty());
  EXPECT_EQ(cached.header("etag"), etag);
  EXPECT_EQ(std::stol(cached.header("x-ratelimit-remaining")), remaining);

  // The run changes: the same conditional request now gets the new content and is counted.
  ASSERT_EQ(call(verb::post, "/_fake/github/zimaxnet/engram/runs",
                 R"({"id": 9112233402, "status": "completed", "conclusion": "success"})")
                .status,
            200u);
  const HttpResult changed = get(run, conditional);
  ASSERT_EQ(changed.status, 200u);
  EXPECT_NE(changed.header("etag"), etag);
  EXPECT_EQ(changed.json()["conclusion"], "success");
  EXPECT_EQ(std::stol(changed.header("x-ratelimit-remaining")), remaining - 1);
}

TEST_F(FakeServerTest, ExhaustedRateLimitAnswers403WithZeroRemaining) {
  ASSERT_EQ(call(verb::patch, "/_fake/state", R"({"github": {"rate_limit": {"remaining": 1}}})").status, 200u);
  const HttpResult last = get(kRepo + "/runs/9112233401", kGh);
  EXPECT_EQ(last.status, 200u);
  EXPECT_EQ(last.header("x-ratelimit-remaining"), "0");
  const HttpResult limited = get(kRepo + "/runs/9112233401", kGh);
  EXPECT_EQ(limited.status, 403u);
  EXPECT_EQ(limited.header("x-ratelimit-remaining"), "0");
  EXPECT_NE(limited.json()["message"].get<std::string>().find("rate limit"), std::string::npos);
}

TEST_F(FakeServerTest, BearerTokenIsRequiredWhenConfigured) {
  EXPECT_EQ(get(kRepo + "/runs/9112233401").status, 401u);
  const HttpResult wrong = get(kRepo + "/runs/9112233401", {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(wrong.json()["message"], "Bad credentials");

  const HttpResult arm_missing = get(kApp + kV);
  EXPECT_EQ(arm_missing.status, 401u);
  EXPECT_EQ(arm_missing.json()["error"]["code"], "AuthenticationFailed");
  EXPECT_EQ(get(kApp + kV, {{"Authorization", "Bearer ghs_test"}}).json()["error"]["code"],
            "InvalidAuthenticationToken");
  EXPECT_EQ(get(kApp + kV, kArm).status, 200u);

  ASSERT_EQ(call(verb::patch, "/_fake/state", R"({"tokens": {"github": null}})").status, 200u);
  EXPECT_EQ(get(kRepo + "/runs/9112233401").status, 200u);
}

TEST_F(FakeServerTest, JobLogsRedirectToABlobOnTheConfiguredHost) {
  const HttpResult redirect = get(kRepo + "/jobs/25100000001/logs", kGh);
  ASSERT_EQ(redirect.status, 302u);
  const std::string location = redirect.header("location");
  ASSERT_EQ(location.rfind("http://127.0.0.1:" + std::to_string(port_) + "/_blob/", 0), 0u) << location;
  const HttpResult log = get(origin_form(location));  // no Authorization, like a signed URL
  EXPECT_EQ(log.status, 200u);
  EXPECT_EQ(log.body, "all good\n");
  EXPECT_EQ(log.header("content-type"), "text/plain; charset=utf-8");

  const std::string other = "http://localhost:" + std::to_string(port_);
  ASSERT_EQ(call(verb::patch, "/_fake/state", Json{{"github", {{"log_redirect_base", other}}}}.dump()).status, 200u);
  EXPECT_EQ(get(kRepo + "/jobs/25100000001/logs", kGh).header("location").rfind(other + "/_blob/", 0), 0u);
  EXPECT_EQ(get(kRepo + "/jobs/1/logs", kGh).status, 404u);
}

TEST_F(FakeServerTest, CancelAcceptsRunningRunsAndConflictsOnCompletedOnes) {
  const HttpResult cancel = call(verb::post, kRepo + "/runs/9112233402/cancel", {}, kGh);
  EXPECT_EQ(cancel.status, 202u);
  const Json run = get(kRepo + "/runs/9112233402", kGh).json();
  EXPECT_EQ(run["status"], "completed");
  EXPECT_EQ(run["conclusion"], "cancelled");
  EXPECT_EQ(call(verb::post, kRepo + "/runs/9112233402/cancel", {}, kGh).status, 409u);
}

// ---- Azure ------------------------------------------------------------------------------

TEST_F(FakeServerTest, RevisionListIsPagedWithAbsoluteNextLinks) {
  std::vector<std::string> names;
  std::map<std::string, int> weights;
  std::string target = kApp + "/revisions" + kV;
  int pages = 0;
  while (true) {
    const HttpResult r = get(target, kArm);
    ASSERT_EQ(r.status, 200u) << r.body;
    ++pages;
    const Json body = r.json();
    for (const Json& rev : body["value"]) {
      names.push_back(rev["name"].get<std::string>());
      weights[rev["name"].get<std::string>()] = rev["properties"]["trafficWeight"].get<int>();
    }
    if (!body.contains("nextLink") || body["nextLink"].is_null()) break;
    const std::string next = body["nextLink"].get<std::string>();
    ASSERT_EQ(next.rfind("http://127.0.0.1:" + std::to_string(port_) + "/subscriptions/", 0), 0u) << next;
    target = origin_form(next);
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(names, (std::vector<std::string>{"api--r1", "api--r2", "api--r3", "api--r4", "api--r5"}));
  EXPECT_EQ(weights["api--r4"], 60);
  EXPECT_EQ(weights["api--r5"], 40);
  EXPECT_EQ(weights["api--r1"], 0);
}

TEST_F(FakeServerTest, LinkBasePointsPagingLinksAtAnotherServer) {
  const std::string other = "http://localhost:9";
  ASSERT_EQ(call(verb::patch, "/_fake/state",
                 Json{{"azure", {{"link_base", other}}}, {"github", {{"link_base", other}}}}.dump())
                .status,
            200u);
  const std::string next = get(kApp + "/revisions" + kV, kArm).json()["nextLink"].get<std::string>();
  EXPECT_EQ(next.rfind(other + "/subscriptions/", 0), 0u) << next;
  const std::string link = get(kRepo + "/workflows/deploy.yml/runs?per_page=1", kGh).header("link");
  EXPECT_EQ(link.rfind("<" + other + "/repos/", 0), 0u) << link;
  EXPECT_EQ(call(verb::patch, "/_fake/state", R"({"azure":{"link_base":7}})").status, 400u);
}

TEST_F(FakeServerTest, TrafficPatchIsALongRunningOperation) {
  const Json patch = {{"properties", {{"configuration", {{"ingress", {{"traffic", Json::array({
      {{"revisionName", "api--r5"}, {"weight", 100}}})}}}}}}}};
  const HttpResult accepted = call(verb::patch, kApp + kV, patch.dump(), kArm);
  ASSERT_EQ(accepted.status, 202u) << accepted.body;
  const std::string op = accepted.header("azure-asyncoperation");
  ASSERT_EQ(op.rfind("http://127.0.0.1:" + std::to_string(port_) + "/_ops/", 0), 0u) << op;
  EXPECT_FALSE(accepted.header("location").empty());

  EXPECT_EQ(get(kApp + kV, kArm).json()["properties"]["provisioningState"], "InProgress");
  EXPECT_EQ(get(origin_form(op), kArm).json()["status"], "InProgress");
  EXPECT_EQ(get(origin_form(op), kArm).json()["status"], "InProgress");
  const Json done = get(origin_form(op), kArm).json();
  EXPECT_EQ(done["status"], "Succeeded");
  EXPECT_TRUE(done.contains("startTime"));

  const Json app = get(kApp + kV, kArm).json();
  EXPECT_EQ(app["properties"]["provisioningState"], "Succeeded");
  EXPECT_EQ(app["properties"]["configuration"]["ingress"]["traffic"],
            Json::parse(R"([{"revisionName": "api--r5", "weight": 100}])"));

  const Json bad = {{"properties", {{"configuration", {{"ingress", {{"traffic", Json::array({
      {{"revisionName", "api--r5"}, {"weight", 90}}})}}}}}}}};
  const HttpResult rejected = call(verb::patch, kApp + kV, bad.dump(), kArm);
  EXPECT_EQ(rejected.status, 400u);
  EXPECT_TRUE(rejected.json()["error"].contains("code"));
}

TEST_F(FakeServerTest, DeactivatingARevisionAnswersWithAJsonString) {
  const HttpResult r = call(verb::post, kApp + "/revisions/api--r4/deactivate" + kV, {}, kArm);
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "\"Deactivate succeeded\"");
  const Json rev = get(kApp + "/revisions/api--r4" + kV, kArm).json();
  EXPECT_EQ(rev["properties"]["active"], false);
  EXPECT_EQ(rev["properties"]["runningState"], "Stopped");
  EXPECT_EQ(call(verb::post, kApp + "/revisions/api--r4/activate" + kV, {}, kArm).status, 200u);
  EXPECT_EQ(get(kApp + "/revisions/api--r4" + kV, kArm).json()["properties"]["active"], true);
  EXPECT_EQ(get(kApp + "/revisions/nope" + kV, kArm).status, 404u);
}

TEST_F(FakeServerTest, PostgresStateAndArmErrorEnvelopes) {
  const std::string db = "/subscriptions/sub-1/resourceGroups/engram-rg/providers/Microsoft.DBforPostgreSQL/"
                         "flexibleServers/staging-env-db?api-version=2024-08-01";
  EXPECT_EQ(get(db, kArm).json()["properties"]["state"], "Ready");
  ASSERT_EQ(call(verb::post, "/_fake/azure/postgres/engram-rg/staging-env-db", R"({"state": "Updating"})").status, 200u);
  EXPECT_EQ(get(db, kArm).json()["properties"]["state"], "Updating");

  const HttpResult missing = get(
      "/subscriptions/sub-1/resourceGroups/engram-rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/x"
      "?api-version=2024-08-01",
      kArm);
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.json()["error"]["code"], "ResourceNotFound");
  const HttpResult no_version = get(kApp, kArm);
  EXPECT_EQ(no_version.status, 400u);
  EXPECT_EQ(no_version.json()["error"]["code"], "MissingApiVersionParameter");
}

// ---- token endpoints --------------------------------------------------------------------

TEST_F(FakeServerTest, TokenEndpointsCheckCredentials) {
  const Headers form{{"Content-Type", "application/x-www-form-urlencoded"}};
  const std::string base = "client_id=client-1&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
                           "&grant_type=client_credentials";
  const HttpResult ok = call(verb::post, "/tenant-1/oauth2/v2.0/token", base + "&client_secret=s3cret", form);
  ASSERT_EQ(ok.status, 200u) << ok.body;
  EXPECT_EQ(ok.json()["token_type"], "Bearer");
  EXPECT_EQ(ok.json()["expires_in"], 3599);
  EXPECT_EQ(ok.json()["access_token"], "arm_test");

  const HttpResult bad = call(verb::post, "/tenant-1/oauth2/v2.0/token", base + "&client_secret=wrong", form);
  EXPECT_EQ(bad.status, 401u);
  EXPECT_EQ(bad.json()["error"], "invalid_client");
  EXPECT_EQ(call(verb::post, "/other-tenant/oauth2/v2.0/token", base + "&client_secret=s3cret", form).status, 400u);
  const std::string assertion =
      base + "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
             "&client_assertion=eyJhbGciOiJSUzI1NiJ9.e30.sig";
  EXPECT_EQ(call(verb::post, "/tenant-1/oauth2/v2.0/token", assertion, form).status, 200u);

  const std::string imds = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/";
  EXPECT_EQ(get(imds).status, 400u);
  const HttpResult mi = get(imds, {{"Metadata", "true"}});
  ASSERT_EQ(mi.status, 200u);
  EXPECT_TRUE(mi.json()["expires_in"].is_string());
  EXPECT_TRUE(mi.json()["expires_on"].is_string());

  const std::string msi = "/msi/token?api-version=2019-08-01&resource=https://management.azure.com/";
  EXPECT_EQ(get(msi).status, 401u);
  EXPECT_EQ(get(msi, {{"X-IDENTITY-HEADER", "wrong"}}).status, 401u);
  const HttpResult app_service = get(msi, {{"X-IDENTITY-HEADER", "ih-123"}});
  ASSERT_EQ(app_service.status, 200u);
  EXPECT_EQ(app_service.json()["access_token"], "arm_test");
}

// ---- faults -----------------------------------------------------------------------------

TEST_F(FakeServerTest, StatusFaultAppliesForItsCountThenStops) {
  add_fault(Json::parse(R"({"kind": "status", "path_prefix": "/repos/", "status": 502, "body": {"message": "Server Error"}, "count": 2})"));
  EXPECT_EQ(get(kRepo + "/runs/9112233401", kGh).status, 502u);
  const HttpResult second = get(kRepo + "/runs/9112233401", kGh);
  EXPECT_EQ(second.status, 502u);
  EXPECT_EQ(second.json()["message"], "Server Error");
  EXPECT_EQ(get(kRepo + "/runs/9112233401", kGh).status, 200u);
  EXPECT_EQ(get(kApp + kV, kArm).status, 200u);  // prefix does not match ARM
}

TEST_F(FakeServerTest, UnlimitedFaultMatchesMethodAndRegexUntilCleared) {
  add_fault(Json::parse(R"({"kind": "status", "method": "POST", "path_regex": "/cancel$", "status": 500})"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call(verb::post, kRepo + "/runs/9112233402/cancel", {}, kGh).status, 500u);
  EXPECT_EQ(get(kRepo + "/runs/9112233402", kGh).status, 200u);
  const Json rules = get("/_fake/faults").json()["rules"];
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0]["hits"], 3);
  EXPECT_EQ(call(verb::delete_, "/_fake/faults").status, 200u);
  EXPECT_EQ(call(verb::post, kRepo + "/runs/9112233402/cancel", {}, kGh).status, 202u);
}

TEST_F(FakeServerTest, DelayFaultHoldsTheResponse) {
  add_fault(Json::parse(R"({"kind": "delay", "path_prefix": "/subscriptions/", "delay_ms": 300, "count": 1})"));
  const auto start = std::chrono::steady_clock::now();
  const HttpResult r = get(kApp + kV, kArm);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 200u);
  EXPECT_GE(elapsed, 300ms);
  const auto start2 = std::chrono::steady_clock::now();
  EXPECT_EQ(get(kApp + kV, kArm).status, 200u);
  EXPECT_LT(std::chrono::steady_clock::now() - start2, 300ms);
}

TEST_F(FakeServerTest, MalformedJsonFaultKeepsFramingButBreaksTheBody) {
  add_fault(Json::parse(R"({"kind": "malformed_json", "path_prefix": "/repos/", "count": 1})"));
  const HttpResult r = get(kRepo + "/workflows/deploy.yml/runs", kGh);
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.status, 200u);
  EXPECT_FALSE(r.body.empty());
  EXPECT_THROW((void)r.json(), Json::parse_error);
}

TEST_F(FakeServerTest, TruncatedFaultClosesMidBody) {
  add_fault(Json::parse(R"({"kind": "truncated", "path_prefix": "/repos/", "count": 1})"));
  const HttpResult r = get(kRepo + "/workflows/deploy.yml/runs", kGh);
  EXPECT_EQ(r.error, http::error::partial_message) << r.error.message();
  EXPECT_EQ(r.status, 200u);  // the headers did arrive
  EXPECT_EQ(get(kRepo + "/workflows/deploy.yml/runs", kGh).status, 200u);
}

TEST_F(FakeServerTest, ResetFaultAbortsTheConnection) {
  add_fault(Json::parse(R"({"kind": "reset", "path_prefix": "/subscriptions/", "count": 1})"));
  const HttpResult r = get(kApp + kV, kArm);
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.status, 0u);
  const Json recorded = get("/_fake/requests").json();
  EXPECT_EQ(recorded["requests"].back()["status"], 0);
}

TEST_F(FakeServerTest, RateLimitFaultsCarryTheRightHeaders) {
  add_fault(Json::parse(R"({"kind": "rate_limit", "path_prefix": "/subscriptions/", "status": 429, "retry_after_s": 7, "count": 1})"));
  const HttpResult arm = get(kApp + kV, kArm);
  EXPECT_EQ(arm.status, 429u);
  EXPECT_EQ(arm.header("retry-after"), "7");
  EXPECT_EQ(arm.json()["error"]["code"], "SubscriptionRequestsThrottled");

  add_fault(Json::parse(R"({"kind": "rate_limit", "path_prefix": "/repos/", "reset_after_s": 60, "count": 1})"));
  const auto before = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  const HttpResult primary = get(kRepo + "/runs/9112233401", kGh);
  EXPECT_EQ(primary.status, 403u);
  EXPECT_EQ(primary.header("x-ratelimit-remaining"), "0");
  EXPECT_TRUE(primary.header("retry-after").empty());
  const long long reset = std::stoll(primary.header("x-ratelimit-reset"));
  EXPECT_GE(reset, before + 60);
  EXPECT_LE(reset, before + 62);

  add_fault(Json::parse(R"({"kind": "rate_limit", "path_prefix": "/repos/", "count": 1})"));
  const HttpResult secondary = get(kRepo + "/runs/9112233401", kGh);
  EXPECT_EQ(secondary.status, 403u);
  EXPECT_TRUE(secondary.header("retry-after").empty());
  EXPECT_NE(secondary.header("x-ratelimit-remaining"), "0");
  EXPECT_NE(secondary.json()["message"].get<std::string>().find("secondary rate limit"), std::string::npos);
}

TEST_F(FakeServerTest, EditFaultRoutesNormallyThenChangesTheResponse) {
  // A Location-only long-running operation with Retry-After, as some ARM operations answer.
  add_fault(Json::parse(R"({"kind": "edit", "method": "PATCH", "path_prefix": "/subscriptions/",
                            "remove_headers": ["Azure-AsyncOperation"], "headers": {"Retry-After": "3"}, "count": 1})"));
  const Json patch = {{"properties", {{"configuration", {{"ingress", {{"traffic", Json::array({
      {{"revisionName", "api--r5"}, {"weight", 100}}})}}}}}}}};
  const HttpResult accepted = call(verb::patch, kApp + kV, patch.dump(), kArm);
  ASSERT_EQ(accepted.status, 202u) << accepted.body;
  EXPECT_TRUE(accepted.header("azure-asyncoperation").empty());
  EXPECT_EQ(accepted.header("retry-after"), "3");
  const std::string location = accepted.header("location");
  ASSERT_FALSE(location.empty());
  // Routed normally: the change was applied.
  EXPECT_EQ(get(kApp + kV, kArm).json()["properties"]["configuration"]["ingress"]["traffic"],
            Json::parse(R"([{"revisionName": "api--r5", "weight": 100}])"));

  // Rules are taken in order while they have a count left: an edit without changes lets the
  // in-progress polls (lro_polls = 2) pass, the next one turns the final 204 into a 200.
  add_fault(Json::parse(R"({"kind": "edit", "method": "GET", "path_regex": "/result[?]", "count": 2})"));
  add_fault(Json::parse(R"({"kind": "edit", "method": "GET", "path_regex": "/result[?]", "status": 200,
                            "body": {"properties": {"provisioningState": "Succeeded"}}})"));
  EXPECT_EQ(get(origin_form(location), kArm).status, 202u);
  EXPECT_EQ(get(origin_form(location), kArm).status, 202u);
  const HttpResult done = get(origin_form(location), kArm);
  EXPECT_EQ(done.status, 200u);
  EXPECT_EQ(done.json()["properties"]["provisioningState"], "Succeeded");
  EXPECT_EQ(get(kApp + kV, kArm).json()["properties"]["provisioningState"], "Succeeded");
  // Without a rule the response is untouched: the next PATCH has both headers again.
  const HttpResult plain = call(verb::patch, kApp + kV, patch.dump(), kArm);
  EXPECT_FALSE(plain.header("azure-asyncoperation").empty());
  EXPECT_TRUE(plain.header("retry-after").empty());

  const HttpResult bad = call(verb::post, "/_fake/faults",
                              R"({"kind": "status", "remove_headers": ["Location"]})");
  EXPECT_EQ(bad.status, 400u) << bad.body;
}

TEST_F(FakeServerTest, InvalidFaultRulesAreRejectedWithEveryError) {
  const HttpResult r = call(verb::post, "/_fake/faults",
                            R"([{"kind": "explode"}, {"kind": "status", "path_regex": "(", "colour": 1}])");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json()["errors"].size(), 3u) << r.body;
  EXPECT_EQ(get("/_fake/faults").json()["rules"].size(), 0u);
}

// ---- recording and waiting --------------------------------------------------------------

TEST_F(FakeServerTest, RecordsRequestsWithSelectedHeaders) {
  Headers h = kGh;
  h.emplace_back("If-None-Match", "W/\"abc\"");
  ASSERT_EQ(get(kRepo + "/runs/9112233401", h).status, 200u);
  ASSERT_EQ(get(kApp + kV, kArm).status, 200u);

  const Json all = get("/_fake/requests").json();
  ASSERT_EQ(all["count"], 2);  // control calls are not recorded
  const Json gh = get("/_fake/requests?path_prefix=/repos/").json()["requests"];
  ASSERT_EQ(gh.size(), 1u);
  EXPECT_EQ(gh[0]["method"], "GET");
  EXPECT_EQ(gh[0]["target"], kRepo + "/runs/9112233401");
  EXPECT_EQ(gh[0]["headers"]["authorization"], "Bearer ghs_test");
  EXPECT_EQ(gh[0]["headers"]["if-none-match"], "W/\"abc\"");
  EXPECT_EQ(gh[0]["status"], 200);
  EXPECT_GE(gh[0]["elapsed_ms"].get<long>(), 0);
  EXPECT_GT(gh[0]["unix_ms"].get<long long>(), 1'700'000'000'000LL);

  EXPECT_EQ(call(verb::delete_, "/_fake/requests").status, 200u);
  EXPECT_EQ(get("/_fake/requests").json()["count"], 0);
}

TEST_F(FakeServerTest, WaitLongPollsUntilMatchingRequestsArrive) {
  const HttpResult timed_out = get("/_fake/wait?request_count=1&path_prefix=/repos/&timeout_ms=50");
  EXPECT_EQ(timed_out.status, 408u);
  EXPECT_EQ(timed_out.json()["satisfied"], false);
  EXPECT_EQ(get("/_fake/wait").status, 400u);

  const auto start = std::chrono::steady_clock::now();
  auto waiter = std::async(std::launch::async, [this] {
    return get("/_fake/wait?request_count=2&path_prefix=/repos/&timeout_ms=10000");
  });
  // Keep-alive: both requests travel on one connection.
  TestClient client(port_);
  EXPECT_EQ(client.get(kRepo + "/runs/9112233401", kGh).status, 200u);
  EXPECT_EQ(client.get(kApp + kV, kArm).status, 200u);  // does not match the prefix
  EXPECT_EQ(client.get(kRepo + "/runs/9112233402", kGh).status, 200u);
  const HttpResult woke = waiter.get();
  EXPECT_EQ(woke.status, 200u) << woke.body;
  EXPECT_EQ(woke.json()["count"], 2);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);  // woken by the request, not the timeout
}

TEST_F(FakeServerTest, ControlApiRejectsInvalidStateAndKeepsTheOldOne) {
  const HttpResult r = call(verb::put, "/_fake/state", R"({"github": {"repos": {"x": 1}}, "nope": true})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_GE(r.json()["errors"].size(), 2u);
  EXPECT_EQ(get(kRepo + "/runs/9112233401", kGh).status, 200u);
  EXPECT_EQ(call(verb::put, "/_fake/state", "{not json").status, 400u);
  const Json state = get("/_fake/state").json();
  EXPECT_EQ(state["github"]["repos"]["zimaxnet/engram"]["runs"].size(), 3u);
}

// ---- scenarios --------------------------------------------------------------------------

TEST_F(FakeServerTest, ScenarioTimelineIsAppliedByTimersAndSignalledThroughWait) {
  const ScenarioResult parsed = parse_scenario(Json::parse(R"({
    "state": {"azure": {"postgres": {"engram-rg/staging-env-db": {"state": "Ready"}}}},
    "timeline": [
      {"at_ms": 20, "set": {"postgres": {"engram-rg/staging-env-db": {"state": "Updating"}}}},
      {"at_ms": 40, "set": {"github_runs": {"zimaxnet/engram": {"id": 9112233499, "status": "in_progress"}}}}
    ]
  })"));
  ASSERT_TRUE(parsed.scenario) << ::testing::PrintToString(parsed.errors);
  options_has_scenario_ = true;
  start_server(parsed.scenario);

  const HttpResult woke = get("/_fake/wait?scenario_steps=2&timeout_ms=5000");
  ASSERT_EQ(woke.status, 200u) << woke.body;
  const Json state = get("/_fake/state").json();
  EXPECT_EQ(state["azure"]["postgres"]["engram-rg/staging-env-db"]["state"], "Updating");
  EXPECT_EQ(state["github"]["repos"]["zimaxnet/engram"]["runs"][0]["id"].get<std::int64_t>(), 9112233499);
}

TEST_F(FakeServerTest, LoopingScenarioRestartsFromTheInitialState) {
  const ScenarioResult parsed = parse_scenario(Json::parse(R"({
    "loop": true, "loop_after_ms": 60,
    "state": {"azure": {"postgres": {"rg/db": {"state": "Ready"}}}},
    "timeline": [{"at_ms": 10, "set": {"postgres": {"rg/db": {"state": "Updating"}}}}]
  })"));
  ASSERT_TRUE(parsed.scenario) << ::testing::PrintToString(parsed.errors);
  options_has_scenario_ = true;
  start_server(parsed.scenario);
  // Three applications of the single step means the timeline ran three times.
  const HttpResult woke = get("/_fake/wait?scenario_steps=3&timeout_ms=5000");
  ASSERT_EQ(woke.status, 200u) << woke.body;
  EXPECT_EQ(woke.json()["scenario_steps"], 3);
}

// ---- the executable ---------------------------------------------------------------------

TEST(FakeUpstreamBinary, ReportsItsPortOnTheReadyFdAndServesTheDemoScenario) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    const std::string fd = std::to_string(fds[1]);
    ::execl(FAKE_UPSTREAM_BINARY, "fake_upstream", "--listen", "127.0.0.1:0", "--scenario", DEPLOYGUARD_DEMO_SCENARIO,
            "--ready-fd", fd.c_str(), "--log-level", "warn", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string line;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) line.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);  // EOF: the child closed the fd after writing (or died)
  ASSERT_FALSE(line.empty());
  ASSERT_EQ(line.back(), '\n');
  const std::string listen = Json::parse(line)["listen"].get<std::string>();
  ASSERT_EQ(listen.rfind("127.0.0.1:", 0), 0u);
  const auto port = static_cast<std::uint16_t>(std::stoi(listen.substr(listen.find(':') + 1)));

  const HttpResult runs = http_once(port, verb::get, "/repos/zimaxnet/engram/actions/workflows/deploy.yml/runs");
  EXPECT_EQ(runs.status, 200u);
  EXPECT_EQ(runs.json()["total_count"], 1);

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace deployguard::fake
