#include "config/schema.hpp"

#include <map>

namespace deployguard::config::schema {
namespace {

EnvironmentConfig& env(Config& c, const Scope& s) { return c.environments.at(s.environment); }
GitHubConfig& gh(Config& c) { return c.github.value(); }
AzureConfig& az(Config& c) { return c.azure.value(); }

// A captureless lambda returning the address of one field; `c` is the Config being filled and
// `s` says which environment / list element. Keeps each table row on a few lines.
#define DG_SLOT(field) [](Config & c, [[maybe_unused]] const Scope& s) -> Slot { return &(field); }
#define DG_ENTER(stmt) [](Config & c, [[maybe_unused]] const Scope& s) { stmt; }

constexpr std::int64_t kSecond = 1000;
constexpr std::int64_t kMillisecond = 1;
constexpr std::int64_t kHour = 3600 * kSecond;

// The deploy queue's keys, top-level and per environment. One place for their bounds so the
// two rows of each key cannot drift apart (ConfigSchema.RowsAreConsistent checks it as well).
constexpr std::string_view kQueueOrders = "fifo|newest_first";
constexpr std::int64_t kMinTicketTtl = kSecond;
constexpr std::int64_t kMaxTicketTtl = kHour;
constexpr std::int64_t kMinQueueLength = 1;
constexpr std::int64_t kMaxQueueLength = 10000;

// The freeze window keys' texts, shared by the top-level and the environment rows.
constexpr std::string_view kCronText =
    "A recurring window: when each occurrence starts, as a standard 5-field cron expression "
    "(minute hour day-of-month month day-of-week, e.g. `0 20 * * 1-5`) in `time_zone`. A start "
    "in a skipped DST hour begins when the gap ends; one in a repeated hour happens once.";
constexpr std::string_view kFromText =
    "A one-off window's start, a local date-time in `time_zone` (`2026-12-24T00:00:00`, "
    "seconds optional, no offset).";
constexpr std::string_view kZoneText =
    "IANA time zone of `cron` or `from`/`until` (`Europe/Berlin`), from the system's tz "
    "database (package `tzdata`).";

const Key kKeys[] = {
    // ---- server --------------------------------------------------------------------------
    {.path = "server",
     .kind = Kind::Section,
     .description = "The HTTP API listener and its limits."},
    {.path = "server.listen",
     .kind = Kind::Listen,
     .description = "Address of the API listener. Port 0 picks a free port; IPv6 as `[::1]:8080`.",
     .slot = DG_SLOT(c.server.listen)},
    {.path = "server.api_token_file",
     .kind = Kind::Path,
     .description = "File with the bearer tokens API clients must present, one per line (blank "
                    "lines ignored). A relative path is looked up in `$CREDENTIALS_DIRECTORY` "
                    "first (systemd `LoadCredential=`).",
     .slot = DG_SLOT(c.server.api_token_file)},
    {.path = "server.api_tokens",
     .kind = Kind::SectionList,
     .description = "Named API tokens, each allowed only some scopes and environments. A "
                    "token outside its scopes or environments gets `403`. The audit log and "
                    "metrics name the token, never its value. Re-read on SIGHUP.",
     .enter = DG_ENTER(if (c.server.api_tokens.size() <= s.index) c.server.api_tokens.resize(
                           s.index + 1))},
    {.path = "server.api_tokens[].name",
     .kind = Kind::Identifier,
     .description = "Name of the token in the audit log, metrics and logs. Unique.",
     .required = true,
     .slot = DG_SLOT(c.server.api_tokens.at(s.index).name)},
    {.path = "server.api_tokens[].file",
     .kind = Kind::Path,
     .description = "File holding the token (its first non-blank line, at least 16 characters). "
                    "A relative path is looked up in `$CREDENTIALS_DIRECTORY` first.",
     .required = true,
     .slot = DG_SLOT(c.server.api_tokens.at(s.index).file)},
    {.path = "server.api_tokens[].scopes",
     .kind = Kind::StringList,
     .description = "What the token may do: `deploy` (lease, queue, busy reports), `operate` "
                    "(freeze, unfreeze, stop, stabilize), `read` (status, can-deploy, metrics; "
                    "needed only with `protect_reads`).",
     .required = true,
     .minimum = 1,
     .slot = DG_SLOT(c.server.api_tokens.at(s.index).scopes)},
    {.path = "server.api_tokens[].environments",
     .kind = Kind::StringList,
     .description = "The environments the token may act on.",
     .default_text = "every environment",
     .slot = DG_SLOT(c.server.api_tokens.at(s.index).environments)},
    {.path = "server.allow_anonymous_mutations",
     .kind = Kind::Bool,
     .description = "Without any API token configured, mutating routes answer `403` "
                    "`auth_not_configured`; `true` opens them to anyone who reaches the "
                    "listener (logged as a warning at start and on each reload). Ignored when "
                    "a token is configured.",
     .slot = DG_SLOT(c.server.allow_anonymous_mutations)},
    {.path = "server.protect_reads",
     .kind = Kind::Bool,
     .description = "Reads (`/can-deploy`, `/v1/status`, `/v1/environments/NAME`, `/metrics`) "
                    "need a token with scope `read` too; `/healthz` and `/readyz` stay open. "
                    "Needs a token.",
     .slot = DG_SLOT(c.server.protect_reads)},
    {.path = "server.tls",
     .kind = Kind::OptionalSection,
     .description = "Serve the API listener over TLS 1.2+. Re-read on SIGHUP; if the new files "
                    "do not load, the old certificate stays in use. `webhook_listen` uses it "
                    "too unless `cert_file`/`key_file` are set.",
     .enter = DG_ENTER(c.server.tls.emplace())},
    {.path = "server.tls.cert_file",
     .kind = Kind::Path,
     .description = "PEM certificate chain, leaf first. A relative path is looked up in "
                    "`$CREDENTIALS_DIRECTORY` first.",
     .required = true,
     .slot = DG_SLOT(c.server.tls.value().cert_file)},
    {.path = "server.tls.key_file",
     .kind = Kind::Path,
     .description = "PEM private key (unencrypted) for `cert_file`. A relative path is looked "
                    "up in `$CREDENTIALS_DIRECTORY` first.",
     .required = true,
     .slot = DG_SLOT(c.server.tls.value().key_file)},
    {.path = "server.webhook_listen",
     .kind = Kind::Listen,
     .description = "Optional second listener that serves only the GitHub webhook route "
                    "(every other path answers 404), for exposing webhooks while the API stays "
                    "private; HTTPS with `cert_file`/`key_file`. Requires "
                    "`github.webhook_secret_file`; must differ from `listen`. Changing it needs "
                    "a restart.",
     .slot = DG_SLOT(c.server.webhook_listen)},
    {.path = "server.cert_file",
     .kind = Kind::Path,
     .description = "PEM certificate chain (leaf first) for TLS 1.2+ on `webhook_listen` "
                    "(without it, `webhook_listen` uses `tls`). Set "
                    "together with `key_file`. A relative path is looked up in "
                    "`$CREDENTIALS_DIRECTORY` first (systemd `LoadCredential=`). Re-read with the "
                    "key on SIGHUP; if the new files do not load, the old certificate stays in "
                    "use.",
     .slot = DG_SLOT(c.server.cert_file)},
    {.path = "server.key_file",
     .kind = Kind::Path,
     .description = "PEM private key (unencrypted) for `cert_file`. A relative path is looked "
                    "up in `$CREDENTIALS_DIRECTORY` first.",
     .slot = DG_SLOT(c.server.key_file)},
    {.path = "server.max_connections",
     .kind = Kind::Count,
     .description = "Most client connections open at once, long-poll waiters included: keep it "
                    "well above `max_waiters` so other clients still get in while they wait.",
     .minimum = 1,
     .slot = DG_SLOT(c.server.max_connections)},
    {.path = "server.max_connections_per_client",
     .kind = Kind::Count,
     .description = "Most connections one client address may hold open; beyond it the "
                    "connection is answered `503` with `Retry-After` and closed. Trusted "
                    "proxies are exempt (only the global limit applies to them).",
     .minimum = 1,
     .slot = DG_SLOT(c.server.max_connections_per_client)},
    {.path = "server.max_waiters_per_client",
     .kind = Kind::Count,
     .description = "Most long-poll requests (`wait=`) one client address may have waiting; "
                    "beyond it `503` `too_many_waiters` with `Retry-After`.",
     .minimum = 1,
     .slot = DG_SLOT(c.server.max_waiters_per_client)},
    {.path = "server.trusted_proxies",
     .kind = Kind::StringList,
     .description = "CIDRs (`10.0.0.0/8`, `::1/128`) of reverse proxies: for a connection from "
                    "one of them the client address is the right-most `X-Forwarded-For` entry "
                    "that is not itself a trusted proxy.",
     .default_text = "none",
     .slot = DG_SLOT(c.server.trusted_proxies)},
    {.path = "server.max_header_bytes",
     .kind = Kind::Size,
     .description = "Largest request header block.",
     .minimum = 1024,
     .slot = DG_SLOT(c.server.max_header_bytes)},
    {.path = "server.max_body_bytes",
     .kind = Kind::Size,
     .description = "Largest API request body.",
     .minimum = 1,
     .slot = DG_SLOT(c.server.max_body_bytes)},
    {.path = "server.max_webhook_body_bytes",
     .kind = Kind::Size,
     .description = "Largest webhook delivery body (GitHub sends up to 25MB).",
     .minimum = 1,
     .slot = DG_SLOT(c.server.max_webhook_body_bytes)},
    {.path = "server.read_timeout",
     .kind = Kind::Duration,
     .description = "The whole request must arrive within this.",
     .minimum = kMillisecond,
     .slot = DG_SLOT(c.server.read_timeout)},
    {.path = "server.idle_timeout",
     .kind = Kind::Duration,
     .description = "A keep-alive connection with no request for this long is closed.",
     .minimum = kMillisecond,
     .slot = DG_SLOT(c.server.idle_timeout)},
    {.path = "server.max_wait",
     .kind = Kind::Duration,
     .description = "Upper bound for the `wait=` parameter of `/can-deploy`.",
     .slot = DG_SLOT(c.server.max_wait)},
    {.path = "server.max_waiters",
     .kind = Kind::Count,
     .description = "Most `/can-deploy?wait=` requests waiting at once.",
     .slot = DG_SLOT(c.server.max_waiters)},
    {.path = "server.max_lease_ttl",
     .kind = Kind::Duration,
     .description = "Longest deploy lease a client may take.",
     .minimum = kSecond,
     .slot = DG_SLOT(c.server.max_lease_ttl)},

    // ---- state ---------------------------------------------------------------------------
    {.path = "state", .kind = Kind::Section, .description = "Persistent state and audit trail."},
    {.path = "state.path",
     .kind = Kind::Path,
     .description = "JSON file holding leases and deploy history across restarts.",
     .slot = DG_SLOT(c.state.path)},
    {.path = "state.audit_log_path",
     .kind = Kind::Path,
     .description = "Append-only JSON Lines audit log of decisions and leases.",
     .default_text = "`<directory of state.path>/audit.jsonl`",
     .slot = DG_SLOT(c.state.audit_log_path)},

    // ---- log -----------------------------------------------------------------------------
    {.path = "log", .kind = Kind::Section, .description = "Logging."},
    {.path = "log.level",
     .kind = Kind::Enum,
     .description = "Minimum level written.",
     .choices = "trace|debug|info|warn|error",
     .slot = DG_SLOT(c.log.level)},
    {.path = "log.format",
     .kind = Kind::Enum,
     .description = "`text` for humans, `json` for one JSON object per line.",
     .choices = "text|json",
     .slot = DG_SLOT(c.log.format)},

    // ---- github --------------------------------------------------------------------------
    {.path = "github",
     .kind = Kind::OptionalSection,
     .description = "GitHub Actions access. Required when any environment has a `github` "
                    "section. Exactly one of `token_file` and `token_env` must be set.",
     .enter = DG_ENTER(c.github.emplace())},
    {.path = "github.api_url",
     .kind = Kind::Url,
     .description = "REST API root; `https://HOST/api/v3` for GitHub Enterprise Server.",
     .slot = DG_SLOT(gh(c).api_url)},
    {.path = "github.token_file",
     .kind = Kind::Path,
     .description = "File holding the GitHub token (needs `actions:read`).",
     .slot = DG_SLOT(gh(c).token_file)},
    {.path = "github.token_env",
     .kind = Kind::EnvVar,
     .description = "Name of the environment variable holding the GitHub token, e.g. "
                    "`GITHUB_TOKEN`.",
     .slot = DG_SLOT(gh(c).token_env)},
    {.path = "github.webhook_secret_file",
     .kind = Kind::Path,
     .description = "File holding the webhook secret(s) used to verify `X-Hub-Signature-256`, "
                    "one per line (several while rotating).",
     .slot = DG_SLOT(gh(c).webhook_secret_file)},
    {.path = "github.poll_interval",
     .kind = Kind::Duration,
     .description = "How often workflow runs are polled.",
     .minimum = kSecond,
     .slot = DG_SLOT(gh(c).poll_interval)},
    {.path = "github.busy_patterns",
     .kind = Kind::StringList,
     .description = "Substrings that, found in a failed run's log, mean Azure was busy and "
                    "start the busy backoff. An empty list disables log matching.",
     .slot = DG_SLOT(gh(c).busy_patterns)},
    {.path = "github.max_log_bytes",
     .kind = Kind::Size,
     .description = "Most bytes of a job log downloaded to look for `busy_patterns`.",
     .minimum = 1,
     .slot = DG_SLOT(gh(c).max_log_bytes)},

    // ---- azure ---------------------------------------------------------------------------
    {.path = "azure",
     .kind = Kind::OptionalSection,
     .description = "Azure Resource Manager access. Required when any environment has "
                    "`container_app` or `postgres_servers`.",
     .enter = DG_ENTER(c.azure.emplace())},
    {.path = "azure.arm_url",
     .kind = Kind::Url,
     .description = "Resource Manager endpoint (sovereign clouds use their own).",
     .slot = DG_SLOT(az(c).arm_url)},
    {.path = "azure.subscription_id",
     .kind = Kind::Identifier,
     .description = "Subscription holding the watched resources, passed through as written.",
     .required = true,
     .slot = DG_SLOT(az(c).subscription_id)},
    {.path = "azure.auth",
     .kind = Kind::Section,
     .description =
         "How deployguard obtains ARM tokens. Keys that the chosen `method` does not use are "
         "rejected. `client_secret`: `tenant_id`, `client_id` and exactly one of "
         "`client_secret_file` / `client_secret_env` are required. `workload_identity`: "
         "`tenant_id`, `client_id` and `federated_token_file` default at run time to "
         "`$AZURE_TENANT_ID`, `$AZURE_CLIENT_ID` and `$AZURE_FEDERATED_TOKEN_FILE`. "
         "`managed_identity`: `client_id` selects a user-assigned identity. `token_file`: "
         "`token_file` is required.",
     .required = true},
    {.path = "azure.auth.method",
     .kind = Kind::Enum,
     .description = "Credential type.",
     .choices = "client_secret|workload_identity|managed_identity|token_file",
     .slot = DG_SLOT(az(c).auth.method)},
    {.path = "azure.auth.tenant_id",
     .kind = Kind::Identifier,
     .description = "Entra ID tenant, passed through as written.",
     .default_text = "required for `client_secret`",
     .slot = DG_SLOT(az(c).auth.tenant_id)},
    {.path = "azure.auth.client_id",
     .kind = Kind::Identifier,
     .description = "Application (client) ID, or the user-assigned managed identity's client ID.",
     .default_text = "required for `client_secret`",
     .slot = DG_SLOT(az(c).auth.client_id)},
    {.path = "azure.auth.client_secret_file",
     .kind = Kind::Path,
     .description = "File holding the client secret.",
     .slot = DG_SLOT(az(c).auth.client_secret_file)},
    {.path = "azure.auth.client_secret_env",
     .kind = Kind::EnvVar,
     .description = "Name of the environment variable holding the client secret.",
     .slot = DG_SLOT(az(c).auth.client_secret_env)},
    {.path = "azure.auth.federated_token_file",
     .kind = Kind::Path,
     .description = "Projected service-account token exchanged for an Entra ID token.",
     .slot = DG_SLOT(az(c).auth.federated_token_file)},
    {.path = "azure.auth.token_file",
     .kind = Kind::Path,
     .description = "File holding a ready ARM bearer token (for tests and externally refreshed tokens).",
     .slot = DG_SLOT(az(c).auth.token_file)},
    {.path = "azure.auth.authority_url",
     .kind = Kind::Url,
     .description = "Entra ID authority host.",
     .slot = DG_SLOT(az(c).auth.authority_url)},
    {.path = "azure.poll_interval",
     .kind = Kind::Duration,
     .description = "How often Container Apps and PostgreSQL servers are polled.",
     .minimum = kSecond,
     .slot = DG_SLOT(az(c).poll_interval)},
    {.path = "azure.api_versions",
     .kind = Kind::Section,
     .description = "ARM `api-version` query parameters."},
    {.path = "azure.api_versions.container_apps",
     .kind = Kind::ApiVersion,
     .description = "For `Microsoft.App/containerApps` and revisions.",
     .slot = DG_SLOT(az(c).api_versions.container_apps)},
    {.path = "azure.api_versions.postgres",
     .kind = Kind::ApiVersion,
     .description = "For `Microsoft.DBforPostgreSQL/flexibleServers`.",
     .slot = DG_SLOT(az(c).api_versions.postgres)},

    // ---- http_client ---------------------------------------------------------------------
    {.path = "http_client",
     .kind = Kind::Section,
     .description = "Outbound HTTPS to GitHub, ARM and Entra ID."},
    {.path = "http_client.ca_file",
     .kind = Kind::Path,
     .description = "PEM bundle of trusted CAs.",
     .default_text = "system trust store",
     .slot = DG_SLOT(c.http_client.ca_file)},
    {.path = "http_client.connect_timeout",
     .kind = Kind::Duration,
     .description = "Resolve + TCP connect + TLS handshake deadline.",
     .minimum = kMillisecond,
     .slot = DG_SLOT(c.http_client.connect_timeout)},
    {.path = "http_client.request_timeout",
     .kind = Kind::Duration,
     .description = "Deadline for one request and its whole response.",
     .minimum = kMillisecond,
     .slot = DG_SLOT(c.http_client.request_timeout)},
    {.path = "http_client.max_response_bytes",
     .kind = Kind::Size,
     .description = "Largest response body accepted.",
     .minimum = 1,
     .slot = DG_SLOT(c.http_client.max_response_bytes)},
    {.path = "http_client.max_backoff",
     .kind = Kind::Duration,
     .description = "Cap of the jittered exponential backoff between failed polls.",
     .minimum = kSecond,
     .slot = DG_SLOT(c.http_client.max_backoff)},

    // ---- freeze windows ------------------------------------------------------------------
    {.path = "freeze_windows",
     .kind = Kind::SectionList,
     .description = "Freeze windows every environment inherits: while one is in force, new "
                    "deploys wait (reason `freeze_window`, with `until` at its end); a deploy "
                    "already running goes on. An environment's own `freeze_windows` entry of the "
                    "same name replaces the inherited one.",
     .enter = DG_ENTER(if (c.freeze_windows.size() <= s.index) c.freeze_windows.resize(s.index + 1))},
    {.path = "freeze_windows[].name",
     .kind = Kind::Identifier,
     .description = "Name of the window in reasons, status and `deployguard windows`. Unique.",
     .required = true,
     .slot = DG_SLOT(c.freeze_windows.at(s.index).name)},
    {.path = "freeze_windows[].cron",
     .kind = Kind::String,
     .description = kCronText,
     .default_text = "none (a one-off window)",
     .slot = DG_SLOT(c.freeze_windows.at(s.index).cron)},
    {.path = "freeze_windows[].duration",
     .kind = Kind::Duration,
     .description = "With `cron`: how long each occurrence lasts (elapsed time, across DST changes too).",
     .minimum = kSecond,
     .default_text = "none; required with `cron`",
     .slot = DG_SLOT(c.freeze_windows.at(s.index).duration)},
    {.path = "freeze_windows[].from",
     .kind = Kind::String,
     .description = kFromText,
     .default_text = "none (a recurring window)",
     .slot = DG_SLOT(c.freeze_windows.at(s.index).from)},
    {.path = "freeze_windows[].until",
     .kind = Kind::String,
     .description = "A one-off window's end, a local date-time after `from`.",
     .default_text = "none; required with `from`",
     .slot = DG_SLOT(c.freeze_windows.at(s.index).until)},
    {.path = "freeze_windows[].time_zone",
     .kind = Kind::String,
     .description = kZoneText,
     .slot = DG_SLOT(c.freeze_windows.at(s.index).time_zone)},
    // ---- queue ---------------------------------------------------------------------------
    {.path = "queue",
     .kind = Kind::Section,
     .description = "The deploy queue: how pipelines waiting for an environment are served, one "
                    "after another. These are the defaults of every environment; "
                    "`environments.<name>.queue` overrides them key by key. A reload keeps every "
                    "waiting ticket (a new `order` re-sorts them)."},
    {.path = "queue.order",
     .kind = Kind::Enum,
     .description = "`fifo` serves the oldest request first, `newest_first` the newest.",
     .choices = kQueueOrders,
     .slot = DG_SLOT(c.queue.order)},
    {.path = "queue.supersede",
     .kind = Kind::Bool,
     .description = "A new ticket for a `ref` ends the older waiting tickets of the same `ref` "
                    "(`409 superseded`): only the latest commit is deployed.",
     .slot = DG_SLOT(c.queue.supersede)},
    {.path = "queue.ticket_ttl",
     .kind = Kind::Duration,
     .description = "A waiting ticket not polled for this long leaves the queue.",
     .minimum = kMinTicketTtl,
     .maximum = kMaxTicketTtl,
     .slot = DG_SLOT(c.queue.ticket_ttl)},
    {.path = "queue.max_length",
     .kind = Kind::Count,
     .description = "Most tickets waiting on one environment; a join beyond it answers `503`.",
     .minimum = kMinQueueLength,
     .maximum = kMaxQueueLength,
     .slot = DG_SLOT(c.queue.max_length)},

    // ---- environments --------------------------------------------------------------------
    {.path = "environments",
     .kind = Kind::NamedSections,
     .description = "The deploy targets, by name. At least one is required.",
     .required = true},
    {.path = "environments.*",
     .kind = Kind::Section,
     .description = "One deploy target. The name (the key) uses letters, digits, `_`, `.` and "
                    "`-`. At least one of `github`, `container_app` and `postgres_servers` is "
                    "required.",
     .enter = DG_ENTER(c.environments[s.environment].name = s.environment)},
    {.path = "environments.*.github",
     .kind = Kind::OptionalSection,
     .description = "Workflow runs that deploy this environment. Needs the top-level `github`.",
     .enter = DG_ENTER(env(c, s).github.emplace())},
    {.path = "environments.*.github.repo",
     .kind = Kind::Repo,
     .description = "Repository as `owner/name`.",
     .required = true,
     .slot = DG_SLOT(env(c, s).github.value().repo)},
    {.path = "environments.*.github.workflows",
     .kind = Kind::StringList,
     .description = "Deploy workflows: file name (`deploy.yml`), path "
                    "(`.github/workflows/deploy.yml`) or display name.",
     .required = true,
     .minimum = 1,
     .slot = DG_SLOT(env(c, s).github.value().workflows)},
    {.path = "environments.*.github.branch",
     .kind = Kind::String,
     .description = "Only runs on this branch count.",
     .default_text = "any branch",
     .slot = DG_SLOT(env(c, s).github.value().branch)},
    {.path = "environments.*.container_app",
     .kind = Kind::OptionalSection,
     .description = "Azure Container App whose revisions must be settled. Needs `azure`.",
     .enter = DG_ENTER(env(c, s).container_app.emplace())},
    {.path = "environments.*.container_app.resource_group",
     .kind = Kind::Identifier,
     .description = "Resource group.",
     .required = true,
     .slot = DG_SLOT(env(c, s).container_app.value().resource_group)},
    {.path = "environments.*.container_app.name",
     .kind = Kind::Identifier,
     .description = "Container App name.",
     .required = true,
     .slot = DG_SLOT(env(c, s).container_app.value().name)},
    {.path = "environments.*.postgres_servers",
     .kind = Kind::SectionList,
     .description = "PostgreSQL flexible servers that must be `Ready`. Needs `azure`.",
     .enter = DG_ENTER(if (env(c, s).postgres_servers.size() <= s.index) env(c, s)
                           .postgres_servers.resize(s.index + 1))},
    {.path = "environments.*.postgres_servers[].resource_group",
     .kind = Kind::Identifier,
     .description = "Resource group.",
     .required = true,
     .slot = DG_SLOT(env(c, s).postgres_servers.at(s.index).resource_group)},
    {.path = "environments.*.postgres_servers[].name",
     .kind = Kind::Identifier,
     .description = "Server name.",
     .required = true,
     .slot = DG_SLOT(env(c, s).postgres_servers.at(s.index).name)},
    {.path = "environments.*.min_interval",
     .kind = Kind::Duration,
     .description = "Least time from the start of one deploy to the start of the next.",
     .slot = DG_SLOT(env(c, s).min_interval)},
    {.path = "environments.*.cooldown",
     .kind = Kind::Duration,
     .description = "Least time from the end of one deploy to the start of the next.",
     .slot = DG_SLOT(env(c, s).cooldown)},
    {.path = "environments.*.busy_backoff",
     .kind = Kind::Section,
     .description = "Wait after Azure reports it is busy: `initial`, doubling with each consecutive busy "
                    "failure up to `max`. "
                    "`initial` must not exceed `max`."},
    {.path = "environments.*.busy_backoff.initial",
     .kind = Kind::Duration,
     .description = "First wait.",
     .minimum = kSecond,
     .slot = DG_SLOT(env(c, s).busy_backoff.initial)},
    {.path = "environments.*.busy_backoff.max",
     .kind = Kind::Duration,
     .description = "Longest wait.",
     .minimum = kSecond,
     .slot = DG_SLOT(env(c, s).busy_backoff.max)},
    {.path = "environments.*.max_active_revisions",
     .kind = Kind::Count,
     .description = "More active Container App revisions than this means a rollout is still "
                    "in progress.",
     .minimum = 1,
     .slot = DG_SLOT(env(c, s).max_active_revisions)},
    {.path = "environments.*.stale_after",
     .kind = Kind::Duration,
     .description = "Upstream data older than this makes the answer \"not safe\" (fail closed).",
     .minimum = kSecond,
     .slot = DG_SLOT(env(c, s).stale_after)},
    {.path = "environments.*.freeze_windows",
     .kind = Kind::SectionList,
     .description = "This environment's freeze windows, in addition to the top-level ones "
                    "(an entry named like a top-level window replaces it here).",
     .enter = DG_ENTER(if (env(c, s).freeze_windows.size() <= s.index) env(c, s).freeze_windows.resize(s.index + 1))},
    {.path = "environments.*.freeze_windows[].name",
     .kind = Kind::Identifier,
     .description = "Name of the window in reasons, status and `deployguard windows`. Unique.",
     .required = true,
     .slot = DG_SLOT(env(c, s).freeze_windows.at(s.index).name)},
    {.path = "environments.*.freeze_windows[].cron",
     .kind = Kind::String,
     .description = kCronText,
     .default_text = "none (a one-off window)",
     .slot = DG_SLOT(env(c, s).freeze_windows.at(s.index).cron)},
    {.path = "environments.*.freeze_windows[].duration",
     .kind = Kind::Duration,
     .description = "With `cron`: how long each occurrence lasts (elapsed time, across DST changes too).",
     .minimum = kSecond,
     .default_text = "none; required with `cron`",
     .slot = DG_SLOT(env(c, s).freeze_windows.at(s.index).duration)},
    {.path = "environments.*.freeze_windows[].from",
     .kind = Kind::String,
     .description = kFromText,
     .default_text = "none (a recurring window)",
     .slot = DG_SLOT(env(c, s).freeze_windows.at(s.index).from)},
    {.path = "environments.*.freeze_windows[].until",
     .kind = Kind::String,
     .description = "A one-off window's end, a local date-time after `from`.",
     .default_text = "none; required with `from`",
     .slot = DG_SLOT(env(c, s).freeze_windows.at(s.index).until)},
    {.path = "environments.*.freeze_windows[].time_zone",
     .kind = Kind::String,
     .description = kZoneText,
     .slot = DG_SLOT(env(c, s).freeze_windows.at(s.index).time_zone)},
    {.path = "environments.*.queue",
     .kind = Kind::Section,
     .description = "This environment's deploy queue. A key not written here takes the "
                    "top-level `queue` value."},
    {.path = "environments.*.queue.order",
     .kind = Kind::Enum,
     .description = "Which waiting request is served first.",
     .choices = kQueueOrders,
     .inherits = "queue.order",
     .slot = DG_SLOT(env(c, s).queue.order)},
    {.path = "environments.*.queue.supersede",
     .kind = Kind::Bool,
     .description = "Newer tickets of a `ref` end older waiting ones.",
     .inherits = "queue.supersede",
     .slot = DG_SLOT(env(c, s).queue.supersede)},
    {.path = "environments.*.queue.ticket_ttl",
     .kind = Kind::Duration,
     .description = "A waiting ticket not polled for this long leaves the queue.",
     .minimum = kMinTicketTtl,
     .maximum = kMaxTicketTtl,
     .inherits = "queue.ticket_ttl",
     .slot = DG_SLOT(env(c, s).queue.ticket_ttl)},
    {.path = "environments.*.queue.max_length",
     .kind = Kind::Count,
     .description = "Most tickets waiting; a join beyond it answers `503`.",
     .minimum = kMinQueueLength,
     .maximum = kMaxQueueLength,
     .inherits = "queue.max_length",
     .slot = DG_SLOT(env(c, s).queue.max_length)},

    // ---- notify --------------------------------------------------------------------------
    {.path = "notify",
     .kind = Kind::SectionList,
     .description = "Notification sinks: verdict changes and operator actions posted to Slack, "
                    "Microsoft Teams or any HTTP endpoint (see `docs/notifications.md`). Posts "
                    "never block the guard: bounded queue, deadline per post, retries with "
                    "backoff, coalescing. Re-read on SIGHUP.",
     .enter = DG_ENTER(if (c.notify.size() <= s.index) c.notify.resize(s.index + 1))},
    {.path = "notify[].name",
     .kind = Kind::Identifier,
     .description = "Name of the sink in logs and metrics. Unique.",
     .required = true,
     .slot = DG_SLOT(c.notify.at(s.index).name)},
    {.path = "notify[].url_file",
     .kind = Kind::Path,
     .description = "File holding the webhook URL (first line). A Slack or Teams webhook URL is "
                    "a credential, so it is read from a file and never logged (only its scheme "
                    "and host). A relative path is looked up in `$CREDENTIALS_DIRECTORY` first.",
     .required = true,
     .slot = DG_SLOT(c.notify.at(s.index).url_file)},
    {.path = "notify[].format",
     .kind = Kind::Enum,
     .description = "`slack`: Block Kit (`blocks` and a `text` fallback) for an incoming "
                    "webhook; `teams`: an Adaptive Card message for an incoming webhook; "
                    "`json`: the event as JSON, signed when `secret_file` is set.",
     .required = true,
     .choices = "slack|teams|json",
     .slot = DG_SLOT(c.notify.at(s.index).format)},
    {.path = "notify[].events",
     .kind = Kind::StringList,
     .description = "Categories to send: `verdict`, `queue`, `gate`, `freeze`, `stop`, "
                    "`override`, `source_error` (nothing emits `gate` yet).",
     .default_text = "every category",
     .slot = DG_SLOT(c.notify.at(s.index).events)},
    {.path = "notify[].environments",
     .kind = Kind::StringList,
     .description = "Only events of these environments are sent.",
     .default_text = "every environment",
     .slot = DG_SLOT(c.notify.at(s.index).environments)},
    {.path = "notify[].min_interval_between",
     .kind = Kind::Duration,
     .description = "Coalescing window per environment and category: the first event goes out "
                    "at once, later ones within this interval become one message with the "
                    "latest state, sent when the interval ends.",
     .slot = DG_SLOT(c.notify.at(s.index).min_interval_between)},
    {.path = "notify[].secret_file",
     .kind = Kind::Path,
     .description = "`json` only: file holding the key of the `X-Deployguard-Signature: "
                    "sha256=<hex HMAC-SHA256 of the body>` header. A relative path is looked up "
                    "in `$CREDENTIALS_DIRECTORY` first.",
     .slot = DG_SLOT(c.notify.at(s.index).secret_file)},
};

#undef DG_SLOT
#undef DG_ENTER

std::string_view parent_of(std::string_view path) {
  const auto dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view{} : path.substr(0, dot);
}

}  // namespace

std::span<const Key> keys() { return kKeys; }

const Key* find(std::string_view pattern) {
  static const std::map<std::string_view, const Key*> index = [] {
    std::map<std::string_view, const Key*> m;
    for (const Key& k : kKeys) m.emplace(k.path, &k);
    return m;
  }();
  const auto it = index.find(pattern);
  return it == index.end() ? nullptr : it->second;
}

std::vector<const Key*> children(std::string_view parent) {
  std::vector<const Key*> out;
  for (const Key& k : kKeys) {
    if (parent_of(k.path) == parent) out.push_back(&k);
  }
  return out;
}

std::string_view key_name(const Key& key) {
  const auto dot = key.path.rfind('.');
  return dot == std::string_view::npos ? key.path : key.path.substr(dot + 1);
}

bool is_container(Kind kind) {
  return kind == Kind::Section || kind == Kind::OptionalSection ||
         kind == Kind::NamedSections || kind == Kind::SectionList;
}

std::string type_name(const Key& key) {
  switch (key.kind) {
    case Kind::Section:
    case Kind::OptionalSection: return "mapping";
    case Kind::NamedSections: return "mapping of name to environment";
    case Kind::SectionList: return "list of mappings";
    case Kind::String: return "string";
    case Kind::Identifier: return "string";
    case Kind::Path: return "path";
    case Kind::Url: return "URL";
    case Kind::EnvVar: return "env var name";
    case Kind::Repo: return "owner/name";
    case Kind::ApiVersion: return "api-version";
    case Kind::Enum: {
      std::string out = "one of ";
      std::string_view rest = key.choices;
      while (!rest.empty()) {
        const auto bar = rest.find('|');
        out += "`" + std::string(rest.substr(0, bar)) + "`";
        if (bar == std::string_view::npos) break;
        out += ", ";
        rest.remove_prefix(bar + 1);
      }
      return out;
    }
    case Kind::Bool: return "boolean";
    case Kind::Duration: return "duration";
    case Kind::Size: return "size";
    case Kind::Count: return "integer";
    case Kind::StringList: return "list of strings";
    case Kind::Listen: return "host:port";
  }
  return "?";
}

}  // namespace deployguard::config::schema
