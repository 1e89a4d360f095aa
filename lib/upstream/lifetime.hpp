#pragma once
// Lets asynchronous callbacks find out whether the object that started them still exists.
// HTTP clients and timers may run a completion after its initiator is gone (BeastHttpClient
// documents this for shutdown); such completions must return without touching `this`.
#include <memory>

namespace deployguard::upstream {

class LifetimeGuard {
 public:
  using Watch = std::weak_ptr<const char>;
  LifetimeGuard() = default;
  LifetimeGuard(const LifetimeGuard&) = delete;
  LifetimeGuard& operator=(const LifetimeGuard&) = delete;

  Watch watch() const { return token_; }

 private:
  std::shared_ptr<const char> token_ = std::make_shared<const char>('\0');
};

}  // namespace deployguard::upstream
