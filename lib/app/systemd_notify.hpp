#pragma once
// systemd readiness and watchdog (Type=notify). Without $NOTIFY_SOCKET every call is a no-op,
// so the same binary runs under systemd, in a container or from a shell.
// Thread: io thread only.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace deployguard::app {

class SystemdNotifier {
 public:
  explicit SystemdNotifier(boost::asio::io_context& io) : timer_(io) {}

  /// READY=1 and, when WatchdogSec= is set, starts sending WATCHDOG=1 from the event loop at
  /// half the watchdog interval: a hung loop stops the pings and systemd restarts the service.
  void ready();
  /// STOPPING=1 and stops the watchdog pings.
  void stopping();

 private:
  void ping();

  boost::asio::steady_timer timer_;
  std::chrono::microseconds interval_{0};
};

}  // namespace deployguard::app
