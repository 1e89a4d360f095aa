// The mutating routes (lease, freeze, events): every status code and validation rule, bearer
// auth, and that a mutation is on disk (state file + audit log) before it is acknowledged, or
// rolled back with 500 when the write fails. No sockets, except for the asynchronous stabilize
// and stop routes (their answer goes through an http::Responder, which only a real
// http::Server can create); time is a ManualClock.
#include <filesystem>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "api/api.hpp"
#include "api/render.hpp"
#include "service/guard_service.hpp"
#include "service/persistence.hpp"
#include "common/temp_dir.hpp"
#include "common/test_http_client.hpp"
#include "http/server/server.hpp"
#include "state/state_store.hpp"

namespace deployguard::api {
namespace {

using namespace std::chrono_literals;
namespace bhttp = boost::beast::http;
using deployguard::testing::TempDir;

TimePoint at(std::string_view text) { return parse_timestamp(text).value(); }

EnvironmentConfig github_env(std::string name) {
  EnvironmentConfig env;
  env.name = std::move(name);
  env.github = GitHubTarget{"example/app", {"deploy.yml"}, std::nullopt};
  return env;
}

class MutationsTest : public ::testing::Test {
 protected:
  /// Listeners registered by Persistence and Api cannot be removed, so each fixture builds them
  /// exactly once; variants (auth, failing disk) are derived fixtures.
  explicit MutationsTest(std::vector<std::string> tokens = {},
                         std::string state_subpath = "state.json")
      : state_path_((dir_.path() / state_subpath).string()) {
    // The daemon's debounce (PersistenceOptions::from_config), so the timing test below
    // measures what production does.
    persistence_ = std::make_unique<service::Persistence>(
        io_.get_executor(), service_,
        service::PersistenceOptions::from_config(StateConfig{state_path_, audit_path()}));
    persistence_->restore(false);
    service_.start();
    persistence_->start();
    ApiOptions options;
    options.max_lease_ttl = 2h;
    // Without tokens: open mutations, as most tests here are not about who may mutate (the
    // default, refusing them, is tested with AuthorizationTest in auth_test.cpp).
    api_ = std::make_unique<Api>(service_, options, persistence_.get(),
                                 tokens.empty() ? TokenAuth::anonymous() : TokenAuth{tokens});
  }
  std::string audit_path() const { return (dir_.path() / "audit.jsonl").string(); }

  http::Response send(bhttp::verb method, std::string target, std::string body = "",
                      std::optional<std::string> authorization = std::nullopt) {
    http::Request req{method, target, 11};
    req.body() = std::move(body);
    if (authorization) req.set(bhttp::field::authorization, *authorization);
    req.prepare_payload();
    return api_->handle(req);
  }
  http::Response post(std::string target, std::string body,
                      std::optional<std::string> auth = std::nullopt) {
    return send(bhttp::verb::post, std::move(target), std::move(body), std::move(auth));
  }
  http::Response del(std::string target, std::optional<std::string> auth = std::nullopt) {
    return send(bhttp::verb::delete_, std::move(target), "", std::move(auth));
  }
  http::Response can_deploy() { return send(bhttp::verb::get, "/can-deploy?env=staging"); }
  static nlohmann::json body(const http::Response& res) { return nlohmann::json::parse(res.body()); }
  static std::string error_code(const http::Response& res) {
    return body(res)["error"]["code"].get<std::string>();
  }
  static std::string error_message(const http::Response& res) {
    return body(res)["error"]["message"].get<std::string>();
  }

  void make_safe() { ASSERT_TRUE(service_.apply("staging", RunsPolled{})); }

  state::EnvironmentStates saved_states() {
    auto loaded = state::load_state(state_path_);
    EXPECT_TRUE(loaded.ok()) << loaded.error;
    return loaded.states;
  }

  TempDir dir_;
  boost::asio::io_context io_;  // run only by the debounce test: elsewhere the timer never fires
  ManualClock clock_{at("2025-12-31T19:00:00Z")};
  service::GuardService service_{io_.get_executor(), clock_, {{"staging", github_env("staging")}}};
  std::string state_path_;
  std::unique_ptr<service::Persistence> persistence_;
  std::unique_ptr<Api> api_;
};

constexpr std::string_view kLease = "/v1/environments/staging/lease";
constexpr std::string_view kFreeze = "/v1/environments/staging/freeze";
constexpr std::string_view kEvents = "/v1/environments/staging/events";

// ---- leases ------------------------------------------------------------------------------------

TEST_F(MutationsTest, LeaseGrantedWhenSafeIs201AndBlocksEveryoneElse) {
  make_safe();
  auto res = post(std::string(kLease), R"({"holder":"github-run-123","ttl":"30m","run_id":123})");
  ASSERT_EQ(res.result(), http::Status::created) << res.body();
  const auto j = body(res);
  ASSERT_TRUE(j["lease_id"].is_string());
  const auto id = j["lease_id"].get<std::string>();
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(j["holder"], "github-run-123");
  EXPECT_EQ(j["expires_at"], "2025-12-31T19:30:00Z");
  EXPECT_EQ(res[bhttp::field::location], "/v1/environments/staging/lease/" + id);

  auto blocked = can_deploy();
  EXPECT_EQ(blocked.result(), http::Status::locked);
  EXPECT_EQ(body(blocked)["reasons"][0]["code"], "leased");

  auto second = post(std::string(kLease), R"({"holder":"someone-else","ttl":"5m"})");
  EXPECT_EQ(second.result(), http::Status::locked);
  EXPECT_EQ(body(second)["reasons"][0]["code"], "leased");
  EXPECT_EQ(second[bhttp::field::retry_after], "1800");

  // Two leases never share an id.
  ASSERT_EQ(del(std::string(kLease) + "/" + id).result(), http::Status::no_content);
  auto third = post(std::string(kLease), R"({"holder":"x","ttl":"1s"})");
  ASSERT_EQ(third.result(), http::Status::locked) << "cooldown after the leased deploy";
}

TEST_F(MutationsTest, LeaseWhenBlockedIs423WithTheCanDeployBody) {
  // starting: no refresh yet, no retry time known.
  auto res = post(std::string(kLease), R"({"holder":"h","ttl":"30m"})");
  EXPECT_EQ(res.result(), http::Status::locked);
  EXPECT_EQ(res.body(), can_deploy().body());
  EXPECT_EQ(res.find(bhttp::field::retry_after), res.end());
  EXPECT_FALSE(service_.find("staging")->lease());
}

TEST_F(MutationsTest, LeaseValidation) {
  make_safe();
  const std::pair<std::string, std::string> cases[] = {
      {"", "JSON object"},
      {"not json", "not valid JSON"},
      {"[1]", "JSON object"},
      {R"({"ttl":"30m"})", "holder: required"},
      {R"({"holder":"","ttl":"30m"})", "holder: must not be empty"},
      {R"({"holder":")" + std::string(kMaxHolderBytes + 1, 'x') + R"(","ttl":"30m"})",
       "holder: longer than"},
      {R"({"holder":7,"ttl":"30m"})", "holder: must be a string"},
      {R"({"holder":"h"})", "ttl: required"},
      {R"({"holder":"h","ttl":1800})", "ttl: must be a string"},
      {R"({"holder":"h","ttl":"soon"})", "ttl: not a duration"},
      {R"({"holder":"h","ttl":"500ms"})", "ttl: must be between 1s and 2h"},
      {R"({"holder":"h","ttl":"2h1s"})", "ttl: must be between 1s and 2h"},
      {R"({"holder":"h","ttl":"30m","run_id":"123"})", "run_id: must be an integer"},
      {R"({"holder":"h","ttl":"30m","run_id":-5})", "run_id: must be positive"},
      {R"({"holder":"h","ttl":"30m","run_id":1.5})", "run_id: must be an integer"},
      {R"({"holder":"h","ttl":"30m","owner":"me"})", "unknown key \"owner\""},
  };
  for (const auto& [request, expected] : cases) {
    auto res = post(std::string(kLease), request);
    EXPECT_EQ(res.result(), http::Status::bad_request) << request;
    EXPECT_EQ(error_code(res), "bad_request") << request;
    EXPECT_NE(error_message(res).find(expected), std::string::npos)
        << request << " -> " << error_message(res);
  }
  // Every problem is reported at once.
  auto res = post(std::string(kLease), R"({"holder":"","ttl":"x","extra":1})");
  EXPECT_NE(error_message(res).find("holder"), std::string::npos);
  EXPECT_NE(error_message(res).find("ttl"), std::string::npos);
  EXPECT_NE(error_message(res).find("extra"), std::string::npos);
  EXPECT_FALSE(service_.find("staging")->lease());
  // The upper bound itself is fine.
  EXPECT_EQ(post(std::string(kLease), R"({"holder":"h","ttl":"2h"})").result(),
            http::Status::created);
}

TEST_F(MutationsTest, ReleaseIs204ThenUnknownAndExpiredAre404) {
  make_safe();
  auto id = body(post(std::string(kLease), R"({"holder":"h","ttl":"10m"})"))["lease_id"]
                .get<std::string>();
  EXPECT_EQ(del(std::string(kLease) + "/not-the-id").result(), http::Status::not_found);
  auto released = del(std::string(kLease) + "/" + id);
  EXPECT_EQ(released.result(), http::Status::no_content);
  EXPECT_TRUE(released.body().empty());
  EXPECT_EQ(del(std::string(kLease) + "/" + id).result(), http::Status::not_found);

  // A lease past its TTL is gone even before the deadline timer ran.
  clock_.advance(30min);  // past the cooldown of the first lease
  make_safe();
  auto id2 = body(post(std::string(kLease), R"({"holder":"h","ttl":"1m"})"))["lease_id"];
  ASSERT_TRUE(id2.is_string());
  clock_.advance(61s);
  auto expired = del(std::string(kLease) + "/" + id2.get<std::string>());
  EXPECT_EQ(expired.result(), http::Status::not_found);
  EXPECT_EQ(error_code(expired), "not_found");
}

TEST_F(MutationsTest, WrongMethodsAre405WithAllow) {
  const std::tuple<bhttp::verb, std::string, std::string> cases[] = {
      {bhttp::verb::get, std::string(kLease), "POST"},
      {bhttp::verb::delete_, std::string(kLease), "POST"},
      {bhttp::verb::post, std::string(kLease) + "/abc", "DELETE"},
      {bhttp::verb::get, std::string(kLease) + "/abc", "DELETE"},
      {bhttp::verb::get, std::string(kFreeze), "POST, DELETE"},
      {bhttp::verb::put, std::string(kFreeze), "POST, DELETE"},
      {bhttp::verb::get, std::string(kEvents), "POST"},
      {bhttp::verb::post, "/v1/environments/staging", "GET, HEAD"},
  };
  for (const auto& [method, target, allow] : cases) {
    auto res = send(method, target);
    EXPECT_EQ(res.result(), http::Status::method_not_allowed) << target;
    EXPECT_EQ(res[bhttp::field::allow], allow) << target;
  }
}

TEST_F(MutationsTest, UnknownEnvironmentIs404OnEveryMutatingRoute) {
  EXPECT_EQ(post("/v1/environments/qa/lease", R"({"holder":"h","ttl":"1m"})").result(),
            http::Status::not_found);
  EXPECT_EQ(del("/v1/environments/qa/lease/abc").result(), http::Status::not_found);
  EXPECT_EQ(post("/v1/environments/qa/freeze", R"({"reason":"r","by":"b"})").result(),
            http::Status::not_found);
  EXPECT_EQ(del("/v1/environments/qa/freeze").result(), http::Status::not_found);
  auto res = post("/v1/environments/qa/events", R"({"type":"server_busy"})");
  EXPECT_EQ(res.result(), http::Status::not_found);
  EXPECT_NE(error_message(res).find("qa"), std::string::npos);
  EXPECT_EQ(post("/v1/environments/staging/other", "{}").result(), http::Status::not_found);
}

// Found by tests/fuzz/fuzz_http_request: an error message that quotes bytes which are not UTF-8
// (nlohmann's complaint about the body quotes the last token read; a percent-decoded name is
// echoed) made the JSON serializer throw, and the client got 500 instead of its 400 or 404.
TEST_F(MutationsTest, ErrorsQuotingBytesThatAreNotUtf8AreStillAnswered) {
  // The fuzzer's body, cut short inside a key by two 0xFF bytes.
  const std::string body = "{\"holder\":\"p1\",\"sha\":\"abc123\",\"ref\":\"main\",\"run_id\":7,"
                           "\"run_attempt\xff\xffT\x8f\x8en\xc3\x80T /v1/";
  auto res = post("/v1/environments/staging/queue", body);
  EXPECT_EQ(res.result(), http::Status::bad_request);
  EXPECT_EQ(error_code(res), "bad_request");
  EXPECT_NE(error_message(res).find("not valid JSON"), std::string::npos) << error_message(res);
  EXPECT_NE(error_message(res).find("\xef\xbf\xbd"), std::string::npos)  // U+FFFD
      << error_message(res);
  res = post(std::string(kLease), "{\"holder\":\"h\xff\"}");
  EXPECT_EQ(res.result(), http::Status::bad_request);
  EXPECT_EQ(error_code(res), "bad_request");

  res = post("/v1/environments/qa%FF/lease", R"({"holder":"h","ttl":"1m"})");
  EXPECT_EQ(res.result(), http::Status::not_found);
  EXPECT_EQ(error_message(res), "unknown environment \"qa\xef\xbf\xbd\"");
}

// ---- freezes -----------------------------------------------------------------------------------

TEST_F(MutationsTest, FreezeIs200WithTheFreezeAndBlocksUntilLifted) {
  make_safe();
  auto res = post(std::string(kFreeze),
                  R"({"reason":"release party","by":"alice","until":"2025-12-31T21:00:00Z"})");
  ASSERT_EQ(res.result(), http::Status::ok) << res.body();
  EXPECT_EQ(body(res), nlohmann::json::parse(R"({"reason":"release party","by":"alice",
      "since":"2025-12-31T19:00:00Z","until":"2025-12-31T21:00:00Z"})"));
  auto blocked = can_deploy();
  EXPECT_EQ(blocked.result(), http::Status::locked);
  EXPECT_EQ(body(blocked)["reasons"][0]["code"], "frozen");
  EXPECT_EQ(blocked[bhttp::field::retry_after], "7200");

  // Replacing a freeze is allowed (200 again); without until it is open-ended.
  auto again = post(std::string(kFreeze), R"({"reason":"incident","by":"bob"})");
  EXPECT_EQ(again.result(), http::Status::ok);
  EXPECT_TRUE(body(again)["until"].is_null());

  EXPECT_EQ(del(std::string(kFreeze)).result(), http::Status::no_content);
  EXPECT_EQ(can_deploy().result(), http::Status::ok);
  auto none = del(std::string(kFreeze));
  EXPECT_EQ(none.result(), http::Status::not_found);
  EXPECT_NE(error_message(none).find("not frozen"), std::string::npos);
}

TEST_F(MutationsTest, FreezeValidation) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"by":"alice"})", "reason: required"},
      {R"({"reason":"r"})", "by: required"},
      {R"({"reason":"","by":"alice"})", "reason: must not be empty"},
      {R"({"reason":"r","by":["alice"]})", "by: must be a string"},
      {R"({"reason":"r","by":"a","until":"tomorrow"})", "until: not an RFC 3339 timestamp"},
      {R"({"reason":"r","by":"a","until":"2025-12-31T18:59:59Z"})", "is not in the future"},
      {R"({"reason":"r","by":"a","until":"2025-12-31T19:00:00Z"})", "is not in the future"},
      {R"({"reason":"r","by":"a","why":"x"})", "unknown key \"why\""},
      {R"({"reason":")" + std::string(kMaxReasonBytes + 1, 'r') + R"(","by":"a"})",
       "reason: longer than"},
  };
  for (const auto& [request, expected] : cases) {
    auto res = post(std::string(kFreeze), request);
    EXPECT_EQ(res.result(), http::Status::bad_request) << request;
    EXPECT_NE(error_message(res).find(expected), std::string::npos)
        << request << " -> " << error_message(res);
  }
  EXPECT_FALSE(service_.find("staging")->freeze());
}

TEST_F(MutationsTest, FreezePastItsUntilIsOverSoDeleteIs404) {
  ASSERT_EQ(post(std::string(kFreeze), R"({"reason":"r","by":"a","until":"2025-12-31T19:10:00Z"})")
                .result(),
            http::Status::ok);
  clock_.advance(10min);
  EXPECT_EQ(del(std::string(kFreeze)).result(), http::Status::not_found);
}

// ---- events ------------------------------------------------------------------------------------

TEST_F(MutationsTest, ServerBusyEventIs202AndStartsTheBusyBackoff) {
  make_safe();
  auto res = post(std::string(kEvents), R"({"type":"server_busy","detail":"ServerIsBusy in step 4"})");
  ASSERT_EQ(res.result(), http::Status::accepted) << res.body();
  const auto j = body(res);
  EXPECT_EQ(j["accepted"], true);
  EXPECT_EQ(j["busy_backoff"]["consecutive_failures"], 1);
  EXPECT_EQ(j["busy_backoff"]["last_detail"], "ServerIsBusy in step 4");
  auto blocked = can_deploy();
  EXPECT_EQ(blocked.result(), http::Status::locked);
  EXPECT_TRUE(body(blocked)["reasons"][0]["code"] == "busy_backoff");
  // detail is optional.
  EXPECT_EQ(post(std::string(kEvents), R"({"type":"server_busy"})").result(), http::Status::accepted);
  EXPECT_EQ(service_.find("staging")->busy().consecutive_failures, 2);
}

TEST_F(MutationsTest, ServerBusyEventWithRunIdCountsOncePerAttemptAndSaysWhenItDidNot) {
  make_safe();
  const std::string report = R"({"type":"server_busy","detail":"x","run_id":9000000001})";
  auto first = post(std::string(kEvents), report);
  ASSERT_EQ(first.result(), http::Status::accepted) << first.body();
  EXPECT_EQ(body(first)["counted"], true);
  EXPECT_EQ(body(first)["run"], Json::parse(R"({"run_id":9000000001,"run_attempt":1})"));
  EXPECT_FALSE(body(first).contains("duplicate_of"));

  auto retried = post(std::string(kEvents), report);  // a retried step reports the same failure
  ASSERT_EQ(retried.result(), http::Status::accepted);
  EXPECT_EQ(body(retried)["counted"], false);
  EXPECT_NE(body(retried)["duplicate_of"].get<std::string>().find("already counted"), std::string::npos);
  EXPECT_EQ(body(retried)["busy_backoff"]["consecutive_failures"], 1);
  // Naming attempt 1 explicitly is the same attempt; attempt 2 (a re-run) is a failure of its own.
  EXPECT_EQ(body(post(std::string(kEvents),
                      R"({"type":"server_busy","run_id":9000000001,"run_attempt":1})"))["counted"],
            false);
  auto rerun = post(std::string(kEvents), R"({"type":"server_busy","run_id":9000000001,"run_attempt":2})");
  EXPECT_EQ(body(rerun)["counted"], true);
  EXPECT_EQ(body(rerun)["run"]["run_attempt"], 2);
  EXPECT_EQ(service_.find("staging")->busy().consecutive_failures, 2);

  for (const char* bad : {R"({"type":"server_busy","run_id":0})",
                          R"({"type":"server_busy","run_attempt":2})",
                          R"({"type":"server_busy","run_id":5,"run_attempt":0})",
                          R"({"type":"server_busy","run_id":5,"run_attempt":"2"})"})
    EXPECT_EQ(post(std::string(kEvents), bad).result(), http::Status::bad_request) << bad;
  EXPECT_EQ(service_.find("staging")->busy().consecutive_failures, 2);
}

TEST_F(MutationsTest, LeaseLinkedToARunAttempt) {
  make_safe();
  auto res = post(std::string(kLease), R"({"holder":"ci","ttl":"30m","run_id":123,"run_attempt":2})");
  ASSERT_EQ(res.result(), http::Status::created) << res.body();
  EXPECT_EQ(body(res)["run_id"], 123);
  EXPECT_EQ(body(res)["run_attempt"], 2);
  EXPECT_EQ(service_.find("staging")->lease()->run_attempt, 2);
  EXPECT_EQ(post(std::string(kLease), R"({"holder":"ci","ttl":"30m","run_attempt":2})").result(),
            http::Status::bad_request);
}

TEST_F(MutationsTest, EventValidation) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({})", "type: required"},
      {R"({"type":"deploy_started"})", "unsupported event type \"deploy_started\""},
      {R"({"type":"server_busy","detail":5})", "detail: must be a string"},
      {R"({"type":"server_busy","at":"now"})", "unknown key \"at\""},
  };
  for (const auto& [request, expected] : cases) {
    auto res = post(std::string(kEvents), request);
    EXPECT_EQ(res.result(), http::Status::bad_request) << request;
    EXPECT_NE(error_message(res).find(expected), std::string::npos)
        << request << " -> " << error_message(res);
  }
  EXPECT_EQ(service_.find("staging")->busy().consecutive_failures, 0);
}

// ---- auth --------------------------------------------------------------------------------------

class AuthMutationsTest : public MutationsTest {
 protected:
  AuthMutationsTest() : MutationsTest({"first-token", "second-token"}) {}
};

TEST_F(AuthMutationsTest, MutatingRoutesNeedABearerTokenWhenConfigured) {
  make_safe();
  struct Route {
    bhttp::verb method;
    std::string target;
    std::string body;
  };
  const Route routes[] = {
      {bhttp::verb::post, std::string(kLease), R"({"holder":"h","ttl":"1m"})"},
      {bhttp::verb::delete_, std::string(kLease) + "/abc", ""},
      {bhttp::verb::post, std::string(kFreeze), R"({"reason":"r","by":"b"})"},
      {bhttp::verb::delete_, std::string(kFreeze), ""},
      {bhttp::verb::post, std::string(kEvents), R"({"type":"server_busy"})"},
  };
  for (const auto& route : routes) {
    for (std::optional<std::string> auth :
         {std::optional<std::string>{}, std::optional<std::string>{"Bearer wrong-token"},
          std::optional<std::string>{"Bearer first-token-and-more"},
          std::optional<std::string>{"Basic Zmlyc3QtdG9rZW4="},
          std::optional<std::string>{"first-token"}, std::optional<std::string>{"Bearer "}}) {
      auto res = send(route.method, route.target, route.body, auth);
      EXPECT_EQ(res.result(), http::Status::unauthorized) << route.target << " " << auth.value_or("-");
      EXPECT_EQ(res[bhttp::field::www_authenticate], "Bearer realm=\"deployguard\"");
      EXPECT_EQ(error_code(res), "unauthorized");
    }
  }
  // Nothing changed.
  EXPECT_FALSE(service_.find("staging")->lease());
  EXPECT_FALSE(service_.find("staging")->freeze());
  EXPECT_EQ(service_.find("staging")->busy().consecutive_failures, 0);

  // Right tokens (either one, any case of the scheme) pass.
  EXPECT_EQ(send(bhttp::verb::post, std::string(kFreeze), R"({"reason":"r","by":"b"})",
                 "Bearer second-token")
                .result(),
            http::Status::ok);
  EXPECT_EQ(send(bhttp::verb::delete_, std::string(kFreeze), "", "bearer first-token").result(),
            http::Status::no_content);
  auto lease = send(bhttp::verb::post, std::string(kLease), R"({"holder":"h","ttl":"1m"})",
                    "Bearer first-token");
  ASSERT_EQ(lease.result(), http::Status::created);
  EXPECT_EQ(send(bhttp::verb::delete_,
                 std::string(kLease) + "/" + body(lease)["lease_id"].get<std::string>(), "",
                 "Bearer first-token")
                .result(),
            http::Status::no_content);
  EXPECT_EQ(send(bhttp::verb::post, std::string(kEvents), R"({"type":"server_busy"})",
                 "Bearer second-token")
                .result(),
            http::Status::accepted);

  // Read-only routes stay open.
  EXPECT_EQ(send(bhttp::verb::get, "/v1/status").result(), http::Status::ok);
  EXPECT_NE(can_deploy().result(), http::Status::unauthorized);

  // The audit trail names the token by index, never by value.
  const auto text = deployguard::testing::read_file(persistence_->audit_log_path());
  EXPECT_EQ(text.find("first-token"), std::string::npos);
  EXPECT_EQ(text.find("second-token"), std::string::npos);
  std::vector<std::string> actors;
  for (const auto& line : deployguard::testing::read_json_lines(persistence_->audit_log_path()))
    if (line["actor"] != "deployguard") actors.push_back(line["actor"]);
  EXPECT_EQ(actors, (std::vector<std::string>{"token#2", "token#1", "token#1", "token#1",
                                              "token#2"}));
}

TEST(TokenAuthTest, ChecksSchemeAndEveryToken) {
  TokenAuth none;
  EXPECT_FALSE(none.enabled());
  TokenAuth auth{{"alpha", "beta"}};
  EXPECT_TRUE(auth.enabled());
  const auto actor = [&](std::string_view header) {
    const auto result = auth.authorize(header, Scope::deploy, "staging");
    return result.outcome == AuthOutcome::allowed ? result.actor : "refused";
  };
  EXPECT_EQ(actor("Bearer alpha"), "token#1");
  EXPECT_EQ(actor("Bearer beta"), "token#2");
  EXPECT_EQ(actor("BEARER   beta "), "token#2");
  for (const char* bad : {"Bearer gamma", "Bearer alph", "Bearer", "Bearerbeta", "Token beta", ""})
    EXPECT_EQ(actor(bad), "refused") << bad;
}

// stabilize and stop are answered through Api::operator() (a Responder), not handle(), so they
// are exercised through a real http::Server on loopback. Its io_context is driven by the test
// thread itself, so the Api and the GuardService are only ever touched by one thread.
class AuthRemediationTest : public AuthMutationsTest {
 protected:
  AuthRemediationTest() {
    server_ = std::make_unique<http::Server>(
        server_io_.get_executor(), http::ServerOptions{},
        [this](http::Request&& request, http::Responder responder) {
          (*api_)(std::move(request), std::move(responder));
        });
    server_->start();
  }

  /// One POST on a fresh connection; runs the server's handlers until the answer has arrived.
  deployguard::testing::HttpResponse post_async(const std::string& target, const std::string& body,
                                                std::optional<std::string> authorization) {
    deployguard::testing::TestHttpClient client{"127.0.0.1", server_->local_endpoint().port()};
    std::string headers = "Content-Type: application/json\r\n";
    if (authorization) headers += "Authorization: " + *authorization + "\r\n";
    EXPECT_TRUE(client.send_request("POST", target, headers, body));
    // Each handler the server runs (accept, read, answer, write) is an event; the response is
    // readable once the write handler has run. The deadline only bounds a broken server.
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while (!client.readable_within(0ms) && std::chrono::steady_clock::now() < give_up)
      server_io_.run_one_until(give_up);
    auto res = client.read_response(1s);
    EXPECT_TRUE(res) << target << ": " << client.last_error();
    return res ? std::move(*res) : deployguard::testing::HttpResponse{};
  }

  boost::asio::io_context server_io_;
  std::unique_ptr<http::Server> server_;  // destroyed before server_io_
};

TEST_F(AuthRemediationTest, StabilizeAndStopNeedABearerTokenWhenConfigured) {
  make_safe();
  const std::pair<std::string, std::string> routes[] = {
      {"/v1/environments/staging/stabilize", R"({"revision":"app--r1"})"},
      {"/v1/environments/staging/stop", R"({"reason":"incident","by":"alice"})"},
  };
  for (const auto& [target, request_body] : routes) {
    for (std::optional<std::string> auth :
         {std::optional<std::string>{}, std::optional<std::string>{"Bearer wrong-token"},
          std::optional<std::string>{"Basic Zmlyc3QtdG9rZW4="},
          std::optional<std::string>{"first-token"}}) {
      const auto res = post_async(target, request_body, auth);
      EXPECT_EQ(res.result_int(), 401) << target << " " << auth.value_or("-") << " " << res.body();
      EXPECT_EQ(res[bhttp::field::www_authenticate], "Bearer realm=\"deployguard\"")
          << target << " " << auth.value_or("-");
      if (res.result_int() == 401) {
        EXPECT_EQ(nlohmann::json::parse(res.body())["error"]["code"], "unauthorized");
      }
    }
  }
  // Nothing changed: stop freezes first, so a freeze would show a denied stop got through.
  EXPECT_FALSE(service_.find("staging")->freeze());
  for (const auto& line : deployguard::testing::read_json_lines(persistence_->audit_log_path()))
    EXPECT_EQ(line["action"], "decision.change") << line.dump();

  // The right token passes authentication; without a RemediationService the routes then say so.
  const auto stabilize =
      post_async("/v1/environments/staging/stabilize", R"({"revision":"app--r1"})",
                 "Bearer second-token");
  EXPECT_EQ(stabilize.result_int(), 503) << stabilize.body();
  EXPECT_EQ(nlohmann::json::parse(stabilize.body())["error"]["code"], "remediation_unavailable");

  const auto stop = post_async("/v1/environments/staging/stop",
                               R"({"reason":"incident","by":"alice"})", "bearer first-token");
  EXPECT_EQ(stop.result_int(), 502) << stop.body();
  EXPECT_EQ(nlohmann::json::parse(stop.body())["error"]["code"], "remediation_unavailable");
  ASSERT_TRUE(service_.find("staging")->freeze()) << "stop freezes even without remediation";
  EXPECT_EQ(service_.find("staging")->freeze()->by, "alice");
  // The freeze is audited as one set by the stop route.
  int freezes = 0;
  for (const auto& line : deployguard::testing::read_json_lines(persistence_->audit_log_path())) {
    if (line["action"] != "freeze.set") continue;
    ++freezes;
    EXPECT_EQ(line["detail"]["via"], "stop") << line.dump();
    EXPECT_EQ(line["detail"]["by"], "alice") << line.dump();
    EXPECT_EQ(line["new"]["reason"], "incident") << line.dump();
  }
  EXPECT_EQ(freezes, 1);
}

// ---- durability and audit ----------------------------------------------------------------------

TEST_F(MutationsTest, MutationsAreOnDiskAndAuditedWhenAcknowledged) {
  make_safe();
  auto lease = post(std::string(kLease), R"({"holder":"ci","ttl":"30m","run_id":77})");
  ASSERT_EQ(lease.result(), http::Status::created);
  const auto id = body(lease)["lease_id"].get<std::string>();
  auto states = saved_states();
  ASSERT_TRUE(states["staging"].lease);
  EXPECT_EQ(states["staging"].lease->id, id);
  EXPECT_EQ(states["staging"].lease->run_id, 77);

  ASSERT_EQ(post(std::string(kFreeze), R"({"reason":"r","by":"alice"})").result(), http::Status::ok);
  ASSERT_TRUE(saved_states()["staging"].freeze);
  EXPECT_EQ(saved_states()["staging"].freeze->by, "alice");

  ASSERT_EQ(del(std::string(kLease) + "/" + id).result(), http::Status::no_content);
  states = saved_states();
  EXPECT_FALSE(states["staging"].lease);
  ASSERT_FALSE(states["staging"].deploys.empty()) << "the leased deploy feeds the cooldown";
  EXPECT_EQ(states["staging"].deploys[0].key, "run:77/1");

  ASSERT_EQ(del(std::string(kFreeze)).result(), http::Status::no_content);
  EXPECT_FALSE(saved_states()["staging"].freeze);
  ASSERT_EQ(post(std::string(kEvents), R"({"type":"server_busy"})").result(), http::Status::accepted);
  EXPECT_EQ(saved_states()["staging"].busy.consecutive_failures, 1);

  std::vector<std::string> actions;
  for (const auto& line : deployguard::testing::read_json_lines(persistence_->audit_log_path())) {
    if (line["action"] == "decision.change") continue;
    actions.push_back(line["action"]);
    EXPECT_EQ(line["actor"], "anonymous");
    EXPECT_EQ(line["environment"], "staging");
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"lease.acquire", "freeze.set", "lease.release",
                                               "freeze.clear", "busy.report"}));
  const auto lines = deployguard::testing::read_json_lines(persistence_->audit_log_path());
  const auto acquire = std::find_if(lines.begin(), lines.end(),
                                    [](const auto& l) { return l["action"] == "lease.acquire"; });
  ASSERT_NE(acquire, lines.end());
  EXPECT_TRUE((*acquire)["old"].is_null());
  EXPECT_EQ((*acquire)["new"]["holder"], "ci");
  // Verdict changes are audited too (safe -> leased -> ...).
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const auto& l) {
    return l["action"] == "decision.change" && l["new"]["reasons"] == nlohmann::json{"leased"};
  }));
}

class FailingDiskMutationsTest : public MutationsTest {
 protected:
  // A state file in a directory that does not exist: every save fails.
  FailingDiskMutationsTest() : MutationsTest({}, "missing-dir/state.json") {}
};

TEST_F(FailingDiskMutationsTest, FailedStateWriteIs500AndRollsBack) {
  make_safe();
  auto freeze = post(std::string(kFreeze), R"({"reason":"r","by":"alice"})");
  EXPECT_EQ(freeze.result(), http::Status::internal_server_error);
  EXPECT_EQ(error_code(freeze), "state_write_failed");
  EXPECT_FALSE(service_.find("staging")->freeze());
  EXPECT_EQ(can_deploy().result(), http::Status::ok);

  auto lease = post(std::string(kLease), R"({"holder":"h","ttl":"1m"})");
  EXPECT_EQ(lease.result(), http::Status::internal_server_error);
  EXPECT_FALSE(service_.find("staging")->lease());
  EXPECT_EQ(post(std::string(kEvents), R"({"type":"server_busy"})").result(),
            http::Status::internal_server_error);
  EXPECT_EQ(service_.find("staging")->busy().consecutive_failures, 0);
}

// Deploy starts/ends learned from polls or webhooks are written within a second of
// being learned. The debounce (500 ms) leaves half a second for a loaded machine.
TEST_F(MutationsTest, ObservedDeploysAreSavedByTheDebounceWithinASecond) {
  make_safe();
  const auto saves = persistence_->saves();
  WorkflowRun run;
  run.id = 5;
  run.workflow_name = "Deploy";
  run.workflow_path = ".github/workflows/deploy.yml";
  run.repository = "example/app";
  run.status = RunStatus::InProgress;
  run.created_at = clock_.now();
  run.run_started_at = clock_.now();
  run.updated_at = clock_.now();
  const auto learned = std::chrono::steady_clock::now();
  ASSERT_TRUE(service_.apply("staging", RunsPolled{{run}}));
  EXPECT_TRUE(persistence_->dirty());
  EXPECT_EQ(persistence_->saves(), saves) << "a burst of poll results costs one write, later";
  // The debounce timer is real; run the loop handler by handler (each run_one returns when a
  // handler ran, i.e. on the timer event) until it wrote the file. The 5 s only bounds a bug.
  const auto give_up = learned + 5s;
  while (persistence_->saves() == saves && std::chrono::steady_clock::now() < give_up)
    io_.run_one_until(give_up);
  const auto written = std::chrono::steady_clock::now();
  EXPECT_FALSE(persistence_->dirty());
  ASSERT_EQ(persistence_->saves(), saves + 1);
  EXPECT_LT(written - learned, 1s)
      << std::chrono::duration_cast<std::chrono::milliseconds>(written - learned).count() << " ms";
  auto states = saved_states();
  ASSERT_FALSE(states["staging"].deploys.empty());
  EXPECT_EQ(states["staging"].deploys[0].key, "run:5/1");
}

TEST(PersistenceRestoreTest, RestoresConfiguredEnvironmentsAndRejectsCorruptFiles) {
  TempDir dir;
  const auto path = (dir.path() / "state.json").string();
  boost::asio::io_context io;
  ManualClock clock{at("2025-12-31T19:00:00Z")};
  std::map<std::string, EnvironmentConfig> envs{{"staging", github_env("staging")}};
  {
    state::EnvironmentStates states;
    states["staging"].freeze = Freeze{"r", "alice", at("2025-12-31T18:00:00Z"), std::nullopt};
    states["gone"].freeze = Freeze{"r", "bob", at("2025-12-31T18:00:00Z"), std::nullopt};
    states["staging"].lease = Lease{"old", "h", std::nullopt, at("2025-12-31T18:00:00Z"),
                                    at("2025-12-31T18:30:00Z")};
    ASSERT_TRUE(state::save_state(path, states).ok());
  }
  service::GuardService service{io.get_executor(), clock, envs};
  service::Persistence persistence{io.get_executor(), service, {path, "", 500ms, 5s}};
  persistence.restore(false);
  ASSERT_TRUE(service.find("staging")->freeze());
  EXPECT_EQ(service.find("staging")->freeze()->by, "alice");
  EXPECT_FALSE(service.find("staging")->lease()) << "expired while down";
  EXPECT_EQ(service.find("staging")->deploys().size(), 1u);
  persistence.start();  // writes the file because the expired lease ended
  auto reloaded = state::load_state(path);
  ASSERT_TRUE(reloaded.ok());
  EXPECT_FALSE(reloaded.states["staging"].lease);
  EXPECT_EQ(reloaded.states.count("gone"), 0u) << "unconfigured environments are dropped";

  // Corrupt: fatal naming the file, unless moved aside.
  deployguard::testing::TempDir dir2;
  const auto bad = dir2.write("state.json", "{\"version\": 1, \"environ").string();
  service::GuardService service2{io.get_executor(), clock, envs};
  service::Persistence p2{io.get_executor(), service2, {bad, "", 500ms, 5s}};
  try {
    p2.restore(false);
    ADD_FAILURE() << "expected StateLoadError";
  } catch (const service::StateLoadError& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
  p2.restore(true);
  EXPECT_FALSE(std::filesystem::exists(bad));
  bool moved = false;
  for (const auto& entry : std::filesystem::directory_iterator(dir2.path()))
    moved = moved || entry.path().filename().string().starts_with("state.json.corrupt-");
  EXPECT_TRUE(moved);
}

}  // namespace
}  // namespace deployguard::api
