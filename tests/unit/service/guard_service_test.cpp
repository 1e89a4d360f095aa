// GuardService: events reach the right policy, listeners hear about changes, the deadline timer
// expires freezes/leases. Time is a ManualClock; the io_context runs only where a test needs the
// real timer, and then stops on the event it waits for.
#include "service/guard_service.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace deployguard::service {
namespace {

using namespace std::chrono_literals;

TimePoint at(std::string_view text) { return parse_timestamp(text).value(); }

EnvironmentConfig github_env(std::string name) {
  EnvironmentConfig env;
  env.name = std::move(name);
  env.github = GitHubTarget{"example/app", {"deploy.yml"}, std::nullopt};
  env.stale_after = 5min;
  return env;
}

struct Heard {
  std::string environment;
  bool safe;
  bool verdict_changed;
};

class GuardServiceTest : public ::testing::Test {
 protected:
  GuardServiceTest()
      : service_(io_.get_executor(), clock_,
                 {{"production", github_env("production")}, {"staging", github_env("staging")}}) {
    service_.add_listener([this](const StateChange& change) {
      heard_.push_back({change.environment, change.decision.safe, change.verdict_changed});
    });
  }

  boost::asio::io_context io_;
  ManualClock clock_{at("2025-12-31T19:00:00Z")};
  GuardService service_;
  std::vector<Heard> heard_;
};

TEST_F(GuardServiceTest, StartsBlockedAndNotReady) {
  service_.start();
  EXPECT_FALSE(service_.ready());
  ASSERT_EQ(service_.missing_sources().size(), 2u);
  EXPECT_EQ(service_.missing_sources()[0].environment, "production");
  EXPECT_EQ(service_.missing_sources()[0].source, "github");
  EXPECT_TRUE(service_.decide("staging")->has(ReasonCode::Starting));
  EXPECT_FALSE(service_.decide("qa"));
  EXPECT_TRUE(heard_.empty()) << "start() logs initial decisions but is not a change";
}

TEST_F(GuardServiceTest, ApplyReachesOnlyThatEnvironmentAndNotifies) {
  service_.start();
  EXPECT_TRUE(service_.apply("staging", RunsPolled{}));
  EXPECT_TRUE(service_.decide("staging")->safe);
  EXPECT_FALSE(service_.decide("production")->safe);
  ASSERT_EQ(heard_.size(), 1u);
  EXPECT_EQ(heard_[0].environment, "staging");
  EXPECT_TRUE(heard_[0].safe);
  EXPECT_TRUE(heard_[0].verdict_changed);

  // Same verdict again: listeners still hear of the change (to persist), flagged unchanged.
  EXPECT_TRUE(service_.apply("staging", RunsPolled{}));
  ASSERT_EQ(heard_.size(), 2u);
  EXPECT_FALSE(heard_[1].verdict_changed);

  EXPECT_FALSE(service_.apply("qa", RunsPolled{}));
  EXPECT_EQ(heard_.size(), 2u);
}

TEST_F(GuardServiceTest, ReadyOnceEverySourceRefreshed) {
  service_.apply("staging", RunsPolled{});
  EXPECT_FALSE(service_.ready());
  service_.apply("production", RunsPolled{});
  EXPECT_TRUE(service_.ready());
}

TEST_F(GuardServiceTest, DeadlineExpiresFreezeAndNotifies) {
  service_.apply("staging", RunsPolled{});
  service_.start();
  const auto until = clock_.now() + 3min;
  ASSERT_TRUE(service_.modify("staging", [&](EnvironmentPolicy& policy, TimePoint now) {
    policy.set_freeze(Freeze{"incident", "alice", now, until});
  }));
  EXPECT_EQ(service_.armed_deadline(), until);
  EXPECT_TRUE(service_.decide("staging")->has(ReasonCode::Frozen));
  heard_.clear();

  clock_.set(until);
  service_.run_due_deadlines();
  EXPECT_FALSE(service_.find("staging")->freeze());
  EXPECT_TRUE(service_.decide("staging")->safe);
  ASSERT_EQ(heard_.size(), 1u);
  EXPECT_TRUE(heard_[0].safe);
  EXPECT_TRUE(heard_[0].verdict_changed);
  // Next: the github data of staging goes stale 5 min after its refresh at 19:00.
  ASSERT_TRUE(service_.armed_deadline());
  EXPECT_GT(*service_.armed_deadline(), at("2025-12-31T19:05:00Z"));
  EXPECT_LE(*service_.armed_deadline(), at("2025-12-31T19:05:01Z"));
}

TEST_F(GuardServiceTest, DeadlinePassingWithoutExpiryStillReportsVerdictChange) {
  service_.apply("staging", RunsPolled{});
  service_.start();
  heard_.clear();
  clock_.advance(6min);  // staging's github data is now stale
  service_.run_due_deadlines();
  ASSERT_EQ(heard_.size(), 1u);
  EXPECT_EQ(heard_[0].environment, "staging");
  EXPECT_FALSE(heard_[0].safe);
}

TEST_F(GuardServiceTest, NoDeadlineNoTimer) {
  service_.start();
  EXPECT_FALSE(service_.armed_deadline());
}

TEST_F(GuardServiceTest, StopDisarmsTheTimer) {
  service_.apply("staging", RunsPolled{});
  service_.start();
  EXPECT_TRUE(service_.armed_deadline());
  service_.stop();
  EXPECT_FALSE(service_.armed_deadline());
  EXPECT_EQ(io_.poll(), 1u) << "only the cancelled wait completes";
}

TEST_F(GuardServiceTest, RealTimerFiresAndExpiresTheFreeze) {
  service_.apply("staging", RunsPolled{});
  service_.start();
  // A freeze 50 ms from now; the manual clock is already past it when the timer fires.
  service_.modify("staging", [&](EnvironmentPolicy& policy, TimePoint now) {
    policy.set_freeze(Freeze{"short", "bob", now, now + 50ms});
  });
  clock_.advance(50ms);
  service_.add_listener([this](const StateChange& change) {
    if (change.environment == "staging" && change.decision.safe) io_.stop();
  });
  io_.run_for(5s);
  EXPECT_TRUE(io_.stopped());
  EXPECT_FALSE(service_.find("staging")->freeze());
}

}  // namespace
}  // namespace deployguard::service

namespace deployguard::service {
namespace {

TEST_F(GuardServiceTest, TransactCommitsBeforeListenersAndRollsBackOnFailure) {
  service_.start();
  service_.apply("staging", RunsPolled{});
  heard_.clear();
  bool frozen_at_commit = false;
  auto result = service_.transact(
      "staging",
      [](EnvironmentPolicy& p, TimePoint now) { p.set_freeze(Freeze{"r", "a", now, std::nullopt}); },
      [&] {
        frozen_at_commit = service_.find("staging")->freeze().has_value();
        EXPECT_TRUE(heard_.empty()) << "listeners run only after the commit";
        return false;
      });
  EXPECT_EQ(result, TransactResult::CommitFailed);
  EXPECT_TRUE(frozen_at_commit);
  EXPECT_FALSE(service_.find("staging")->freeze()) << "rolled back";
  EXPECT_TRUE(heard_.empty());
  EXPECT_TRUE(service_.decide("staging")->safe);

  result = service_.transact(
      "staging",
      [](EnvironmentPolicy& p, TimePoint now) { p.set_freeze(Freeze{"r", "a", now, std::nullopt}); },
      [] { return true; });
  EXPECT_EQ(result, TransactResult::Committed);
  ASSERT_EQ(heard_.size(), 1u);
  EXPECT_FALSE(heard_[0].safe);
  EXPECT_EQ(service_.transact("qa", [](EnvironmentPolicy&, TimePoint) {}, {}),
            TransactResult::UnknownEnvironment);
}

// ---- the deploy queue ----------------------------------------------------------------------

Ticket ticket(std::string id, std::string holder) {
  return Ticket{std::move(id), std::move(holder), 10min, std::nullopt, std::nullopt, "", "", {}, {}};
}

TEST_F(GuardServiceTest, TheHeadIsGrantedWhenSafeAndTheGrantIsPersistedBeforeListenersHear) {
  std::vector<std::string> granted;
  service_.add_listener([&](const StateChange& change) {
    if (change.queue.granted) granted.push_back(change.queue.granted->holder);
  });
  int ids = 0;
  bool disk_ok = false;
  std::vector<std::size_t> heard_at_commit;
  service_.serve_queues([&] { return std::optional<std::string>("lease-" + std::to_string(++ids)); },
                        [&] {
                          heard_at_commit.push_back(granted.size());
                          return disk_ok;
                        });
  service_.start();
  // Not fresh yet (starting): joining does not grant.
  service_.modify("staging", [](EnvironmentPolicy& p, TimePoint now) {
    p.join_queue(ticket("t1", "first"), now);
    p.join_queue(ticket("t2", "second"), now);
  });
  EXPECT_FALSE(service_.find("staging")->lease());
  EXPECT_TRUE(heard_at_commit.empty()) << "nothing to grant, nothing to commit";
  // Safe now, but the state file cannot be written: no grant, the head keeps its place.
  service_.apply("staging", RunsPolled{});
  EXPECT_FALSE(service_.find("staging")->lease());
  EXPECT_EQ(heard_at_commit.size(), 1u);
  EXPECT_EQ(service_.find("staging")->queue().head()->id, "t1");
  EXPECT_TRUE(granted.empty());
  // The next change retries; the listeners hear of the grant only after the commit.
  disk_ok = true;
  service_.apply("staging", RunsPolled{});
  ASSERT_TRUE(service_.find("staging")->lease());
  EXPECT_EQ(service_.find("staging")->lease()->holder, "first");
  EXPECT_EQ(heard_at_commit.back(), 0u);
  EXPECT_EQ(granted, (std::vector<std::string>{"first"}));
  EXPECT_EQ(service_.find("staging")->queue().head()->id, "t2");
  // One lease at a time: another change grants nothing more.
  service_.apply("staging", RunsPolled{});
  EXPECT_EQ(granted.size(), 1u);
}

TEST_F(GuardServiceTest, AQueueIsNotServedBeforeStartOrWithoutServeQueues) {
  service_.apply("staging", RunsPolled{});
  service_.modify("staging", [](EnvironmentPolicy& p, TimePoint now) { p.join_queue(ticket("t1", "a"), now); });
  service_.start();
  service_.apply("staging", RunsPolled{});
  EXPECT_FALSE(service_.find("staging")->lease()) << "serve_queues() was never called";
}

// ---- config reload -------------------------------------------------------------------------

TEST_F(GuardServiceTest, ReconfigureKeepsUnchangedAddsRemovesAndSortsChanges) {
  service_.apply("staging", RunsPolled{});
  service_.apply("production", RunsPolled{});
  service_.start();
  ASSERT_TRUE(service_.modify("staging", [](EnvironmentPolicy& policy, TimePoint now) {
    policy.set_freeze(Freeze{"incident", "alice", now, std::nullopt});
  }));
  heard_.clear();

  auto staging = github_env("staging");
  staging.cooldown = 7min;  // a rule change: same sources
  auto qa = github_env("qa");
  const auto summary = service_.reconfigure({{"staging", staging}, {"qa", qa}});

  EXPECT_EQ(summary.added, std::vector<std::string>{"qa"});
  EXPECT_EQ(summary.removed, std::vector<std::string>{"production"});
  EXPECT_EQ(summary.rules_changed, std::vector<std::string>{"staging"});
  EXPECT_TRUE(summary.sources_changed.empty());
  EXPECT_EQ(summary.unchanged, 0u);

  EXPECT_FALSE(service_.decide("production")) << "removed";
  ASSERT_TRUE(service_.find("staging"));
  EXPECT_EQ(service_.find("staging")->rules().cooldown, 7min);
  EXPECT_TRUE(service_.find("staging")->freeze()) << "durable state kept";
  EXPECT_TRUE(service_.find("staging")->sources().at("github").last_success) << "observations kept";
  EXPECT_TRUE(service_.decide("qa")->has(ReasonCode::Starting)) << "new: nothing observed yet";
  // Listeners hear about every kept-and-changed or added environment, never a removed one.
  std::vector<std::string> told;
  for (const auto& h : heard_) told.push_back(h.environment);
  EXPECT_EQ(told, (std::vector<std::string>{"qa", "staging"}));

  // The same config again changes nothing and tells nobody.
  heard_.clear();
  const auto again = service_.reconfigure({{"staging", staging}, {"qa", qa}});
  EXPECT_EQ(again.unchanged, 2u);
  EXPECT_TRUE(again.added.empty() && again.removed.empty() && again.rules_changed.empty());
  EXPECT_TRUE(heard_.empty());
}

TEST_F(GuardServiceTest, ReconfigureWithOtherSourcesDropsObservationsButKeepsDurableState) {
  service_.apply("staging", RunsPolled{});
  service_.start();
  ASSERT_TRUE(service_.modify("staging", [](EnvironmentPolicy& policy, TimePoint now) {
    policy.set_freeze(Freeze{"incident", "alice", now, std::nullopt});
  }));
  auto staging = github_env("staging");
  staging.github->repo = "example/other";
  const auto summary =
      service_.reconfigure({{"production", github_env("production")}, {"staging", staging}});
  EXPECT_EQ(summary.sources_changed, std::vector<std::string>{"staging"});
  EXPECT_EQ(summary.unchanged, 1u);
  const auto* policy = service_.find("staging");
  ASSERT_TRUE(policy);
  EXPECT_EQ(policy->rules().github->repo, "example/other");
  EXPECT_TRUE(policy->freeze()) << "a freeze is about the environment, not its repo";
  const auto github = policy->sources().find("github");
  EXPECT_TRUE(github == policy->sources().end() || !github->second.last_success)
      << "what was polled from the old repo must not count";
  EXPECT_TRUE(policy->runs().empty());
  EXPECT_TRUE(service_.decide("staging")->has(ReasonCode::Starting));
}

}  // namespace
}  // namespace deployguard::service
