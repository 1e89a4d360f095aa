#include "app/systemd_notify.hpp"

#include <systemd/sd-daemon.h>

namespace deployguard::app {

void SystemdNotifier::ready() {
  sd_notify(0, "READY=1\nSTATUS=serving");
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    interval_ = std::chrono::microseconds{usec / 2};
    ping();
  }
}

void SystemdNotifier::ping() {
  sd_notify(0, "WATCHDOG=1");
  timer_.expires_after(interval_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) ping();
  });
}

void SystemdNotifier::stopping() {
  timer_.cancel();
  sd_notify(0, "STOPPING=1");
}

}  // namespace deployguard::app
