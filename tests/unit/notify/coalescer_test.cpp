// Coalescing on a manual timeline: every call takes `now`.
#include "notify/coalescer.hpp"

#include <gtest/gtest.h>

namespace deployguard::notify {
namespace {

using namespace std::chrono_literals;

const TimePoint t0 = parse_timestamp("2026-01-05T10:00:00Z").value();

Notification event(std::string environment, Category category, std::string action) {
  Notification n;
  n.environment = std::move(environment);
  n.category = category;
  n.action = std::move(action);
  return n;
}

TEST(Coalescer, TheFirstEventGoesOutAtOnceAndAFlapBecomesOneMessageWithTheLatestState) {
  Coalescer c(30s);
  auto first = c.offer(event("prod", Category::Verdict, "1"), t0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->changes, 1u);
  EXPECT_FALSE(c.next_due());

  EXPECT_FALSE(c.offer(event("prod", Category::Verdict, "2"), t0 + 1s));
  EXPECT_FALSE(c.offer(event("prod", Category::Verdict, "3"), t0 + 5s));
  EXPECT_FALSE(c.offer(event("prod", Category::Verdict, "4"), t0 + 29s));
  EXPECT_EQ(c.held(), 1u);
  EXPECT_EQ(c.next_due(), t0 + 30s);
  EXPECT_TRUE(c.due(t0 + 29s).empty());

  const auto due = c.due(t0 + 30s);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].action, "4");
  EXPECT_EQ(due[0].changes, 3u);
  EXPECT_EQ(c.held(), 0u);

  // Sending the coalesced message opened a new window: the next change waits for its end.
  EXPECT_FALSE(c.offer(event("prod", Category::Verdict, "5"), t0 + 31s));
  EXPECT_EQ(c.next_due(), t0 + 60s);
  ASSERT_EQ(c.due(t0 + 60s).size(), 1u);
  // A window that ends with nothing held is forgotten: the next event goes out at once.
  EXPECT_TRUE(c.due(t0 + 90s).empty());
  EXPECT_TRUE(c.offer(event("prod", Category::Verdict, "6"), t0 + 91s));
}

TEST(Coalescer, EnvironmentsAndCategoriesHaveTheirOwnWindows) {
  Coalescer c(30s);
  EXPECT_TRUE(c.offer(event("prod", Category::Verdict, "a"), t0));
  EXPECT_TRUE(c.offer(event("prod", Category::Freeze, "b"), t0 + 1s));
  EXPECT_TRUE(c.offer(event("staging", Category::Verdict, "c"), t0 + 2s));
  EXPECT_FALSE(c.offer(event("staging", Category::Verdict, "d"), t0 + 3s));
  EXPECT_FALSE(c.offer(event("prod", Category::Verdict, "e"), t0 + 4s));
  EXPECT_EQ(c.held(), 2u);
  EXPECT_EQ(c.next_due(), t0 + 30s);
  const auto due = c.due(t0 + 40s);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].action, "e");  // its window ended first
  EXPECT_EQ(due[1].action, "d");
}

TEST(Coalescer, AfterTheWindowAnEventGoesOutAtOnceAgain) {
  Coalescer c(2s);
  EXPECT_TRUE(c.offer(event("prod", Category::Verdict, "a"), t0));
  EXPECT_TRUE(c.offer(event("prod", Category::Verdict, "b"), t0 + 2s));
  EXPECT_EQ(c.held(), 0u);
}

TEST(Coalescer, ClearCountsWhatWasHeld) {
  Coalescer c(30s);
  c.offer(event("prod", Category::Verdict, "a"), t0);
  c.offer(event("prod", Category::Verdict, "b"), t0 + 1s);
  c.offer(event("staging", Category::Verdict, "c"), t0 + 1s);
  EXPECT_EQ(c.clear(), 1u);
  EXPECT_FALSE(c.next_due());
  EXPECT_TRUE(c.offer(event("prod", Category::Verdict, "d"), t0 + 2s));
}

}  // namespace
}  // namespace deployguard::notify
