#pragma once
// The wall clock. The core never reads a clock (every call takes `now`); the service layer
// owns the one the daemon uses, and tests substitute their own core::Clock.
#include <chrono>

#include "core/time.hpp"

namespace deployguard::service {

class SystemClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  }
};

}  // namespace deployguard::service
