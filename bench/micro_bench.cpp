// Google Benchmark for the pure parts of the request paths: decision evaluation,
// GitHub payload parsing, HMAC verification, the whole webhook processor (verify + de-dup +
// parse + map) and /can-deploy rendering. No sockets, no clock reads in the measured code.
//
// Fixtures: tests/fixtures/github (override with DEPLOYGUARD_FIXTURES).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "api/render.hpp"
#include "core/policy.hpp"
#include "parse/github.hpp"
#include "webhook/processor.hpp"
#include "webhook/signature.hpp"

namespace dg = deployguard;

namespace {

std::string fixture_dir() {
  if (const char* env = std::getenv("DEPLOYGUARD_FIXTURES")) return env;
  return DEPLOYGUARD_FIXTURES_DEFAULT;
}

std::string read_fixture(const std::string& relative) {
  std::ifstream in(fixture_dir() + "/" + relative, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read fixture " + relative);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string& workflow_run_payload() {
  static const std::string body = read_fixture("workflow_run/in_progress.payload.json");
  return body;
}

const std::string& runs_page() {
  static const std::string body = read_fixture("rest/list-workflow-runs-for-a-repository.example.json");
  return body;
}

constexpr std::string_view kSecret = "bench-webhook-secret";

dg::TimePoint at(std::string_view rfc3339) { return *dg::parse_timestamp(rfc3339); }

/// A policy in the state a busy production environment is in: 50 runs known (the cap), a
/// container app with two revisions, two databases, a cooldown in force.
dg::EnvironmentPolicy loaded_policy(dg::TimePoint now) {
  dg::EnvironmentRules rules;
  rules.name = "staging";
  rules.github = dg::GitHubTarget{"octo-org/octo-repo", {".github/workflows/test.yml"}, "master"};
  rules.has_container_app = true;
  rules.postgres_servers = {"db-a", "db-b"};
  dg::EnvironmentPolicy policy(rules);

  auto parsed = dg::parse::parse_workflow_run_body(
      nlohmann::json::parse(workflow_run_payload())["workflow_run"].dump());
  if (!parsed) throw std::runtime_error("fixture run does not parse");
  dg::RunsPolled polled;
  for (int i = 0; i < 50; ++i) {
    auto run = *parsed;
    run.id += i;
    run.status = dg::RunStatus::Completed;
    run.conclusion = dg::RunConclusion::Success;
    run.created_at = now - std::chrono::minutes{10 * (50 - i)};
    run.updated_at = run.created_at + std::chrono::minutes{5};
    polled.runs.push_back(run);
  }
  policy.apply(polled, now);

  dg::ContainerAppPolled app;
  app.app.name = "staging-api";
  app.app.provisioning_state = "Succeeded";
  app.app.running_status = "Running";
  app.app.active_revisions_mode = "Single";
  app.app.latest_revision_name = "staging-api--r2";
  app.app.latest_ready_revision_name = "staging-api--r2";
  app.app.traffic = {dg::TrafficEntry{"staging-api--r2", 100, false, ""}};
  for (const char* name : {"staging-api--r1", "staging-api--r2"}) {
    dg::RevisionSnapshot rev;
    rev.name = name;
    rev.active = std::string_view(name).ends_with("r2");
    rev.traffic_weight = rev.active ? 100 : 0;
    rev.replicas = rev.active ? 1 : 0;
    rev.provisioning_state = "Provisioned";
    rev.running_state = rev.active ? "Running" : "Stopped";
    app.revisions.push_back(rev);
  }
  policy.apply(app, now);
  for (const char* name : {"db-a", "db-b"})
    policy.apply(dg::PostgresPolled{dg::PostgresServerSnapshot{name, "Ready", "", "16"}}, now);
  return policy;
}

void BM_Decide(benchmark::State& state) {
  const auto now = at("2020-10-06T00:00:00Z");
  auto policy = loaded_policy(now);
  for (auto _ : state) benchmark::DoNotOptimize(policy.decide(now));
}
BENCHMARK(BM_Decide);

void BM_DecideAndRender(benchmark::State& state) {
  const auto now = at("2020-10-06T00:00:00Z");
  auto policy = loaded_policy(now);
  for (auto _ : state) {
    auto body = dg::api::decision_json("staging", policy.decide(now)).dump();
    benchmark::DoNotOptimize(body);
  }
}
BENCHMARK(BM_DecideAndRender);

void BM_ParseWorkflowRunWebhook(benchmark::State& state) {
  const auto& body = workflow_run_payload();
  for (auto _ : state) benchmark::DoNotOptimize(dg::parse::parse_webhook("workflow_run", body));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ParseWorkflowRunWebhook);

void BM_ParseRunsPage(benchmark::State& state) {
  const auto& body = runs_page();
  for (auto _ : state) benchmark::DoNotOptimize(dg::parse::parse_workflow_runs_page(body));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ParseRunsPage);

void BM_HmacVerify(benchmark::State& state) {
  const auto& body = workflow_run_payload();
  const std::string header = "sha256=" + dg::webhook::hmac_sha256_hex(kSecret, body);
  const std::vector<std::string> secrets{std::string(kSecret)};
  for (auto _ : state) {
    bool ok = dg::webhook::verify_signature(body, header, secrets);
    if (!ok) state.SkipWithError("signature did not verify");
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_HmacVerify);

/// The whole pure part of a webhook delivery: verify, de-dup (distinct ids), parse, map to
/// events, then apply them to the environment's policy.
void BM_WebhookProcessAndApply(benchmark::State& state) {
  const auto now = at("2020-10-06T00:00:00Z");
  auto policy = loaded_policy(now);
  const auto& body = workflow_run_payload();
  const std::string signature = "sha256=" + dg::webhook::hmac_sha256_hex(kSecret, body);
  dg::webhook::WebhookProcessor processor({{"staging", *policy.rules().github}},
                                          {std::string(kSecret)});
  std::uint64_t n = 0;
  for (auto _ : state) {
    const std::string delivery = "bench-" + std::to_string(++n);
    auto result = processor.process({"workflow_run", delivery, signature, body});
    if (result.outcome != dg::webhook::Outcome::Applied) state.SkipWithError("not applied");
    for (const auto& [env, event] : result.events) policy.apply(event, now);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_WebhookProcessAndApply);

}  // namespace

BENCHMARK_MAIN();
