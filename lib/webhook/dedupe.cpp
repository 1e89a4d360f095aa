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
  return true;
}

}  // namespace deployguard::webhook
