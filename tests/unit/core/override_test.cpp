#include "core/override.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/policy.hpp"
#include "policy_fixture.hpp"

using namespace deployguard;
using namespace deployguard::testing;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

std::vector<std::string> codes(const Decision& d) {
  std::vector<std::string> out;
  for (const auto& r : d.reasons) out.emplace_back(to_string(r.code));
  return out;
}

Override make_override(std::vector<std::string> skip, TimePoint now, Duration ttl = 30min) {
  return Override{"O1", "hotfix for INC-42", "alice", std::move(skip), now, now + ttl};
}

class OverrideTest : public ::testing::Test {
 protected:
  TimePoint t0 = at("2026-12-07T12:00:00Z");
  EnvironmentPolicy policy{staging_rules()};

  /// A deploy that started 5 minutes ago and ended 1 minute ago: min_interval (14m) and
  /// cooldown (2m) both block.
  void recent_deploy() {
    refresh_healthy(policy, t0, {deploy_run(1, RunStatus::Completed, t0 - 5min, RunConclusion::Success, t0 - 1min)});
  }
};

}  // namespace

TEST(ParseSkip, AcceptsOnlyTheRulesAboutWhenToDeploy) {
  const auto ok = parse_skip({"cooldown", "freeze_window"});
  EXPECT_EQ(ok.status, SkipParse::Status::Ok);
  EXPECT_TRUE(ok.skip.cooldown);
  EXPECT_TRUE(ok.skip.freeze_window);
  EXPECT_FALSE(ok.skip.min_interval);
  EXPECT_FALSE(ok.skip.frozen);
  for (const char* platform : {"server_busy", "app_busy", "revision_provisioning", "deploy_in_progress", "stale", "source_error"}) {
    const auto p = parse_skip({"cooldown", platform});
    EXPECT_EQ(p.status, SkipParse::Status::Protected) << platform;
    EXPECT_THAT(p.message, HasSubstr(std::string("rule ") + platform + " protects the platform itself"));
  }
  EXPECT_EQ(parse_skip({"queued"}).status, SkipParse::Status::NotSkippable);
  EXPECT_EQ(parse_skip({"leased"}).status, SkipParse::Status::NotSkippable);
  EXPECT_EQ(parse_skip({"busy_backoff"}).status, SkipParse::Status::NotSkippable);
  EXPECT_EQ(parse_skip({"sleep"}).status, SkipParse::Status::Unknown);
  EXPECT_EQ(parse_skip({}).status, SkipParse::Status::Empty);
}

TEST_F(OverrideTest, LetsExactlyOneLeaseSkipTheCooldown) {
  recent_deploy();
  ASSERT_THAT(codes(policy.decide(t0)), ElementsAre("cooldown"));
  policy.set_override(make_override({"cooldown", "min_interval"}, t0), t0);
  // /can-deploy still tells the truth: an override is for one grant, not for everyone.
  EXPECT_THAT(codes(policy.decide(t0)), ElementsAre("cooldown"));

  const auto first = policy.acquire_lease(LeaseRequest{"L1", "hotfix", 10min, std::nullopt}, t0);
  ASSERT_TRUE(std::holds_alternative<Lease>(first));
  EXPECT_FALSE(policy.pending_override());
  const auto ends = policy.take_override_ends();
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].why, OverrideEnd::Why::Used);
  EXPECT_EQ(ends[0].lease_id, "L1");
  EXPECT_THAT(ends[0].skipped, ElementsAre("cooldown"));
  EXPECT_EQ(ends[0].override_.reason, "hotfix for INC-42");

  policy.release_lease("L1", t0 + 1min);
  const auto second = policy.acquire_lease(LeaseRequest{"L2", "next", 10min, std::nullopt}, t0 + 1min);
  ASSERT_TRUE(std::holds_alternative<Decision>(second));
  EXPECT_TRUE(std::get<Decision>(second).has(ReasonCode::Cooldown));
}

TEST_F(OverrideTest, SkipsOnlyTheHalfOfTheCooldownItNames) {
  recent_deploy();
  policy.set_override(make_override({"cooldown"}, t0), t0);
  // min_interval (between starts) still blocks: 14 minutes from t0-5m.
  const auto lease = policy.acquire_lease(LeaseRequest{"L1", "hotfix", 10min, std::nullopt}, t0);
  ASSERT_TRUE(std::holds_alternative<Decision>(lease));
  const auto& d = std::get<Decision>(lease);
  ASSERT_THAT(codes(d), ElementsAre("cooldown"));
  EXPECT_THAT(d.reasons[0].message, HasSubstr("min_interval"));
  EXPECT_TRUE(policy.pending_override());  // not used up by a refusal
  EXPECT_TRUE(policy.take_override_ends().empty());
}

TEST_F(OverrideTest, NeverSkipsWhatProtectsThePlatform) {
  recent_deploy();
  policy.apply(db("Updating"), t0);
  policy.set_override(make_override({"cooldown", "min_interval"}, t0), t0);
  const auto lease = policy.acquire_lease(LeaseRequest{"L1", "hotfix", 10min, std::nullopt}, t0);
  ASSERT_TRUE(std::holds_alternative<Decision>(lease));
  EXPECT_TRUE(std::get<Decision>(lease).has(ReasonCode::ServerBusy));
  EXPECT_TRUE(policy.pending_override());
}

TEST_F(OverrideTest, SkipsAFreezeAndAFreezeWindow) {
  refresh_healthy(policy, t0);
  policy.set_freeze(Freeze{"release day", "bob", t0, std::nullopt});
  policy.set_override(make_override({"frozen"}, t0), t0);
  EXPECT_TRUE(std::holds_alternative<Lease>(policy.acquire_lease(LeaseRequest{"L1", "hotfix", 10min, std::nullopt}, t0)));
  EXPECT_TRUE(policy.freeze());  // the freeze stays for everyone else
}

TEST_F(OverrideTest, ExpiresUnusedAndIsReported) {
  recent_deploy();
  policy.set_override(make_override({"cooldown", "min_interval"}, t0, 10min), t0);
  EXPECT_TRUE(policy.expire(t0 + 10min));
  EXPECT_FALSE(policy.pending_override());
  const auto ends = policy.take_override_ends();
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].why, OverrideEnd::Why::Expired);
}

TEST_F(OverrideTest, ANewOverrideReplacesThePendingOne) {
  refresh_healthy(policy, t0);
  policy.set_override(make_override({"cooldown"}, t0), t0);
  auto second = make_override({"frozen"}, t0 + 1min);
  second.id = "O2";
  policy.set_override(second, t0 + 1min);
  EXPECT_EQ(policy.pending_override()->id, "O2");
  const auto ends = policy.take_override_ends();
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].why, OverrideEnd::Why::Replaced);
  EXPECT_EQ(ends[0].override_.id, "O1");
}

TEST_F(OverrideTest, TheQueueHeadIsGrantedThroughIt) {
  recent_deploy();
  policy.join_queue(Ticket{"T1", "hotfix", 30min, 9, 1, "", "main", {}, {}}, t0);
  EXPECT_FALSE(policy.serve_queue(t0, "L1"));
  policy.set_override(make_override({"cooldown", "min_interval"}, t0), t0);
  const auto lease = policy.serve_queue(t0, "L1");
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->holder, "hotfix");
  EXPECT_FALSE(policy.pending_override());
  const auto ends = policy.take_override_ends();
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].lease_id, "L1");
}

TEST_F(OverrideTest, ASafeGrantDoesNotUseIt) {
  refresh_healthy(policy, t0);
  policy.set_override(make_override({"cooldown"}, t0), t0);
  EXPECT_TRUE(std::holds_alternative<Lease>(policy.acquire_lease(LeaseRequest{"L1", "a", 10min, std::nullopt}, t0)));
  EXPECT_TRUE(policy.pending_override());
}

TEST_F(OverrideTest, SurvivesARestart) {
  recent_deploy();
  policy.set_override(make_override({"cooldown", "min_interval"}, t0), t0);
  EnvironmentPolicy restarted{staging_rules()};
  restarted.restore(policy.durable());
  recent_deploy();
  refresh_healthy(restarted, t0, {deploy_run(1, RunStatus::Completed, t0 - 5min, RunConclusion::Success, t0 - 1min)});
  EXPECT_TRUE(std::holds_alternative<Lease>(restarted.acquire_lease(LeaseRequest{"L1", "a", 10min, std::nullopt}, t0)));
}
