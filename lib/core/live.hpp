#pragma once
// Which deploy put the live revision there. A revision is linked to a deploy attempt by its image
// tag when the tag holds (a prefix of) the attempt's commit sha, else by its createdTime falling
// inside the attempt's window; when neither links it, the answer says unknown rather than guess.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.hpp"
#include "core/policy.hpp"
#include "core/time.hpp"

namespace deployguard {

/// One deploy attempt as the live-revision link needs it.
struct DeployAttempt {
  std::int64_t run_id = 0;
  int run_attempt = 1;
  std::string sha;  // 40 hex ("" when unknown)
  std::string title;
  std::string url;
  TimePoint started_at{};
  std::optional<TimePoint> ended_at;  // nullopt while it runs
};

enum class LiveMatch { ImageTag, TimeWindow, Unknown };
std::string_view to_string(LiveMatch m);  // "image_tag", "time_window", "unknown"

struct LiveRevision {
  std::string revision;
  std::optional<std::int64_t> run_id;
  std::optional<int> run_attempt;
  std::string sha;  // full 40 hex, "" when unknown
  std::string title;
  std::string url;
  LiveMatch matched_by = LiveMatch::Unknown;
};

/// The revision serving traffic: the one with the largest weight (none on a tie), else, without
/// traffic data, the only active revision, else the app's latest ready revision. nullopt when
/// there is no container app or nothing identifies one.
std::optional<std::string> live_revision_name(const ContainerAppSnapshot& app,
                                              const std::vector<RevisionSnapshot>& revisions,
                                              const std::map<std::string, int>& traffic);

/// The hex runs of at least 7 characters in an image reference's tag ("repo:abc1234-2" ->
/// {"abc1234"}); a digest ("@sha256:...") is not a tag.
std::vector<std::string> commit_candidates(std::string_view image);

/// Links `revision` to one of `deploys`.
LiveRevision link_revision(const RevisionSnapshot& revision, std::span<const DeployAttempt> deploys);

/// The environment's live revision linked to the deploy attempt that created it, from the policy's
/// deploy records (run attempts only; a lease without a run links nothing). nullopt when there is
/// no container app observation or nothing identifies a live revision.
std::optional<LiveRevision> live_revision(const EnvironmentPolicy& policy);

}  // namespace deployguard
