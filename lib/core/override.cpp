#include "core/override.hpp"

#include <algorithm>

namespace deployguard {

std::string_view to_string(SkipRule rule) {
  switch (rule) {
    case SkipRule::Cooldown: return "cooldown";
    case SkipRule::MinInterval: return "min_interval";
    case SkipRule::FreezeWindow: return "freeze_window";
    case SkipRule::Frozen: return "frozen";
  }
  return "?";
}

std::string_view to_string(OverrideEnd::Why why) {
  switch (why) {
    case OverrideEnd::Why::Used: return "used";
    case OverrideEnd::Why::Expired: return "expired";
    case OverrideEnd::Why::Replaced: return "replaced";
  }
  return "?";
}

bool SkipSet::has(SkipRule rule) const {
  switch (rule) {
    case SkipRule::Cooldown: return cooldown;
    case SkipRule::MinInterval: return min_interval;
    case SkipRule::FreezeWindow: return freeze_window;
    case SkipRule::Frozen: return frozen;
  }
  return false;
}

void SkipSet::add(SkipRule rule) {
  switch (rule) {
    case SkipRule::Cooldown: cooldown = true; break;
    case SkipRule::MinInterval: min_interval = true; break;
    case SkipRule::FreezeWindow: freeze_window = true; break;
    case SkipRule::Frozen: frozen = true; break;
  }
}

SkipParse parse_skip(const std::vector<std::string>& names) {
  // Reason codes that are neither skippable nor platform protection: what they guard is the
  // order of deploys (leased, queued) or knowledge the guard does not have yet.
  static constexpr std::string_view kNotSkippable[] = {
      "starting", "leased", "queued", "busy_backoff", "traffic_split", "multiple_active_revisions"};
  SkipParse out;
  if (names.empty()) {
    out.status = SkipParse::Status::Empty;
    out.message = "skip must name at least one rule: cooldown, min_interval, freeze_window, frozen";
    return out;
  }
  for (const auto& name : names) {
    const auto* rule = std::find_if(std::begin(kAllSkipRules), std::end(kAllSkipRules),
                                    [&](SkipRule r) { return to_string(r) == name; });
    if (rule != std::end(kAllSkipRules)) {
      out.skip.add(*rule);
      continue;
    }
    if (std::find(std::begin(kProtectedRules), std::end(kProtectedRules), name) != std::end(kProtectedRules)) {
      out.status = SkipParse::Status::Protected;
      out.message = "rule " + name + " protects the platform itself and cannot be skipped";
    } else if (std::find(std::begin(kNotSkippable), std::end(kNotSkippable), name) != std::end(kNotSkippable)) {
      out.status = SkipParse::Status::NotSkippable;
      out.message = "rule " + name + " cannot be skipped; an override may skip cooldown, "
                    "min_interval, freeze_window and frozen";
    } else {
      out.status = SkipParse::Status::Unknown;
      out.message = "unknown rule \"" + name + "\"; an override may skip cooldown, min_interval, "
                    "freeze_window and frozen";
    }
    return out;
  }
  return out;
}

SkipSet Override::skip_set() const {
  SkipSet s;
  for (const auto& name : skip)
    for (SkipRule r : kAllSkipRules)
      if (to_string(r) == name) s.add(r);
  return s;
}

}  // namespace deployguard
