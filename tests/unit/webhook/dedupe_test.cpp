// DeliveryDeduper: bounded memory of delivery ids, read out and restored for the state file.
#include "webhook/dedupe.hpp"

#include <gtest/gtest.h>

namespace deployguard::webhook {
namespace {

using Ids = std::vector<std::string>;

TEST(DeliveryDeduper, RemembersUpToItsCapacityForgettingTheOldest) {
  DeliveryDeduper d(3);
  for (const char* id : {"a", "b", "c", "d"}) EXPECT_TRUE(d.first_time(id));
  EXPECT_EQ(d.ids(), (Ids{"b", "c", "d"}));
  EXPECT_FALSE(d.first_time("d"));
  EXPECT_TRUE(d.first_time("a")) << "forgotten";
  EXPECT_EQ(d.remembered(), 5u);
}

TEST(DeliveryDeduper, RestoredIdsAreRepeatsAndKeepTheirOrder) {
  DeliveryDeduper d(3);
  d.restore({"x", "a", "b", "", "c", "a"});
  EXPECT_EQ(d.ids(), (Ids{"b", "c", "a"})) << "the newest capacity() survive, empty and repeats skipped";
  EXPECT_EQ(d.remembered(), 0u) << "nothing new to save";
  EXPECT_FALSE(d.first_time("b"));
  EXPECT_TRUE(d.first_time("x"));
  EXPECT_EQ(d.ids(), (Ids{"c", "a", "x"}));
}

TEST(DeliveryDeduper, RestoredIdsAreOlderThanLiveOnes) {
  DeliveryDeduper d(3);
  d.first_time("live");
  d.restore({"old-1", "old-2", "old-3", "live"});
  EXPECT_EQ(d.ids(), (Ids{"old-2", "old-3", "live"}));
  EXPECT_FALSE(d.first_time("old-2"));
  EXPECT_TRUE(d.first_time("old-1"));
}

TEST(DeliveryDeduper, ZeroCapacityRemembersNothing) {
  DeliveryDeduper d(0);
  EXPECT_TRUE(d.first_time("a"));
  EXPECT_TRUE(d.first_time("a"));
  d.restore({"b"});
  EXPECT_TRUE(d.ids().empty());
}

}  // namespace
}  // namespace deployguard::webhook
