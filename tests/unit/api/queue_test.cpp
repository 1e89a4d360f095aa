// The deploy-queue routes (POST .../queue, GET and DELETE .../queue/TICKET): every status code,
// the bodies, the grant after a lease ends with the cooldown between, supersede, a run ending
// while queued, expiry without polls, max_length, auth, and the audit log. No sockets (the
// long-poll of a ticket is in the integration tests); time is a ManualClock and deadlines run
// through GuardService::run_due_deadlines().

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "api/api.hpp"
#include "api/render.hpp"
#include "common/temp_dir.hpp"
#include "service/guard_service.hpp"
#include "service/persistence.hpp"
#include "state/state_store.hpp"

namespace deployguard::api {
namespace {

using namespace std::chrono_literals;
namespace bhttp = boost::beast::http;
using deployguard::testing::TempDir;

TimePoint at(std::string_view text) { return parse_timestamp(text).value(); }

EnvironmentConfig staging(QueueSettings queue = {}) {
  EnvironmentConfig env;
  env.name = "staging";
  env.github = GitHubTarget{"example/app", {"deploy.yml"}, std::nullopt};
  env.min_interval = 0s;
  env.cooldown = 2min;
  env.queue = queue;
  return env;
}

WorkflowRun run(std::int64_t id, RunStatus status, TimePoint created, int attempt = 1) {
  WorkflowRun r;
  r.id = id;
  r.run_attempt = attempt;
  r.workflow_name = "Deploy";
  r.workflow_path = ".github/workflows/deploy.yml";
  r.repository = "example/app";
  r.head_branch = "main";
  r.status = status;
  r.conclusion = status == RunStatus::Completed ? RunConclusion::Success : RunConclusion::None;
  r.created_at = created;
  r.run_started_at = created;
  r.updated_at = created + 1min;
  return r;
}

class QueueApiTest : public ::testing::Test {
 protected:
  explicit QueueApiTest(QueueSettings queue = {}, std::vector<std::string> tokens = {})
      : service_(io_.get_executor(), clock_, {{"staging", staging(queue)}}) {
    persistence_ = std::make_unique<service::Persistence>(
        io_.get_executor(), service_,
        service::PersistenceOptions::from_config(StateConfig{state_path(), audit_path()}));
    persistence_->restore(false);
    service_.start();
    persistence_->start();
    api_ = std::make_unique<Api>(service_, ApiOptions{}, persistence_.get(),
                                 tokens.empty() ? TokenAuth::anonymous() : TokenAuth{tokens});
    EXPECT_TRUE(service_.apply("staging", RunsPolled{{}}));  // fresh: safe
  }
  std::string state_path() const { return (dir_.path() / "state.json").string(); }
  std::string audit_path() const { return (dir_.path() / "audit.jsonl").string(); }

  http::Response send(bhttp::verb method, std::string target, std::string body = "",
                      std::optional<std::string> token = std::nullopt) {
    http::Request req{method, target, 11};
    req.body() = std::move(body);
    if (token) req.set(bhttp::field::authorization, "Bearer " + *token);
    req.prepare_payload();
    return api_->handle(req);
  }
  http::Response join(std::string body, std::optional<std::string> token = std::nullopt) {
    return send(bhttp::verb::post, "/v1/environments/staging/queue", std::move(body), token);
  }
  http::Response poll(const std::string& ticket, std::optional<std::string> token = std::nullopt) {
    return send(bhttp::verb::get, "/v1/environments/staging/queue/" + ticket, "", token);
  }
  http::Response leave(const std::string& ticket) {
    return send(bhttp::verb::delete_, "/v1/environments/staging/queue/" + ticket);
  }
  static Json body(const http::Response& res) { return Json::parse(res.body()); }
  /// Joins and expects to wait: the ticket id.
  std::string join_waiting(const std::string& holder, std::string extra = "") {
    auto res = join(R"({"holder":")" + holder + "\"" + extra + "}");
    EXPECT_EQ(res.result(), http::Status::accepted) << res.body();
    return res.result() == http::Status::accepted ? body(res)["ticket"].get<std::string>() : "";
  }
  void advance(Duration d) {
    clock_.advance(d);
    service_.run_due_deadlines();
  }
  std::vector<std::string> audit_actions() {
    std::vector<std::string> out;
    for (const auto& line : deployguard::testing::read_json_lines(audit_path()))
      if (line["action"] != "decision.change") out.push_back(line["action"]);
    return out;
  }
  const EnvironmentPolicy& policy() { return *service_.find("staging"); }

  TempDir dir_;
  boost::asio::io_context io_;  // never run: deadlines are driven by advance()
  ManualClock clock_{at("2026-03-02T10:00:00Z")};
  service::GuardService service_;
  std::unique_ptr<service::Persistence> persistence_;
  std::unique_ptr<Api> api_;
};

TEST_F(QueueApiTest, EmptyQueueAndSafeEnvironmentGrantsAtOnce) {
  auto res = join(R"({"holder":"pipeline-1","ttl":"10m","run_id":41,"sha":"abc","ref":"main"})");
  ASSERT_EQ(res.result(), http::Status::created) << res.body();
  const auto j = body(res);
  EXPECT_EQ(j["holder"], "pipeline-1");
  EXPECT_EQ(j["run_id"], 41);
  EXPECT_EQ(j["expires_at"], "2026-03-02T10:10:00Z");
  EXPECT_EQ(res[bhttp::field::location], "/v1/environments/staging/lease/" + j["lease_id"].get<std::string>());
  ASSERT_TRUE(policy().lease());
  EXPECT_EQ(policy().lease()->id, j["lease_id"]);
  // On disk before the answer: the state file has the lease.
  const auto saved = state::load_state(state_path());
  ASSERT_TRUE(saved.ok());
  ASSERT_TRUE(saved.states.at("staging").lease);
  EXPECT_EQ(saved.states.at("staging").lease->id, j["lease_id"]);
}

TEST_F(QueueApiTest, TicketsWaitInOrderWithPlaceAheadAndReasons) {
  ASSERT_EQ(join(R"({"holder":"first"})").result(), http::Status::created);
  const auto second = join_waiting("second", R"(,"run_id":52)");
  auto res = join(R"({"holder":"third","run_id":53})");
  ASSERT_EQ(res.result(), http::Status::accepted);
  const auto j = body(res);
  EXPECT_EQ(res[bhttp::field::location], "/v1/environments/staging/queue/" + j["ticket"].get<std::string>());
  EXPECT_EQ(j["position"], 2);
  ASSERT_EQ(j["ahead"].size(), 1u);
  EXPECT_EQ(j["ahead"][0]["holder"], "second");
  EXPECT_EQ(j["ahead"][0]["run_id"], 52);
  EXPECT_EQ(j["ahead"][0]["since"], "2026-03-02T10:00:00Z");
  std::vector<std::string> codes;
  for (const auto& r : j["reasons"]) codes.push_back(r["code"]);
  EXPECT_EQ(codes, (std::vector<std::string>{"leased", "queued"}));
  EXPECT_EQ(j["estimate"], nullptr);  // `queued` has no until
  EXPECT_EQ(j["expires_at"], "2026-03-02T10:02:00Z");  // ticket_ttl 2m after the join

  auto head = body(poll(second));
  EXPECT_EQ(head["position"], 1);
  EXPECT_TRUE(head["ahead"].empty());
  ASSERT_EQ(head["reasons"].size(), 1u);
  EXPECT_EQ(head["reasons"][0]["code"], "leased");
  EXPECT_FALSE(head["estimate"].is_null());  // the lease's expiry is known
}

TEST_F(QueueApiTest, BareLeaseAndCanDeployAreRefusedWhileOthersWait) {
  ASSERT_EQ(join(R"({"holder":"first"})").result(), http::Status::created);
  join_waiting("second");
  ASSERT_EQ(send(bhttp::verb::delete_, "/v1/environments/staging/lease/" + policy().lease()->id).result(),
            http::Status::no_content);
  // The lease ended: cooldown blocks the head, and `queued` blocks everyone else.
  auto bare = send(bhttp::verb::post, "/v1/environments/staging/lease", R"({"holder":"x","ttl":"5m"})");
  ASSERT_EQ(bare.result(), http::Status::locked);
  bool queued = false;
  const auto bare_body = body(bare);
  for (const auto& r : bare_body["reasons"]) queued = queued || r["code"] == "queued";
  EXPECT_TRUE(queued) << bare.body();
  auto can = send(bhttp::verb::get, "/can-deploy?env=staging");
  EXPECT_EQ(can.result(), http::Status::locked);
  EXPECT_NE(can.body().find("\"queued\""), std::string::npos);
}

TEST_F(QueueApiTest, NextIsGrantedOnlyAfterTheLeaseEndedAndTheCooldown) {
  ASSERT_EQ(join(R"({"holder":"first"})").result(), http::Status::created);
  const auto second = join_waiting("second");
  const auto third = join_waiting("third");
  const auto first_lease = policy().lease()->id;
  ASSERT_EQ(send(bhttp::verb::delete_, "/v1/environments/staging/lease/" + first_lease).result(),
            http::Status::no_content);
  auto waiting = body(poll(second));
  ASSERT_EQ(waiting["reasons"][0]["code"], "cooldown") << waiting.dump();
  EXPECT_EQ(waiting["estimate"], "2026-03-02T10:02:00Z");

  advance(1min);
  EXPECT_EQ(poll(third).result(), http::Status::accepted);
  EXPECT_EQ(poll(second).result(), http::Status::accepted);
  advance(1min);  // cooldown over: the timer grants the head
  auto granted = poll(second);
  ASSERT_EQ(granted.result(), http::Status::created) << granted.body();
  EXPECT_EQ(body(granted)["holder"], "second");
  EXPECT_EQ(body(granted)["expires_at"], "2026-03-02T10:32:00Z");  // default ttl 30m
  EXPECT_EQ(poll(second).body(), granted.body());  // the same answer while the lease is held
  auto still = body(poll(third));
  EXPECT_EQ(still["position"], 1);
  EXPECT_EQ(still["reasons"][0]["code"], "leased");

  // Leaving with the grant gives the lease back; the ticket is then unknown.
  ASSERT_EQ(leave(second).result(), http::Status::no_content);
  EXPECT_FALSE(policy().lease());
  EXPECT_EQ(poll(second).result(), http::Status::not_found);
  advance(1min);
  EXPECT_EQ(poll(third).result(), http::Status::accepted);
  advance(1min);
  EXPECT_EQ(poll(third).result(), http::Status::created);

  const auto actions = audit_actions();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "queue.join"), 3);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "queue.granted"), 3);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "queue.leave"), 1);
}

TEST_F(QueueApiTest, LeavingAWaitingTicketAndUnknownTickets) {
  ASSERT_EQ(join(R"({"holder":"first"})").result(), http::Status::created);
  const auto second = join_waiting("second");
  const auto third = join_waiting("third");
  ASSERT_EQ(leave(second).result(), http::Status::no_content);
  EXPECT_EQ(body(poll(third))["position"], 1);
  EXPECT_EQ(poll(second).result(), http::Status::not_found);
  EXPECT_EQ(leave(second).result(), http::Status::not_found);
  EXPECT_EQ(send(bhttp::verb::get, "/v1/environments/prod/queue/" + third).result(), http::Status::not_found);
  EXPECT_EQ(send(bhttp::verb::post, "/v1/environments/prod/queue", R"({"holder":"x"})").result(),
            http::Status::not_found);
}

TEST_F(QueueApiTest, ATicketNotPolledForItsTtlLeavesTheQueue) {
  ASSERT_EQ(join(R"({"holder":"first","ttl":"1h"})").result(), http::Status::created);
  const auto quiet = join_waiting("quiet");
  const auto polling = join_waiting("polling");
  for (int i = 0; i < 3; ++i) {
    advance(50s);
    ASSERT_EQ(poll(polling).result(), http::Status::accepted);
  }
  // quiet was last seen 150 s ago (ticket_ttl 2m): gone, and polling moved up.
  EXPECT_EQ(poll(quiet).result(), http::Status::not_found);
  EXPECT_EQ(body(poll(polling))["position"], 1);
  const auto actions = audit_actions();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "queue.expired"), 1);
}

TEST_F(QueueApiTest, ARunEndingWhileQueuedAnswers409RunEnded) {
  const auto t0 = clock_.now();
  ASSERT_EQ(join(R"({"holder":"first"})").result(), http::Status::created);
  const auto ticket = join_waiting("run-60", R"(,"run_id":60,"run_attempt":1)");
  ASSERT_TRUE(service_.apply("staging", RunsPolled{{run(60, RunStatus::InProgress, t0)}}));
  ASSERT_TRUE(service_.apply("staging", RunsPolled{{run(60, RunStatus::Completed, t0)}}));
  auto res = poll(ticket);
  ASSERT_EQ(res.result(), http::Status::conflict) << res.body();
  EXPECT_EQ(body(res)["error"]["code"], "run_ended");
  // A run that has already completed cannot join.
  auto late = join(R"({"holder":"run-60","run_id":60,"run_attempt":1})");
  EXPECT_EQ(late.result(), http::Status::conflict);
  EXPECT_EQ(body(late)["error"]["code"], "run_ended");
}

TEST_F(QueueApiTest, TheSameRunJoiningAgainKeepsItsTicket) {
  ASSERT_EQ(join(R"({"holder":"first"})").result(), http::Status::created);
  const auto ticket = join_waiting("run-70", R"(,"run_id":70,"run_attempt":2)");
  join_waiting("other");
  auto again = join(R"({"holder":"run-70","run_id":70,"run_attempt":2})");
  ASSERT_EQ(again.result(), http::Status::accepted);
  EXPECT_EQ(body(again)["ticket"], ticket);
  EXPECT_EQ(body(again)["position"], 1);
  EXPECT_EQ(policy().queue().waiting_count(), 2u);
}

TEST_F(QueueApiTest, BadBodiesAre400) {
  for (const char* bad : {R"({"ttl":"5m"})", R"({"holder":"x","ttl":"soon"})",
                          R"({"holder":"x","ttl":"0s"})", R"({"holder":"x","color":"red"})",
                          R"({"holder":"x","run_attempt":2})", R"({"holder":"x","run_id":-1})", "[]"}) {
    auto res = join(bad);
    EXPECT_EQ(res.result(), http::Status::bad_request) << bad << " -> " << res.body();
  }
  EXPECT_EQ(policy().queue().tickets().size(), 0u);
  EXPECT_EQ(send(bhttp::verb::get, "/v1/environments/staging/queue/x?wait=soon").result(),
            http::Status::bad_request);
}

TEST_F(QueueApiTest, StatusShowsTheQueue) {
  ASSERT_EQ(join(R"({"holder":"first"})").result(), http::Status::created);
  join_waiting("second", R"(,"run_id":81,"ref":"main","sha":"deadbeef")");
  const auto j = body(send(bhttp::verb::get, "/v1/environments/staging"));
  EXPECT_EQ(j["queue"]["order"], "fifo");
  EXPECT_EQ(j["queue"]["waiting"], 1);
  ASSERT_EQ(j["queue"]["tickets"].size(), 1u);
  const auto& t = j["queue"]["tickets"][0];
  EXPECT_EQ(t["position"], 1);
  EXPECT_EQ(t["holder"], "second");
  EXPECT_EQ(t["run_id"], 81);
  EXPECT_EQ(t["ref"], "main");
  EXPECT_EQ(t["sha"], "deadbeef");
  EXPECT_EQ(t.find("ticket"), t.end());  // ticket ids are the holders' handles, not public
}

class SupersedeQueueApiTest : public QueueApiTest {
 protected:
  SupersedeQueueApiTest() : QueueApiTest(QueueSettings{QueueOrder::Fifo, true, 2min, 3}) {}
};

TEST_F(SupersedeQueueApiTest, ANewerTicketOfTheSameRefSupersedesAndTheQueueIsBounded) {
  ASSERT_EQ(join(R"({"holder":"first"})").result(), http::Status::created);
  const auto old_main = join_waiting("old", R"(,"ref":"main")");
  const auto release = join_waiting("release", R"(,"ref":"release")");
  const auto new_main = join_waiting("new", R"(,"ref":"main")");
  auto res = poll(old_main);
  ASSERT_EQ(res.result(), http::Status::conflict);
  EXPECT_EQ(body(res)["error"]["code"], "superseded");
  EXPECT_EQ(body(poll(release))["position"], 1);
  EXPECT_EQ(body(poll(new_main))["position"], 2);
  join_waiting("fourth");
  auto full = join(R"({"holder":"fifth"})");
  EXPECT_EQ(full.result(), http::Status::service_unavailable);
  EXPECT_EQ(body(full)["error"]["code"], "queue_full");
  const auto actions = audit_actions();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "queue.superseded"), 1);
}

class AuthQueueApiTest : public QueueApiTest {
 protected:
  AuthQueueApiTest() : QueueApiTest(QueueSettings{}, {"s3cret"}) {}
};

TEST_F(AuthQueueApiTest, EveryQueueRouteNeedsTheToken) {
  EXPECT_EQ(join(R"({"holder":"first"})").result(), http::Status::unauthorized);
  ASSERT_EQ(join(R"({"holder":"first"})", "s3cret").result(), http::Status::created);
  auto res = join(R"({"holder":"second"})", "s3cret");
  ASSERT_EQ(res.result(), http::Status::accepted);
  const auto ticket = body(res)["ticket"].get<std::string>();
  EXPECT_EQ(poll(ticket).result(), http::Status::unauthorized);
  EXPECT_EQ(poll(ticket, "wrong").result(), http::Status::unauthorized);
  EXPECT_EQ(poll(ticket, "s3cret").result(), http::Status::accepted);
  EXPECT_EQ(leave(ticket).result(), http::Status::unauthorized);
}

}  // namespace
}  // namespace deployguard::api
