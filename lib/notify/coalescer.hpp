#pragma once
// Coalescing of one sink's notifications, per (environment, category). Pure: every call takes
// `now`, nothing here reads a clock or arms a timer (the Notifier does, at next_due()).
//
// Guarantee: the first event of a key goes out at once and opens a window of `interval`;
// events within the window are held, the latest replacing the earlier ones (its `changes`
// counting them all); when the window ends the held one goes out (due()) and opens the next
// window. So a flapping verdict costs at most one message per interval and key, and the last
// message always carries the latest state.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/time.hpp"
#include "notify/message.hpp"

namespace deployguard::notify {

class Coalescer {
 public:
  explicit Coalescer(Duration interval) : interval_(interval) {}

  /// The notification to send now, or nullopt when it is held until its window ends.
  std::optional<Notification> offer(Notification n, TimePoint now);
  /// The held notifications whose window has ended at `now`, oldest window first; each one
  /// sent opens a new window from `now`. Windows that ended with nothing held are forgotten.
  std::vector<Notification> due(TimePoint now);
  /// When the earliest window holding a notification ends; nullopt when none is held.
  std::optional<TimePoint> next_due() const;
  /// Notifications held now.
  std::size_t held() const;
  /// Forgets every window; returns how many held notifications were dropped.
  std::size_t clear();

  Duration interval() const { return interval_; }

 private:
  struct Window {
    TimePoint ends{};
    std::optional<Notification> held;
  };
  using Key = std::pair<std::string, Category>;

  Duration interval_;
  std::map<Key, Window> windows_;
};

}  // namespace deployguard::notify
