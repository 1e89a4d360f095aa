// The deploy queue inside the policy, on timelines: the head is granted when the environment is
// safe for its run, the next only after that lease ended and the cooldown rules allow it; nobody
// skips the line; a run that ends while queued, an expired ticket and a restart.
#include <gtest/gtest.h>

#include "core/policy.hpp"
#include "policy_fixture.hpp"

namespace deployguard::testing {
namespace {

using namespace std::chrono_literals;

Ticket ticket(std::string id, std::optional<std::int64_t> run = std::nullopt) {
  Ticket t;
  t.id = std::move(id);
  t.holder = "pipeline-" + t.id;
  t.lease_ttl = 30min;
  t.run_id = run;
  t.ref = "main";
  return t;
}

class PolicyQueueTest : public ::testing::Test {
 protected:
  PolicyQueueTest() {
    EnvironmentRules rules = staging_rules();
    rules.min_interval = 5min;
    rules.cooldown = 2min;
    rules.queue.ticket_ttl = 2min;
    policy = EnvironmentPolicy(rules);
    refresh_healthy(policy, t0);
  }
  /// Keeps every source fresh and every waiting ticket polled at `now`.
  void keep_alive(TimePoint now) {
    refresh_healthy(policy, now);
    for (const auto& t : policy.queue().tickets()) policy.touch_ticket(t.id, now);
  }

  TimePoint t0 = at("2025-12-31T12:00:00Z");
  EnvironmentPolicy policy{staging_rules()};
};

TEST_F(PolicyQueueTest, ThreePipelinesAreGrantedInTheOrderTheyAskedWithTheCooldownBetween) {
  ASSERT_TRUE(policy.decide(t0).safe);
  policy.join_queue(ticket("a"), t0);
  policy.join_queue(ticket("b"), t0 + 700ms);
  policy.join_queue(ticket("c"), t0 + 1400ms);

  auto first = policy.serve_queue(t0 + 2s, "L-a");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->holder, "pipeline-a");
  EXPECT_EQ(first->expires_at, t0 + 2s + 30min);
  EXPECT_TRUE(policy.queue().find("a")->granted());
  EXPECT_FALSE(policy.serve_queue(t0 + 3s, "L-x")) << "one lease at a time";

  // a deploys for 4 minutes and releases; b must wait out min_interval (5m from a's start).
  keep_alive(t0 + 4min);
  ASSERT_TRUE(policy.release_lease("L-a", t0 + 4min + 2s));
  EXPECT_EQ(policy.queue().find("a"), nullptr) << "the ticket ends with its lease";
  EXPECT_FALSE(policy.serve_queue(t0 + 4min + 2s, "L-b"));
  keep_alive(t0 + 5min);
  EXPECT_FALSE(policy.serve_queue(t0 + 5min + 1s, "L-b")) << "cooldown 2m after a's end";
  keep_alive(t0 + 6min + 2s);
  auto second = policy.serve_queue(t0 + 6min + 2s, "L-b");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->holder, "pipeline-b");
  EXPECT_EQ(policy.queue().head()->id, "c");
}

TEST_F(PolicyQueueTest, WhileAnyoneWaitsNobodyElseIsSafeAndABareLeaseIsRefused) {
  policy.join_queue(ticket("a", 501), t0);
  policy.apply(RunsPolled{}, t0);
  policy.apply(db("Updating"), t0);  // the head cannot be served yet
  EXPECT_FALSE(policy.serve_queue(t0, "L-a"));

  const auto others = policy.decide(t0);
  ASSERT_TRUE(others.has(ReasonCode::Queued));
  EXPECT_EQ(others.find(ReasonCode::Queued)->message,
            "1 pipeline waits in the deploy queue; next: pipeline-a (run 501)");
  auto bare = policy.acquire_lease({"L-bare", "sneaky", 30min, 900}, t0);
  ASSERT_TRUE(std::holds_alternative<Decision>(bare));
  EXPECT_TRUE(std::get<Decision>(bare).has(ReasonCode::Queued));

  // The head's own run is not blocked by its own place in the line, only by the database.
  EXPECT_FALSE(policy.decide(t0, AsRun{501}).has(ReasonCode::Queued));
  // A run further back is blocked by those ahead of it.
  policy.join_queue(ticket("b", 502), t0 + 1s);
  EXPECT_TRUE(policy.decide(t0 + 1s, AsRun{502}).has(ReasonCode::Queued));

  // The head taking its lease directly is served by it (no second grant later).
  policy.apply(db("Ready"), t0 + 2s);
  auto direct = policy.acquire_lease({"L-direct", "pipeline-a", 30min, 501}, t0 + 2s);
  ASSERT_TRUE(std::holds_alternative<Lease>(direct));
  EXPECT_TRUE(policy.queue().find("a")->granted());
  EXPECT_EQ(policy.queue().head()->id, "b");
}

TEST_F(PolicyQueueTest, ARunThatEndsWhileQueuedLeavesTheQueue) {
  const auto queued = deploy_run(601, RunStatus::Queued, t0);
  policy.join_queue(ticket("a", 601), t0);
  policy.apply(RunsPolled{{queued}}, t0);
  policy.take_ended_tickets();
  // The run is cancelled before it was served.
  policy.apply(RunsPolled{{deploy_run(601, RunStatus::Completed, t0, RunConclusion::Cancelled, t0 + 1min)}},
               t0 + 1min);
  EXPECT_EQ(policy.queue().find("a"), nullptr);
  const auto ended = policy.take_ended_tickets();
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].why, TicketEnd::RunEnded);
  EXPECT_TRUE(policy.durable().queue.empty());
}

TEST_F(PolicyQueueTest, ATicketNotPolledExpiresByTheDeadlineTheDaemonArms) {
  policy.apply(db("Updating"), t0);
  policy.join_queue(ticket("a"), t0);
  EXPECT_EQ(policy.next_deadline(t0), t0 + 2min);
  EXPECT_FALSE(policy.expire(t0 + 2min - 1ms));
  EXPECT_TRUE(policy.expire(t0 + 2min));
  EXPECT_TRUE(policy.queue().tickets().empty());
  EXPECT_EQ(policy.take_ended_tickets().at(0).why, TicketEnd::Expired);
}

TEST_F(PolicyQueueTest, TheQueueIsDurableAndARollbackOrRestartKeepsTheOrder) {
  policy.apply(db("Updating"), t0);
  policy.join_queue(ticket("a"), t0);
  policy.join_queue(ticket("b"), t0 + 1s);
  const auto saved = policy.durable();
  ASSERT_EQ(saved.queue.size(), 2u);
  EXPECT_TRUE(policy.touch_ticket("a", t0 + 30s));
  EXPECT_EQ(policy.durable(), saved) << "a poll is not a durable change";

  // A failed commit of a third join is rolled back.
  policy.join_queue(ticket("c"), t0 + 40s);
  policy.restore(saved);
  EXPECT_EQ(policy.queue().waiting().size(), 2u);

  // A restart, 10 minutes later: same order, and each ticket has a full ttl to come back.
  EnvironmentPolicy after(policy.rules());
  after.restore(saved);
  refresh_healthy(after, t0 + 10min);
  after.apply(db("Updating"), t0 + 10min);
  EXPECT_FALSE(after.expire(t0 + 10min));
  ASSERT_NE(after.queue().head(), nullptr);
  EXPECT_EQ(after.queue().head()->id, "a");
  EXPECT_TRUE(after.touch_ticket("b", t0 + 11min));
  EXPECT_TRUE(after.expire(t0 + 12min));
  EXPECT_EQ(after.queue().head()->id, "b") << "a did not poll again";
}

TEST_F(PolicyQueueTest, LeavingWithTheLeaseGivesItBack) {
  policy.join_queue(ticket("a"), t0);
  ASSERT_TRUE(policy.serve_queue(t0, "L-a"));
  const auto left = policy.leave_queue("a", t0 + 1min);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->why, TicketEnd::Left);
  EXPECT_FALSE(policy.lease());
  EXPECT_TRUE(policy.take_ended_tickets().empty()) << "reported once, by the caller, as left";
  EXPECT_FALSE(policy.leave_queue("a", t0 + 1min));
}

TEST(EnvironmentRulesFromConfig, CarriesTheQueueSettings) {
  EnvironmentConfig env;
  env.name = "staging";
  env.queue.order = QueueOrder::NewestFirst;
  env.queue.supersede = true;
  env.queue.ticket_ttl = 45s;
  env.queue.max_length = 3;
  const EnvironmentRules rules = EnvironmentRules::from_config(env);
  EXPECT_EQ(rules.queue, env.queue);

  // And the policy's queue runs on them.
  const EnvironmentPolicy policy(rules);
  EXPECT_EQ(policy.queue().settings(), env.queue);
}

}  // namespace
}  // namespace deployguard::testing
