// The deploy queue on manual-clock timelines: serving order, supersede, expiry, a run ending
// while queued, grants and their leases, bounds and a restart.
#include "core/queue.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace deployguard {
namespace {

using namespace std::chrono_literals;

const TimePoint kT0 = parse_timestamp("2026-12-03T10:00:00Z").value();

Ticket ticket(std::string id, std::string ref = "main", std::optional<std::int64_t> run = std::nullopt,
              std::optional<int> attempt = std::nullopt) {
  Ticket t;
  t.id = std::move(id);
  t.holder = "pipeline-" + t.id;
  t.lease_ttl = 30min;
  t.run_id = run;
  t.run_attempt = attempt;
  t.ref = std::move(ref);
  return t;
}

std::vector<std::string> order(const DeployQueue& q) {
  std::vector<std::string> out;
  for (const auto* t : q.waiting()) out.push_back(t->id);
  return out;
}

std::vector<std::string> ids(const std::vector<EndedTicket>& ended) {
  std::vector<std::string> out;
  for (const auto& e : ended) out.push_back(e.ticket.id);
  return out;
}

TEST(DeployQueue, FifoServesInTheOrderTheyAskedAndOnlyTheHeadIsGranted) {
  DeployQueue q;
  q.join(ticket("a"), kT0);
  q.join(ticket("b"), kT0 + 700ms);
  q.join(ticket("c"), kT0 + 1400ms);
  EXPECT_EQ(order(q), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(q.position("b"), 2u);
  EXPECT_EQ(q.head()->id, "a");

  ASSERT_NE(q.grant_head("lease-a"), nullptr);
  EXPECT_EQ(q.find("a")->lease_id, "lease-a");
  EXPECT_TRUE(q.find("a")->granted());
  EXPECT_EQ(q.position("a"), std::nullopt) << "a granted ticket has no place";
  EXPECT_EQ(order(q), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(q.waiting_count(), 2u);

  // The granted ticket is answered with its lease until the lease ends, then forgotten.
  const auto ended = q.lease_ended("lease-a", kT0 + 10min);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->ticket.id, "a");
  EXPECT_EQ(ended->why, TicketEnd::LeaseEnded);
  EXPECT_EQ(q.find("a"), nullptr);
  EXPECT_FALSE(q.lease_ended("lease-a", kT0 + 10min)) << "only once";
  EXPECT_EQ(q.head()->id, "b");
}

TEST(DeployQueue, NewestFirstServesTheLatestRequestFirst) {
  DeployQueue q({.order = QueueOrder::NewestFirst});
  q.join(ticket("a"), kT0);
  q.join(ticket("b"), kT0 + 1s);
  q.join(ticket("c"), kT0 + 2s);
  EXPECT_EQ(order(q), (std::vector<std::string>{"c", "b", "a"}));
  q.grant_head("lease-c");
  q.join(ticket("d"), kT0 + 3s);
  EXPECT_EQ(order(q), (std::vector<std::string>{"d", "b", "a"}));
}

TEST(DeployQueue, SupersedeEndsOlderWaitingTicketsOfTheSameRefOnly) {
  DeployQueue q({.supersede = true});
  q.join(ticket("a", "main"), kT0);
  q.grant_head("lease-a");  // granted: deploying, not superseded
  q.join(ticket("b", "main"), kT0 + 1s);
  q.join(ticket("x", "release/1"), kT0 + 2s);
  std::vector<EndedTicket> ended;
  q.join(ticket("c", "main"), kT0 + 3s, &ended);
  EXPECT_EQ(ids(ended), std::vector<std::string>{"b"});
  EXPECT_EQ(ended[0].why, TicketEnd::Superseded);
  EXPECT_EQ(ended[0].at, kT0 + 3s);
  EXPECT_EQ(order(q), (std::vector<std::string>{"x", "c"}));
  EXPECT_TRUE(q.find("a")->granted());

  // Without supersede the same joins keep everyone.
  DeployQueue keep;
  keep.join(ticket("b", "main"), kT0);
  std::vector<EndedTicket> none;
  keep.join(ticket("c", "main"), kT0 + 1s, &none);
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(keep.waiting_count(), 2u);
}

TEST(DeployQueue, ATicketNotPolledForItsTtlLosesItsPlace) {
  DeployQueue q({.ticket_ttl = 2min});
  q.join(ticket("a"), kT0);
  q.join(ticket("b"), kT0 + 10s);
  EXPECT_EQ(q.next_expiry(kT0), kT0 + 2min);
  EXPECT_TRUE(q.touch("b", kT0 + 100s));
  EXPECT_FALSE(q.touch("nope", kT0 + 100s));
  EXPECT_TRUE(q.expire(kT0 + 2min - 1ms).empty());
  const auto expired = q.expire(kT0 + 2min);
  EXPECT_EQ(ids(expired), std::vector<std::string>{"a"});
  EXPECT_EQ(expired[0].why, TicketEnd::Expired);
  EXPECT_EQ(order(q), std::vector<std::string>{"b"});
  EXPECT_EQ(q.next_expiry(kT0 + 100s), kT0 + 100s + 2min);

  // A granted ticket does not expire: its lease has a TTL of its own.
  q.grant_head("lease-b");
  EXPECT_TRUE(q.expire(kT0 + 1h).empty());
  EXPECT_EQ(q.next_expiry(kT0 + 1h), std::nullopt);
}

TEST(DeployQueue, ARunThatEndsWhileQueuedLeavesTheQueue) {
  DeployQueue q;
  q.join(ticket("a", "main", 101, 1), kT0);
  q.join(ticket("b", "main", 102, 2), kT0 + 1s);
  q.join(ticket("c", "main", 103), kT0 + 2s);
  q.join(ticket("d"), kT0 + 3s);  // no run: only leaves, expires or is granted

  EXPECT_TRUE(q.run_ended(102, 1, kT0 + 5s).empty()) << "attempt 1 ending does not end the re-run's ticket";
  const auto ended = q.run_ended(102, 2, kT0 + 5s);
  EXPECT_EQ(ids(ended), std::vector<std::string>{"b"});
  EXPECT_EQ(ended[0].why, TicketEnd::RunEnded);
  EXPECT_EQ(ids(q.run_ended(103, 4, kT0 + 6s)), std::vector<std::string>{"c"})
      << "a ticket without an attempt belongs to the run's latest";
  EXPECT_EQ(order(q), (std::vector<std::string>{"a", "d"}));

  // The granted one is not ended by its run: its lease is (the policy ends leases of runs).
  q.grant_head("lease-a");
  EXPECT_TRUE(q.run_ended(101, 1, kT0 + 7s).empty());
}

TEST(DeployQueue, LeavingRemovesWaitingOrGrantedTickets) {
  DeployQueue q;
  EXPECT_EQ(q.grant_head("lease-x"), nullptr) << "nobody waits: nothing granted";
  q.join(ticket("a"), kT0);
  q.join(ticket("b"), kT0 + 1s);
  const auto left = q.leave("a", kT0 + 2s);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->why, TicketEnd::Left);
  EXPECT_FALSE(q.leave("a", kT0 + 2s));
  EXPECT_EQ(q.head()->id, "b");
}

TEST(DeployQueue, AFullQueueRefusesNewTicketsButGrantedOnesDoNotCount) {
  DeployQueue q({.max_length = 2});
  EXPECT_EQ(q.join(ticket("a"), kT0), DeployQueue::JoinResult::Joined);
  EXPECT_EQ(q.join(ticket("b"), kT0), DeployQueue::JoinResult::Joined);
  EXPECT_EQ(q.join(ticket("c"), kT0), DeployQueue::JoinResult::Full);
  EXPECT_EQ(q.find("c"), nullptr);
  q.grant_head("lease-a");
  EXPECT_EQ(q.join(ticket("c"), kT0), DeployQueue::JoinResult::Joined);
}

TEST(DeployQueue, ARestartKeepsTheOrderAndGivesEveryWaitingTicketAFullTtl) {
  DeployQueue before({.ticket_ttl = 2min});
  before.join(ticket("a"), kT0);
  before.grant_head("lease-a");
  before.join(ticket("b"), kT0 + 1s);
  before.join(ticket("c"), kT0 + 2s);
  const auto saved = before.tickets();  // what the state file keeps: no poll times

  // The daemon was down for 5 minutes: longer than the ttl, but nobody could poll.
  DeployQueue after({.ticket_ttl = 2min});
  after.restore(saved);
  EXPECT_EQ(order(after), (std::vector<std::string>{"b", "c"}));
  EXPECT_TRUE(after.find("a")->granted());
  EXPECT_EQ(after.find("a")->lease_id, "lease-a");
  EXPECT_EQ(after.next_expiry(kT0 + 5min), kT0 + 7min);
  EXPECT_TRUE(after.expire(kT0 + 5min).empty()) << "the first expire after the restart starts their ttl";
  EXPECT_TRUE(after.touch("c", kT0 + 6min));
  EXPECT_EQ(ids(after.expire(kT0 + 7min)), std::vector<std::string>{"b"}) << "b did not come back";
  EXPECT_EQ(order(after), std::vector<std::string>{"c"});
}

TEST(DeployQueue, PollsAreNotPartOfTheDurableTicketsAndSurviveARollback) {
  DeployQueue q({.ticket_ttl = 2min});
  q.join(ticket("a"), kT0);
  const auto saved = q.tickets();
  EXPECT_TRUE(q.touch("a", kT0 + 100s));
  EXPECT_EQ(q.tickets(), saved) << "a poll changes nothing the state file keeps";
  // A mutation that is rolled back (its commit failed) restores the tickets; "a" keeps its poll.
  q.leave("a", kT0 + 101s);
  q.restore(saved);
  EXPECT_EQ(q.last_seen("a"), kT0 + 100s);
  EXPECT_TRUE(q.expire(kT0 + 219s).empty());
  EXPECT_EQ(ids(q.expire(kT0 + 220s)), std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace deployguard
