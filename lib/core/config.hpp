#pragma once
// Configuration values after parsing and validation (lib/config turns YAML into these).
// Plain data: no YAML, no I/O. Secrets are never stored here, only where to read them from.
// Every struct compares with ==: a configuration reload (SIGHUP) decides by comparison what changed.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/queue.hpp"
#include "core/time.hpp"

namespace deployguard {

struct ListenAddress {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 = pick a free port

  bool operator==(const ListenAddress&) const = default;
};

/// One named API token (server.api_tokens[]): what its holder may do, and where.
struct ApiTokenConfig {
  std::string name;                       // in the audit log and metrics, never the token
  std::string file;                       // the token itself (first non-blank line)
  std::vector<std::string> scopes;        // deploy, operate, read
  std::vector<std::string> environments;  // empty: every environment

  bool operator==(const ApiTokenConfig&) const = default;
};

/// PEM files for a TLS listener.
struct TlsConfig {
  std::string cert_file;
  std::string key_file;

  bool operator==(const TlsConfig&) const = default;
};

struct ServerConfig {
  ListenAddress listen;
  std::optional<std::string> api_token_file;  // tokens with every scope, one per line
  std::vector<ApiTokenConfig> api_tokens;
  // Without any token, mutating routes answer 403 auth_not_configured unless this is set.
  bool allow_anonymous_mutations = false;
  bool protect_reads = false;  // reads need a token with scope `read` too
  std::optional<TlsConfig> tls;                 // TLS for the API listener
  std::optional<ListenAddress> webhook_listen;  // second listener serving only the webhook route
  std::optional<std::string> cert_file;          // TLS for the webhook listener (else `tls`)
  std::optional<std::string> key_file;
  // Per client address (the peer, or X-Forwarded-For's client behind a trusted proxy): well
  // below the global limits so one client cannot take every slot.
  std::size_t max_connections_per_client = 1000;
  std::size_t max_waiters_per_client = 500;
  std::vector<std::string> trusted_proxies;  // CIDRs whose X-Forwarded-For names the client
  // Every long-poll waiter holds a connection: max_waiters of them plus 10,000 for everyone else
  // (tests/unit/config: DefaultLimitsHoldTenThousandWaitersAndRoomForOtherClients).
  std::size_t max_connections = 30000;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_webhook_body_bytes = 5 * 1024 * 1024;
  Duration read_timeout = std::chrono::seconds{10};  // whole request must arrive within this
  Duration idle_timeout = std::chrono::seconds{60};  // keep-alive connection with no request
  Duration max_wait = std::chrono::minutes{30};      // cap for /can-deploy?wait=
  std::size_t max_waiters = 20000;
  Duration max_lease_ttl = std::chrono::hours{2};

  bool operator==(const ServerConfig&) const = default;
};

struct StateConfig {
  std::string path = "/var/lib/deployguard/state.json";
  std::optional<std::string> audit_log_path;  // default: <state dir>/audit.jsonl

  bool operator==(const StateConfig&) const = default;
};

struct LogConfig {
  std::string level = "info";   // trace, debug, info, warn, error
  std::string format = "text";  // text, json

  bool operator==(const LogConfig&) const = default;
};

struct GitHubConfig {
  std::string api_url = "https://api.github.com";
  std::optional<std::string> token_file;
  std::optional<std::string> token_env;
  std::optional<std::string> webhook_secret_file;
  Duration poll_interval = std::chrono::seconds{30};
  std::vector<std::string> busy_patterns = {"ServerIsBusy", "ServerBusy",
                                            "is busy processing another operation"};
  std::size_t max_log_bytes = 2 * 1024 * 1024;

  bool operator==(const GitHubConfig&) const = default;
};

struct AzureAuthConfig {
  std::string method = "client_secret";  // client_secret, workload_identity, managed_identity, token_file
  std::string tenant_id;
  std::string client_id;
  std::optional<std::string> client_secret_file;
  std::optional<std::string> client_secret_env;
  std::optional<std::string> federated_token_file;
  std::optional<std::string> token_file;
  std::string authority_url = "https://login.microsoftonline.com";

  bool operator==(const AzureAuthConfig&) const = default;
};

struct AzureApiVersions {
  std::string container_apps = "2025-07-01";
  std::string postgres = "2024-08-01";

  bool operator==(const AzureApiVersions&) const = default;
};

struct AzureConfig {
  std::string arm_url = "https://management.azure.com";
  std::string subscription_id;
  AzureAuthConfig auth;
  Duration poll_interval = std::chrono::seconds{60};
  AzureApiVersions api_versions;

  bool operator==(const AzureConfig&) const = default;
};

struct HttpClientConfig {
  std::optional<std::string> ca_file;
  Duration connect_timeout = std::chrono::seconds{5};
  Duration request_timeout = std::chrono::seconds{20};
  std::size_t max_response_bytes = 8 * 1024 * 1024;
  Duration max_backoff = std::chrono::seconds{30};

  bool operator==(const HttpClientConfig&) const = default;
};

struct GitHubTarget {
  std::string repo;                    // "owner/name"
  std::vector<std::string> workflows;  // file name, path or display name
  std::optional<std::string> branch;

  bool operator==(const GitHubTarget&) const = default;
};

struct AzureResourceRef {
  std::string resource_group;
  std::string name;

  bool operator==(const AzureResourceRef&) const = default;
};

struct BusyBackoff {
  Duration initial = std::chrono::minutes{2};
  Duration max = std::chrono::minutes{30};

  bool operator==(const BusyBackoff&) const = default;
};

/// One freeze window (freeze_windows[]): recurring (`cron` + `duration`) or one-off
/// (`from` + `until`), in `time_zone`. Validated by FreezeWindow::make (core/freeze_window.hpp).
struct FreezeWindowConfig {
  std::string name;
  std::optional<std::string> cron;   // 5-field cron: when each occurrence starts (local time)
  Duration duration{};               // with cron: how long each occurrence lasts
  std::optional<std::string> from;   // one-off: local date-time "2026-12-24T00:00[:00]"
  std::optional<std::string> until;  // one-off: local date-time, after `from`
  std::string time_zone = "UTC";     // IANA name ("Europe/Berlin")

  bool operator==(const FreezeWindowConfig&) const = default;
};

struct EnvironmentConfig {
  std::string name;
  std::optional<GitHubTarget> github;
  std::optional<AzureResourceRef> container_app;
  std::vector<AzureResourceRef> postgres_servers;
  Duration min_interval = std::chrono::minutes{14};
  Duration cooldown = std::chrono::minutes{2};
  BusyBackoff busy_backoff;
  int max_active_revisions = 1;
  Duration stale_after = std::chrono::minutes{5};
  // Every key the environment does not set is the top-level Config::queue's (the loader copies
  // them), so this always holds the settings in effect.
  QueueSettings queue;
  // The top-level freeze_windows (those this environment does not redefine by name) followed by
  // the environment's own; the loader merges them, so this is every window that applies.
  std::vector<FreezeWindowConfig> freeze_windows;

  bool operator==(const EnvironmentConfig&) const = default;
};

/// One notification sink (notify[]): where events go, in which format, which of them.
struct NotifyConfig {
  std::string name;                        // in logs and metrics, never the URL
  std::string url_file;                    // the webhook URL (itself a secret for Slack/Teams)
  std::string format = "json";             // slack, teams, json
  std::vector<std::string> events;         // categories; empty: every category
  std::vector<std::string> environments;   // empty: every environment
  Duration min_interval_between = std::chrono::seconds{30};  // coalescing window
  std::optional<std::string> secret_file;  // json only: HMAC-SHA256 key for the signature header

  bool operator==(const NotifyConfig&) const = default;
};

struct Config {
  ServerConfig server;
  StateConfig state;
  LogConfig log;
  std::optional<GitHubConfig> github;
  std::optional<AzureConfig> azure;
  HttpClientConfig http_client;
  QueueSettings queue;  // defaults for every environment's queue, key by key
  std::vector<FreezeWindowConfig> freeze_windows;  // apply to every environment
  std::map<std::string, EnvironmentConfig> environments;  // keyed and ordered by name
  std::vector<NotifyConfig> notify;

  bool operator==(const Config&) const = default;
};

}  // namespace deployguard
