// Rejected configurations: every error carries its path and the exact message users see.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/temp_dir.hpp"
#include "config/loader.hpp"

namespace deployguard::config {
namespace {

using Errors = std::vector<std::string>;

Errors errors_of(const std::string& yaml) {
  const LoadResult r = parse_config(yaml);
  EXPECT_EQ(r.ok(), r.errors.empty());
  Errors out;
  for (const auto& e : r.errors) out.push_back(e.to_string());
  return out;
}

// Pieces of a valid document, combined with the section under test.
const std::string kGithub = "github: { token_env: GITHUB_TOKEN }\n";
const std::string kEnvironments =
    "environments: { staging: { github: { repo: octo/app, workflows: [deploy.yml] } } }\n";
const std::string kValid = kGithub + kEnvironments;

std::string environment(const std::string& body) {
  return kGithub + "environments:\n  staging:\n    github: { repo: octo/app, workflows: [d.yml] }\n" +
         body;
}

std::string azure(const std::string& auth) {
  return "azure:\n  subscription_id: sub\n  auth: " + auth +
         "\nenvironments: { e: { container_app: { resource_group: rg, name: app } } }\n";
}

TEST(ConfigErrors, ValidBaseHasNoErrors) { EXPECT_EQ(errors_of(kValid), Errors{}); }

TEST(ConfigErrors, BadDurationNamesPathAndValue) {
  EXPECT_EQ(errors_of(environment("    cooldown: soon\n")),
            Errors{"environments.staging.cooldown: expected a duration like 14m, got \"soon\""});
  EXPECT_EQ(errors_of(environment("    min_interval: 90\n")),
            Errors{"environments.staging.min_interval: expected a duration like 14m, got \"90\""});
  EXPECT_EQ(errors_of(environment("    cooldown: -2m\n")),
            Errors{"environments.staging.cooldown: expected a duration like 14m, got \"-2m\""});
  EXPECT_EQ(errors_of(environment("    cooldown: [2m]\n")),
            Errors{"environments.staging.cooldown: expected a duration like 14m, got a list"});
  EXPECT_EQ(errors_of(environment("    cooldown:\n")),
            Errors{"environments.staging.cooldown: expected a duration like 14m, got nothing"});
}

TEST(ConfigErrors, PollIntervalsAndStaleAfterHaveAOneSecondFloor) {
  EXPECT_EQ(errors_of("github: { token_env: T, poll_interval: 500ms }\n" + kEnvironments),
            Errors{"github.poll_interval: must be at least 1s, got \"500ms\""});
  EXPECT_EQ(errors_of("github: { token_env: T, poll_interval: 0s }\n" + kEnvironments),
            Errors{"github.poll_interval: must be at least 1s, got \"0s\""});
  EXPECT_EQ(errors_of(environment("    stale_after: 999ms\n")),
            Errors{"environments.staging.stale_after: must be at least 1s, got \"999ms\""});
  EXPECT_EQ(errors_of("azure: { subscription_id: s, poll_interval: 0s, auth: { method: "
                      "managed_identity } }\n"
                      "environments: { e: { container_app: { resource_group: rg, name: a } } }\n"),
            Errors{"azure.poll_interval: must be at least 1s, got \"0s\""});
  EXPECT_EQ(errors_of("server: { read_timeout: 0s }\n" + kValid),
            Errors{"server.read_timeout: must be greater than 0, got \"0s\""});
}

TEST(ConfigErrors, BadSizesCountsAndEnums) {
  EXPECT_EQ(errors_of("server: { max_body_bytes: 5 megs }\n" + kValid),
            Errors{"server.max_body_bytes: expected a size like 5MiB, 16KiB or 1024, got "
                   "\"5 megs\""});
  EXPECT_EQ(errors_of("server: { max_header_bytes: 512 }\n" + kValid),
            Errors{"server.max_header_bytes: must be at least 1KiB, got \"512\""});
  EXPECT_EQ(errors_of("server: { max_connections: many }\n" + kValid),
            Errors{"server.max_connections: expected a whole number, got \"many\""});
  EXPECT_EQ(errors_of("server: { max_connections: 10KiB }\n" + kValid),
            Errors{"server.max_connections: expected a whole number, got \"10KiB\""});
  EXPECT_EQ(errors_of(environment("    max_active_revisions: 0\n")),
            Errors{"environments.staging.max_active_revisions: must be at least 1, got \"0\""});
  EXPECT_EQ(errors_of(environment("    max_active_revisions: 3000000000\n")),
            Errors{"environments.staging.max_active_revisions: must be at most 2147483647, got "
                   "\"3000000000\""});
  EXPECT_EQ(errors_of("log: { level: verbose, format: xml }\n" + kValid),
            (Errors{"log.level: expected one of trace, debug, info, warn, error, got \"verbose\"",
                    "log.format: expected one of text, json, got \"xml\""}));
}

TEST(ConfigErrors, QueueOrderIsOneOfTheChoices) {
  EXPECT_EQ(errors_of(environment("    queue: { order: lifo }\n")),
            Errors{"environments.staging.queue.order: expected one of fifo, newest_first, got "
                   "\"lifo\""});
  EXPECT_EQ(errors_of("queue: { order: FIFO }\n" + kValid),
            Errors{"queue.order: expected one of fifo, newest_first, got \"FIFO\""});
}

TEST(ConfigErrors, QueueTicketTtlFromOneSecondToOneHour) {
  EXPECT_EQ(errors_of(environment("    queue: { ticket_ttl: 0s }\n")),
            Errors{"environments.staging.queue.ticket_ttl: must be at least 1s, got \"0s\""});
  EXPECT_EQ(errors_of("queue: { ticket_ttl: 0 }\n" + kValid),
            Errors{"queue.ticket_ttl: expected a duration like 14m, got \"0\""});
  EXPECT_EQ(errors_of("queue: { ticket_ttl: 500ms }\n" + kValid),
            Errors{"queue.ticket_ttl: must be at least 1s, got \"500ms\""});
  EXPECT_EQ(errors_of(environment("    queue: { ticket_ttl: 1h1s }\n")),
            Errors{"environments.staging.queue.ticket_ttl: must be at most 1h, got \"1h1s\""});
}

TEST(ConfigErrors, QueueMaxLengthFromOneToTenThousand) {
  EXPECT_EQ(errors_of(environment("    queue: { max_length: 0 }\n")),
            Errors{"environments.staging.queue.max_length: must be at least 1, got \"0\""});
  EXPECT_EQ(errors_of("queue: { max_length: 10001 }\n" + kValid),
            Errors{"queue.max_length: must be at most 10000, got \"10001\""});
  EXPECT_EQ(errors_of("queue: { max_length: -1 }\n" + kValid),
            Errors{"queue.max_length: expected a whole number, got \"-1\""});
}

TEST(ConfigErrors, QueueSupersedeIsTrueOrFalse) {
  // YAML 1.1 spellings are refused rather than read as a boolean.
  EXPECT_EQ(errors_of(environment("    queue: { supersede: yes }\n")),
            Errors{"environments.staging.queue.supersede: expected true or false, got \"yes\""});
  EXPECT_EQ(errors_of("queue: { supersede: 1 }\n" + kValid),
            Errors{"queue.supersede: expected true or false, got \"1\""});
}

TEST(ConfigErrors, QueueSectionsRejectUnknownKeysAndOtherShapes) {
  EXPECT_EQ(errors_of(environment("    queue: { priority: 1 }\n")),
            Errors{"environments.staging.queue.priority: unknown key"});
  EXPECT_EQ(errors_of("queue: { max_lenght: 5 }\n" + kValid),
            Errors{"queue.max_lenght: unknown key (did you mean \"max_length\"?)"});
  EXPECT_EQ(errors_of("queue: fifo\n" + kValid), Errors{"queue: expected a mapping, got \"fifo\""});
  EXPECT_EQ(errors_of(environment("    queue: [fifo]\n")),
            Errors{"environments.staging.queue: expected a mapping, got a list"});
  // Environment keys are not accepted in the top-level map.
  EXPECT_EQ(errors_of("queue: { cooldown: 1m }\n" + kValid), Errors{"queue.cooldown: unknown key"});
}

TEST(ConfigErrors, ListenAddresses) {
  EXPECT_EQ(errors_of("server: { listen: \"127.0.0.1:70000\" }\n" + kValid),
            Errors{"server.listen: port must be a number from 0 to 65535 (0 picks a free port), "
                   "got \"127.0.0.1:70000\""});
  EXPECT_EQ(errors_of("server: { listen: 8080 }\n" + kValid),
            Errors{"server.listen: expected host:port like 127.0.0.1:8080 or [::1]:8080, got "
                   "\"8080\""});
  EXPECT_EQ(errors_of("server: { listen: \"::1:8080\" }\n" + kValid),
            Errors{"server.listen: IPv6 addresses must be written in brackets, like [::1]:8080, "
                   "got \"::1:8080\""});
}

TEST(ConfigErrors, TypeMismatches) {
  EXPECT_EQ(errors_of("server: [1, 2]\n" + kValid),
            Errors{"server: expected a mapping, got a list"});
  EXPECT_EQ(errors_of(kGithub + "environments: { s: { github: { repo: o/a, workflows: d.yml } } }"),
            Errors{"environments.s.github.workflows: expected a list of strings, got \"d.yml\""});
  EXPECT_EQ(errors_of(kGithub + "environments: { s: { github: { repo: o/a, workflows: [] } } }"),
            Errors{"environments.s.github.workflows: must list at least 1 item"});
  EXPECT_EQ(errors_of(kGithub + "environments: { s: { github: { repo: o/a, workflows: [a, {x: 1}] } } }"),
            Errors{"environments.s.github.workflows[1]: expected a non-empty string, got a mapping"});
  EXPECT_EQ(errors_of(kGithub + "environments: { s: { github: { repo: [o, a], workflows: [a] } } }"),
            Errors{"environments.s.github.repo: expected owner/name like octo-org/api, got a list"});
  EXPECT_EQ(errors_of("github: { token_env: T, api_url: api.github.com }\n" + kEnvironments),
            Errors{"github.api_url: expected an http:// or https:// URL, got \"api.github.com\""});
  EXPECT_EQ(errors_of("environments: [staging]\n" + kGithub),
            Errors{"environments: expected a mapping of environment names, got a list"});
}

TEST(ConfigErrors, RepoMustBeOwnerSlashName) {
  EXPECT_EQ(errors_of(kGithub + "environments: { s: { github: { repo: engram, workflows: [a] } } }"),
            Errors{"environments.s.github.repo: expected owner/name like octo-org/api, got "
                   "\"engram\""});
  EXPECT_EQ(
      errors_of(kGithub +
                "environments: { s: { github: { repo: \"https://github.com/o/a\", workflows: [a] } } }"),
      Errors{"environments.s.github.repo: expected owner/name like octo-org/api, got "
             "\"https://github.com/o/a\""});
}

TEST(ConfigErrors, UnknownKeysAtEveryLevelWithSuggestions) {
  EXPECT_EQ(errors_of(environment("    colldown: 2m\n")),
            Errors{"environments.staging.colldown: unknown key (did you mean \"cooldown\"?)"});
  EXPECT_EQ(errors_of("servr: {}\n" + kValid), Errors{"servr: unknown key (did you mean \"server\"?)"});
  EXPECT_EQ(errors_of("metrics: {}\n" + kValid), Errors{"metrics: unknown key"});
  EXPECT_EQ(errors_of("server: { port: 80 }\n" + kValid), Errors{"server.port: unknown key"});
  EXPECT_EQ(errors_of("server: { Listen: \"127.0.0.1:1\" }\n" + kValid),
            Errors{"server.Listen: unknown key (did you mean \"listen\"?)"});
  EXPECT_EQ(errors_of(environment("    busy_backoff: { initial: 1m, maximum: 2m }\n")),
            Errors{"environments.staging.busy_backoff.maximum: unknown key"});
  EXPECT_EQ(errors_of(environment("    postgres_servers: [ { resource_group: rg, nmae: db } ]\n")),
            (Errors{"environments.staging.postgres_servers: requires the top-level azure section",
                    "environments.staging.postgres_servers[0].name: required key is missing",
                    "environments.staging.postgres_servers[0].nmae: unknown key (did you mean "
                    "\"name\"?)"}));
  EXPECT_EQ(errors_of(azure("{ method: managed_identity, tennant_id: x }")),
            Errors{"azure.auth.tennant_id: unknown key (did you mean \"tenant_id\"?)"});
  // A dotted key must not reach into a nested schema row.
  EXPECT_EQ(errors_of(environment("    github.repo: o/a\n")),
            Errors{"environments.staging.github.repo: unknown key"});
}

TEST(ConfigErrors, SecretsInYamlAreRejectedWithTheFileOrEnvVariant) {
  EXPECT_EQ(errors_of("github: { token: ghp_abc }\n" + kEnvironments),
            (Errors{"github: one of token_file or token_env is required",
                    "github.token: secrets must not be written in the configuration file; use "
                    "token_file or token_env instead"}));
  EXPECT_EQ(errors_of("github: { token_env: T, webhook_secret: s3cret }\n" + kEnvironments),
            Errors{"github.webhook_secret: secrets must not be written in the configuration file; "
                   "use webhook_secret_file instead"});
  EXPECT_EQ(errors_of(azure("{ tenant_id: t, client_id: c, client_secret: s3cret, "
                            "client_secret_env: X }")),
            Errors{"azure.auth.client_secret: secrets must not be written in the configuration "
                   "file; use client_secret_file or client_secret_env instead"});
  EXPECT_EQ(errors_of("server: { api_token: abc }\n" + kValid),
            Errors{"server.api_token: secrets must not be written in the configuration file; use "
                   "api_token_file instead"});
  EXPECT_EQ(errors_of(environment("    password: hunter2\n")),
            Errors{"environments.staging.password: secrets must not be written in the "
                   "configuration file; put the secret in a file and reference it with a *_file "
                   "key"});
  // No message ever repeats a secret value.
  for (const auto& e : errors_of("github: { token: ghp_abc, token_env: ghp_def }\n" + kEnvironments)) {
    EXPECT_EQ(e.find("ghp_"), std::string::npos) << e;
  }
}

TEST(ConfigErrors, RequiredKeys) {
  EXPECT_EQ(errors_of(kGithub), Errors{"environments: required key is missing"});
  EXPECT_EQ(errors_of(kGithub + "environments: {}\n"),
            Errors{"environments: at least one environment is required"});
  EXPECT_EQ(errors_of(kGithub + "environments: { s: { github: { workflows: [a] } } }"),
            Errors{"environments.s.github.repo: required key is missing"});
  EXPECT_EQ(errors_of("azure: { auth: { method: managed_identity } }\n"
                      "environments: { e: { container_app: { name: app } } }\n"),
            (Errors{"azure.subscription_id: required key is missing",
                    "environments.e.container_app.resource_group: required key is missing"}));
  EXPECT_EQ(errors_of("azure: { subscription_id: s }\n"
                      "environments: { e: { container_app: { resource_group: rg, name: app } } }\n"),
            Errors{"azure.auth: required key is missing"});
}

TEST(ConfigErrors, EnvironmentsNeedTheirTopLevelSections) {
  EXPECT_EQ(errors_of(kEnvironments),
            Errors{"environments.staging.github: requires the top-level github section"});
  EXPECT_EQ(errors_of(kGithub + "environments:\n  e:\n    container_app: { resource_group: rg, name: a }\n"
                                "    postgres_servers: [ { resource_group: rg, name: db } ]\n"),
            (Errors{"environments.e.container_app: requires the top-level azure section",
                    "environments.e.postgres_servers: requires the top-level azure section"}));
  EXPECT_EQ(errors_of(kGithub + "environments: { e: { cooldown: 1m } }\n"),
            Errors{"environments.e: watches nothing; set github, container_app or postgres_servers"});
}

TEST(ConfigErrors, EnvironmentNames) {
  EXPECT_EQ(errors_of(kGithub + "environments:\n  \"prod eu\": { cooldown: 1m }\n  ok: { github: "
                                "{ repo: o/a, workflows: [a] } }\n"),
            Errors{"environments.prod eu: invalid environment name; use only letters, digits, "
                   "'_', '.' and '-'"});
}

TEST(ConfigErrors, CrossFieldRules) {
  EXPECT_EQ(errors_of(environment("    busy_backoff: { initial: 40m, max: 30m }\n")),
            Errors{"environments.staging.busy_backoff.initial: busy_backoff.initial (40m) must not "
                   "exceed busy_backoff.max (30m)"});
  // Against the default max (30m).
  EXPECT_EQ(errors_of(environment("    busy_backoff: { initial: 1h }\n")),
            Errors{"environments.staging.busy_backoff.initial: busy_backoff.initial (1h) must not "
                   "exceed busy_backoff.max (30m)"});
  EXPECT_EQ(errors_of("github: {}\n" + kEnvironments),
            Errors{"github: one of token_file or token_env is required"});
  EXPECT_EQ(errors_of("github: { token_file: f, token_env: T }\n" + kEnvironments),
            Errors{"github.token_env: set only one of token_file and token_env"});
  EXPECT_EQ(errors_of("server: { webhook_listen: \"0.0.0.0:8443\", cert_file: c.pem }\n"
                      "github: { token_env: T, webhook_secret_file: w }\n" + kEnvironments),
            Errors{"server.key_file: required when server.cert_file is set"});
  EXPECT_EQ(errors_of("server: { key_file: k.pem, cert_file: c.pem }\n" + kValid),
            Errors{"server.cert_file: TLS is only served on server.webhook_listen, which is not set"});
  EXPECT_EQ(errors_of("server: { webhook_listen: \"0.0.0.0:8443\" }\n" + kValid),
            Errors{"server.webhook_listen: requires github.webhook_secret_file to verify webhook "
                   "deliveries"});
  EXPECT_EQ(errors_of("server: { listen: \"127.0.0.1:9000\", webhook_listen: \"127.0.0.1:9000\" }\n"
                      "github: { token_env: T, webhook_secret_file: w }\n" + kEnvironments),
            Errors{"server.webhook_listen: must differ from server.listen"});
}

TEST(ConfigErrors, AzureAuthPerMethod) {
  EXPECT_EQ(errors_of(azure("{ method: client_secret }")),
            (Errors{"azure.auth.tenant_id: required for method client_secret",
                    "azure.auth.client_id: required for method client_secret",
                    "azure.auth: method client_secret needs client_secret_file or client_secret_env"}));
  EXPECT_EQ(errors_of(azure("{ tenant_id: t, client_id: c, client_secret_file: f, "
                            "client_secret_env: E }")),
            Errors{"azure.auth.client_secret_env: set only one of client_secret_file and "
                   "client_secret_env"});
  EXPECT_EQ(errors_of(azure("{ method: managed_identity, client_secret_file: f }")),
            Errors{"azure.auth.client_secret_file: not used by method managed_identity"});
  EXPECT_EQ(errors_of(azure("{ method: token_file }")),
            Errors{"azure.auth.token_file: required for method token_file"});
  EXPECT_EQ(errors_of(azure("{ method: certificate }")),
            Errors{"azure.auth.method: expected one of client_secret, workload_identity, "
                   "managed_identity, token_file, got \"certificate\""});
}

TEST(ConfigErrors, EnvVarNamesAreCheckedWithoutEchoingTheValue) {
  EXPECT_EQ(errors_of("github: { token_env: ghp_0123456789abcdef }\n" + kEnvironments),
            Errors{"github.token_env: expected the name of an environment variable like "
                   "GITHUB_TOKEN (A-Z, 0-9 and _), not its value"});
}

TEST(ConfigErrors, DuplicateKeys) {
  EXPECT_EQ(errors_of("server:\n  listen: \"127.0.0.1:1\"\n  listen: \"127.0.0.1:2\"\n" + kValid),
            Errors{"server.listen: duplicate key"});
}

TEST(ConfigErrors, AKeyThatFailedToParseIsNotAlsoReportedMissing) {
  EXPECT_EQ(errors_of("github: { token_file: [a, b] }\n" + kEnvironments),
            Errors{"github.token_file: expected a file path, got a list"});
  EXPECT_EQ(errors_of(environment("    busy_backoff: { initial: soon, max: 1m }\n")),
            Errors{"environments.staging.busy_backoff.initial: expected a duration like 14m, got "
                   "\"soon\""});
}

TEST(ConfigErrors, EmptyAndNullValues) {
  EXPECT_EQ(errors_of(kGithub + "environments: { s: { github: { repo: o/a, workflows: [a], "
                                "branch: \"\" } } }"),
            Errors{"environments.s.github.branch: expected a non-empty string, got \"\""});
  EXPECT_EQ(errors_of(kGithub + "environments:\n  staging:\n"),
            Errors{"environments.staging: expected a mapping, got nothing"});
  EXPECT_EQ(errors_of("log:\n" + kValid), Errors{"log: expected a mapping, got nothing"});
}

TEST(ConfigErrors, ManyErrorsAreCollectedInDocumentOrder) {
  const std::string yaml = R"(server:
  listen: "localhost"
  max_body_bytes: lots
log: { level: loud }
github: { token_env: GITHUB_TOKEN, poll_interval: 0s }
environments:
  staging:
    github: { repo: engram, workflows: [deploy.yml] }
    colldown: 2m
    cooldown: soon
    max_active_revisions: 0
  prod:
    container_app: { resource_group: rg, name: app }
)";
  EXPECT_EQ(errors_of(yaml),
            (Errors{
                "server.listen: expected host:port like 127.0.0.1:8080 or [::1]:8080, got "
                "\"localhost\"",
                "server.max_body_bytes: expected a size like 5MiB, 16KiB or 1024, got \"lots\"",
                "log.level: expected one of trace, debug, info, warn, error, got \"loud\"",
                "github.poll_interval: must be at least 1s, got \"0s\"",
                "environments.staging.github.repo: expected owner/name like octo-org/api, got "
                "\"engram\"",
                "environments.staging.colldown: unknown key (did you mean \"cooldown\"?)",
                "environments.staging.cooldown: expected a duration like 14m, got \"soon\"",
                "environments.staging.max_active_revisions: must be at least 1, got \"0\"",
                "environments.prod.container_app: requires the top-level azure section",
            }));
}

TEST(ConfigErrors, SyntaxErrorsReportLineAndColumn) {
  const LoadResult r = parse_config("server:\n  listen: [\"127.0.0.1:1\"\nlog: {}\n");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "");
  EXPECT_EQ(r.errors[0].message.rfind("YAML syntax error at line 3, column 1: ", 0), 0u)
      << r.errors[0].message;

  const LoadResult tabs = parse_config("server:\n\tlisten: x\n");
  ASSERT_EQ(tabs.errors.size(), 1u);
  EXPECT_EQ(tabs.errors[0].message.rfind("YAML syntax error at line 2, column ", 0), 0u)
      << tabs.errors[0].message;
}

TEST(ConfigErrors, DocumentLevelProblems) {
  EXPECT_EQ(errors_of(""), Errors{"the configuration is empty"});
  EXPECT_EQ(errors_of("# only a comment\n"), Errors{"the configuration is empty"});
  EXPECT_EQ(errors_of("- a\n- b\n"), Errors{"expected a mapping at the top level, got a list"});
  EXPECT_EQ(errors_of(kValid + "---\n" + kValid), Errors{"expected one YAML document, found 2"});
}

// Found by tests/fuzz/fuzz_config: yaml-cpp 0.7's LoadAll() never returns on a stray ',' (its
// parser reports an empty document at the same place forever, allocating each one).
TEST(ConfigErrors, AStrayFlowEntryIsASyntaxErrorNotAHang) {
  EXPECT_EQ(errors_of(","), Errors{"YAML syntax error at line 1, column 1: unexpected ','"});
  EXPECT_EQ(errors_of(", a"), Errors{"YAML syntax error at line 1, column 1: unexpected ','"});
  // The fuzzer's input.
  const std::string found(",\0\0irnapp\n      \xff\xff\xff\xe8workflows: [deploy.yml]\n", 44);
  EXPECT_EQ(errors_of(found), Errors{"YAML syntax error at line 1, column 1: unexpected ','"});
  // After a valid document, the stray ',' is still found where it is.
  const Errors after = errors_of(kValid + "---\n,\n");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].rfind("YAML syntax error at line 4, column 1: ", 0), 0u) << after[0];
  // Several documents are still counted.
  EXPECT_EQ(errors_of(kValid + "---\n" + kValid + "---\n" + kValid),
            Errors{"expected one YAML document, found 3"});
  EXPECT_EQ(errors_of("---\n---\n"), Errors{"expected one YAML document, found 2"});
}

TEST(ConfigErrors, MissingOrUnreadableFile) {
  const LoadResult r = load_config_file("/nonexistent/deployguard.yaml");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(),
            "cannot read configuration file \"/nonexistent/deployguard.yaml\": No such file or "
            "directory");

  const LoadResult dir = load_config_file("/");
  ASSERT_EQ(dir.errors.size(), 1u);
  EXPECT_EQ(dir.errors[0].to_string(), "cannot read configuration file \"/\": is a directory");
}

TEST(ConfigErrors, FileErrorsKeepTheirPaths) {
  const deployguard::testing::TempFile file(environment("    cooldown: soon\n"), ".yaml");
  const LoadResult r = load_config_file(file.path().string());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "environments.staging.cooldown");
  EXPECT_EQ(r.errors[0].message, "expected a duration like 14m, got \"soon\"");
}

TEST(ConfigErrors, ApiTokensNeedKnownScopesEnvironmentsAndUniqueNames) {
  EXPECT_EQ(errors_of("server:\n  api_tokens:\n"
                      "    - { name: ci, file: /t/ci, scopes: [deploy, admin], environments: [prod] }\n"
                      "    - { name: ci, file: /t/ci2, scopes: [read] }\n" +
                      kValid),
            (Errors{"server.api_tokens[0].scopes: item 1: expected one of deploy, operate, read, "
                    "got \"admin\"",
                    "server.api_tokens[0].environments: no environment named \"prod\"",
                    "server.api_tokens[1].name: duplicate token name \"ci\""}));
  EXPECT_EQ(errors_of("server:\n  api_tokens:\n    - { name: ci, scopes: [deploy] }\n" + kValid),
            Errors{"server.api_tokens[0].file: required key is missing"});
  EXPECT_EQ(errors_of("server:\n  api_tokens:\n    - { name: ci, file: /t, scopes: [] }\n" + kValid),
            Errors{"server.api_tokens[0].scopes: must list at least 1 item"});
  EXPECT_EQ(errors_of("server:\n  api_tokens:\n    - { name: ci, file: /t, scopes: [deploy], "
                      "token: abc }\n" + kValid).size(),
            1u);
}

TEST(ConfigErrors, NotifySinksNeedKnownFormatsEventsEnvironmentsAndUniqueNames) {
  EXPECT_EQ(errors_of("notify:\n  - { name: team, url_file: /u, format: x }\n" + kValid),
            Errors{"notify[0].format: expected one of slack, teams, json, got \"x\""});
  EXPECT_EQ(errors_of("notify:\n"
                      "  - { name: team, url_file: /u, format: slack, events: [verdict, deploys],"
                      " environments: [prod] }\n"
                      "  - { name: team, url_file: /v, format: json }\n" +
                      kValid),
            (Errors{"notify[0].events: item 1: expected one of verdict, queue, gate, freeze, "
                    "stop, override, source_error, got \"deploys\"",
                    "notify[0].environments: no environment named \"prod\"",
                    "notify[1].name: duplicate sink name \"team\""}));
  EXPECT_EQ(errors_of("notify:\n  - { name: team, format: json }\n" + kValid),
            Errors{"notify[0].url_file: required key is missing"});
  EXPECT_EQ(errors_of("notify:\n  - { name: team, url_file: /u }\n" + kValid),
            Errors{"notify[0].format: required key is missing"});
  EXPECT_EQ(errors_of("notify:\n  - { name: team, url_file: /u, format: teams, secret_file: /s }\n" +
                      kValid),
            Errors{"notify[0].secret_file: only the json format is signed; remove it or use "
                   "format json"});
  EXPECT_EQ(errors_of("notify:\n  - { name: team, url_file: /u, format: json, "
                      "min_interval_between: soon }\n" + kValid),
            Errors{"notify[0].min_interval_between: expected a duration like 14m, got \"soon\""});
  EXPECT_EQ(errors_of("notify:\n  - { name: team, url: https://hooks.example/x, format: json }\n" +
                      kValid),
            (Errors{"notify[0].url_file: required key is missing", "notify[0].url: unknown key"}));
  EXPECT_EQ(errors_of("notify: { name: team }\n" + kValid),
            Errors{"notify: expected a list of mappings, got a mapping"});
}

TEST(ConfigErrors, ProtectReadsNeedsATokenThatCanRead) {
  EXPECT_EQ(errors_of("server: { protect_reads: true }\n" + kValid),
            Errors{"server.protect_reads: needs server.api_tokens or server.api_token_file"});
  EXPECT_EQ(errors_of("server:\n  protect_reads: true\n  api_tokens:\n"
                      "    - { name: ci, file: /t, scopes: [deploy] }\n" + kValid),
            Errors{"server.protect_reads: no token has scope read, so nobody could read status"});
  EXPECT_EQ(errors_of("server:\n  protect_reads: true\n  api_tokens:\n"
                      "    - { name: ci, file: /t, scopes: [deploy, read] }\n" + kValid),
            Errors{});
}

TEST(ConfigErrors, TrustedProxiesMustBeCidrs) {
  EXPECT_EQ(errors_of("server: { trusted_proxies: [10.0.0.0/8, \"::1/128\", 192.168.1.0/33, "
                      "10.0.0.1/8, proxy.local] }\n" + kValid),
            (Errors{"server.trusted_proxies: item 2 (\"192.168.1.0/33\"): expected a CIDR such as "
                    "10.0.0.0/8 or ::1/128; an IPv4 prefix is at most 32",
                    "server.trusted_proxies: item 3 (\"10.0.0.1/8\"): expected a CIDR such as "
                    "10.0.0.0/8 or ::1/128; host bits are set after the prefix",
                    "server.trusted_proxies: item 4 (\"proxy.local\"): expected a CIDR such as "
                    "10.0.0.0/8 or ::1/128; not an IP address"}));
}

TEST(ConfigErrors, ApiTlsNeedsBothFiles) {
  EXPECT_EQ(errors_of("server: { tls: { cert_file: /c.pem } }\n" + kValid),
            Errors{"server.tls.key_file: required key is missing"});
}

}  // namespace
}  // namespace deployguard::config

namespace deployguard::config {
namespace {

TEST(ConfigErrors, FreezeWindowsNameTheKeyOfEachProblem) {
  const std::string windows =
      "    freeze_windows:\n"
      "      - { name: nights, cron: \"0 20 * * 1-5\", duration: 12h, time_zone: Europe/Berlin }\n"
      "      - { name: typo, cron: \"0 25 * * *\", duration: 1h }\n"
      "      - { name: nowhere, cron: \"0 1 * * *\", duration: 1h, time_zone: Mars/Olympus }\n"
      "      - { name: empty, cron: \"0 1 * * *\", duration: 0s }\n"
      "      - { name: once, from: \"2026-12-24T00:00:00\", until: \"2026-12-23T00:00:00\" }\n"
      "      - { name: nights, from: \"2026-12-24T00:00\", until: \"2026-12-25T00:00\" }\n"
      "      - { name: nothing }\n";
  EXPECT_EQ(errors_of(environment(windows)),
            (Errors{"environments.staging.freeze_windows[1].cron: hour field \"25\": values must be within 0-23",
                    "environments.staging.freeze_windows[2].time_zone: unknown time zone \"Mars/Olympus\" (not "
                    "in the system's tz database; names look like Europe/Berlin)",
                    "environments.staging.freeze_windows[3].duration: must be at least 1s, got \"0s\"",
                    "environments.staging.freeze_windows[4].until: must be after from (2026-12-24T00:00:00), or "
                    "the window is empty",
                    "environments.staging.freeze_windows[5].name: duplicate window name \"nights\"",
                    "environments.staging.freeze_windows[6]: needs cron and duration (a recurring window) or "
                    "from and until (a one-off one)"}));
}

TEST(ConfigErrors, TopLevelFreezeWindowsAreCheckedToo) {
  EXPECT_EQ(errors_of(kValid + "freeze_windows: [{ name: w, cron: \"0 0 30 2 *\", duration: 1h }]\n"),
            Errors{"freeze_windows[0].cron: \"0 0 30 2 *\" never matches a date"});
  EXPECT_EQ(errors_of(kValid + "freeze_windows: [{ name: w, cron: \"0 0 * * *\" }]\n"),
            Errors{"freeze_windows[0].duration: required with cron, and longer than 0 (how long each "
                   "occurrence lasts)"});
  EXPECT_EQ(errors_of(kValid + "freeze_windows: [{ name: w, from: \"24.12.2026\", until: \"2026-12-25T00:00\" }]\n"),
            Errors{"freeze_windows[0].from: expected a local date-time such as 2026-12-24T00:00:00 (seconds "
                   "optional, no offset: the window's time_zone applies), got \"24.12.2026\""});
}

TEST(ConfigFreezeWindows, EnvironmentsInheritTheTopLevelListAndMayReplaceByName) {
  const auto r = parse_config(
      "github: { token_env: GITHUB_TOKEN }\n"
      "freeze_windows:\n"
      "  - { name: nights, cron: \"0 20 * * 1-5\", duration: 12h, time_zone: Europe/Berlin }\n"
      "  - { name: weekend, cron: \"0 0 * * 6\", duration: 48h }\n"
      "environments:\n"
      "  staging: { github: { repo: octo/app, workflows: [d.yml] } }\n"
      "  production:\n"
      "    github: { repo: octo/app, workflows: [d.yml] }\n"
      "    freeze_windows:\n"
      "      - { name: nights, cron: \"0 18 * * *\", duration: 14h, time_zone: Europe/Berlin }\n"
      "      - { name: new-year, from: \"2026-12-24T00:00:00\", until: \"2027-01-02T00:00:00\", time_zone: Europe/Berlin }\n");
  ASSERT_TRUE(r.ok()) << r.errors.front().to_string();
  const auto& staging = r.config->environments.at("staging").freeze_windows;
  ASSERT_EQ(staging.size(), 2u);
  EXPECT_EQ(staging[0].name, "nights");
  EXPECT_EQ(*staging[0].cron, "0 20 * * 1-5");
  const auto& production = r.config->environments.at("production").freeze_windows;
  ASSERT_EQ(production.size(), 3u);
  EXPECT_EQ(production[0].name, "weekend");
  EXPECT_EQ(production[1].name, "nights");
  EXPECT_EQ(*production[1].cron, "0 18 * * *");
  EXPECT_EQ(production[1].duration, std::chrono::hours{14});
  EXPECT_EQ(production[2].name, "new-year");
  EXPECT_EQ(production[2].time_zone, "Europe/Berlin");
}

}  // namespace
}  // namespace deployguard::config
