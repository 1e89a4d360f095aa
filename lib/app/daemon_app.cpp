#include "app/daemon_app.hpp"

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <utility>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "app/logging.hpp"
#include "config/secrets.hpp"

namespace deployguard::app {

namespace {

// Logging must be configured before any component grabs a subsystem logger; this runs first in
// the member-initialiser order of DaemonApp.
std::shared_ptr<spdlog::logger> init_logging(const Config& config, const DaemonOptions& options) {
  configure_logging(config.log, options.log_level);
  return subsystem_logger("app");
}

bool is_metrics_request(const http::Request& request) {
  const auto target = std::string_view(request.target());
  return target.substr(0, target.find('?')) == "/metrics";
}

bool is_webhook_request(const http::Request& request) {
  const auto target = std::string_view(request.target());
  return target.substr(0, target.find('?')) == api::kGitHubWebhookPath;
}

/// Webhook secrets, one per line (rotation). Missing file: a startup error, not silent 401s.
std::vector<std::string> webhook_secrets(const Config& config) {
  if (!config.github || !config.github->webhook_secret_file) return {};
  std::string error;
  auto secrets = config::read_secret_lines(*config.github->webhook_secret_file, error);
  if (!error.empty()) throw std::runtime_error("github.webhook_secret_file: " + error);
  return secrets;
}

// leases: API bearer tokens (server.api_token_file, one per line). Missing or empty file: a
// startup error, not an API that silently accepts or refuses every mutation.
api::TokenAuth api_auth(const ServerConfig& server) {
  if (!server.api_token_file) return {};
  std::string error;
  auto tokens = config::read_secret_lines(*server.api_token_file, error);
  if (!error.empty()) throw std::runtime_error("server.api_token_file: " + error);
  return api::TokenAuth{tokens};
}

std::unique_ptr<Clock> take_clock(DaemonOptions& options) {
  if (options.clock) return std::move(options.clock);
  return std::make_unique<SystemClock>();
}

}  // namespace

http::ServerOptions server_options(const ServerConfig& config) {
  http::ServerOptions options;
  options.host = config.listen.host;
  options.port = config.listen.port;
  options.max_connections = config.max_connections;
  options.max_header_bytes = config.max_header_bytes;
  options.max_body_bytes = config.max_body_bytes;
  options.read_timeout = config.read_timeout;
  options.idle_timeout = config.idle_timeout;
  return options;
}

DaemonApp::DaemonApp(Config config, DaemonOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      log_(init_logging(config_, options_)),
      clock_(take_clock(options_)),
      service_(io_.get_executor(), *clock_, config_.environments),
      api_(service_, api::ApiOptions::from_config(config_.server), &persistence_,  // leases
           api_auth(config_.server)),
      server_(io_.get_executor(),
              [this] {
                auto opts = server_options(config_.server);
                opts.body_limit_for = [this](const http::RequestHeader& header) {
                  return api_.body_limit_for(header);
                };
                opts.on_response = [this](std::string_view target, unsigned status) {
                  if (metrics_) metrics_->record_http(target, status);  // metrics
                };
                return opts;
              }(),
              [this](http::Request&& request, http::Responder responder) {
                if (webhook_ && is_webhook_request(request)) {
                  responder(webhook_->handle(request));
                  return;
                }
                if (metrics_ && is_metrics_request(request)) {
                  responder(metrics_->handle(request));
                  return;
                }
                api_(std::move(request), std::move(responder));
              }),
      signals_(io_, SIGINT, SIGTERM) {
  // upstream pollers and webhooks
  http_client_ = std::make_unique<http::BeastHttpClient>(
      io_, http::BeastHttpClientOptions{config_.http_client,
                                        http::ProxyEnvironment::from_process_environment()});
  pollers_ = std::make_unique<upstream::UpstreamPollers>(io_, config_, *http_client_, sink_, *clock_);
  webhook_ = std::make_unique<WebhookReceiver>(
      service_, config_.environments, webhook_secrets(config_),
      [this](const std::string& env) { pollers_->refresh_now(env, kGitHubSource); });
  metrics_ = std::make_unique<Metrics>(service_, pollers_.get(), webhook_.get());
  remediation_ = std::make_unique<remediation::RemediationService>(
      io_.get_executor(), service_, config_, [this] {
        return remediation::Upstreams{pollers_->arm_api(), pollers_->github_api(),
                                      pollers_->azure_tokens()};
      });
  api_.set_remediation(remediation_.get());
  if (config_.server.webhook_listen)
    log_->warn("event=config_ignored key=server.webhook_listen detail=\"the separate webhook "
               "listener is not implemented yet; expose /webhooks/github of server.listen through "
               "a reverse proxy\"");
}

DaemonApp::~DaemonApp() = default;

void DaemonApp::start() {
  // durable state: a corrupt/unreadable state file stops start-up before anything binds
  persistence_.restore(options_.move_corrupt_state);
  server_.start();
  log_->info("event=listening address={} environments={}", format_endpoint(listen_endpoint()),
             config_.environments.size());
  service_.start();
  persistence_.start();  // durable state: audit log, debounced saves
  pollers_->start();
  systemd_.ready();  // READY=1 once listening, configured and restored; watchdog pings
  wait_for_signal();
}

int DaemonApp::run() {
  io_.run();
  log_->info("event=stopped");
  return 0;
}

void DaemonApp::request_stop() {
  boost::asio::post(io_, [this] { begin_shutdown("request"); });
}

void DaemonApp::wait_for_signal() {
  signals_.async_wait([this](boost::system::error_code ec, int signal) {
    if (ec) return;  // cancelled at the end of shutdown
    if (shutting_down_) {
      log_->warn("event=shutdown_forced signal={}", signal);
      io_.stop();
      return;
    }
    begin_shutdown(signal == SIGTERM ? "SIGTERM" : "SIGINT");
    wait_for_signal();  // a second signal forces the stop
  });
}

void DaemonApp::begin_shutdown(std::string_view cause) {
  if (shutting_down_) return;
  shutting_down_ = true;
  log_->info("event=shutdown cause={} grace={}", cause, format_duration(options_.shutdown_grace));
  systemd_.stopping();
  service_.stop();
  api_.answer_waiters();  // leases: long-poll waiters get the current decision now
  pollers_->stop();
  if (remediation_) remediation_->stop();  // remediation: no more backoff waits
  http_client_->shutdown();
  server_.stop(options_.shutdown_grace, [this] {
    // Nothing else keeps the io_context busy once the signal wait is gone: run() returns.
    persistence_.stop();  // durable state: write pending changes
    signals_.cancel();
  });
}

std::string format_endpoint(const boost::asio::ip::tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  const auto port = std::to_string(endpoint.port());
  if (address.is_v6()) return "[" + address.to_string() + "]:" + port;
  return address.to_string() + ":" + port;
}

bool write_ready_line(int fd, const boost::asio::ip::tcp::endpoint& endpoint) {
  const std::string line = nlohmann::json{{"listen", format_endpoint(endpoint)}}.dump() + "\n";
  std::size_t written = 0;
  bool ok = true;
  while (written < line.size()) {
    const auto n = ::write(fd, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return ok;
}

}  // namespace deployguard::app
