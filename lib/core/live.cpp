#include "core/live.hpp"

#include <algorithm>
#include <cctype>

namespace deployguard {
namespace {

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool in_window(const DeployAttempt& d, TimePoint t) {
  return t >= d.started_at && (!d.ended_at || t <= *d.ended_at);
}

/// Of several attempts, the one whose window holds `created`, else the latest started before
/// it, else the latest.
const DeployAttempt* best_attempt(const std::vector<const DeployAttempt*>& candidates,
                                  const std::optional<TimePoint>& created) {
  const DeployAttempt* best = nullptr;
  auto later = [](const DeployAttempt* a, const DeployAttempt* b) {
    return !b || a->started_at > b->started_at;
  };
  if (created) {
    for (const auto* d : candidates)
      if (in_window(*d, *created) && later(d, best)) best = d;
    if (best) return best;
    for (const auto* d : candidates)
      if (d->started_at <= *created && later(d, best)) best = d;
    if (best) return best;
  }
  for (const auto* d : candidates)
    if (later(d, best)) best = d;
  return best;
}

LiveRevision from(const RevisionSnapshot& revision, const DeployAttempt& d, LiveMatch how) {
  return LiveRevision{revision.name, d.run_id, d.run_attempt, d.sha, d.title, d.url, how};
}

}  // namespace

std::string_view to_string(LiveMatch m) {
  switch (m) {
    case LiveMatch::ImageTag: return "image_tag";
    case LiveMatch::TimeWindow: return "time_window";
    case LiveMatch::Unknown: return "unknown";
  }
  return "unknown";
}

std::optional<std::string> live_revision_name(const ContainerAppSnapshot& app,
                                              const std::vector<RevisionSnapshot>& revisions,
                                              const std::map<std::string, int>& traffic) {
  if (!traffic.empty()) {
    const auto top = std::max_element(traffic.begin(), traffic.end(),
                                      [](const auto& a, const auto& b) { return a.second < b.second; });
    const auto ties = std::count_if(traffic.begin(), traffic.end(),
                                    [&](const auto& t) { return t.second == top->second; });
    if (ties > 1) return std::nullopt;
    return top->first;
  }
  const RevisionSnapshot* only = nullptr;
  int active = 0;
  for (const auto& r : revisions)
    if (r.active) {
      ++active;
      only = &r;
    }
  if (active == 1) return only->name;
  if (active == 0 && !app.latest_ready_revision_name.empty()) return app.latest_ready_revision_name;
  return std::nullopt;
}

std::vector<std::string> commit_candidates(std::string_view image) {
  std::vector<std::string> out;
  if (image.find('@') != std::string_view::npos) image = image.substr(0, image.find('@'));
  const auto slash = image.rfind('/');
  const auto colon = image.rfind(':');
  if (colon == std::string_view::npos || (slash != std::string_view::npos && colon < slash)) return out;
  const std::string_view tag = image.substr(colon + 1);
  std::size_t i = 0;
  while (i < tag.size()) {
    if (!is_hex(tag[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < tag.size() && is_hex(tag[j])) ++j;
    if (j - i >= 7 && j - i <= 40) out.push_back(lower(tag.substr(i, j - i)));
    i = j;
  }
  return out;
}

LiveRevision link_revision(const RevisionSnapshot& revision, std::span<const DeployAttempt> deploys) {
  for (const auto& candidate : commit_candidates(revision.image)) {
    std::vector<const DeployAttempt*> matches;
    for (const auto& d : deploys)
      if (!d.sha.empty() && lower(d.sha).starts_with(candidate)) matches.push_back(&d);
    if (const auto* best = best_attempt(matches, revision.created_time))
      return from(revision, *best, LiveMatch::ImageTag);
  }
  if (revision.created_time) {
    std::vector<const DeployAttempt*> matches;
    for (const auto& d : deploys)
      if (in_window(d, *revision.created_time)) matches.push_back(&d);
    if (const auto* best = best_attempt(matches, revision.created_time))
      return from(revision, *best, LiveMatch::TimeWindow);
  }
  LiveRevision unknown;
  unknown.revision = revision.name;
  for (const auto& candidate : commit_candidates(revision.image))
    if (candidate.size() == 40) unknown.sha = candidate;
  return unknown;
}

std::optional<LiveRevision> live_revision(const EnvironmentPolicy& policy) {
  if (!policy.container_app()) return std::nullopt;
  const auto name =
      live_revision_name(*policy.container_app(), policy.revisions(), policy.traffic_by_revision());
  if (!name) return std::nullopt;
  std::vector<DeployAttempt> attempts;
  for (const auto& d : policy.deploys())
    if (d.run)
      attempts.push_back(DeployAttempt{d.run->id, d.run->attempt, d.sha, d.title, d.url,
                                       d.started_at, d.ended_at});
  for (const auto& r : policy.revisions())
    if (r.name == *name) return link_revision(r, attempts);
  // Live by traffic but not among the listed revisions: named, linked to nothing.
  LiveRevision unknown;
  unknown.revision = *name;
  return unknown;
}

}  // namespace deployguard
