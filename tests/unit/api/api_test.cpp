// The API mapping, request in, response out: every route and status code, the environment
// rules of /can-deploy, JSON shapes and Retry-After rounding. No sockets; time is a ManualClock.
#include "api/api.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "api/render.hpp"
#include "service/guard_service.hpp"

namespace deployguard::api {
namespace {

using namespace std::chrono_literals;
namespace bhttp = boost::beast::http;

TimePoint at(std::string_view text) { return parse_timestamp(text).value(); }

EnvironmentConfig env_without_sources(std::string name) {
  EnvironmentConfig env;
  env.name = std::move(name);
  return env;
}

EnvironmentConfig github_env(std::string name) {
  EnvironmentConfig env;
  env.name = std::move(name);
  env.github = GitHubTarget{"example/app", {"deploy.yml"}, std::nullopt};
  return env;
}

WorkflowRun deploy_run(std::int64_t id, TimePoint created, TimePoint updated, RunStatus status,
                       RunConclusion conclusion) {
  WorkflowRun run;
  run.id = id;
  run.workflow_name = "Deploy";
  run.workflow_path = ".github/workflows/deploy.yml";
  run.repository = "example/app";
  run.head_branch = "main";
  run.head_sha = "abc123";
  run.title = "Ship it";
  run.html_url = "https://github.com/example/app/actions/runs/" + std::to_string(id);
  run.event = "push";
  run.status = status;
  run.conclusion = conclusion;
  run.status_text = std::string(to_string(status));
  run.conclusion_text = conclusion == RunConclusion::None ? "" : std::string(to_string(conclusion));
  run.created_at = created;
  run.run_started_at = created;
  run.updated_at = updated;
  return run;
}

class ApiTest : public ::testing::Test {
 protected:
  explicit ApiTest(std::map<std::string, EnvironmentConfig> envs = {{"staging", github_env("staging")}})
      : service_(io_.get_executor(), clock_, envs), api_(service_, options()) {}

  static ApiOptions options() {
    ApiOptions o;
    o.max_body_bytes = 1000;
    o.max_webhook_body_bytes = 5000;
    return o;
  }

  http::Response get(std::string target, bhttp::verb method = bhttp::verb::get) {
    http::Request req{method, target, 11};
    return api_.handle(req);
  }
  static Json body(const http::Response& res) { return Json::parse(res.body()); }
  static std::vector<std::string> keys(const Json& j) {
    std::vector<std::string> out;
    for (const auto& [k, v] : j.items()) out.push_back(k);
    return out;
  }

  void refresh_github(std::vector<WorkflowRun> runs = {}) {
    ASSERT_TRUE(service_.apply("staging", RunsPolled{std::move(runs)}));
  }

  boost::asio::io_context io_;  // never run: no timers fire in these tests
  ManualClock clock_{at("2025-12-31T19:00:00Z")};
  service::GuardService service_;
  Api api_;
};

// ---- /can-deploy -------------------------------------------------------------------------------

TEST_F(ApiTest, CanDeployIs200WhenSafeWithExactBody) {
  refresh_github();
  auto res = get("/can-deploy?env=staging");
  EXPECT_EQ(res.result(), http::Status::ok);
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  EXPECT_EQ(res.find(bhttp::field::retry_after), res.end());
  EXPECT_EQ(res.body(),
            R"({"environment":"staging","safe":true,"reasons":[],"evaluated_at":"2025-12-31T19:00:00Z"})"
            "\n");
}

TEST_F(ApiTest, CanDeployIs423WithReasonsUntilAndRetryAfterRoundedUp) {
  // Deploy started 18:50, ended 18:59: min_interval 14m blocks until 19:04:00.
  refresh_github({deploy_run(7, at("2025-12-31T18:50:00Z"), at("2025-12-31T18:59:00Z"),
                             RunStatus::Completed, RunConclusion::Success)});
  clock_.set(at("2025-12-31T19:00:00.250Z"));  // 239.75 s left
  auto res = get("/can-deploy?env=staging");
  EXPECT_EQ(res.result(), http::Status::locked);
  EXPECT_EQ(res[bhttp::field::retry_after], "240");
  const auto j = body(res);
  EXPECT_EQ(keys(j), (std::vector<std::string>{"environment", "safe", "reasons", "retry_after_s",
                                               "evaluated_at"}));
  EXPECT_EQ(j["environment"], "staging");
  EXPECT_EQ(j["safe"], false);
  ASSERT_EQ(j["reasons"].size(), 1u);
  EXPECT_EQ(keys(j["reasons"][0]), (std::vector<std::string>{"code", "message", "until"}));
  EXPECT_EQ(j["reasons"][0]["code"], "cooldown");
  EXPECT_FALSE(j["reasons"][0]["message"].get<std::string>().empty());
  EXPECT_EQ(j["reasons"][0]["until"], "2025-12-31T19:04:00Z");
  EXPECT_EQ(j["retry_after_s"], 240);
  EXPECT_EQ(j["evaluated_at"], "2025-12-31T19:00:00Z");
}

TEST_F(ApiTest, CanDeployWithoutKnownRetryOmitsUntilAndRetryAfter) {
  auto res = get("/can-deploy?env=staging");  // never refreshed: starting
  EXPECT_EQ(res.result(), http::Status::locked);
  EXPECT_EQ(res.find(bhttp::field::retry_after), res.end());
  const auto j = body(res);
  EXPECT_FALSE(j.contains("retry_after_s"));
  ASSERT_EQ(j["reasons"].size(), 1u);
  EXPECT_EQ(j["reasons"][0]["code"], "starting");
  EXPECT_FALSE(j["reasons"][0].contains("until"));
}

TEST_F(ApiTest, CanDeployEnvMayBeOmittedWithOneEnvironment) {
  refresh_github();
  auto res = get("/can-deploy");
  EXPECT_EQ(res.result(), http::Status::ok);
  EXPECT_EQ(body(res)["environment"], "staging");
}

TEST_F(ApiTest, CanDeployUnknownEnvironmentIs404) {
  auto res = get("/can-deploy?env=production");
  EXPECT_EQ(res.result(), http::Status::not_found);
  const auto j = body(res);
  EXPECT_EQ(keys(j), std::vector<std::string>{"error"});
  EXPECT_EQ(keys(j["error"]), (std::vector<std::string>{"code", "message"}));
  EXPECT_EQ(j["error"]["code"], "not_found");
}

TEST_F(ApiTest, CanDeployEmptyEnvIs400) {
  auto res = get("/can-deploy?env=");
  EXPECT_EQ(res.result(), http::Status::bad_request);
  EXPECT_EQ(body(res)["error"]["code"], "bad_request");
}

TEST_F(ApiTest, CanDeployDecodesThePercentEncodedEnv) {
  refresh_github();
  EXPECT_EQ(get("/can-deploy?env=stag%69ng").result(), http::Status::ok);
}

// ---- /can-deploy on behalf of a run ----------------------------------------------------------

TEST_F(ApiTest, CanDeployForTheAskingRunIgnoresItsOwnRunOnly) {
  refresh_github({deploy_run(42, at("2025-12-31T18:58:00Z"), at("2025-12-31T18:59:30Z"),
                             RunStatus::InProgress, RunConclusion::None)});
  // Everyone else is blocked by run 42...
  EXPECT_EQ(get("/can-deploy?env=staging").result(), http::Status::locked);
  auto other = get("/can-deploy?env=staging&run_id=43");
  EXPECT_EQ(other.result(), http::Status::locked);
  EXPECT_EQ(body(other)["reasons"][0]["code"], "deploy_in_progress");
  // ...but run 42 itself asks about its own deploy: its status and its record do not block it.
  auto own = get("/can-deploy?env=staging&run_id=42");
  EXPECT_EQ(own.result(), http::Status::ok) << own.body();
  EXPECT_EQ(body(own)["for_run"], Json::parse(R"({"run_id":42,"run_attempt":null})"));
  auto own_attempt = get("/can-deploy?env=staging&run_id=42&run_attempt=1");
  EXPECT_EQ(own_attempt.result(), http::Status::ok) << own_attempt.body();
  EXPECT_EQ(body(own_attempt)["for_run"], Json::parse(R"({"run_id":42,"run_attempt":1})"));
  // Another attempt of the same run is another deploy: attempt 1 still runs.
  EXPECT_EQ(get("/can-deploy?env=staging&run_id=42&run_attempt=2").result(), http::Status::locked);
  // Every other reason still blocks the run.
  service_.modify("staging", [](EnvironmentPolicy& policy, TimePoint now) {
    policy.set_freeze(Freeze{"incident", "alice", now, std::nullopt});
  });
  auto frozen = get("/can-deploy?env=staging&run_id=42");
  EXPECT_EQ(frozen.result(), http::Status::locked);
  EXPECT_EQ(body(frozen)["reasons"][0]["code"], "frozen");
}

TEST_F(ApiTest, CanDeployRunParametersAreValidated) {
  refresh_github();
  for (const char* bad : {"run_id=0", "run_id=-1", "run_id=abc", "run_id=", "run_id=+5",
                          "run_id=99999999999999999999", "run_attempt=1", "run_id=5&run_attempt=0",
                          "run_id=5&run_attempt=x", "run_id=5&run_attempt=3000000000"}) {
    auto res = get(std::string("/can-deploy?env=staging&") + bad);
    EXPECT_EQ(res.result(), http::Status::bad_request) << bad;
    EXPECT_EQ(body(res)["error"]["code"], "bad_request") << bad;
  }
  EXPECT_EQ(get("/can-deploy?env=staging&run_id=5&run_attempt=2").result(), http::Status::ok);
}

TEST_F(ApiTest, OtherMethodsAre405WithAllow) {
  for (auto method : {bhttp::verb::post, bhttp::verb::put, bhttp::verb::delete_}) {
    for (const std::string target : {"/can-deploy", "/v1/status", "/v1/environments/staging",
                                     "/healthz", "/readyz"}) {
      auto res = get(target, method);
      EXPECT_EQ(res.result(), http::Status::method_not_allowed) << target;
      EXPECT_EQ(res[bhttp::field::allow], "GET, HEAD") << target;
      EXPECT_EQ(body(res)["error"]["code"], "method_not_allowed") << target;
    }
  }
}

TEST_F(ApiTest, HeadAnswersLikeGet) {
  // The server strips the body of HEAD answers; the mapping answers HEAD exactly like GET.
  auto head = get("/can-deploy", bhttp::verb::head);
  auto plain = get("/can-deploy");
  EXPECT_EQ(head.result(), plain.result());
  EXPECT_EQ(head.body(), plain.body());
}

class MultiEnvApiTest : public ApiTest {
 protected:
  MultiEnvApiTest()
      : ApiTest({{"production", github_env("production")},
                 {"sandbox", env_without_sources("sandbox")},
                 {"staging", github_env("staging")}}) {}
};

TEST_F(MultiEnvApiTest, MissingEnvWithSeveralEnvironmentsIs400NamingThem) {
  auto res = get("/can-deploy");
  EXPECT_EQ(res.result(), http::Status::bad_request);
  const auto message = body(res)["error"]["message"].get<std::string>();
  EXPECT_NE(message.find("production, sandbox, staging"), std::string::npos) << message;
}

TEST_F(MultiEnvApiTest, EnvironmentWithoutSourcesIsSafe) {
  auto res = get("/can-deploy?env=sandbox");
  EXPECT_EQ(res.result(), http::Status::ok);
  EXPECT_EQ(body(res)["safe"], true);
}

TEST_F(MultiEnvApiTest, StatusListsEveryEnvironment) {
  auto j = body(get("/v1/status"));
  EXPECT_EQ(keys(j), (std::vector<std::string>{"evaluated_at", "environments"}));
  EXPECT_EQ(keys(j["environments"]),
            (std::vector<std::string>{"production", "sandbox", "staging"}));
}

// ---- /healthz, /readyz -------------------------------------------------------------------------

TEST_F(ApiTest, HealthzIsOk) {
  auto res = get("/healthz");
  EXPECT_EQ(res.result(), http::Status::ok);
  EXPECT_EQ(body(res), (Json{{"status", "ok"}}));
}

TEST_F(ApiTest, ReadyzIs503UntilEverySourceRefreshedOnce) {
  auto before = get("/readyz");
  EXPECT_EQ(before.result(), http::Status::service_unavailable);
  EXPECT_EQ(body(before)["missing"],
            Json::parse(R"([{"environment":"staging","source":"github"}])"));

  refresh_github();
  auto after = get("/readyz");
  EXPECT_EQ(after.result(), http::Status::ok);
  EXPECT_EQ(body(after), (Json{{"status", "ready"}}));

  // Ready stays ready when the source later fails or goes stale: readiness means "refreshed once".
  service_.apply("staging", SourceFailed{"github", "boom"});
  clock_.advance(1h);
  EXPECT_EQ(get("/readyz").result(), http::Status::ok);
}

// ---- /v1/status, /v1/environments/NAME ---------------------------------------------------------

TEST_F(ApiTest, EnvironmentStatusShowsRunsSourcesAndDecision) {
  refresh_github({deploy_run(42, at("2025-12-31T18:58:00Z"), at("2025-12-31T18:59:30Z"),
                             RunStatus::InProgress, RunConclusion::None)});
  clock_.advance(30s);
  auto res = get("/v1/environments/staging");
  ASSERT_EQ(res.result(), http::Status::ok);
  const auto j = body(res);
  EXPECT_EQ(keys(j), (std::vector<std::string>{
                         "environment", "safe", "reasons", "evaluated_at", "runs", "container_app",
                         "revisions", "traffic", "live", "databases", "lease", "queue", "freeze",
                         "freeze_windows", "override", "busy_backoff", "deploys", "unclassified",
                         "sources"}));
  EXPECT_EQ(j["safe"], false);
  ASSERT_EQ(j["runs"].size(), 1u);
  const auto& run = j["runs"][0];
  EXPECT_EQ(run["id"], 42);
  EXPECT_EQ(run["status"], "in_progress");
  EXPECT_TRUE(run["conclusion"].is_null());
  EXPECT_EQ(run["created_at"], "2025-12-31T18:58:00Z");
  EXPECT_EQ(run["started_at"], "2025-12-31T18:58:00Z");
  EXPECT_EQ(run["updated_at"], "2025-12-31T18:59:30Z");
  EXPECT_EQ(run["head_sha"], "abc123");
  EXPECT_EQ(run["title"], "Ship it");
  EXPECT_EQ(run["url"], "https://github.com/example/app/actions/runs/42");
  EXPECT_EQ(j["sources"]["github"]["last_success"], "2025-12-31T19:00:00Z");
  EXPECT_EQ(j["sources"]["github"]["age_s"], 30);
  EXPECT_TRUE(j["sources"]["github"]["last_error"].is_null());
  ASSERT_EQ(j["deploys"].size(), 1u);
  EXPECT_EQ(j["deploys"][0]["started_at"], "2025-12-31T18:58:00Z");
  EXPECT_TRUE(j["deploys"][0]["ended_at"].is_null());
  EXPECT_EQ(j["deploys"][0]["key"], "run:42/1");
  EXPECT_EQ(j["deploys"][0]["run_id"], 42);
  EXPECT_EQ(j["deploys"][0]["run_attempt"], 1);
  EXPECT_EQ(j["deploys"][0]["sha"], "abc123");
  EXPECT_EQ(j["deploys"][0]["title"], "Ship it");
  EXPECT_TRUE(j["live"].is_null());  // no container app configured
  EXPECT_EQ(j["unclassified"], Json::array());

  // /v1/status carries the same object.
  EXPECT_EQ(body(get("/v1/status"))["environments"]["staging"], j);
}

TEST_F(ApiTest, EnvironmentStatusShowsSourceErrors) {
  service_.apply("staging", SourceFailed{"github", "HTTP 502 from api.github.com"});
  const auto j = body(get("/v1/environments/staging"));
  EXPECT_TRUE(j["sources"]["github"]["last_success"].is_null());
  EXPECT_TRUE(j["sources"]["github"]["age_s"].is_null());
  EXPECT_EQ(j["sources"]["github"]["last_error"], "HTTP 502 from api.github.com");
  EXPECT_EQ(j["sources"]["github"]["last_error_at"], "2025-12-31T19:00:00Z");
}

TEST_F(ApiTest, EnvironmentStatusShowsLeaseAndFreeze) {
  refresh_github();
  service_.modify("staging", [](EnvironmentPolicy& policy, TimePoint now) {
    auto lease = policy.acquire_lease(LeaseRequest{"lease-1", "ci", 10min, 99}, now);
    ASSERT_TRUE(std::holds_alternative<Lease>(lease));
    policy.set_freeze(Freeze{"release freeze", "alice", now, now + 1h});
  });
  const auto j = body(get("/v1/environments/staging"));
  EXPECT_EQ(j["lease"]["id"], "lease-1");
  EXPECT_EQ(j["lease"]["holder"], "ci");
  EXPECT_EQ(j["lease"]["run_id"], 99);
  EXPECT_EQ(j["lease"]["expires_at"], "2025-12-31T19:10:00Z");
  EXPECT_EQ(j["freeze"]["reason"], "release freeze");
  EXPECT_EQ(j["freeze"]["by"], "alice");
  EXPECT_EQ(j["freeze"]["until"], "2025-12-31T20:00:00Z");
  EXPECT_EQ(j["reasons"][0]["code"], "frozen");
}

class AzureApiTest : public ApiTest {
 protected:
  static EnvironmentConfig azure_env() {
    EnvironmentConfig env;
    env.name = "staging";
    env.container_app = AzureResourceRef{"rg", "shop"};
    env.postgres_servers = {AzureResourceRef{"rg", "shop-pg"}};
    return env;
  }
  AzureApiTest() : ApiTest({{"staging", azure_env()}}) {}
};

TEST_F(AzureApiTest, StatusShowsContainerAppRevisionsTrafficAndDatabases) {
  ContainerAppSnapshot app;
  app.name = "shop";
  app.provisioning_state = "Succeeded";
  app.running_status = "Running";
  app.active_revisions_mode = "Multiple";
  app.latest_revision_name = "shop--v2";
  app.latest_ready_revision_name = "shop--v2";
  app.traffic = {TrafficEntry{"shop--v1", 80, false, ""}, TrafficEntry{"shop--v2", 20, false, "canary"}};
  RevisionSnapshot v1{"shop--v1", true, 80, 2, "Provisioned", "Running", "Healthy",
                      at("2025-12-30T10:00:00Z"), "shop:1"};
  RevisionSnapshot v2{"shop--v2", true, 20, 1, "Provisioned", "Running", "Healthy",
                      at("2025-12-31T18:00:00Z"), "shop:2"};
  service_.apply("staging", ContainerAppPolled{app, {v1, v2}});
  service_.apply("staging", PostgresPolled{PostgresServerSnapshot{"shop-pg", "Updating", "Healthy", "16"}});

  const auto j = body(get("/v1/environments/staging"));
  EXPECT_EQ(j["container_app"]["provisioning_state"], "Succeeded");
  EXPECT_EQ(j["container_app"]["active_revisions_mode"], "Multiple");
  EXPECT_EQ(j["container_app"]["latest_revision"], "shop--v2");
  ASSERT_EQ(j["revisions"].size(), 2u);
  EXPECT_EQ(j["revisions"][1]["name"], "shop--v2");
  EXPECT_EQ(j["revisions"][1]["traffic_weight"], 20);
  EXPECT_EQ(j["revisions"][1]["image"], "shop:2");
  EXPECT_EQ(j["revisions"][1]["created_at"], "2025-12-31T18:00:00Z");
  EXPECT_EQ(j["revisions"][1]["health_state"], "Healthy");
  EXPECT_EQ(j["traffic"], Json::parse(R"({"shop--v1":80,"shop--v2":20})"));
  ASSERT_EQ(j["databases"].size(), 1u);
  EXPECT_EQ(j["databases"][0]["name"], "shop-pg");
  EXPECT_EQ(j["databases"][0]["state"], "Updating");
  EXPECT_EQ(keys(j["sources"]),
            (std::vector<std::string>{"container_app", "postgres/shop-pg"}));
  EXPECT_EQ(j["safe"], false);  // server busy updating, traffic split
}

TEST_F(AzureApiTest, StatusShowsTheLiveRevisionAndTheDeployThatCreatedIt) {
  EnvironmentConfig env = azure_env();
  env.github = GitHubTarget{"example/app", {"deploy.yml"}, std::nullopt};
  service_.reconfigure({{"staging", env}});
  WorkflowRun run = deploy_run(42, at("2025-12-31T18:40:00Z"), at("2025-12-31T18:50:00Z"),
                               RunStatus::Completed, RunConclusion::Success);
  run.head_sha = "0123456789abcdef0123456789abcdef01234567";
  service_.apply("staging", RunsPolled{{run}});
  ContainerAppSnapshot app;
  app.name = "shop";
  app.provisioning_state = "Succeeded";
  app.traffic = {TrafficEntry{"shop--v2", 100, false, ""}};
  RevisionSnapshot v2{"shop--v2", true, 100, 1, "Provisioned", "Running", "Healthy",
                      at("2025-12-31T18:45:00Z"), "acr.io/shop:0123456"};
  service_.apply("staging", ContainerAppPolled{app, {v2}});

  const auto live = body(get("/v1/environments/staging"))["live"];
  EXPECT_EQ(live, Json::parse(R"({"revision":"shop--v2","run_id":42,"run_attempt":1,
      "sha":"0123456789abcdef0123456789abcdef01234567","title":"Ship it",
      "url":"https://github.com/example/app/actions/runs/42","matched_by":"image_tag"})"));

  // A revision nothing links is named, with every run field null: unknown, not guessed.
  RevisionSnapshot v3{"shop--v3", true, 100, 1, "Provisioned", "Running", "Healthy",
                      at("2025-12-31T12:00:00Z"), "acr.io/shop:latest"};
  app.traffic = {TrafficEntry{"shop--v3", 100, false, ""}};
  service_.apply("staging", ContainerAppPolled{app, {v3}});
  EXPECT_EQ(body(get("/v1/environments/staging"))["live"], Json::parse(R"({"revision":"shop--v3",
      "run_id":null,"run_attempt":null,"sha":null,"title":null,"url":null,"matched_by":"unknown"})"));
}

TEST_F(ApiTest, StatusListsAttemptsWhoseLogsCouldNotBeClassified) {
  refresh_github({deploy_run(42, at("2025-12-31T18:40:00Z"), at("2025-12-31T18:50:00Z"),
                             RunStatus::Completed, RunConclusion::Failure)});
  service_.apply("staging", RunClassified{RunRef{42, 1}, Classification::Unknown,
                                          "logs unreadable: HTTP 500 after 3 tries"});
  const auto j = body(get("/v1/environments/staging"));
  ASSERT_EQ(j["unclassified"].size(), 1u);
  EXPECT_EQ(j["unclassified"][0]["run_id"], 42);
  EXPECT_EQ(j["unclassified"][0]["run_attempt"], 1);
  EXPECT_EQ(j["unclassified"][0]["detail"], "logs unreadable: HTTP 500 after 3 tries");
  EXPECT_EQ(j["unclassified"][0]["at"], "2025-12-31T19:00:00Z");
}

TEST_F(ApiTest, UnknownEnvironmentStatusIs404) {
  EXPECT_EQ(get("/v1/environments/production").result(), http::Status::not_found);
  EXPECT_EQ(get("/v1/environments/").result(), http::Status::not_found);
  EXPECT_EQ(get("/v1/environments/staging/extra").result(), http::Status::not_found);
}

// ---- routing, errors, limits -------------------------------------------------------------------

TEST_F(ApiTest, UnknownRouteIs404Json) {
  auto res = get("/nope");
  EXPECT_EQ(res.result(), http::Status::not_found);
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  EXPECT_EQ(body(res)["error"]["code"], "not_found");
}

TEST_F(ApiTest, MalformedTargetIs400) {
  EXPECT_EQ(get("http://example.com/can-deploy").result(), http::Status::bad_request);
  EXPECT_EQ(get("/can-deploy?env=%zz").result(), http::Status::bad_request);
}

TEST_F(ApiTest, WebhookRouteGetsTheLargerBodyLimit) {
  http::Request req{bhttp::verb::post, "/webhooks/github", 11};
  EXPECT_EQ(api_.body_limit_for(req.base()), 5000u);
  req.target("/can-deploy");
  EXPECT_EQ(api_.body_limit_for(req.base()), 1000u);
}

TEST(RenderTest, SecondsRoundUp) {
  EXPECT_EQ(seconds_rounded_up(Duration{0}), 0);
  EXPECT_EQ(seconds_rounded_up(Duration{-1500}), 0);
  EXPECT_EQ(seconds_rounded_up(Duration{1}), 1);
  EXPECT_EQ(seconds_rounded_up(Duration{1000}), 1);
  EXPECT_EQ(seconds_rounded_up(Duration{1001}), 2);
  EXPECT_EQ(seconds_rounded_up(std::chrono::minutes{5} + Duration{12'000}), 312);
}

}  // namespace
}  // namespace deployguard::api
