#include "notify/events.hpp"

#include <gtest/gtest.h>

namespace deployguard::notify {
namespace {

state::AuditRecord record(std::string action, nlohmann::json old_value = nullptr,
                          nlohmann::json new_value = nullptr) {
  return state::AuditRecord{TimePoint{}, "prod", "alice", std::move(action), std::move(old_value),
                            std::move(new_value), nullptr};
}

using Categories = std::vector<Category>;

TEST(NotifyEvents, EveryActionFamilyHasItsCategory) {
  EXPECT_EQ(categories_of(record("queue.join")), Categories{Category::Queue});
  EXPECT_EQ(categories_of(record("queue.granted")), Categories{Category::Queue});
  EXPECT_EQ(categories_of(record("freeze.set")), Categories{Category::Freeze});
  EXPECT_EQ(categories_of(record("freeze.clear")), Categories{Category::Freeze});
  EXPECT_EQ(categories_of(record("stop")), Categories{Category::Stop});
  EXPECT_EQ(categories_of(record("override.create")), Categories{Category::Override});
  EXPECT_EQ(categories_of(record("override.use")), Categories{Category::Override});
  EXPECT_EQ(categories_of(record("gate.approved")), Categories{Category::Gate});
}

TEST(NotifyEvents, LeasesBusyReportsAndStabilizeAreNotNotified) {
  for (const char* action :
       {"lease.acquire", "lease.release", "busy.report", "stabilize.start", "stabilize", "stopped",
        "freeze", "queue"})
    EXPECT_TRUE(categories_of(record(action)).empty()) << action;
}

TEST(NotifyEvents, ADecisionChangeIsAVerdictAndASourceErrorOnlyWhenItStarts) {
  const nlohmann::json safe = {{"safe", true}, {"reasons", nlohmann::json::array()}};
  const nlohmann::json failing = {{"safe", false}, {"reasons", {"source_error"}}};
  const nlohmann::json failing_frozen = {{"safe", false}, {"reasons", {"source_error", "frozen"}}};
  EXPECT_EQ(categories_of(record("decision.change", safe, failing)),
            (Categories{Category::Verdict, Category::SourceError}));
  EXPECT_EQ(categories_of(record("decision.change", nullptr, failing)),
            (Categories{Category::Verdict, Category::SourceError}));
  EXPECT_EQ(categories_of(record("decision.change", failing, failing_frozen)),
            Categories{Category::Verdict});
  EXPECT_EQ(categories_of(record("decision.change", failing, safe)), Categories{Category::Verdict});
}

TEST(NotifyEvents, CategoryNamesRoundTrip) {
  for (const Category category : kAllCategories)
    EXPECT_EQ(parse_category(to_string(category)), category);
  EXPECT_EQ(to_string(Category::SourceError), "source_error");
  EXPECT_FALSE(parse_category("deploys"));
}

}  // namespace
}  // namespace deployguard::notify
