#pragma once
// Remembers the most recent webhook delivery ids (X-GitHub-Delivery) in bounded memory, so a
// redelivered or replayed delivery is acknowledged without being applied twice.
#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>

namespace deployguard::webhook {

class DeliveryDeduper {
 public:
  explicit DeliveryDeduper(std::size_t capacity = 10000) : capacity_(capacity) {}

  /// True the first time an id is seen (and remembers it); false for a repeat. When full, the
  /// oldest id is forgotten.
  bool first_time(std::string_view delivery_id);
  std::size_t size() const { return order_.size(); }

 private:
  std::size_t capacity_;
  std::deque<std::string> order_;
  std::unordered_set<std::string> seen_;
};

}  // namespace deployguard::webhook
