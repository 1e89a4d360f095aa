#pragma once
// Remembers the most recent webhook delivery ids (X-GitHub-Delivery) in bounded memory, so a
// redelivered or replayed delivery is acknowledged without being applied twice. The ids can be
// read out (oldest first) and restored, so the memory survives a restart through the state file.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace deployguard::webhook {

class DeliveryDeduper {
 public:
  /// The default bound: about a day of deliveries for a busy organisation.
  static constexpr std::size_t kDefaultCapacity = 10000;

  explicit DeliveryDeduper(std::size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  /// True the first time an id is seen (and remembers it); false for a repeat. When full, the
  /// oldest id is forgotten.
  bool first_time(std::string_view delivery_id);
  std::size_t size() const { return order_.size(); }
  std::size_t capacity() const { return capacity_; }

  /// The remembered ids, oldest first.
  std::vector<std::string> ids() const;
  /// Remembers `ids` (oldest first, e.g. from the state file) as older than the ids already
  /// remembered: empty ids and repeats are skipped, and what does not fit in the capacity is
  /// forgotten oldest first. Does not count as remembered().
  void restore(const std::vector<std::string>& ids);
  /// How many ids first_time() has remembered since construction; a change means ids() did.
  std::uint64_t remembered() const { return remembered_; }

 private:
  std::size_t capacity_;
  std::deque<std::string> order_;
  std::unordered_set<std::string> seen_;
  std::uint64_t remembered_ = 0;
};

}  // namespace deployguard::webhook
