#include "core/live.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace deployguard;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

namespace {

const TimePoint t0 = TimePoint{} + std::chrono::hours(24 * 20000);
const std::string kShaA = "8c2e614a3f1b9d0e7c6b5a4f3e2d1c0b9a8f7e6d";
const std::string kShaB = "1f2e3d4c5b6a79880716253443526170f9e8d7c6";

RevisionSnapshot rev(std::string name, std::string image, std::optional<TimePoint> created) {
  RevisionSnapshot r;
  r.name = std::move(name);
  r.active = true;
  r.image = std::move(image);
  r.created_time = created;
  return r;
}

DeployAttempt attempt(std::int64_t run, int n, std::string sha, TimePoint start, std::optional<TimePoint> end) {
  return DeployAttempt{run, n, std::move(sha), "title " + std::to_string(run), "https://github.com/o/r/actions/runs/" + std::to_string(run), start, end};
}

}  // namespace

TEST(CommitCandidates, TakesHexRunsOfTheTagOnly) {
  EXPECT_THAT(commit_candidates("myacr.azurecr.io/api:8c2e614"), ElementsAre("8c2e614"));
  EXPECT_THAT(commit_candidates("myacr.azurecr.io/api:sha-8C2E614A-2"), ElementsAre("8c2e614a"));
  EXPECT_THAT(commit_candidates("registry:5000/deadbeefcafe/api:v1.2.3"), IsEmpty()) << "hex in the path is not a tag";
  EXPECT_THAT(commit_candidates("myacr.azurecr.io/api@sha256:" + std::string(64, 'a')), IsEmpty());
  EXPECT_THAT(commit_candidates("myacr.azurecr.io/api:" + kShaA), ElementsAre(kShaA));
  EXPECT_THAT(commit_candidates("api:abc12"), IsEmpty()) << "too short to name a commit";
}

TEST(LinkRevision, ImageTagWinsOverTheTimeWindow) {
  const std::vector<DeployAttempt> deploys{attempt(1, 1, kShaA, t0, t0 + 5min), attempt(2, 1, kShaB, t0 + 10min, t0 + 15min)};
  const auto live = link_revision(rev("api--b", "acr.io/api:1f2e3d4", t0 + 2min), deploys);
  EXPECT_EQ(live.matched_by, LiveMatch::ImageTag);
  EXPECT_EQ(live.run_id, 2);
  EXPECT_EQ(live.sha, kShaB);
  EXPECT_EQ(live.title, "title 2");
}

TEST(LinkRevision, ReRunsOfTheSameCommitPickTheAttemptWhoseWindowHoldsTheRevision) {
  const std::vector<DeployAttempt> deploys{attempt(7, 1, kShaA, t0, t0 + 3min), attempt(7, 2, kShaA, t0 + 10min, t0 + 14min)};
  EXPECT_EQ(link_revision(rev("api--2", "acr.io/api:" + kShaA, t0 + 12min), deploys).run_attempt, 2);
  EXPECT_EQ(link_revision(rev("api--1", "acr.io/api:" + kShaA, t0 + 1min), deploys).run_attempt, 1);
}

TEST(LinkRevision, FallsBackToTheCreationTimeInsideAnAttemptWindow) {
  const std::vector<DeployAttempt> deploys{attempt(1, 1, kShaA, t0, t0 + 5min), attempt(2, 3, kShaB, t0 + 10min, std::nullopt)};
  auto live = link_revision(rev("api--x", "acr.io/api:latest", t0 + 11min), deploys);
  EXPECT_EQ(live.matched_by, LiveMatch::TimeWindow);
  EXPECT_EQ(live.run_id, 2);
  EXPECT_EQ(live.run_attempt, 3);
  live = link_revision(rev("api--y", "acr.io/api:latest", t0 + 7min), deploys);
  EXPECT_EQ(live.matched_by, LiveMatch::Unknown) << "between two deploys: not guessed";
  EXPECT_FALSE(live.run_id);
  EXPECT_EQ(live.sha, "");
}

TEST(LinkRevision, AnUnmatchedFullShaTagIsReportedWithoutARun) {
  const auto live = link_revision(rev("api--z", "acr.io/api:" + kShaB, std::nullopt), {});
  EXPECT_EQ(live.matched_by, LiveMatch::Unknown);
  EXPECT_FALSE(live.run_id);
  EXPECT_EQ(live.sha, kShaB);
}

TEST(LiveRevisionName, TheRevisionWithMostTrafficElseTheOnlyActiveOne) {
  ContainerAppSnapshot app;
  app.latest_ready_revision_name = "api--r3";
  std::vector<RevisionSnapshot> revisions{rev("api--r1", "", t0), rev("api--r2", "", t0)};
  EXPECT_EQ(live_revision_name(app, revisions, {{"api--r1", 80}, {"api--r2", 20}}), "api--r1");
  EXPECT_FALSE(live_revision_name(app, revisions, {{"api--r1", 50}, {"api--r2", 50}}));
  EXPECT_FALSE(live_revision_name(app, revisions, {})) << "two active revisions without traffic data";
  revisions[1].active = false;
  EXPECT_EQ(live_revision_name(app, revisions, {}), "api--r1");
  revisions[0].active = false;
  EXPECT_EQ(live_revision_name(app, revisions, {}), "api--r3");
}
