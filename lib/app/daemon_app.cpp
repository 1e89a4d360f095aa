#include "app/daemon_app.hpp"

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <utility>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "log/log.hpp"
#include "config/loader.hpp"
#include "config/secrets.hpp"
#include "service/clock.hpp"

namespace deployguard::app {

namespace {

// Logging must be configured before any component grabs a subsystem logger; this runs first in
// the member-initialiser order of DaemonApp.
std::shared_ptr<spdlog::logger> init_logging(const Config& config, const DaemonOptions& options) {
  logging::configure_logging(options.log_level.value_or(config.log.level), config.log.format);
  return logging::subsystem_logger("app");
}

/// Webhook secrets, one per line (rotation). Missing file: a startup error, not silent 401s.
std::vector<std::string> webhook_secrets(const Config& config) {
  if (!config.github || !config.github->webhook_secret_file) return {};
  std::string error;
  auto secrets = config::read_secret_lines(*config.github->webhook_secret_file, error);
  if (!error.empty()) throw std::runtime_error("github.webhook_secret_file: " + error);
  return secrets;
}

// API tokens: server.api_token_file (one per line, every scope) and server.api_tokens (named,
// scoped). A missing or empty file is a startup (or reload) error, not an API that silently
// accepts or refuses every mutation.
constexpr std::size_t kMinNamedTokenBytes = 16;

api::TokenAuth api_auth(const ServerConfig& server) {
  const api::AuthSettings settings{server.allow_anonymous_mutations, server.protect_reads};
  std::vector<api::NamedToken> tokens;
  if (server.api_token_file) {
    std::string error;
    auto lines = config::read_secret_lines(*server.api_token_file, error);
    if (!error.empty()) throw std::runtime_error("server.api_token_file: " + error);
    tokens = api::unscoped_tokens(std::move(lines));
  }
  for (std::size_t i = 0; i < server.api_tokens.size(); ++i) {
    const auto& named = server.api_tokens[i];
    const std::string where = "server.api_tokens[" + std::to_string(i) + "].file";
    std::string error;
    auto lines = config::read_secret_lines(named.file, error);
    if (!error.empty()) throw std::runtime_error(where + ": " + error);
    if (lines.size() != 1)
      throw std::runtime_error(where + ": expected one token, found " +
                               std::to_string(lines.size()) + " lines");
    if (lines.front().size() < kMinNamedTokenBytes)
      throw std::runtime_error(where + ": the token is shorter than " +
                               std::to_string(kMinNamedTokenBytes) +
                               " characters; generate one with `openssl rand -hex 32`");
    api::NamedToken token{named.name, std::move(lines.front()), {}, named.environments};
    for (const auto& scope : named.scopes)
      if (auto parsed = api::parse_scope(scope)) token.scopes.push_back(*parsed);
    tokens.push_back(std::move(token));
  }
  return api::TokenAuth{std::move(tokens), settings};
}

// Said at start and on each reload, so an open API is never a surprise in the logs.
void warn_if_open(const ServerConfig& server, const api::TokenAuth& auth,
                  const std::shared_ptr<spdlog::logger>& log) {
  if (auth.enabled()) return;
  if (server.allow_anonymous_mutations) {
    log->warn("event=api_open detail=\"server.allow_anonymous_mutations is true and no API token "
              "is configured: anyone who reaches the listener can lease, freeze, stop and "
              "stabilize\"");
  } else {
    log->warn("event=api_mutations_refused detail=\"no API token is configured "
              "(server.api_tokens, server.api_token_file): every mutating route answers 403 "
              "auth_not_configured\"");
  }
}

/// TLS files of a listener, relative names looked up in $CREDENTIALS_DIRECTORY first.
http::TlsFiles tls_files(const std::string& cert_file, const std::string& key_file) {
  return http::TlsFiles{config::resolve_secret_path(cert_file), config::resolve_secret_path(key_file)};
}

// Both listeners: the API's per-route body limits, and every answer counted in the metrics
// (built in the constructor body, after the listeners, hence the check at call time).
http::ServerOptions with_request_hooks(http::ServerOptions options, const api::Api& api,
                                       const std::unique_ptr<Metrics>& metrics) {
  options.body_limit_for = [&api](const http::RequestHeader& header) {
    return api.body_limit_for(header);
  };
  options.on_response = [&metrics](std::string_view target, unsigned status) {
    if (metrics) metrics->record_http(target, status);
  };
  return options;
}

// The API's limits, and every authorization counted in the metrics (built after the API).
api::ApiOptions api_options(const ServerConfig& server, const std::unique_ptr<Metrics>& metrics) {
  auto options = api::ApiOptions::from_config(server);
  options.on_auth = [&metrics](const api::Route& route, const api::AuthResult& auth) {
    if (metrics) metrics->record_auth(route.pattern, auth.actor, api::to_string(auth.outcome));
  };
  options.on_override = [&metrics](const std::string& environment, std::string_view event) {
    if (metrics) metrics->record_override(environment, event);
  };
  return options;
}

std::unique_ptr<Clock> take_clock(DaemonOptions& options) {
  if (options.clock) return std::move(options.clock);
  return std::make_unique<service::SystemClock>();
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
  options.max_connections_per_client = config.max_connections_per_client;
  if (auto proxies = parse_cidrs(config.trusted_proxies); !proxies.empty()) {
    options.exempt_from_client_limit = [proxies](const boost::asio::ip::address& peer) {
      return contains_any(proxies, peer.to_string());
    };
  }
  // Throws std::runtime_error (file + OpenSSL reason) when the certificate cannot be loaded.
  if (config.tls) options.tls = tls_files(config.tls->cert_file, config.tls->key_file);
  return options;
}

DaemonApp::DaemonApp(Config config, DaemonOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      log_(init_logging(config_, options_)),
      clock_(take_clock(options_)),
      service_(io_.get_executor(), *clock_, config_.environments),
      api_(service_, api_options(config_.server, metrics_), &persistence_,  // leases
           api_auth(config_.server)),
      server_(io_.get_executor(),
              with_request_hooks(server_options(config_.server), api_, metrics_),
              [this](http::Request&& request, http::Responder responder) {
                api_(std::move(request), std::move(responder));
              }),
      signals_(io_, SIGINT, SIGTERM),
      hangup_(io_, SIGHUP) {
  // upstream pollers and webhooks
  http_client_ = std::make_unique<http::BeastHttpClient>(
      io_, http::BeastHttpClientOptions{config_.http_client,
                                        http::ProxyEnvironment::from_process_environment()});
  pollers_ = std::make_unique<upstream::UpstreamPollers>(io_, config_, *http_client_, sink_, *clock_);
  // Notifications: every audit record reaches the notifier; a sink's unreadable url_file or
  // secret_file stops start-up here.
  notifier_ = std::make_unique<notify::Notifier>(
      io_.get_executor(), *http_client_, *clock_,
      [this](const std::string& env) { return service_.decide(env); },
      notify::NotifierOptions::from_config(config_.http_client));
  notifier_->configure(notify::load_sinks(config_.notify));
  persistence_.add_audit_observer(
      [this](const state::AuditRecord& record) { notifier_->observe(record); });
  webhook_ = std::make_unique<WebhookReceiver>(
      service_, config_.environments, webhook_secrets(config_),
      [this](const std::string& env) { pollers_->refresh_now(env, kGitHubSource); });
  // Delivery ids go into the state file (debounced; see persistence.hpp), so a replay after a
  // restart is still a duplicate.
  persistence_.keep_delivery_ids(
      [this] { return webhook_->delivery_ids(); },
      [this](std::vector<std::string> ids) { webhook_->restore_delivery_ids(ids); });
  webhook_->set_delivery_listener([this] { persistence_.delivery_ids_changed(); });
  metrics_ = std::make_unique<Metrics>(service_, pollers_.get(), webhook_.get());
  service_.add_listener([this](const service::StateChange& change) {
    for (const auto& end : change.overrides) metrics_->record_override(change.environment, to_string(end.why));
  });
  api_.set_handler(api::RouteId::webhook,
                   [this](const http::Request& request) { return webhook_->handle(request); });
  api_.set_handler(api::RouteId::metrics,
                   [this](const http::Request& request) { return metrics_->handle(request); });
  remediation_ = std::make_unique<remediation::RemediationService>(
      io_.get_executor(), service_, config_, [this] {
        return remediation::Upstreams{pollers_->arm_api(), pollers_->github_api(),
                                      pollers_->azure_tokens()};
      });
  api_.set_remediation(remediation_.get());
  metrics_->set_reload_counts(&reload_counts_);
  metrics_->set_notifier(notifier_.get());
  if (config_.server.webhook_listen) {
    // The public-facing listener: same limits as the API listener, the webhook body limit for
    // the webhook route, and nothing but that route (the API stays on server.listen).
    auto opts = with_request_hooks(server_options(config_.server), api_, metrics_);
    opts.host = config_.server.webhook_listen->host;
    opts.port = config_.server.webhook_listen->port;
    // Relative names are looked up in $CREDENTIALS_DIRECTORY first, like every secret file
    // (systemd LoadCredential= hands the key to the service without making it world-readable).
    // Without its own certificate the webhook listener uses the API listener's (server.tls).
    if (config_.server.cert_file && config_.server.key_file)
      opts.tls = tls_files(*config_.server.cert_file, *config_.server.key_file);
    // Throws std::runtime_error (file + OpenSSL reason) when the certificate cannot be loaded.
    webhook_server_ = std::make_unique<http::Server>(io_.get_executor(), std::move(opts),
                                                     api_.webhook_listener_handler());
  }
}

DaemonApp::~DaemonApp() = default;

void DaemonApp::start() {
  // A corrupt/unreadable state file stops start-up before anything binds
  persistence_.restore(options_.move_corrupt_state);
  server_.start();
  log_->info("event=listening address={} environments={} tls={}", format_endpoint(listen_endpoint()),
             config_.environments.size(), server_.tls());
  warn_if_open(config_.server, api_.auth(), log_);
  if (webhook_server_) {
    webhook_server_->start();
    log_->info("event=listening_webhook address={} tls={}",
               format_endpoint(webhook_server_->local_endpoint()), webhook_server_->tls());
  }
  service_.start();
  persistence_.start();  // audit log, debounced saves
  pollers_->start();
  systemd_.ready();  // READY=1 once listening, configured and restored; watchdog pings
  wait_for_signal();
  wait_for_hangup();
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

void DaemonApp::wait_for_hangup() {
  hangup_.async_wait([this](boost::system::error_code ec, int) {
    if (ec || shutting_down_) return;
    log_->info("event=sighup");
    reload();
    wait_for_hangup();
  });
}

ReloadResult DaemonApp::reload() {
  // Whatever happens to the config: logrotate moved the audit log, certbot renewed the webhook
  // listener's certificate (same paths; a failed load keeps the old certificate).
  persistence_.reopen_audit_log();
  reload_tls();
  if (!options_.config_path) {
    log_->warn("event=config_reload_skipped reason=\"started without a config file path\"");
    return reload(config_);
  }
  auto loaded = config::load_config_file(*options_.config_path);
  if (!loaded.ok()) {
    ReloadResult result;
    for (const auto& error : loaded.errors) {
      result.errors.push_back(error.to_string());
      log_->error("event=config_error file={} error=\"{}\"", *options_.config_path,
                  error.to_string());
    }
    ++reload_counts_["failed"];
    log_->error("event=config_reload_failed file={} errors={} detail=\"the running configuration "
                "stays\"",
                *options_.config_path, result.errors.size());
    return result;
  }
  return reload(std::move(*loaded.config));
}

ReloadResult DaemonApp::reload(Config next) {
  ReloadResult result;
  // Settings the running components were built with; changing them needs a restart. The
  // running values are kept (in config_ too, so config() describes what is in effect).
  const auto note = [&](bool changed, const char* key) {
    if (changed) result.restart_required.push_back(key);
  };
  const auto& now_server = config_.server;
  const auto& next_server = next.server;
  note(now_server.listen != next_server.listen, "server.listen");
  note(now_server.webhook_listen != next_server.webhook_listen, "server.webhook_listen");
  note(now_server.cert_file != next_server.cert_file || now_server.key_file != next_server.key_file,
       "server.cert_file/key_file");
  {
    // Every other server key is a limit the listeners and the API were built with; comparing
    // the rest of the struct keeps a key added later from being "reloaded" silently.
    ServerConfig limits = next_server;
    limits.listen = now_server.listen;
    limits.webhook_listen = now_server.webhook_listen;
    limits.cert_file = now_server.cert_file;
    limits.key_file = now_server.key_file;
    // Reloaded: who may call what.
    limits.api_token_file = now_server.api_token_file;
    limits.api_tokens = now_server.api_tokens;
    limits.allow_anonymous_mutations = now_server.allow_anonymous_mutations;
    limits.protect_reads = now_server.protect_reads;
    note(limits.tls != now_server.tls, "server.tls");
    limits.tls = now_server.tls;
    note(limits != now_server, "server limits");
  }
  note(config_.state != next.state, "state");
  note(config_.http_client != next.http_client, "http_client");
  {
    ServerConfig reloaded = config_.server;
    reloaded.api_token_file = next.server.api_token_file;
    reloaded.api_tokens = next.server.api_tokens;
    reloaded.allow_anonymous_mutations = next.server.allow_anonymous_mutations;
    reloaded.protect_reads = next.server.protect_reads;
    next.server = std::move(reloaded);
    next.state = config_.state;
    next.http_client = config_.http_client;
  }

  // 1. Everything that can fail, before anything changes.
  std::vector<std::string> secrets;
  api::TokenAuth auth;
  std::unique_ptr<upstream::UpstreamPollers> pollers;
  std::vector<notify::SinkSettings> sinks;
  const bool upstream_changed = [&] {
    if (config_.github != next.github || config_.azure != next.azure) return true;
    if (config_.environments.size() != next.environments.size()) return true;
    for (const auto& [name, env] : next.environments) {
      auto it = config_.environments.find(name);
      if (it == config_.environments.end() || !service::same_sources(it->second, env)) return true;
    }
    return false;
  }();
  try {
    secrets = webhook_secrets(next);
    auth = api_auth(next.server);
    sinks = notify::load_sinks(next.notify);
    if (upstream_changed) {
      // GitHub sources whose API, token and target stay keep their ETags and workflow ids: their
      // next poll is a 304 that costs no rate limit, not a full listing.
      upstream::UpstreamOptions upstream_options;
      upstream_options.github_states = pollers_->github_states();
      pollers = std::make_unique<upstream::UpstreamPollers>(io_, next, *http_client_, sink_,
                                                            *clock_, std::move(upstream_options));
    }
    if (config_.log != next.log) {
      logging::configure_logging(options_.log_level.value_or(next.log.level), next.log.format);
    }
  } catch (const std::exception& e) {
    result.errors.push_back(e.what());
    ++reload_counts_["failed"];
    log_->error("event=config_reload_failed error=\"{}\" detail=\"the running configuration "
                "stays\"",
                e.what());
    return result;
  }

  // 2. Apply. Nothing below throws on a valid config.
  result.environments = service_.reconfigure(next.environments);
  for (const auto& name : result.environments.removed) api_.wake_waiters(name);  // -> 404
  warn_if_open(next.server, auth, log_);
  api_.set_auth(std::move(auth));
  // Reconfigured, not rebuilt: a delivery GitHub redelivers after the reload stays a duplicate.
  webhook_->reconfigure(next.environments, std::move(secrets));
  notifier_->configure(std::move(sinks));  // unchanged sinks keep their queues and windows
  if (pollers) {
    pollers_->stop();
    pollers_ = std::move(pollers);
    pollers_->start();
    result.pollers_rebuilt = true;
  }
  metrics_->set_sources(pollers_.get(), webhook_.get());
  config_ = std::move(next);
  result.ok = true;
  ++reload_counts_["ok"];

  const auto join = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
    return out.empty() ? std::string("-") : out;
  };
  const auto& summary = result.environments;
  log_->info("event=config_reloaded added={} removed={} rules_changed={} sources_changed={} "
             "unchanged={} pollers_rebuilt={}",
             join(summary.added), join(summary.removed), join(summary.rules_changed),
             join(summary.sources_changed), summary.unchanged, result.pollers_rebuilt);
  if (!result.restart_required.empty()) {
    log_->warn("event=config_restart_required keys={} detail=\"these changes take effect after a "
               "restart; the running values stay\"",
               join(result.restart_required));
  }
  return result;
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
  notifier_->stop();  // pending notifications are dropped (counted, logged)
  http_client_->shutdown();
  // Both listeners drain in parallel; the final steps run once the last one has stopped.
  auto listeners_left = std::make_shared<int>(webhook_server_ ? 2 : 1);
  auto on_listener_stopped = [this, listeners_left] {
    if (--*listeners_left > 0) return;
    // Nothing else keeps the io_context busy once the signal wait is gone: run() returns.
    persistence_.stop();  // write pending changes
    signals_.cancel();
    hangup_.cancel();
  };
  if (webhook_server_) webhook_server_->stop(options_.shutdown_grace, on_listener_stopped);
  server_.stop(options_.shutdown_grace, on_listener_stopped);
}

std::optional<boost::asio::ip::tcp::endpoint> DaemonApp::webhook_endpoint() const {
  if (!webhook_server_) return std::nullopt;
  return webhook_server_->local_endpoint();
}

bool DaemonApp::reload_tls() {
  bool ok = true;
  const auto reload_one = [&](http::Server& server, std::string_view listener) {
    if (!server.tls()) return;
    if (auto error = server.reload_tls()) {
      log_->error("event=tls_reload_failed listener={} error=\"{}\" detail=\"the previous "
                  "certificate stays in use\"",
                  listener, *error);
      ok = false;
      return;
    }
    log_->info("event=tls_reloaded listener={}", listener);
  };
  reload_one(server_, "listen");
  if (webhook_server_) reload_one(*webhook_server_, "webhook_listen");
  return ok;
}

std::string format_endpoint(const boost::asio::ip::tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  const auto port = std::to_string(endpoint.port());
  if (address.is_v6()) return "[" + address.to_string() + "]:" + port;
  return address.to_string() + ":" + port;
}

bool write_ready_line(int fd, const boost::asio::ip::tcp::endpoint& endpoint,
                      const std::optional<boost::asio::ip::tcp::endpoint>& webhook) {
  nlohmann::ordered_json ready{{"listen", format_endpoint(endpoint)}};
  if (webhook) ready["webhook_listen"] = format_endpoint(*webhook);
  const std::string line = ready.dump() + "\n";
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
