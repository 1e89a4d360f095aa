#include "core/upstream_states.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <set>
#include <utility>

#include "common/temp_dir.hpp"

using namespace deployguard;

TEST(UpstreamStates, KnownValuesHaveTheirVerdicts) {
  EXPECT_FALSE(judge_state(StateField::PostgresState, "Ready").blocks);
  EXPECT_EQ(judge_state(StateField::PostgresState, "Updating").blocks, ReasonCode::ServerBusy);
  EXPECT_EQ(judge_state(StateField::PostgresState, "stopped").blocks, ReasonCode::ServerBusy)
      << "values compare case-insensitively";
  EXPECT_EQ(judge_state(StateField::PostgresHighAvailability, "FailingOver").blocks, ReasonCode::ServerBusy);
  EXPECT_FALSE(judge_state(StateField::PostgresHighAvailability, "NotEnabled").blocks);
  EXPECT_EQ(judge_state(StateField::AppProvisioning, "InProgress").blocks, ReasonCode::AppBusy);
  EXPECT_FALSE(judge_state(StateField::AppProvisioning, "Failed").blocks);
  EXPECT_EQ(judge_state(StateField::AppRunning, "Progressing").blocks, ReasonCode::AppBusy);
  EXPECT_EQ(judge_state(StateField::RevisionProvisioning, "Provisioning").blocks,
            ReasonCode::RevisionProvisioning);
  EXPECT_EQ(judge_state(StateField::RevisionRunning, "Unknown").blocks, ReasonCode::RevisionProvisioning);
  EXPECT_FALSE(judge_state(StateField::RevisionHealth, "Unhealthy").blocks);
  EXPECT_FALSE(judge_state(StateField::RevisionProvisioning, "").blocks) << "list answers omit it";
  EXPECT_EQ(judge_state(StateField::PostgresState, "").blocks, ReasonCode::ServerBusy)
      << "a server without a state is not known to be ready";
}

TEST(UpstreamStates, UnknownValuesFailClosedWithTheFieldsReason) {
  for (auto field : {StateField::RevisionProvisioning, StateField::RevisionRunning, StateField::RevisionHealth,
                     StateField::AppProvisioning, StateField::AppRunning, StateField::PostgresState,
                     StateField::PostgresHighAvailability}) {
    const auto v = judge_state(field, "SomethingNew");
    ASSERT_TRUE(v.blocks) << to_string(field);
    EXPECT_EQ(*v.blocks, reason_for(field)) << to_string(field);
    EXPECT_NE(v.why.find("unknown"), std::string_view::npos);
  }
}

TEST(UpstreamStates, TableHasOneEntryPerValueAndUsesEachFieldsReason) {
  std::set<std::pair<StateField, std::string>> seen;
  for (const auto& v : state_verdicts()) {
    std::string lower(v.value);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_TRUE(seen.emplace(v.field, lower).second) << to_string(v.field) << " " << v.value;
    if (v.blocks) {
      EXPECT_EQ(*v.blocks, reason_for(v.field)) << to_string(v.field) << " " << v.value;
    }
    EXPECT_FALSE(v.why.empty());
  }
  EXPECT_EQ(seen.size(), state_verdicts().size());
}

TEST(UpstreamStates, DocsApiListsExactlyTheTable) {
  EXPECT_EQ(deployguard::testing::generated_block(std::string(DEPLOYGUARD_SOURCE_DIR) + "/docs/api.md", "states"),
            state_table_markdown())
      << "replace the state table in docs/api.md with:\n"
      << state_table_markdown();
}
