#include "webhook/dedupe.hpp"

namespace deployguard::webhook {

bool DeliveryDeduper::first_time(std::string_view delivery_id) {
  std::string id(delivery_id);
  if (seen_.contains(id)) return false;
  if (capacity_ == 0) return true;
  if (order_.size() >= capacity_) {
    seen_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(id);
  seen_.insert(std::move(id));
  ++remembered_;
  return true;
}

std::vector<std::string> DeliveryDeduper::ids() const { return {order_.begin(), order_.end()}; }

void DeliveryDeduper::restore(const std::vector<std::string>& ids) {
  // Restored ids are older than any already remembered; over the capacity the oldest go. Walk
  // them newest first, keeping the newest occurrence of a repeated id.
  std::size_t room = capacity_ > order_.size() ? capacity_ - order_.size() : 0;
  std::deque<std::string> merged;
  for (auto it = ids.rbegin(); it != ids.rend() && room > 0; ++it) {
    if (it->empty() || seen_.contains(*it)) continue;
    seen_.insert(*it);
    merged.push_front(*it);
    --room;
  }
  for (auto& id : order_) merged.push_back(std::move(id));
  order_ = std::move(merged);
}

}  // namespace deployguard::webhook
