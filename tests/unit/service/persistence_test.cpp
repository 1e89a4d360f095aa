// Persistence and the webhook delivery ids it keeps in the state file: restored at start-up,
// written by the debounced save and by stop(), written back unchanged when nobody reads them.
#include "service/persistence.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "common/temp_dir.hpp"
#include "state/state_store.hpp"

namespace deployguard::service {
namespace {

using namespace std::chrono_literals;
using deployguard::testing::TempDir;

EnvironmentConfig github_env(std::string name) {
  EnvironmentConfig env;
  env.name = std::move(name);
  env.github = GitHubTarget{"example/app", {"deploy.yml"}, std::nullopt};
  return env;
}

/// One daemon lifetime: a service, its Persistence on the test's state file, and the delivery
/// ids as a webhook receiver would hold them.
struct Daemon {
  Daemon(const std::string& state_path, bool keep_ids = true, Duration debounce = 500ms)
      : persistence(io.get_executor(), service,
                    PersistenceOptions{state_path, "", debounce, std::chrono::seconds{5}}) {
    if (keep_ids)
      persistence.keep_delivery_ids([this] { return ids; },
                                    [this](state::DeliveryIds restored) { ids = std::move(restored); });
    persistence.restore(false);
    service.start();
    persistence.start();
  }

  boost::asio::io_context io;
  ManualClock clock{parse_timestamp("2025-12-31T19:00:00Z").value()};
  GuardService service{io.get_executor(), clock, {{"staging", github_env("staging")}}};
  Persistence persistence;
  state::DeliveryIds ids;
};

class PersistenceTest : public ::testing::Test {
 protected:
  state::LoadResult saved() { return state::load_state(path_); }

  TempDir dir_;
  std::string path_ = (dir_.path() / "state.json").string();
};

TEST_F(PersistenceTest, DeliveryIdsSurviveARestart) {
  {
    Daemon first(path_);
    first.ids = {"d-1", "d-2"};
    first.persistence.delivery_ids_changed();
    EXPECT_TRUE(first.persistence.dirty());
    first.persistence.stop();  // graceful shutdown writes what the debounce had not yet
    EXPECT_FALSE(first.persistence.dirty());
  }
  EXPECT_EQ(saved().webhook_deliveries, (state::DeliveryIds{"d-1", "d-2"}));
  Daemon second(path_);
  EXPECT_EQ(second.ids, (state::DeliveryIds{"d-1", "d-2"})) << "restore() hands them back";
}

TEST_F(PersistenceTest, ANewDeliveryIdIsWrittenByTheDebouncedSave) {
  Daemon daemon(path_, true, 10ms);
  const auto saves = daemon.persistence.saves();
  daemon.ids = {"d-1"};
  daemon.persistence.delivery_ids_changed();
  EXPECT_EQ(daemon.persistence.saves(), saves) << "not written before the delivery is answered";
  // The debounce timer is real: run the loop until its handler wrote the file (the bound only
  // catches a bug; run_one_until returns as soon as a handler ran).
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  while (daemon.persistence.saves() == saves && std::chrono::steady_clock::now() < give_up)
    daemon.io.run_one_until(give_up);
  EXPECT_EQ(daemon.persistence.saves(), saves + 1);
  EXPECT_EQ(saved().webhook_deliveries, (state::DeliveryIds{"d-1"}));
}

TEST_F(PersistenceTest, IdsFoundInTheFileAreWrittenBackWhenNobodyReadsThem) {
  {
    Daemon first(path_);
    first.ids = {"d-1"};
    first.persistence.delivery_ids_changed();
    first.persistence.stop();
  }
  Daemon without_receiver(path_, /*keep_ids=*/false);
  // A durable change forces a write; the ids must not be lost by it.
  ASSERT_EQ(without_receiver.service.transact(
                "staging",
                [](EnvironmentPolicy& p, TimePoint now) {
                  p.set_freeze(Freeze{"incident", "alice", now, std::nullopt});
                },
                [&] { return without_receiver.persistence.commit(); }),
            TransactResult::Committed);
  const auto loaded = saved();
  ASSERT_TRUE(loaded.ok()) << loaded.error;
  EXPECT_TRUE(loaded.states.at("staging").freeze);
  EXPECT_EQ(loaded.webhook_deliveries, (state::DeliveryIds{"d-1"}));
}

TEST_F(PersistenceTest, AuditObserversSeeEveryRecordAppended) {
  Daemon daemon(path_);
  std::vector<state::AuditRecord> seen;
  daemon.persistence.add_audit_observer(
      [&](const state::AuditRecord& record) { seen.push_back(record); });
  daemon.service.modify("staging", [](EnvironmentPolicy& policy, TimePoint now) {
    policy.set_freeze(Freeze{"incident", "alice", now, std::nullopt});
  });
  daemon.persistence.audit("staging", "alice", "freeze.set", nullptr, {{"reason", "incident"}});
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].action, "decision.change");
  EXPECT_EQ(seen[0].environment, "staging");
  EXPECT_EQ(seen[0].actor, "deployguard");
  EXPECT_EQ(seen[0].new_value.at("reasons"), nlohmann::json::array({"starting", "frozen"}));
  EXPECT_EQ(seen[1].action, "freeze.set");
  EXPECT_EQ(seen[1].actor, "alice");
  EXPECT_EQ(seen[1].new_value.at("reason"), "incident");
}

}  // namespace
}  // namespace deployguard::service
