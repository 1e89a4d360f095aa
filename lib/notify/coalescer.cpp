#include "notify/coalescer.hpp"

#include <algorithm>

namespace deployguard::notify {

std::optional<Notification> Coalescer::offer(Notification n, TimePoint now) {
  Key key{n.environment, n.category};
  const auto it = windows_.find(key);
  if (it != windows_.end() && now < it->second.ends) {
    if (it->second.held) n.changes += it->second.held->changes;
    it->second.held = std::move(n);
    return std::nullopt;
  }
  windows_[std::move(key)] = Window{now + interval_, std::nullopt};
  return n;
}

std::vector<Notification> Coalescer::due(TimePoint now) {
  std::vector<std::pair<TimePoint, Notification>> ready;
  for (auto it = windows_.begin(); it != windows_.end();) {
    Window& window = it->second;
    if (now < window.ends) {
      ++it;
      continue;
    }
    if (!window.held) {
      it = windows_.erase(it);
      continue;
    }
    ready.emplace_back(window.ends, std::move(*window.held));
    window = Window{now + interval_, std::nullopt};
    ++it;
  }
  std::stable_sort(ready.begin(), ready.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Notification> out;
  out.reserve(ready.size());
  for (auto& [ends, n] : ready) out.push_back(std::move(n));
  return out;
}

std::optional<TimePoint> Coalescer::next_due() const {
  std::optional<TimePoint> out;
  for (const auto& [key, window] : windows_)
    if (window.held && (!out || window.ends < *out)) out = window.ends;
  return out;
}

std::size_t Coalescer::held() const {
  return static_cast<std::size_t>(std::count_if(
      windows_.begin(), windows_.end(), [](const auto& entry) { return entry.second.held.has_value(); }));
}

std::size_t Coalescer::clear() {
  const std::size_t dropped = held();
  windows_.clear();
  return dropped;
}

}  // namespace deployguard::notify
