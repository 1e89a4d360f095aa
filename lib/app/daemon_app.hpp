#pragma once
// DaemonApp: builds the daemon from a validated Config, in order, and runs it on ONE io thread
// until SIGINT/SIGTERM:
//   1. logging (configure_logging)
//   2. GuardService: one EnvironmentPolicy per environment, deadline timer
//   3. Api + http::Server on server.listen
//   4. (later) pollers, webhook listener, state store, metrics - see "extension points" below
// Shutdown (first SIGINT/SIGTERM or request_stop()): stop the guard's timer, stop accepting, let
// requests in flight finish for up to `shutdown_grace`, then run() returns 0. A second signal
// stops at once.
//
// Extension points, in the order start() should grow them:
//   * durable state: restore each policy with service().modify(env, p.restore(...)) before
//     service().start(), and persist from a service().add_listener() callback;
//   * pollers: construct them after the service with io_context() and a reference to
//     service(); they call service().apply(env, event) on the io thread; stop them in
//     begin_shutdown() before the server;
//   * webhook route / lease & freeze routes: add to api::Api (api.cpp) - they use
//     service().apply()/modify();
//   * metrics: read service() from a route or a listener.
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/logger.h>

#include "api/api.hpp"
#include "app/guard_service.hpp"
#include "app/persistence.hpp"  // durable state
#include "app/guard_sink.hpp"
#include "app/metrics.hpp"
#include "app/systemd_notify.hpp"
#include "app/webhook_receiver.hpp"
#include "http/client/beast_http_client.hpp"
#include "upstream/upstream_pollers.hpp"
#include "remediation/remediation.hpp"
#include "core/config.hpp"
#include "core/time.hpp"
#include "http/server/server.hpp"

namespace deployguard::app {

struct DaemonOptions {
  std::optional<std::string> log_level;  // --log-level, overrides config.log.level
  Duration shutdown_grace = std::chrono::seconds{10};
  std::unique_ptr<Clock> clock;          // default SystemClock
  // durable state: --move-corrupt-state (a corrupt state file is renamed aside instead of
  // stopping start-up)
  bool move_corrupt_state = false;
};

/// Maps ServerConfig to the HTTP server's options (limits, timeouts, listen address).
http::ServerOptions server_options(const ServerConfig& config);

class DaemonApp {
 public:
  /// Configures logging and builds every component; binds nothing yet. Throws
  /// std::invalid_argument for a bad log level/format.
  explicit DaemonApp(Config config, DaemonOptions options = {});
  ~DaemonApp();
  DaemonApp(const DaemonApp&) = delete;
  DaemonApp& operator=(const DaemonApp&) = delete;

  /// Binds the listener (throws boost::system::system_error, e.g. address in use), starts the
  /// guard and installs the signal handlers. Logs the bound address.
  void start();
  /// The bound HTTP address (after start()).
  boost::asio::ip::tcp::endpoint listen_endpoint() const { return server_.local_endpoint(); }
  /// Runs the io thread until shutdown completes. Returns the process exit code (0).
  int run();
  /// Starts the graceful shutdown. Thread-safe (posts to the io thread).
  void request_stop();

  boost::asio::io_context& io_context() { return io_; }
  GuardService& service() { return service_; }
  upstream::UpstreamPollers& pollers() { return *pollers_; }
  const Config& config() const { return config_; }

 private:
  void wait_for_signal();
  void begin_shutdown(std::string_view cause);

  Config config_;
  DaemonOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  boost::asio::io_context io_{1};
  std::unique_ptr<Clock> clock_;
  GuardService service_;
  // durable state: state file + audit log; restored in start() before the service starts
  Persistence persistence_{io_.get_executor(), service_,
                           PersistenceOptions::from_config(config_.state)};
  api::Api api_;
  http::Server server_;
  boost::asio::signal_set signals_;
  bool shutting_down_ = false;
  // upstream pollers and webhooks (built in the constructor body, after the service)
  GuardEventSink sink_{service_};
  std::unique_ptr<http::BeastHttpClient> http_client_;
  std::unique_ptr<upstream::UpstreamPollers> pollers_;
  std::unique_ptr<WebhookReceiver> webhook_;
  std::unique_ptr<Metrics> metrics_;
  // remediation (stabilize, emergency stop): uses the pollers' current upstream adapters
  std::unique_ptr<remediation::RemediationService> remediation_;
  SystemdNotifier systemd_{io_};
};

/// "127.0.0.1:8080" or "[::1]:8080".
std::string format_endpoint(const boost::asio::ip::tcp::endpoint& endpoint);

/// Writes `{"listen":"HOST:PORT"}\n` to `fd` and closes it (the --ready-fd protocol). Returns
/// false if the write failed (the fd is closed anyway).
bool write_ready_line(int fd, const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace deployguard::app
