#pragma once
// DaemonApp: the composition root. Builds every layer from a validated Config, in order
// (logging, clock, GuardService, Persistence, Api and the API listener, HTTP client, pollers,
// webhook receiver, metrics, remediation, the optional webhook-only listener), and runs them on
// ONE io thread until SIGINT/SIGTERM; SIGHUP reloads the configuration file. The order of
// start-up, reload and shutdown is described in docs/architecture.md.
// Shutdown (first SIGINT/SIGTERM or request_stop()): stop the guard's timer and the pollers,
// answer the long-poll waiters, let requests in flight finish for up to `shutdown_grace`, save
// the state, then run() returns 0. A second signal stops at once.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/logger.h>

#include "api/api.hpp"
#include "service/guard_service.hpp"
#include "service/persistence.hpp"
#include "app/guard_sink.hpp"
#include "app/metrics.hpp"
#include "app/systemd_notify.hpp"
#include "app/webhook_receiver.hpp"
#include "http/client/beast_http_client.hpp"
#include "notify/notifier.hpp"
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
  // --move-corrupt-state: a corrupt state file is renamed aside instead of stopping start-up
  bool move_corrupt_state = false;
  /// The file the config came from; SIGHUP re-reads it (unset: SIGHUP only reopens the audit
  /// log and reloads the TLS certificate).
  std::optional<std::string> config_path;
};

/// What one config reload did (DaemonApp::reload).
struct ReloadResult {
  bool ok = false;                  // the new config was applied (possibly partly, see below)
  std::vector<std::string> errors;  // why it was rejected; nothing was changed then
  service::ReconfigureSummary environments;
  bool pollers_rebuilt = false;
  /// Changed keys that only take effect after a restart (listen addresses, limits, state path,
  /// HTTP client settings); the running values stay.
  std::vector<std::string> restart_required;
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
  /// The bound address of the webhook-only listener (server.webhook_listen), after start();
  /// nullopt when it is not configured.
  std::optional<boost::asio::ip::tcp::endpoint> webhook_endpoint() const;
  /// Re-reads server.cert_file/key_file for the webhook listener (called on SIGHUP). New
  /// connections get the new certificate; on failure the old one stays in use. Logs
  /// event=tls_reloaded or event=tls_reload_failed. Returns false only on failure (true when
  /// there is no TLS listener). Io thread only.
  bool reload_tls();
  /// Runs the io thread until shutdown completes. Returns the process exit code (0).
  int run();
  /// Starts the graceful shutdown. Thread-safe (posts to the io thread).
  void request_stop();

  /// SIGHUP: re-reads options.config_path, validates it completely and applies it (see
  /// ReloadResult); an invalid file is logged with every error and the running config stays.
  /// Also reopens the audit log (logrotate). Io thread only.
  ReloadResult reload();
  /// Applies an already validated config (the part of reload() after reading the file).
  ReloadResult reload(Config next);
  /// Reloads counted by outcome ("ok", "failed"), for metrics and tests.
  const std::map<std::string, std::uint64_t>& reload_counts() const { return reload_counts_; }

  boost::asio::io_context& io_context() { return io_; }
  service::GuardService& service() { return service_; }
  upstream::UpstreamPollers& pollers() { return *pollers_; }
  const Config& config() const { return config_; }

 private:
  void wait_for_signal();
  void wait_for_hangup();
  void begin_shutdown(std::string_view cause);

  Config config_;
  DaemonOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  boost::asio::io_context io_{1};
  std::unique_ptr<Clock> clock_;
  service::GuardService service_;
  // State file + audit log; restored in start() before the service starts
  service::Persistence persistence_{io_.get_executor(), service_,
                           service::PersistenceOptions::from_config(config_.state)};
  api::Api api_;
  http::Server server_;
  boost::asio::signal_set signals_;
  boost::asio::signal_set hangup_;  // SIGHUP: reload
  std::map<std::string, std::uint64_t> reload_counts_;
  bool shutting_down_ = false;
  // upstream pollers and webhooks (built in the constructor body, after the service)
  GuardEventSink sink_{service_};
  std::unique_ptr<http::BeastHttpClient> http_client_;
  // notify[]: audit-trail events posted to webhooks (observes persistence_)
  std::unique_ptr<notify::Notifier> notifier_;
  std::unique_ptr<upstream::UpstreamPollers> pollers_;
  std::unique_ptr<WebhookReceiver> webhook_;
  // server.webhook_listen: serves only /webhooks/github, TLS when cert_file/key_file are set
  std::unique_ptr<http::Server> webhook_server_;
  std::unique_ptr<Metrics> metrics_;
  // remediation (stabilize, emergency stop): uses the pollers' current upstream adapters
  std::unique_ptr<remediation::RemediationService> remediation_;
  SystemdNotifier systemd_{io_};
};

/// "127.0.0.1:8080" or "[::1]:8080".
std::string format_endpoint(const boost::asio::ip::tcp::endpoint& endpoint);

/// Writes `{"listen":"HOST:PORT"}\n` (plus `"webhook_listen":"HOST:PORT"` when `webhook` is set)
/// to `fd` and closes it (the --ready-fd protocol). Returns false if the write failed (the fd is
/// closed anyway).
bool write_ready_line(int fd, const boost::asio::ip::tcp::endpoint& endpoint,
                      const std::optional<boost::asio::ip::tcp::endpoint>& webhook = std::nullopt);

}  // namespace deployguard::app
