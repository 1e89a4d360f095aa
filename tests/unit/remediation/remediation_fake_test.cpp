// RemediationService against the in-process fake upstream over loopback HTTP: the full
// stabilize sequence, each partial failure (asserted on the fake's request log and state), and
// the emergency stop's cancellations.
#include <cstdint>
#include <functional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "service/guard_service.hpp"
#include "http/client/beast_http_client.hpp"
#include "api/render_remediation.hpp"
#include "remediation/remediation.hpp"
#include "common/scripted_http_client.hpp"
#include "common/temp_dir.hpp"
#include "server.hpp"
#include "upstream/upstream_pollers.hpp"
#include "service/clock.hpp"

namespace deployguard::remediation {
namespace {

using namespace std::chrono_literals;
using deployguard::testing::run_until;
using Json = nlohmann::json;
using Outcome = StabilizeReport::Outcome;

Json world() {
  return Json::parse(R"({
    "github": {"repos": {"acme/shop": {
      "workflows": [{"id": 4242, "name": "Deploy", "path": ".github/workflows/deploy.yml", "state": "active"},
                    {"id": 4343, "name": "Test", "path": ".github/workflows/test.yml", "state": "active"}],
      "runs": [
        {"id": 101, "workflow_id": 4242, "status": "in_progress", "conclusion": null, "head_branch": "main"},
        {"id": 102, "workflow_id": 4242, "status": "queued", "conclusion": null, "head_branch": "main"},
        {"id": 103, "workflow_id": 4242, "status": "completed", "conclusion": "success", "head_branch": "main"},
        {"id": 104, "workflow_id": 4343, "status": "in_progress", "conclusion": null, "head_branch": "main"},
        {"id": 105, "workflow_id": 4242, "status": "in_progress", "conclusion": null, "head_branch": "feature"}]}}},
    "azure": {"lro_polls": 2, "container_apps": {"rg/shop-api": {
      "provisioningState": "Succeeded", "runningStatus": "Running", "activeRevisionsMode": "Multiple",
      "latestRevisionName": "shop-api--r4",
      "revisions": [{"name": "shop-api--r1", "active": false, "createdTime": "now-5h"},
                    {"name": "shop-api--r2", "active": true, "createdTime": "now-3h", "healthState": "Healthy"},
                    {"name": "shop-api--r3", "active": true, "createdTime": "now-2h", "healthState": "Healthy"},
                    {"name": "shop-api--r4", "active": true, "createdTime": "now-1h", "healthState": "Unhealthy"}],
      "traffic": [{"revisionName": "shop-api--r2", "weight": 60}, {"revisionName": "shop-api--r3", "weight": 30},
                  {"latestRevision": true, "weight": 10}]}}}})");
}

class RemediationFakeTest : public ::testing::Test {
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
    client_options.proxies = http::ProxyEnvironment{};
    client = std::make_unique<http::BeastHttpClient>(ioc, client_options);
    Json state = world();
    if (aad_auth_) state["tokens"] = Json{{"arm", kArmToken}};
    ASSERT_EQ(control("PUT", "/_fake/state", state.dump()).status, 200u);

    config.github.emplace();
    config.github->api_url = base;
    config.github->token_file = token.path();
    config.azure.emplace();
    config.azure->arm_url = base;
    config.azure->subscription_id = "sub-1";
    config.azure->auth.method = "token_file";
    config.azure->auth.token_file = token.path();
    if (aad_auth_) {
      // Tokens from the fake's Entra ID endpoint, so token requests show in its request log.
      config.azure->auth.method = "client_secret";
      config.azure->auth.authority_url = base;
      config.azure->auth.tenant_id = "tenant-1";
      config.azure->auth.client_id = "client-1";
      config.azure->auth.client_secret_file = token.path();
      config.azure->auth.token_file.reset();
    }
    EnvironmentConfig env;
    env.name = "staging";
    env.github = GitHubTarget{"acme/shop", {"deploy.yml"}, std::string("main")};
    env.container_app = AzureResourceRef{"rg", "shop-api"};
    config.environments["staging"] = env;

    service = std::make_unique<service::GuardService>(ioc.get_executor(), wall, config.environments);
    upstream::UpstreamOptions up;
    up.credentials = upstream::CredentialEnvironment{};
    pollers = std::make_unique<upstream::UpstreamPollers>(ioc, config, *client, sink, wall, up);
    remediation_options.lro_poll_interval = 5ms;
    remediation_options.lro_timeout = 5s;
    remediation_options.retry = RetryPolicy{3, 10ms, 40ms};
    remediation_options.random = [] { return 0.5; };
    make_remediation();
    ASSERT_EQ(control("DELETE", "/_fake/requests").status / 100, 2u);
  }

  /// (Re)builds the service with the current `remediation_options`.
  void make_remediation() {
    remediation.reset();
    remediation = std::make_unique<RemediationService>(
        ioc.get_executor(), *service, config,
        [this] { return Upstreams{pollers->arm_api(), pollers->github_api(), pollers->azure_tokens()}; },
        remediation_options);
  }

  void TearDown() override {
    remediation.reset();
    pollers.reset();
    client->shutdown();
    deployguard::testing::drain(ioc);
    server->stop();
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

  void fault(const std::string& rule) { ASSERT_EQ(control("POST", "/_fake/faults", rule).status / 100, 2u); }

  /// "METHOD path" of every recorded upstream request, in order.
  std::vector<std::string> calls() {
    std::vector<std::string> out;
    const Json log = Json::parse(control("GET", "/_fake/requests").body);
    for (const auto& r : log["requests"])
      out.push_back(r["method"].get<std::string>() + " " + r["path"].get<std::string>());
    return out;
  }
  std::vector<std::string> mutating_calls() {
    std::vector<std::string> out;
    for (auto& c : calls())
      if (!c.starts_with("GET ")) out.push_back(c);
    return out;
  }

  /// The fake's recorded upstream requests (method, path, target, status, unix_ms, ...), in order.
  Json requests() { return Json::parse(control("GET", "/_fake/requests").body)["requests"]; }

  Json app_state() {
    return Json::parse(control("GET", "/_fake/state").body)["azure"]["container_apps"]["rg/shop-api"];
  }

  StabilizeReport stabilize(std::optional<std::string> revision) {
    std::optional<StabilizeReport> report;
    remediation->stabilize("staging", std::move(revision), [&](StabilizeReport r) { report = std::move(r); });
    EXPECT_TRUE(run_until(ioc, [&] { return report.has_value(); }, 20s));
    return report.value_or(StabilizeReport{});
  }

  static const StepResult* step(const StabilizeReport& r, const std::string& action, const std::string& target) {
    for (const auto& s : r.steps)
      if (s.action == action && s.target == target) return &s;
    return nullptr;
  }

  boost::asio::io_context ioc;
  service::SystemClock wall;
  std::unique_ptr<fake::FakeUpstreamServer> server;
  std::string base;
  std::unique_ptr<http::BeastHttpClient> client;
  deployguard::testing::TempFile token{"token\n"};
  Config config;
  std::unique_ptr<service::GuardService> service;
  deployguard::testing::RecordingSink sink;
  std::unique_ptr<upstream::UpstreamPollers> pollers;
  std::unique_ptr<RemediationService> remediation;
  RemediationOptions remediation_options;
  bool aad_auth_ = false;  // set by RemediationAadFakeTest before SetUp
  static constexpr const char* kArmToken = "arm-token-1";
};

/// The same, with client-secret auth against the fake's token endpoint and a bearer token the
/// fake's ARM checks.
class RemediationAadFakeTest : public RemediationFakeTest {
 protected:
  RemediationAadFakeTest() { aad_auth_ = true; }
};

const std::string kApp = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.App/containerApps/shop-api";

TEST_F(RemediationFakeTest, FullSequenceMovesTrafficWaitsForTheOperationThenDeactivates) {
  const auto report = stabilize("shop-api--r2");
  ASSERT_EQ(report.outcome, Outcome::Succeeded) << report.error;
  ASSERT_TRUE(report.plan);
  EXPECT_EQ(report.plan->deactivate, (std::vector<std::string>{"shop-api--r3", "shop-api--r4"}));

  const auto log = calls();
  std::vector<std::string> expected = {
      "GET " + kApp, "GET " + kApp + "/revisions",                        // fresh read
      "PATCH " + kApp};                                                   // traffic
  ASSERT_GE(log.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(log.begin(), log.begin() + 3), expected);
  // The operation was polled until it finished (lro_polls = 2: two InProgress, then done),
  // and only then was anything deactivated.
  std::size_t polls = 0;
  std::size_t first_deactivate = log.size();
  for (std::size_t i = 0; i < log.size(); ++i) {
    if (log[i].starts_with("GET /_ops/")) {
      ++polls;
      EXPECT_LT(i, first_deactivate);
    }
    if (log[i].ends_with("/deactivate") && first_deactivate == log.size()) first_deactivate = i;
  }
  EXPECT_EQ(polls, 3u);
  EXPECT_EQ(mutating_calls(), (std::vector<std::string>{"PATCH " + kApp,
                                                        "POST " + kApp + "/revisions/shop-api--r3/deactivate",
                                                        "POST " + kApp + "/revisions/shop-api--r4/deactivate"}));
  // The PATCH carried the full traffic array.
  const auto patch = Json::parse(control("GET", "/_fake/requests?method=PATCH").body)["requests"][0];
  EXPECT_EQ(Json::parse(patch["body"].get<std::string>()),
            Json::parse(R"({"properties":{"configuration":{"ingress":{"traffic":[{"revisionName":"shop-api--r2","weight":100}]}}}})"));

  const auto state = app_state();
  EXPECT_EQ(state["traffic"], Json::parse(R"([{"revisionName":"shop-api--r2","weight":100}])"));
  for (const auto& r : state["revisions"]) EXPECT_EQ(r["active"], r["name"] == "shop-api--r2") << r.dump();
  // The report shows the state read afterwards, and the guard saw it.
  ASSERT_TRUE(report.app_after);
  EXPECT_TRUE(traffic_all_on(*report.app_after, "shop-api--r2"));
  EXPECT_EQ(service->find("staging")->traffic_by_revision(), (std::map<std::string, int>{{"shop-api--r2", 100}}));
}

TEST_F(RemediationFakeTest, ProposesTheHealthyRevisionWithMostTraffic) {
  const auto report = stabilize(std::nullopt);
  ASSERT_EQ(report.outcome, Outcome::Succeeded) << report.error;
  EXPECT_EQ(report.plan->target, "shop-api--r2");
  EXPECT_TRUE(report.plan->proposed);
}

TEST_F(RemediationFakeTest, RefusesAnUnhealthyTargetWithoutAnyMutatingCall) {
  const auto report = stabilize("shop-api--r4");
  ASSERT_EQ(report.outcome, Outcome::Refused);
  EXPECT_EQ(report.refusal->code, "revision_unhealthy");
  EXPECT_TRUE(mutating_calls().empty());
  EXPECT_FALSE(remediation->busy("staging"));
}

TEST_F(RemediationFakeTest, RefusesWhileTheAppIsBusy) {
  ASSERT_EQ(control("POST", "/_fake/azure/containerapps/rg/shop-api", R"({"provisioningState":"InProgress"})").status, 200u);
  const auto report = stabilize("shop-api--r2");
  ASSERT_EQ(report.outcome, Outcome::Refused);
  EXPECT_EQ(report.refusal->code, "app_busy");
  EXPECT_TRUE(mutating_calls().empty());
}

TEST_F(RemediationFakeTest, DeactivationConflictIsRetriedWithBackoff) {
  fault(R"({"kind":"status","method":"POST","path_regex":"shop-api--r3/deactivate","status":409,
            "body":{"error":{"code":"Conflict","message":"Another operation is in progress"}},"count":1})");
  const auto report = stabilize("shop-api--r2");
  ASSERT_EQ(report.outcome, Outcome::Succeeded) << report.error;
  const auto* s = step(report, "deactivate", "shop-api--r3");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->ok);
  EXPECT_EQ(s->attempts, 2);
  EXPECT_EQ(app_state()["revisions"][2]["active"], false);
}

TEST_F(RemediationFakeTest, PersistentServerIsBusyIsReportedPreciselyAndTrafficStaysOnTarget) {
  fault(R"({"kind":"status","method":"POST","path_regex":"shop-api--r3/deactivate","status":400,
            "body":{"error":{"code":"ResourceOperationFailure","message":"failed",
                    "details":[{"code":"ServerIsBusy","message":"busy processing another operation"}]}}})");
  const auto report = stabilize("shop-api--r2");
  ASSERT_EQ(report.outcome, Outcome::PartiallyFailed);
  const auto* failed = step(report, "deactivate", "shop-api--r3");
  ASSERT_TRUE(failed);
  EXPECT_FALSE(failed->ok);
  EXPECT_EQ(failed->attempts, 3);  // the whole (bounded) budget
  EXPECT_EQ(failed->status, 400u);
  EXPECT_EQ(failed->code, "ServerIsBusy");
  EXPECT_NE(failed->error.find("ServerIsBusy"), std::string::npos) << failed->error;
  const auto* other = step(report, "deactivate", "shop-api--r4");
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->ok);  // one failure does not stop the rest
  const auto state = app_state();
  EXPECT_EQ(state["traffic"], Json::parse(R"([{"revisionName":"shop-api--r2","weight":100}])"));
  EXPECT_EQ(state["revisions"][1]["active"], true);  // the target
  const auto j = api::stabilize_report_json("staging", report);
  EXPECT_EQ(j["deactivation_failed"], Json::parse(R"(["shop-api--r3"])"));
  EXPECT_EQ(j["deactivated"], Json::parse(R"(["shop-api--r4"])"));
}

TEST_F(RemediationFakeTest, RejectedTrafficChangeDeactivatesNothing) {
  fault(R"({"kind":"status","method":"PATCH","path_prefix":"/subscriptions/","status":503,
            "body":{"error":{"code":"ServiceUnavailable","message":"try later"}}})");
  const auto report = stabilize("shop-api--r2");
  ASSERT_EQ(report.outcome, Outcome::Failed);
  EXPECT_NE(report.error.find("nothing deactivated"), std::string::npos) << report.error;
  const auto* traffic = step(report, "traffic", "shop-api--r2");
  ASSERT_TRUE(traffic);
  EXPECT_EQ(traffic->attempts, 3);
  for (const auto& c : mutating_calls()) EXPECT_EQ(c, "PATCH " + kApp);
  EXPECT_EQ(app_state()["traffic"].size(), 3u);
  EXPECT_FALSE(remediation->busy("staging"));
}

TEST_F(RemediationFakeTest, FailedOperationDeactivatesNothing) {
  fault(R"({"kind":"status","method":"GET","path_prefix":"/_ops/","status":200,
            "body":{"status":"Failed","error":{"code":"ContainerAppOperationError","message":"revision crashed"}}})");
  const auto report = stabilize("shop-api--r2");
  ASSERT_EQ(report.outcome, Outcome::Failed);
  EXPECT_NE(report.error.find("revision crashed"), std::string::npos) << report.error;
  EXPECT_EQ(mutating_calls(), std::vector<std::string>{"PATCH " + kApp});
}

TEST_F(RemediationFakeTest, ShutdownEndsARunningStabilizeWithoutDeactivating) {
  ASSERT_EQ(control("PATCH", "/_fake/state", R"({"azure":{"lro_polls":1000000}})").status, 200u);
  std::optional<StabilizeReport> report;
  remediation->stabilize("staging", "shop-api--r2", [&](StabilizeReport r) { report = std::move(r); });
  // Wait until the operation is being followed (the daemon is waiting between polls).
  ASSERT_TRUE(run_until(ioc, [&] {
    return !report && !calls().empty() && calls().back().starts_with("GET /_ops/");
  }));
  remediation->stop();
  ASSERT_TRUE(run_until(ioc, [&] { return report.has_value(); }, 5s));
  EXPECT_EQ(report->outcome, Outcome::Failed);
  EXPECT_NE(report->error.find("shutting down"), std::string::npos) << report->error;
  EXPECT_EQ(mutating_calls(), std::vector<std::string>{"PATCH " + kApp});
}

TEST_F(RemediationFakeTest, StopCancelsExactlyTheActiveDeployRunsAndReports409) {
  fault(R"({"kind":"status","method":"POST","path_regex":"/runs/102/cancel$","status":409,
            "body":{"message":"Cannot cancel a workflow run that is completed."}})");
  std::optional<StopReport> report;
  remediation->cancel_deploy_runs("staging", [&](StopReport r) { report = std::move(r); });
  ASSERT_TRUE(run_until(ioc, [&] { return report.has_value(); }, 20s));
  ASSERT_TRUE(report->listing_errors.empty());
  ASSERT_EQ(report->cancelled.size(), 1u);
  EXPECT_EQ(report->cancelled[0].id, 101);
  ASSERT_EQ(report->not_cancelled.size(), 1u);
  EXPECT_EQ(report->not_cancelled[0].run.id, 102);
  EXPECT_EQ(report->not_cancelled[0].step.status, 409u);
  EXPECT_EQ(report->not_cancelled[0].step.attempts, 1);  // 409 is not retried
  EXPECT_EQ(mutating_calls(), (std::vector<std::string>{"POST /repos/acme/shop/actions/runs/101/cancel",
                                                        "POST /repos/acme/shop/actions/runs/102/cancel"}));
}

// ---- long-running operation shapes, Retry-After, 401 ---------------------------------------

/// Indices of the recorded requests with this method whose path satisfies `pred`.
std::vector<std::size_t> indices(const Json& log, const std::string& method,
                                 const std::function<bool(const std::string&)>& pred) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < log.size(); ++i)
    if (log[i]["method"] == method && pred(log[i]["path"].get<std::string>())) out.push_back(i);
  return out;
}

std::int64_t gap_ms(const Json& log, std::size_t from, std::size_t to) {
  return log[to]["unix_ms"].get<std::int64_t>() - log[from]["unix_ms"].get<std::int64_t>();
}

bool is_location_poll(const std::string& path) { return path.starts_with("/_ops/") && path.ends_with("/result"); }
bool is_async_poll(const std::string& path) { return path.starts_with("/_ops/") && !path.ends_with("/result"); }

// ---- the tokens stay with their origins ------------------------------------------------------
// "localhost" names the same fake as 127.0.0.1 but is another origin: had a link been followed,
// the fake would have recorded it.

TEST_F(RemediationFakeTest, ARevisionsNextLinkToAnotherOriginFailsTheReadBeforeAnyChange) {
  const std::string other = "http://localhost:" + std::to_string(server->port());
  ASSERT_EQ(control("PATCH", "/_fake/state",
                    Json{{"azure", {{"link_base", other}, {"revisions_page_size", 1}}}}.dump())
                .status,
            200u);
  const auto report = stabilize("shop-api--r2");
  ASSERT_EQ(report.outcome, Outcome::Failed);
  EXPECT_NE(report.error.find("revisions: ARM nextLink points to " + other + ", not http://127.0.0.1:" +
                              std::to_string(server->port()) + " (the origin the ARM token is for); refused"),
            std::string::npos)
      << report.error;
  EXPECT_EQ(calls(), (std::vector<std::string>{"GET " + kApp, "GET " + kApp + "/revisions"}));
  EXPECT_TRUE(mutating_calls().empty());
}

TEST_F(RemediationFakeTest, AnOperationUrlOnAnotherOriginIsNotPolledAndNothingIsDeactivated) {
  const std::string other = "http://localhost:" + std::to_string(server->port());
  ASSERT_EQ(control("PATCH", "/_fake/state", Json{{"azure", {{"link_base", other}}}}.dump()).status, 200u);
  const auto report = stabilize("shop-api--r2");
  ASSERT_EQ(report.outcome, Outcome::Failed);
  EXPECT_NE(report.error.find("ARM Azure-AsyncOperation URL points to " + other), std::string::npos)
      << report.error;
  EXPECT_NE(report.error.find("nothing deactivated"), std::string::npos) << report.error;
  const Json log = requests();
  EXPECT_TRUE(indices(log, "GET", [](const std::string& p) { return p.starts_with("/_ops/"); }).empty())
      << log.dump();
  EXPECT_EQ(mutating_calls(), std::vector<std::string>{"PATCH " + kApp});
}

TEST_F(RemediationFakeTest, StopDoesNotFollowARunsLinkToAnotherOriginAndReportsIt) {
  const std::string other = "http://localhost:" + std::to_string(server->port());
  fault(Json{{"kind", "edit"}, {"method", "GET"}, {"path_prefix", "/repos/acme/shop/actions/runs"},
             {"count", 1},
             {"headers", {{"Link", "<" + other + "/repos/acme/shop/actions/runs?page=2>; rel=\"next\""}}}}
            .dump());
  std::optional<StopReport> report;
  remediation->cancel_deploy_runs("staging", [&](StopReport r) { report = std::move(r); });
  ASSERT_TRUE(run_until(ioc, [&] { return report.has_value(); }, 20s));
  ASSERT_EQ(report->listing_errors.size(), 1u);
  EXPECT_NE(report->listing_errors[0].error.find("GitHub Link rel=next points to " + other),
            std::string::npos)
      << report->listing_errors[0].error;
  for (const auto& r : requests()) EXPECT_EQ(r["target"].get<std::string>().find("page=2"), std::string::npos);
  // What the listings found is still cancelled.
  EXPECT_EQ(report->cancelled.size(), 2u);
}


TEST_F(RemediationFakeTest, LocationOnlyOperationIsPolledUntil200ThenDeactivates) {
  // The PATCH is accepted with a Location header only; the Location URL answers 202 while the
  // operation runs (lro_polls = 2) and 200 once it is done.
  fault(R"({"kind":"edit","method":"PATCH","path_prefix":"/subscriptions/","remove_headers":["Azure-AsyncOperation"]})");
  fault(R"({"kind":"edit","method":"GET","path_regex":"/result[?]","count":2})");
  fault(R"({"kind":"edit","method":"GET","path_regex":"/result[?]","status":200,
            "body":{"properties":{"provisioningState":"Succeeded"}}})");
  const auto report = stabilize("shop-api--r2");
  ASSERT_EQ(report.outcome, Outcome::Succeeded) << report.error;

  const Json log = requests();
  const auto polls = indices(log, "GET", is_location_poll);
  ASSERT_EQ(polls.size(), 3u) << log.dump();
  EXPECT_EQ(log[polls[0]]["status"], 202);
  EXPECT_EQ(log[polls[1]]["status"], 202);
  EXPECT_EQ(log[polls[2]]["status"], 200);
  EXPECT_TRUE(indices(log, "GET", is_async_poll).empty());  // there was no such URL to follow
  const auto patches = indices(log, "PATCH", [](const std::string&) { return true; });
  const auto deactivations = indices(log, "POST", [](const std::string& p) { return p.ends_with("/deactivate"); });
  ASSERT_EQ(patches.size(), 1u);
  ASSERT_EQ(deactivations.size(), 2u);
  EXPECT_LT(patches[0], polls[0]);
  // Nothing is deactivated before the operation answered 200.
  EXPECT_GT(deactivations[0], polls[2]);
  // A named copy: a range-for over app_state()["revisions"] would read the temporary after its
  // end (ASan: heap-use-after-free).
  const Json app = app_state();
  for (const auto& r : app["revisions"]) EXPECT_EQ(r["active"], r["name"] == "shop-api--r2") << r.dump();
}

TEST_F(RemediationFakeTest, LocationStillAnswering202AtTheDeadlineDeactivatesNothing) {
  ASSERT_EQ(control("PATCH", "/_fake/state", R"({"azure":{"lro_polls":1000000}})").status, 200u);
  fault(R"({"kind":"edit","method":"PATCH","path_prefix":"/subscriptions/","remove_headers":["Azure-AsyncOperation"]})");
  remediation_options.lro_timeout = 300ms;
  make_remediation();
  const auto report = stabilize("shop-api--r2");
  ASSERT_EQ(report.outcome, Outcome::Failed);
  EXPECT_NE(report.error.find("did not finish"), std::string::npos) << report.error;
  const Json log = requests();
  EXPECT_GE(indices(log, "GET", is_location_poll).size(), 2u);
  EXPECT_EQ(mutating_calls(), std::vector<std::string>{"PATCH " + kApp});
}

TEST_F(RemediationFakeTest, RetryAfterOfTheAcceptedPatchAndOfAPollDelaysTheNextPoll) {
  // lro_poll_interval is 5 ms: only the Retry-After headers can make these waits a second long.
  ASSERT_EQ(control("PATCH", "/_fake/state", R"({"azure":{"lro_polls":1}})").status, 200u);
  fault(R"({"kind":"edit","method":"PATCH","path_prefix":"/subscriptions/","headers":{"Retry-After":"1"},"count":1})");
  fault(R"({"kind":"edit","method":"GET","path_prefix":"/_ops/","headers":{"Retry-After":"1"},"count":1})");
  const auto report = stabilize("shop-api--r2");
  ASSERT_EQ(report.outcome, Outcome::Succeeded) << report.error;

  const Json log = requests();
  const auto patch = indices(log, "PATCH", [](const std::string&) { return true; });
  const auto polls = indices(log, "GET", is_async_poll);
  ASSERT_EQ(patch.size(), 1u);
  ASSERT_EQ(polls.size(), 2u) << log.dump();  // InProgress (with Retry-After), then Succeeded
  EXPECT_GE(gap_ms(log, patch[0], polls[0]), 990) << log.dump();
  EXPECT_GE(gap_ms(log, polls[0], polls[1]), 990) << log.dump();
  EXPECT_LT(gap_ms(log, patch[0], polls[1]), 10000);
  const auto deactivations = indices(log, "POST", [](const std::string& p) { return p.ends_with("/deactivate"); });
  ASSERT_FALSE(deactivations.empty());
  EXPECT_GT(deactivations.front(), polls[1]);
}

TEST_F(RemediationFakeTest, RetryAfterOn429And503DelaysTheNextAttempt) {
  // Backoff alone would wait 10-40 ms (RetryPolicy{3, 10ms, 40ms}, jitter 1.0).
  fault(R"({"kind":"rate_limit","method":"PATCH","path_prefix":"/subscriptions/","status":429,
            "retry_after_s":1,"count":1})");
  fault(R"({"kind":"status","method":"PATCH","path_prefix":"/subscriptions/","status":503,"headers":{"Retry-After":"1"},
            "body":{"error":{"code":"ServiceUnavailable","message":"try later"}},"count":1})");
  fault(R"({"kind":"status","method":"POST","path_regex":"shop-api--r3/deactivate","status":503,
            "headers":{"Retry-After":"1"},"body":{"error":{"code":"ServiceUnavailable","message":"try later"}},"count":1})");
  const auto report = stabilize("shop-api--r2");
  ASSERT_EQ(report.outcome, Outcome::Succeeded) << report.error;
  const auto* traffic = step(report, "traffic", "shop-api--r2");
  ASSERT_TRUE(traffic);
  EXPECT_EQ(traffic->attempts, 3);
  const auto* r3 = step(report, "deactivate", "shop-api--r3");
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->attempts, 2);

  const Json log = requests();
  const auto patches = indices(log, "PATCH", [](const std::string&) { return true; });
  ASSERT_EQ(patches.size(), 3u) << log.dump();
  EXPECT_EQ(log[patches[0]]["status"], 429);
  EXPECT_EQ(log[patches[1]]["status"], 503);
  EXPECT_EQ(log[patches[2]]["status"], 202);
  EXPECT_GE(gap_ms(log, patches[0], patches[1]), 990) << log.dump();
  EXPECT_GE(gap_ms(log, patches[1], patches[2]), 990) << log.dump();
  const auto r3_posts = indices(log, "POST", [](const std::string& p) { return p.ends_with("shop-api--r3/deactivate"); });
  ASSERT_EQ(r3_posts.size(), 2u);
  EXPECT_EQ(log[r3_posts[0]]["status"], 503);
  EXPECT_GE(gap_ms(log, r3_posts[0], r3_posts[1]), 990) << log.dump();
}

TEST_F(RemediationFakeTest, RetryAfterIsCappedByMaxRetryAfter) {
  remediation_options.max_retry_after = 300ms;
  make_remediation();
  fault(R"({"kind":"rate_limit","method":"PATCH","path_prefix":"/subscriptions/","status":429,
            "retry_after_s":3600,"count":1})");
  const auto report = stabilize("shop-api--r2");
  ASSERT_EQ(report.outcome, Outcome::Succeeded) << report.error;
  const Json log = requests();
  const auto patches = indices(log, "PATCH", [](const std::string&) { return true; });
  ASSERT_EQ(patches.size(), 2u) << log.dump();
  EXPECT_GE(gap_ms(log, patches[0], patches[1]), 290);
  EXPECT_LT(gap_ms(log, patches[0], patches[1]), 5000);
}

const std::string kTokenPath = "/tenant-1/oauth2/v2.0/token";
constexpr const char* kUnauthorized =
    R"({"kind":"status","method":"PATCH","path_prefix":"/subscriptions/","status":401,
        "headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""},
        "body":{"error":{"code":"InvalidAuthenticationToken","message":"The access token has expired."}},"count":COUNT})";

std::string unauthorized(int count) {
  std::string rule = kUnauthorized;
  rule.replace(rule.find("COUNT"), 5, std::to_string(count));
  return rule;
}

TEST_F(RemediationAadFakeTest, A401OnThePatchFetchesANewTokenAndRetriesThePatchOnce) {
  fault(unauthorized(1));
  const auto report = stabilize("shop-api--r2");
  ASSERT_EQ(report.outcome, Outcome::Succeeded) << report.error;

  const Json log = requests();
  const auto tokens = indices(log, "POST", [](const std::string& p) { return p == kTokenPath; });
  const auto patches = indices(log, "PATCH", [](const std::string&) { return true; });
  ASSERT_EQ(tokens.size(), 2u) << log.dump();  // the first use, and once after the 401
  ASSERT_EQ(patches.size(), 2u) << log.dump();  // retried exactly once
  EXPECT_EQ(log[patches[0]]["status"], 401);
  EXPECT_EQ(log[patches[1]]["status"], 202);
  EXPECT_LT(patches[0], tokens[1]);  // the new token was fetched after the 401 ...
  EXPECT_LT(tokens[1], patches[1]);  // ... and used for the retry
  EXPECT_EQ(log[patches[1]]["headers"]["authorization"], std::string("Bearer ") + kArmToken);
  EXPECT_EQ(app_state()["traffic"], Json::parse(R"([{"revisionName":"shop-api--r2","weight":100}])"));
}

TEST_F(RemediationAadFakeTest, ASecond401FailsTheStabilizeAndDeactivatesNothing) {
  fault(unauthorized(2));
  const auto report = stabilize("shop-api--r2");
  ASSERT_EQ(report.outcome, Outcome::Failed);
  EXPECT_NE(report.error.find("401"), std::string::npos) << report.error;
  EXPECT_NE(report.error.find("fresh token"), std::string::npos) << report.error;
  EXPECT_NE(report.error.find("nothing deactivated"), std::string::npos) << report.error;
  const auto* traffic = step(report, "traffic", "shop-api--r2");
  ASSERT_TRUE(traffic);
  EXPECT_EQ(traffic->status, 401u);
  EXPECT_EQ(traffic->attempts, 1);  // a 401 is not one of the backoff retries

  const Json log = requests();
  EXPECT_EQ(indices(log, "POST", [](const std::string& p) { return p == kTokenPath; }).size(), 2u) << log.dump();
  std::vector<std::string> arm_mutations;
  for (const auto& c : mutating_calls())
    if (c.find(" /subscriptions/") != std::string::npos) arm_mutations.push_back(c);
  EXPECT_EQ(arm_mutations, (std::vector<std::string>{"PATCH " + kApp, "PATCH " + kApp}));
  const auto state = app_state();
  EXPECT_EQ(state["traffic"].size(), 3u);
  for (const auto& r : state["revisions"]) EXPECT_EQ(r["active"], r["name"] != "shop-api--r1") << r.dump();
  EXPECT_FALSE(remediation->busy("staging"));
}

TEST_F(RemediationFakeTest, StopRetriesACancelAnswered5xx) {
  fault(R"({"kind":"status","method":"POST","path_regex":"/runs/101/cancel$","status":502,
            "body":{"message":"Server Error"},"count":1})");
  std::optional<StopReport> report;
  remediation->cancel_deploy_runs("staging", [&](StopReport r) { report = std::move(r); });
  ASSERT_TRUE(run_until(ioc, [&] { return report.has_value(); }, 20s));
  EXPECT_TRUE(report->complete());
  ASSERT_EQ(report->cancelled.size(), 2u);
  EXPECT_EQ(mutating_calls(), (std::vector<std::string>{"POST /repos/acme/shop/actions/runs/101/cancel",
                                                        "POST /repos/acme/shop/actions/runs/101/cancel",
                                                        "POST /repos/acme/shop/actions/runs/102/cancel"}));
}

}  // namespace
}  // namespace deployguard::remediation
