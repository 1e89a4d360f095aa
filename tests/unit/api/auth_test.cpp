// Who may call what: every route of the table against named, scoped tokens (each scope, an
// environment-restricted token, a wrong token), the secure default without any token
// (auth_not_configured), allow_anonymous_mutations, protect_reads, and the audit actor naming
// the token. (The client address behind trusted proxies and the per-client waiter limit need a
// peer address, so they are tested through a real server in long_poll_test.cpp.)
#include <algorithm>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/api.hpp"
#include "common/temp_dir.hpp"
#include "service/guard_service.hpp"
#include "service/persistence.hpp"

namespace deployguard::api {
namespace {

using namespace std::chrono_literals;
namespace bhttp = boost::beast::http;
using Json = nlohmann::json;

EnvironmentConfig github_env(std::string name) {
  EnvironmentConfig env;
  env.name = std::move(name);
  env.github = GitHubTarget{"example/app", {"deploy.yml"}, std::nullopt};
  return env;
}

const std::string kDeployer = "deployer-token-0123456789";
const std::string kOperator = "operator-token-0123456789";
const std::string kReader = "reader-token-0123456789";
const std::string kStagingOnly = "staging-only-token-0123456789";

TokenAuth scoped_tokens(AuthSettings settings = {}) {
  return TokenAuth{{{"ci", kDeployer, {Scope::deploy}, {}},
                    {"oncall", kOperator, {Scope::operate}, {}},
                    {"dashboard", kReader, {Scope::read}, {}},
                    {"staging-ci", kStagingOnly, {Scope::deploy, Scope::read}, {"staging"}}},
                   settings};
}

struct Call {
  bhttp::verb method;
  std::string target;
  std::string body;
  Scope scope;
};

// One request per route of the table (apart from the webhook, which its signature guards), on
// environment `env`.
std::vector<Call> calls(const std::string& env) {
  const std::string base = "/v1/environments/" + env;
  return {
      {bhttp::verb::get, "/can-deploy?env=" + env, "", Scope::read},
      {bhttp::verb::get, "/v1/status", "", Scope::read},
      {bhttp::verb::get, base, "", Scope::read},
      {bhttp::verb::get, "/metrics", "", Scope::read},
      {bhttp::verb::post, base + "/lease", R"({"holder":"h","ttl":"1m"})", Scope::deploy},
      {bhttp::verb::delete_, base + "/lease/abc", "", Scope::deploy},
      {bhttp::verb::post, base + "/queue", R"({"holder":"h"})", Scope::deploy},
      {bhttp::verb::get, base + "/queue/abc", "", Scope::deploy},
      {bhttp::verb::delete_, base + "/queue/abc", "", Scope::deploy},
      {bhttp::verb::post, base + "/events", R"({"type":"server_busy"})", Scope::deploy},
      {bhttp::verb::post, base + "/freeze", R"({"reason":"r","by":"b"})", Scope::operate},
      {bhttp::verb::delete_, base + "/freeze", "", Scope::operate},
      {bhttp::verb::post, base + "/stabilize", "", Scope::operate},
      {bhttp::verb::post, base + "/stop", R"({"reason":"r","by":"b"})", Scope::operate},
  };
}

class AuthorizationTest : public ::testing::Test {
 protected:
  explicit AuthorizationTest(TokenAuth auth = scoped_tokens())
      : service_(io_.get_executor(), clock_,
                 {{"staging", github_env("staging")}, {"production", github_env("production")}}) {
    persistence_ = std::make_unique<service::Persistence>(
        io_.get_executor(), service_,
        service::PersistenceOptions::from_config(
            StateConfig{dir_.file("state.json"), dir_.file("audit.jsonl")}));
    persistence_->restore(false);
    service_.start();
    persistence_->start();
    api_ = std::make_unique<Api>(service_, ApiOptions{}, persistence_.get(), std::move(auth));
    api_->set_handler(RouteId::metrics,
                      [](const http::Request&) { return http::Response{http::Status::ok, 11}; });
    for (const char* env : {"staging", "production"})
      EXPECT_TRUE(service_.apply(env, RunsPolled{{}}));
  }

  http::Response send(const Call& call, const std::optional<std::string>& token) {
    http::Request req{call.method, call.target, 11};
    if (token) req.set(bhttp::field::authorization, "Bearer " + *token);
    req.body() = call.body;
    req.prepare_payload();
    return api_->handle(req);
  }
  static std::string code(const http::Response& res) {
    const auto json = Json::parse(res.body(), nullptr, false);
    return json.is_object() && json.contains("error") ? json["error"].value("code", "") : "";
  }
  /// Whether the route ran (anything but the authorization answers).
  static bool passed(const http::Response& res) {
    return res.result() != http::Status::unauthorized && res.result() != http::Status::forbidden;
  }

  boost::asio::io_context io_;  // never run
  ManualClock clock_{parse_timestamp("2025-12-31T19:00:00Z").value()};
  deployguard::testing::TempDir dir_;
  service::GuardService service_;
  std::unique_ptr<service::Persistence> persistence_;
  std::unique_ptr<Api> api_;
};

TEST_F(AuthorizationTest, EachScopeReachesExactlyItsRoutes) {
  struct Holder {
    const std::string* token;
    std::vector<Scope> scopes;
  };
  const Holder holders[] = {{&kDeployer, {Scope::deploy}},
                            {&kOperator, {Scope::operate}},
                            {&kReader, {Scope::read}}};
  for (const auto& holder : holders) {
    for (const auto& call : calls("production")) {
      const auto res = send(call, *holder.token);
      const bool has = call.scope == Scope::read ||  // reads are open without protect_reads
                       std::find(holder.scopes.begin(), holder.scopes.end(), call.scope) !=
                           holder.scopes.end();
      EXPECT_EQ(passed(res), has) << *holder.token << " " << call.target << " " << res.body();
      if (!has) {
        EXPECT_EQ(res.result(), http::Status::forbidden) << call.target;
        EXPECT_EQ(code(res), "forbidden");
        EXPECT_NE(res.body().find("does not have scope " +
                                  std::string(*scope_name(call.scope))),
                  std::string::npos)
            << res.body();
        EXPECT_EQ(res.body().find(*holder.token), std::string::npos);  // never echoed
      }
    }
  }
}

TEST_F(AuthorizationTest, NoOrWrongTokenIs401OnEveryMutation) {
  for (const auto& call : calls("staging")) {
    if (call.scope == Scope::read) continue;
    for (const std::optional<std::string>& token :
         {std::optional<std::string>{}, std::optional<std::string>{"not-a-token-at-all"}}) {
      const auto res = send(call, token);
      EXPECT_EQ(res.result(), http::Status::unauthorized) << call.target;
      EXPECT_EQ(code(res), "unauthorized");
    }
  }
}

TEST_F(AuthorizationTest, AnEnvironmentRestrictedTokenActsOnlyThere) {
  for (const auto& call : calls("production")) {
    if (call.target == "/v1/status" || call.target == "/metrics") continue;  // no environment
    if (call.scope != Scope::deploy) continue;
    const auto res = send(call, kStagingOnly);
    EXPECT_EQ(res.result(), http::Status::forbidden) << call.target;
    EXPECT_NE(res.body().find("may not act on environment \\\"production\\\""), std::string::npos)
        << res.body();
  }
  for (const auto& call : calls("staging")) {
    if (call.scope == Scope::deploy) {
      EXPECT_TRUE(passed(send(call, kStagingOnly))) << call.target;
    }
  }
  // Its scopes still apply where it may act.
  for (const auto& call : calls("staging")) {
    if (call.scope == Scope::operate) {
      EXPECT_FALSE(passed(send(call, kStagingOnly))) << call.target;
    }
  }
}

TEST_F(AuthorizationTest, TheAuditLogNamesTheTokenNeverItsValue) {
  ASSERT_TRUE(passed(send({bhttp::verb::post, "/v1/environments/staging/freeze",
                           R"({"reason":"r","by":"b"})", Scope::operate},
                          kOperator)));
  ASSERT_TRUE(passed(send({bhttp::verb::post, "/v1/environments/staging/lease",
                           R"({"holder":"h","ttl":"1m"})", Scope::deploy},
                          kStagingOnly)));
  std::vector<std::string> actors;
  for (const auto& line : deployguard::testing::read_json_lines(dir_.file("audit.jsonl"))) {
    const std::string text = line.dump();
    for (const auto* token : {&kDeployer, &kOperator, &kReader, &kStagingOnly})
      EXPECT_EQ(text.find(*token), std::string::npos) << text;
    if (line["actor"] != "deployguard") actors.push_back(line["actor"]);
  }
  EXPECT_EQ(actors, (std::vector<std::string>{"oncall"}))
      << "a lease on a frozen environment is refused, so only the freeze is audited";
}

class NoTokenTest : public AuthorizationTest {
 protected:
  NoTokenTest() : AuthorizationTest(TokenAuth{}) {}
};

TEST_F(NoTokenTest, MutationsAreRefusedByDefaultAndReadsStayOpen) {
  for (const auto& call : calls("staging")) {
    const auto res = send(call, std::nullopt);
    if (call.scope == Scope::read) {
      EXPECT_TRUE(passed(res)) << call.target;
      continue;
    }
    EXPECT_EQ(res.result(), http::Status::forbidden) << call.target;
    EXPECT_EQ(code(res), "auth_not_configured") << call.target;
    EXPECT_NE(res.body().find("allow_anonymous_mutations"), std::string::npos);
  }
  EXPECT_FALSE(service_.find("staging")->freeze());
  EXPECT_TRUE(service_.find("staging")->queue().tickets().empty());
}

class AnonymousTest : public AuthorizationTest {
 protected:
  AnonymousTest() : AuthorizationTest(TokenAuth::anonymous()) {}
};

TEST_F(AnonymousTest, AllowAnonymousMutationsOpensThemAsAnonymous) {
  for (const auto& call : calls("staging")) EXPECT_TRUE(passed(send(call, std::nullopt))) << call.target;
  bool froze = false;
  for (const auto& line : deployguard::testing::read_json_lines(dir_.file("audit.jsonl")))
    if (line["action"] == "freeze.set") froze = line["actor"] == "anonymous";
  EXPECT_TRUE(froze);
}

class ProtectedReadsTest : public AuthorizationTest {
 protected:
  ProtectedReadsTest() : AuthorizationTest(scoped_tokens({false, true})) {}
};

TEST_F(ProtectedReadsTest, ReadsNeedScopeReadAndStatusListsOnlyVisibleEnvironments) {
  for (const auto& call : calls("production")) {
    if (call.scope != Scope::read) continue;
    EXPECT_EQ(send(call, std::nullopt).result(), http::Status::unauthorized) << call.target;
    EXPECT_EQ(send(call, kDeployer).result(), http::Status::forbidden) << call.target;
    EXPECT_TRUE(passed(send(call, kReader))) << call.target;
  }
  // Health and readiness stay open for load balancers.
  EXPECT_EQ(send({bhttp::verb::get, "/healthz", "", Scope::none}, std::nullopt).result(),
            http::Status::ok);
  EXPECT_NE(send({bhttp::verb::get, "/readyz", "", Scope::none}, std::nullopt).result(),
            http::Status::unauthorized);

  const auto all = Json::parse(send({bhttp::verb::get, "/v1/status", "", Scope::read}, kReader).body());
  EXPECT_EQ(all["environments"].size(), 2u);
  const auto mine =
      Json::parse(send({bhttp::verb::get, "/v1/status", "", Scope::read}, kStagingOnly).body());
  ASSERT_EQ(mine["environments"].size(), 1u);
  EXPECT_TRUE(mine["environments"].contains("staging"));
  EXPECT_EQ(send({bhttp::verb::get, "/can-deploy?env=production", "", Scope::read}, kStagingOnly)
                .result(),
            http::Status::forbidden);
}

}  // namespace
}  // namespace deployguard::api
