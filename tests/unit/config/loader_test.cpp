// Successful loads: the documented shape, the shipped example, defaults.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.hpp"

namespace deployguard::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

std::string all_errors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

// The shape documented in the project brief, every section written out.
constexpr const char* kFullConfig = R"(
server:
  listen: "127.0.0.1:8080"
  api_token_file: /etc/deployguard/api-token
  webhook_listen: "0.0.0.0:8443"
  cert_file: /etc/deployguard/cert.pem
  key_file: /etc/deployguard/key.pem
  max_connections: 500
  max_header_bytes: 32KiB
  max_body_bytes: 1024
  max_webhook_body_bytes: 5MiB
  read_timeout: 15s
  idle_timeout: 2m
  max_wait: 10m
  max_waiters: 100
  max_lease_ttl: 1h30m
state:
  path: /var/lib/deployguard/state.json
  audit_log_path: /var/log/deployguard/audit.jsonl
log: { level: debug, format: json }
github:
  api_url: "https://ghe.example.com/api/v3/"
  token_file: /etc/deployguard/github-token
  webhook_secret_file: /etc/deployguard/webhook-secret
  poll_interval: 30s
  busy_patterns: ["ServerIsBusy", "try again later"]
  max_log_bytes: 4MiB
azure:
  arm_url: "https://management.azure.com"
  subscription_id: "00000000-0000-0000-0000-000000000000"
  auth: { method: client_secret, tenant_id: "tenant-1", client_id: "client-1", client_secret_file: "azure-secret", authority_url: "https://login.microsoftonline.com" }
  poll_interval: 60s
  api_versions: { container_apps: "2025-07-01", postgres: "2024-08-01" }
http_client: { ca_file: /etc/ssl/ca.pem, connect_timeout: 500ms, request_timeout: 20s, max_response_bytes: 8MiB, max_backoff: 45s }
queue: { order: fifo, supersede: false, ticket_ttl: 3m, max_length: 50 }
environments:
  staging:
    github: { repo: "zimaxnet/engram", workflows: ["deploy.yml"], branch: main }
    container_app: { resource_group: engram-rg, name: staging-env-api }
    postgres_servers: [ { resource_group: engram-rg, name: staging-env-db } ]
    min_interval: 14m
    cooldown: 2m
    busy_backoff: { initial: 2m, max: 30m }
    max_active_revisions: 1
    stale_after: 5m
    queue: { order: newest_first, supersede: true, ticket_ttl: 30s, max_length: 20 }
)";

TEST(LoadConfig, FullDocumentedShapeParsesWithTheRightValues) {
  const LoadResult r = parse_config(kFullConfig);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  ASSERT_TRUE(r.errors.empty());
  const Config& c = *r.config;

  EXPECT_EQ(c.server.listen.host, "127.0.0.1");
  EXPECT_EQ(c.server.listen.port, 8080);
  EXPECT_EQ(c.server.api_token_file, "/etc/deployguard/api-token");
  ASSERT_TRUE(c.server.webhook_listen);
  EXPECT_EQ(c.server.webhook_listen->host, "0.0.0.0");
  EXPECT_EQ(c.server.webhook_listen->port, 8443);
  EXPECT_EQ(c.server.cert_file, "/etc/deployguard/cert.pem");
  EXPECT_EQ(c.server.key_file, "/etc/deployguard/key.pem");
  EXPECT_EQ(c.server.max_connections, 500u);
  EXPECT_EQ(c.server.max_header_bytes, 32u * 1024);
  EXPECT_EQ(c.server.max_body_bytes, 1024u);
  EXPECT_EQ(c.server.max_webhook_body_bytes, 5u * 1024 * 1024);
  EXPECT_EQ(c.server.read_timeout, seconds{15});
  EXPECT_EQ(c.server.idle_timeout, minutes{2});
  EXPECT_EQ(c.server.max_wait, minutes{10});
  EXPECT_EQ(c.server.max_waiters, 100u);
  EXPECT_EQ(c.server.max_lease_ttl, hours{1} + minutes{30});

  EXPECT_EQ(c.state.path, "/var/lib/deployguard/state.json");
  EXPECT_EQ(c.state.audit_log_path, "/var/log/deployguard/audit.jsonl");
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, "json");

  ASSERT_TRUE(c.github);
  EXPECT_EQ(c.github->api_url, "https://ghe.example.com/api/v3");  // trailing '/' removed
  EXPECT_EQ(c.github->token_file, "/etc/deployguard/github-token");
  EXPECT_FALSE(c.github->token_env);
  EXPECT_EQ(c.github->webhook_secret_file, "/etc/deployguard/webhook-secret");
  EXPECT_EQ(c.github->poll_interval, seconds{30});
  EXPECT_EQ(c.github->busy_patterns, (std::vector<std::string>{"ServerIsBusy", "try again later"}));
  EXPECT_EQ(c.github->max_log_bytes, 4u * 1024 * 1024);

  ASSERT_TRUE(c.azure);
  EXPECT_EQ(c.azure->arm_url, "https://management.azure.com");
  EXPECT_EQ(c.azure->subscription_id, "00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(c.azure->auth.method, "client_secret");
  EXPECT_EQ(c.azure->auth.tenant_id, "tenant-1");
  EXPECT_EQ(c.azure->auth.client_id, "client-1");
  EXPECT_EQ(c.azure->auth.client_secret_file, "azure-secret");
  EXPECT_FALSE(c.azure->auth.client_secret_env);
  EXPECT_EQ(c.azure->auth.authority_url, "https://login.microsoftonline.com");
  EXPECT_EQ(c.azure->poll_interval, seconds{60});
  EXPECT_EQ(c.azure->api_versions.container_apps, "2025-07-01");
  EXPECT_EQ(c.azure->api_versions.postgres, "2024-08-01");

  EXPECT_EQ(c.http_client.ca_file, "/etc/ssl/ca.pem");
  EXPECT_EQ(c.http_client.connect_timeout, milliseconds{500});
  EXPECT_EQ(c.http_client.request_timeout, seconds{20});
  EXPECT_EQ(c.http_client.max_response_bytes, 8u * 1024 * 1024);
  EXPECT_EQ(c.http_client.max_backoff, seconds{45});

  EXPECT_EQ(c.queue.order, QueueOrder::Fifo);
  EXPECT_FALSE(c.queue.supersede);
  EXPECT_EQ(c.queue.ticket_ttl, minutes{3});
  EXPECT_EQ(c.queue.max_length, 50u);

  ASSERT_EQ(c.environments.size(), 1u);
  const EnvironmentConfig& e = c.environments.at("staging");
  EXPECT_EQ(e.name, "staging");
  ASSERT_TRUE(e.github);
  EXPECT_EQ(e.github->repo, "zimaxnet/engram");
  EXPECT_EQ(e.github->workflows, std::vector<std::string>{"deploy.yml"});
  EXPECT_EQ(e.github->branch, "main");
  ASSERT_TRUE(e.container_app);
  EXPECT_EQ(e.container_app->resource_group, "engram-rg");
  EXPECT_EQ(e.container_app->name, "staging-env-api");
  ASSERT_EQ(e.postgres_servers.size(), 1u);
  EXPECT_EQ(e.postgres_servers[0].resource_group, "engram-rg");
  EXPECT_EQ(e.postgres_servers[0].name, "staging-env-db");
  EXPECT_EQ(e.min_interval, minutes{14});
  EXPECT_EQ(e.cooldown, minutes{2});
  EXPECT_EQ(e.busy_backoff.initial, minutes{2});
  EXPECT_EQ(e.busy_backoff.max, minutes{30});
  EXPECT_EQ(e.max_active_revisions, 1);
  EXPECT_EQ(e.stale_after, minutes{5});
  EXPECT_EQ(e.queue.order, QueueOrder::NewestFirst);
  EXPECT_TRUE(e.queue.supersede);
  EXPECT_EQ(e.queue.ticket_ttl, seconds{30});
  EXPECT_EQ(e.queue.max_length, 20u);
}

TEST(LoadConfig, ShippedExampleFileLoads) {
  const LoadResult r = load_config_file(DEPLOYGUARD_SOURCE_DIR "/config/deployguard.example.yaml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.environments.size(), 2u);
  ASSERT_TRUE(c.environments.count("production"));
  EXPECT_EQ(c.environments.at("production").min_interval, minutes{30});
  EXPECT_EQ(c.environments.at("production").busy_backoff.max, hours{1});
  EXPECT_FALSE(c.environments.at("staging").queue.supersede);
  EXPECT_TRUE(c.environments.at("production").queue.supersede);
  EXPECT_EQ(c.environments.at("production").queue.ticket_ttl, minutes{2});
  ASSERT_TRUE(c.azure);
  // A relative name: resolved in $CREDENTIALS_DIRECTORY (systemd LoadCredential=).
  EXPECT_EQ(c.azure->auth.client_secret_file, "azure-client-secret");
}

TEST(LoadConfig, OmittedKeysTakeTheDefaultsOfCoreConfig) {
  const LoadResult r = parse_config(R"(
github:
  token_env: GITHUB_TOKEN
environments:
  staging:
    github: { repo: octo/app, workflows: [deploy.yml] }
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const Config& c = *r.config;
  const Config defaults;
  EXPECT_EQ(c.server.listen.host, defaults.server.listen.host);
  EXPECT_EQ(c.server.listen.port, defaults.server.listen.port);
  EXPECT_FALSE(c.server.api_token_file);
  EXPECT_FALSE(c.server.webhook_listen);
  EXPECT_EQ(c.server.max_connections, defaults.server.max_connections);
  EXPECT_EQ(c.server.max_header_bytes, defaults.server.max_header_bytes);
  EXPECT_EQ(c.server.max_body_bytes, defaults.server.max_body_bytes);
  EXPECT_EQ(c.server.max_webhook_body_bytes, defaults.server.max_webhook_body_bytes);
  EXPECT_EQ(c.server.read_timeout, defaults.server.read_timeout);
  EXPECT_EQ(c.server.max_wait, defaults.server.max_wait);
  EXPECT_EQ(c.state.path, defaults.state.path);
  EXPECT_FALSE(c.state.audit_log_path);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "text");
  EXPECT_FALSE(c.azure);
  EXPECT_EQ(c.http_client.request_timeout, defaults.http_client.request_timeout);

  ASSERT_TRUE(c.github);
  const GitHubConfig github_defaults;
  EXPECT_EQ(c.github->api_url, github_defaults.api_url);
  EXPECT_EQ(c.github->token_env, "GITHUB_TOKEN");
  EXPECT_EQ(c.github->poll_interval, github_defaults.poll_interval);
  EXPECT_EQ(c.github->busy_patterns, github_defaults.busy_patterns);
  EXPECT_EQ(c.github->max_log_bytes, github_defaults.max_log_bytes);

  const EnvironmentConfig& e = c.environments.at("staging");
  const EnvironmentConfig env_defaults;
  EXPECT_FALSE(e.github->branch);
  EXPECT_FALSE(e.container_app);
  EXPECT_TRUE(e.postgres_servers.empty());
  EXPECT_EQ(e.min_interval, env_defaults.min_interval);
  EXPECT_EQ(e.cooldown, env_defaults.cooldown);
  EXPECT_EQ(e.busy_backoff.initial, env_defaults.busy_backoff.initial);
  EXPECT_EQ(e.busy_backoff.max, env_defaults.busy_backoff.max);
  EXPECT_EQ(e.max_active_revisions, env_defaults.max_active_revisions);
  EXPECT_EQ(e.stale_after, env_defaults.stale_after);
  EXPECT_EQ(c.queue, QueueSettings{});
  EXPECT_EQ(e.queue, QueueSettings{});
}

// The default connection limit must hold the 10,000 long-poll waiters of the benchmark. Every
// waiter is a connection, so the limit also has to leave room for everyone
// else (pipelines, operators, /healthz) when max_waiters requests are waiting; otherwise a waiter
// flood is refused as connections instead of with 503 too_many_waiters, and locks everyone out.
TEST(LoadConfig, DefaultLimitsHoldTenThousandWaitersAndRoomForOtherClients) {
  const LoadResult r = parse_config(R"(
github:
  token_env: GITHUB_TOKEN
environments:
  staging:
    github: { repo: octo/app, workflows: [deploy.yml] }
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const ServerConfig& server = r.config->server;
  EXPECT_GE(server.max_waiters, 10'000u);
  EXPECT_GE(server.max_connections, 10'000u + server.max_waiters)
      << "max_connections " << server.max_connections << ", max_waiters " << server.max_waiters;
  EXPECT_EQ(server.max_waiters, ServerConfig{}.max_waiters);
  EXPECT_EQ(server.max_connections, ServerConfig{}.max_connections);
}

TEST(LoadConfig, DurationFormsAndOneSecondFloor) {
  const LoadResult r = parse_config(R"(
server: { read_timeout: 500ms, idle_timeout: 90s, max_wait: 0s }
github: { token_env: GITHUB_TOKEN, poll_interval: 1s }
environments:
  e1:
    github: { repo: octo/app, workflows: [deploy.yml] }
    min_interval: 1h30m
    cooldown: 0s
    stale_after: 1s
    busy_backoff: { initial: 1s, max: 1d }
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.server.read_timeout, milliseconds{500});
  EXPECT_EQ(c.server.idle_timeout, seconds{90});
  EXPECT_EQ(c.server.max_wait, seconds{0});
  EXPECT_EQ(c.github->poll_interval, seconds{1});
  const auto& e = c.environments.at("e1");
  EXPECT_EQ(e.min_interval, minutes{90});
  EXPECT_EQ(e.cooldown, seconds{0});
  EXPECT_EQ(e.stale_after, seconds{1});
  EXPECT_EQ(e.busy_backoff.max, hours{24});
}

TEST(LoadConfig, Ipv6ListenAndPortZero) {
  const LoadResult r = parse_config(R"(
server: { listen: "[::1]:0" }
github: { token_env: GITHUB_TOKEN }
environments: { e: { github: { repo: octo/app, workflows: [deploy.yml] } } }
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->server.listen.host, "::1");
  EXPECT_EQ(r.config->server.listen.port, 0);
}

TEST(LoadConfig, AzureAuthMethodsWithTheirOwnKeys) {
  const char* const kCases[] = {
      "{ method: workload_identity }",  // ids come from AZURE_* at run time
      "{ method: workload_identity, tenant_id: t, client_id: c, federated_token_file: /var/run/t }",
      "{ method: managed_identity }",
      "{ method: managed_identity, client_id: c }",
      "{ method: token_file, token_file: arm-token }",
      "{ tenant_id: t, client_id: c, client_secret_env: AZURE_CLIENT_SECRET }",
  };
  for (const char* auth : kCases) {
    const std::string yaml = std::string("azure: { subscription_id: sub, auth: ") + auth +
                             " }\nenvironments: { e: { container_app: { resource_group: rg, "
                             "name: app } } }\n";
    const LoadResult r = parse_config(yaml);
    EXPECT_TRUE(r.ok()) << auth << "\n" << all_errors(r);
  }
  const LoadResult r = parse_config(
      "azure: { subscription_id: sub, auth: { method: workload_identity } }\n"
      "environments: { e: { postgres_servers: [ { resource_group: rg, name: db1 }, "
      "{ resource_group: rg, name: db2 } ] } }\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->azure->auth.method, "workload_identity");
  EXPECT_TRUE(r.config->azure->auth.tenant_id.empty());
  ASSERT_EQ(r.config->environments.at("e").postgres_servers.size(), 2u);
  EXPECT_EQ(r.config->environments.at("e").postgres_servers[1].name, "db2");
}

TEST(LoadConfig, EnvironmentsAreKeyedByName) {
  const LoadResult r = parse_config(R"(
github: { token_env: GITHUB_TOKEN }
environments:
  prod.eu-1_a: { github: { repo: octo/app, workflows: [a.yml, "Deploy to prod"] } }
  Staging: { github: { repo: octo/app, workflows: [b.yml] } }
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  ASSERT_EQ(r.config->environments.size(), 2u);
  EXPECT_EQ(r.config->environments.at("prod.eu-1_a").name, "prod.eu-1_a");
  EXPECT_EQ(r.config->environments.at("prod.eu-1_a").github->workflows,
            (std::vector<std::string>{"a.yml", "Deploy to prod"}));
  EXPECT_EQ(r.config->environments.at("Staging").name, "Staging");
}

TEST(LoadConfig, NotifySinksWithTheirDefaults) {
  const LoadResult r = parse_config(R"(
github: { token_env: GITHUB_TOKEN }
environments:
  prod: { github: { repo: octo/app, workflows: [a.yml] } }
notify:
  - { name: team, url_file: slack-url, format: slack }
  - name: audit
    url_file: /etc/deployguard/audit-url
    format: json
    events: [verdict, freeze]
    environments: [prod]
    min_interval_between: 2s
    secret_file: audit-secret
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  ASSERT_EQ(r.config->notify.size(), 2u);
  const auto& team = r.config->notify[0];
  EXPECT_EQ(team.name, "team");
  EXPECT_EQ(team.url_file, "slack-url");
  EXPECT_EQ(team.format, "slack");
  EXPECT_TRUE(team.events.empty());
  EXPECT_TRUE(team.environments.empty());
  EXPECT_EQ(team.min_interval_between, seconds{30});
  EXPECT_FALSE(team.secret_file);
  const auto& audit = r.config->notify[1];
  EXPECT_EQ(audit.events, (std::vector<std::string>{"verdict", "freeze"}));
  EXPECT_EQ(audit.environments, (std::vector<std::string>{"prod"}));
  EXPECT_EQ(audit.min_interval_between, seconds{2});
  EXPECT_EQ(audit.secret_file, "audit-secret");
}

constexpr const char* kTwoEnvironments = R"(
github: { token_env: GITHUB_TOKEN }
environments:
  staging:
    github: { repo: octo/app, workflows: [deploy.yml] }
  production:
    github: { repo: octo/app, workflows: [deploy.yml] }
)";

TEST(LoadConfig, QueueDefaultsAreTheCoreQueueSettings) {
  const LoadResult r = parse_config(kTwoEnvironments);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const QueueSettings defaults;
  EXPECT_EQ(defaults.order, QueueOrder::Fifo);
  EXPECT_FALSE(defaults.supersede);
  EXPECT_EQ(defaults.ticket_ttl, minutes{2});
  EXPECT_EQ(defaults.max_length, 100u);
  EXPECT_EQ(r.config->queue, defaults);
  for (const auto& [name, env] : r.config->environments) EXPECT_EQ(env.queue, defaults) << name;
}

TEST(LoadConfig, EveryEnvironmentTakesTheTopLevelQueue) {
  const std::string queue =
      "queue: { order: newest_first, supersede: true, ticket_ttl: 90s, max_length: 7 }\n";
  QueueSettings expected;
  expected.order = QueueOrder::NewestFirst;
  expected.supersede = true;
  expected.ticket_ttl = seconds{90};
  expected.max_length = 7;
  // The top-level map may come before or after the environments.
  for (const std::string& yaml : {queue + kTwoEnvironments, kTwoEnvironments + queue}) {
    const LoadResult r = parse_config(yaml);
    ASSERT_TRUE(r.ok()) << all_errors(r);
    EXPECT_EQ(r.config->queue, expected);
    EXPECT_EQ(r.config->environments.at("staging").queue, expected);
    EXPECT_EQ(r.config->environments.at("production").queue, expected);
  }
}

TEST(LoadConfig, EnvironmentQueueKeysOverrideTheTopLevelOneByOne) {
  const LoadResult r = parse_config(R"(
queue: { supersede: true, ticket_ttl: 5m }
github: { token_env: GITHUB_TOKEN }
environments:
  staging:
    github: { repo: octo/app, workflows: [deploy.yml] }
    queue: { order: newest_first }
  production:
    github: { repo: octo/app, workflows: [deploy.yml] }
    queue: { supersede: false, max_length: 3 }
  preview:
    github: { repo: octo/app, workflows: [deploy.yml] }
    queue: {}
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const auto& envs = r.config->environments;

  // Written here: order. From the top level: supersede, ticket_ttl. Built in: max_length.
  const QueueSettings& staging = envs.at("staging").queue;
  EXPECT_EQ(staging.order, QueueOrder::NewestFirst);
  EXPECT_TRUE(staging.supersede);
  EXPECT_EQ(staging.ticket_ttl, minutes{5});
  EXPECT_EQ(staging.max_length, QueueSettings{}.max_length);

  // `false` overrides a top-level `true`.
  const QueueSettings& production = envs.at("production").queue;
  EXPECT_EQ(production.order, QueueOrder::Fifo);
  EXPECT_FALSE(production.supersede);
  EXPECT_EQ(production.ticket_ttl, minutes{5});
  EXPECT_EQ(production.max_length, 3u);

  EXPECT_EQ(envs.at("preview").queue, r.config->queue);
}

TEST(LoadConfig, QueueBoundsAndBooleanForms) {
  const LoadResult r = parse_config(std::string(kTwoEnvironments) +
                                    "queue: { supersede: True, ticket_ttl: 1s, max_length: 1 }\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_TRUE(r.config->queue.supersede);
  EXPECT_EQ(r.config->queue.ticket_ttl, seconds{1});
  EXPECT_EQ(r.config->queue.max_length, 1u);

  const LoadResult upper = parse_config(std::string(kTwoEnvironments) +
                                        "queue: { supersede: FALSE, ticket_ttl: 1h, "
                                        "max_length: 10000 }\n");
  ASSERT_TRUE(upper.ok()) << all_errors(upper);
  EXPECT_FALSE(upper.config->queue.supersede);
  EXPECT_EQ(upper.config->queue.ticket_ttl, hours{1});
  EXPECT_EQ(upper.config->queue.max_length, 10000u);
}

}  // namespace
}  // namespace deployguard::config
