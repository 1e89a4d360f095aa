// The status view (lib/cli/render) fed the daemon's GET /v1/environments/NAME body. The body
// below has exactly the keys api::environment_status_json writes (docs/api.md), in the situation
// the status view exists for: two active revisions splitting traffic, a deploy running, a
// database not Ready, a lease and a freeze.
#include "cli/render.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace deployguard::cli {
namespace {

using Json = nlohmann::json;

TimePoint at(const char* text) { return *parse_timestamp(text); }

const TimePoint kNow = at("2025-06-01T12:00:00Z");

Json incident_status() {
  return Json::parse(R"({
    "environment": "production",
    "safe": false,
    "reasons": [
      {"code": "frozen", "message": "frozen by alice: incident 42",
       "until": "2025-06-01T13:00:00Z"},
      {"code": "leased", "message": "lease held by github-run-7001",
       "until": "2025-06-01T12:25:00Z"},
      {"code": "deploy_in_progress", "message": "run 7001 (Deploy) is in_progress"},
      {"code": "traffic_split", "message": "traffic is split over 2 revisions"},
      {"code": "multiple_active_revisions", "message": "2 revisions are active"}
    ],
    "retry_after_s": null,
    "evaluated_at": "2025-06-01T12:00:00Z",
    "runs": [
      {"id": 7001, "workflow": "Deploy", "status": "in_progress", "conclusion": null,
       "created_at": "2025-06-01T11:55:00Z", "started_at": "2025-06-01T11:55:05Z",
       "updated_at": "2025-06-01T11:58:00Z", "head_branch": "main",
       "head_sha": "abcdef0123456789abcdef0123456789abcdef01", "title": "Bump payments client",
       "event": "push", "attempt": 1, "url": "https://github.com/acme/shop/actions/runs/7001"},
      {"id": 7000, "workflow": "Deploy", "status": "completed", "conclusion": "failure",
       "created_at": "2025-06-01T10:00:00Z", "started_at": "2025-06-01T10:00:04Z",
       "updated_at": "2025-06-01T10:09:00Z", "head_branch": "main",
       "head_sha": "1234567890abcdef1234567890abcdef12345678", "title": "Add order export",
       "event": "push", "attempt": 2, "url": null}
    ],
    "container_app": {"name": "prod-env-api", "provisioning_state": "Succeeded",
                      "running_status": "Running", "active_revisions_mode": "Multiple",
                      "latest_revision": "prod-env-api--0000116",
                      "latest_ready_revision": "prod-env-api--0000115"},
    "revisions": [
      {"name": "prod-env-api--0000115", "active": true, "traffic_weight": 70, "replicas": 3,
       "image": "acr.example.io/shop/api:1.41.0", "created_at": "2025-05-30T12:00:00Z",
       "provisioning_state": "Provisioned", "running_state": "Running", "health_state": "Healthy"},
      {"name": "prod-env-api--0000116", "active": true, "traffic_weight": 30, "replicas": 1,
       "image": "acr.example.io/shop/api:1.42.0", "created_at": "2025-06-01T11:30:00Z",
       "provisioning_state": "Provisioned", "running_state": "Running", "health_state": "Unhealthy"},
      {"name": "prod-env-api--0000114", "active": false, "traffic_weight": 0, "replicas": 0,
       "image": "acr.example.io/shop/api:1.40.0", "created_at": "2025-05-20T12:00:00Z",
       "provisioning_state": "Provisioned", "running_state": "Stopped", "health_state": null}
    ],
    "traffic": {"prod-env-api--0000115": 70, "prod-env-api--0000116": 30},
    "live": {"revision": "prod-env-api--0000115", "run_id": 6990, "run_attempt": 2,
             "sha": "fedcba9876543210fedcba9876543210fedcba98", "title": "Release 1.41.0",
             "url": "https://github.com/acme/shop/actions/runs/6990", "matched_by": "image_tag"},
    "databases": [
      {"name": "prod-pg", "state": "Updating", "ha_state": "Healthy", "version": "16"},
      {"name": "prod-pg-replica", "state": "Ready", "ha_state": null, "version": "16"}
    ],
    "lease": {"id": "0123456789abcdef0123456789abcdef", "holder": "github-run-7001",
              "run_id": 7001, "run_attempt": 1, "acquired_at": "2025-06-01T11:55:00Z",
              "expires_at": "2025-06-01T12:25:00Z"},
    "freeze": {"reason": "incident 42", "by": "alice", "since": "2025-06-01T11:50:00Z",
               "until": "2025-06-01T13:00:00Z"},
    "busy_backoff": {"consecutive_failures": 0, "last_failure_at": null, "last_detail": null},
    "deploys": [{"key": "run:7001/1", "started_at": "2025-06-01T11:55:05Z", "ended_at": null,
                 "run_id": 7001, "run_attempt": 1,
                 "sha": "abcdef0123456789abcdef0123456789abcdef01", "title": "Bump payments client",
                 "url": "https://github.com/acme/shop/actions/runs/7001"}],
    "unclassified": [{"run_id": 7000, "run_attempt": 1, "detail": "job logs unreadable: HTTP 500",
                      "at": "2025-06-01T10:10:00Z"}],
    "sources": {
      "github": {"last_success": "2025-06-01T11:59:30Z", "age_s": 30, "last_error": null,
                 "last_error_at": null},
      "azure": {"last_success": "2025-06-01T11:58:00Z", "age_s": 120,
                "last_error": "GET containerApps: HTTP 429", "last_error_at": "2025-06-01T11:59:00Z"}
    }
  })");
}

/// The line of `text` that contains `needle` ("" when none).
std::string line_with(const std::string& text, const std::string& needle) {
  const auto at = text.find(needle);
  if (at == std::string::npos) return "";
  const auto begin = text.rfind('\n', at);
  const auto end = text.find('\n', at);
  return text.substr(begin == std::string::npos ? 0 : begin + 1,
                     end == std::string::npos ? std::string::npos : end - begin - 1);
}

void expect_in_line(const std::string& line, std::initializer_list<const char*> parts) {
  EXPECT_FALSE(line.empty());
  for (const char* part : parts) EXPECT_NE(line.find(part), std::string::npos) << part << " in: " << line;
}

TEST(RenderEnvironment, PlainTextShowsEveryElementOfTheStatus) {
  const std::string out = render_environment(incident_status(), RenderOptions{false, kNow});
  SCOPED_TRACE(out);
  EXPECT_EQ(out.find('\033'), std::string::npos) << "no escape sequences in plain text";
  EXPECT_EQ(out.rfind("production: BLOCKED\n", 0), 0u);

  // Every reason with its time left (when it lapses by itself).
  expect_in_line(line_with(out, "frozen "), {"frozen by alice: incident 42", "(1h left)"});
  expect_in_line(line_with(out, "leased "), {"github-run-7001", "(25m left)"});
  expect_in_line(line_with(out, "deploy_in_progress"), {"run 7001"});
  expect_in_line(line_with(out, "traffic_split"), {"split over 2"});
  expect_in_line(line_with(out, "multiple_active_revisions"), {"2 revisions are active"});

  // The app, and the live revisions with traffic, state, age and image; not the inactive one.
  expect_in_line(line_with(out, "app "), {"prod-env-api", "Succeeded", "Multiple", "prod-env-api--0000116"});
  expect_in_line(line_with(out, "revision  prod-env-api--0000115"),
                 {"70%", "Running", "Healthy", "48h ago", "acr.example.io/shop/api:1.41.0"});
  expect_in_line(line_with(out, "revision  prod-env-api--0000116"),
                 {"30%", "Unhealthy", "30m ago", "acr.example.io/shop/api:1.42.0"});
  EXPECT_EQ(out.find("prod-env-api--0000114"), std::string::npos) << "inactive, no traffic";
  expect_in_line(line_with(out, "conflict"), {"2 active revisions", "traffic split over 2"});

  // Which deploy the live revision came from, and attempts whose logs could not be classified.
  EXPECT_EQ(line_with(out, "live "),
            "  live      prod-env-api--0000115 <- run 6990 attempt 2, fedcba9 \"Release 1.41.0\"");
  expect_in_line(line_with(out, "unclassified"), {"run 7000 attempt 1", "job logs unreadable"});

  // Databases, lease, freeze.
  expect_in_line(line_with(out, "prod-pg "), {"database", "Updating"});
  expect_in_line(line_with(out, "prod-pg-replica"), {"Ready"});
  expect_in_line(line_with(out, "lease     "),
                 {"0123456789abcdef0123456789abcdef", "github-run-7001", "run 7001 attempt 1", "(25m left)"});
  expect_in_line(line_with(out, "  freeze "), {"incident 42", "by alice", "2025-06-01T13:00:00Z", "(1h left)"});

  // Recent runs: time, status or conclusion, short commit, title.
  EXPECT_NE(out.find("recent runs:"), std::string::npos);
  expect_in_line(line_with(out, "Bump payments client"), {"2025-06-01T11:55:00Z", "in_progress", "abcdef0"});
  expect_in_line(line_with(out, "Add order export"), {"2025-06-01T10:00:00Z", "failure", "1234567"});
  EXPECT_EQ(out.find("abcdef0123456789abcdef0123456789abcdef01"), std::string::npos) << "commits are shortened";

  // A failing source is named.
  expect_in_line(line_with(out, "source azure"), {"HTTP 429"});
  EXPECT_EQ(out.find("source github"), std::string::npos) << "healthy sources stay quiet";
}

TEST(RenderEnvironment, ALiveRevisionNoDeployIsKnownForIsShownAsUnknown) {
  Json status = incident_status();
  status["live"] = Json::parse(R"({"revision": "prod-env-api--0000115", "run_id": null,
      "run_attempt": null, "sha": null, "title": null, "url": null, "matched_by": "unknown"})");
  const std::string out = render_environment(status, RenderOptions{false, kNow});
  EXPECT_EQ(line_with(out, "live "), "  live      prod-env-api--0000115 <- unknown deploy");
  status["live"] = nullptr;  // no container app, or nothing identifies the live revision
  EXPECT_EQ(line_with(render_environment(status, RenderOptions{false, kNow}), "live "), "");
}

TEST(RenderEnvironment, ColorOnATerminalHighlightsConflictsAndProblems) {
  const std::string yellow = "\033[33m";
  const std::string red = "\033[31m";
  const std::string green = "\033[32m";
  const std::string out = render_environment(incident_status(), RenderOptions{true, kNow});
  SCOPED_TRACE(out);
  EXPECT_NE(line_with(out, "BLOCKED").find(red), std::string::npos);
  // Both revisions that share the traffic, and the conflict line, in yellow.
  EXPECT_NE(line_with(out, "prod-env-api--0000115 ").find(yellow + "prod-env-api--0000115"), std::string::npos);
  EXPECT_NE(line_with(out, "prod-env-api--0000116 ").find(yellow + "prod-env-api--0000116"), std::string::npos);
  EXPECT_NE(line_with(out, "conflict").find(yellow), std::string::npos);
  // The running deploy in yellow, the completed one not.
  EXPECT_NE(line_with(out, "Bump payments client").find(yellow + "in_progress"), std::string::npos);
  EXPECT_EQ(line_with(out, "Add order export").find(yellow), std::string::npos);
  // The database that is not Ready in red, the Ready one green; the freeze and reasons red.
  EXPECT_NE(line_with(out, "prod-pg ").find(red + "Updating"), std::string::npos);
  EXPECT_NE(line_with(out, "prod-pg-replica").find(green + "Ready"), std::string::npos);
  EXPECT_NE(line_with(out, "  freeze ").find(red + "incident 42"), std::string::npos);
  EXPECT_NE(line_with(out, "deploy_in_progress").find(red), std::string::npos);
  EXPECT_NE(line_with(out, "source azure").find(yellow), std::string::npos);
}

TEST(RenderEnvironment, OneRevisionWithAllTrafficIsNoConflict) {
  Json status = incident_status();
  status["revisions"][1]["active"] = false;
  status["traffic"] = {{"prod-env-api--0000115", 100}};
  const std::string out = render_environment(status, RenderOptions{true, kNow});
  EXPECT_EQ(out.find("conflict"), std::string::npos) << out;
  EXPECT_EQ(line_with(out, "prod-env-api--0000115 ").find("\033[33m"), std::string::npos) << out;
  expect_in_line(line_with(out, "prod-env-api--0000115 "), {"100%"});
}

TEST(RenderEnvironment, ValuesAsWideAsTheirColumnStaySeparated) {
  // Seen in the demo: "1h56m45s ago" fills the 12-character age column and ran into the image.
  Json status = incident_status();
  status["revisions"][0]["created_at"] = "2025-06-01T10:03:15Z";  // 1h56m45s before kNow
  status["revisions"][0]["running_state"] = "RunningAtMaxScale";   // wider than its column
  const std::string out = render_environment(status, RenderOptions{false, kNow});
  const std::string line = line_with(out, "revision  prod-env-api--0000115");
  EXPECT_NE(line.find("1h56m45s ago acr.example.io/shop/api:1.41.0"), std::string::npos) << line;
  EXPECT_NE(line.find("RunningAtMaxScale "), std::string::npos) << line;
}

TEST(RenderStatus, EveryEnvironmentOfTheStatusBody) {
  Json safe = Json::parse(R"({"environment": "staging", "safe": true, "reasons": [],
      "evaluated_at": "2025-06-01T12:00:00Z", "runs": [], "container_app": null, "revisions": [],
      "traffic": {}, "databases": [], "lease": null, "freeze": null, "deploys": [], "sources": {}})");
  const Json status = {{"environments", {{"production", incident_status()}, {"staging", safe}}}};
  const std::string out = render_status(status, RenderOptions{false, kNow});
  EXPECT_NE(out.find("production: BLOCKED\n"), std::string::npos) << out;
  EXPECT_NE(out.find("staging: SAFE to deploy\n"), std::string::npos) << out;
  EXPECT_EQ(render_status(Json::object(), RenderOptions{false, kNow}), "no environments configured\n");
}

TEST(ProgressText, ShowsTheWaitLeftAndEachReasonWithItsOwnTimeLeft) {
  const Json decision = Json::parse(R"({"environment": "production", "safe": false, "reasons": [
      {"code": "frozen", "message": "frozen by alice"},
      {"code": "cooldown", "message": "last deploy 1m ago", "until": "2025-06-01T12:01:30Z"}]})");
  const TimePoint deadline = kNow + std::chrono::seconds{19};
  EXPECT_EQ(progress_text("production", decision, deadline, kNow),
            "waiting for production [19s left]: frozen, cooldown 1m30s");
  // A second later, with the same decision: both countdowns moved.
  EXPECT_EQ(progress_text("production", decision, deadline, kNow + std::chrono::seconds{1}),
            "waiting for production [18s left]: frozen, cooldown 1m29s");
  EXPECT_EQ(progress_text("production", Json(), deadline, kNow), "waiting for production [19s left]");
}

TEST(ProgressText, AQueueTicketShowsItsPlace) {
  const Json ticket = Json::parse(R"({"ticket": "abc", "position": 3, "reasons": [
      {"code": "leased", "message": "held by run-1", "until": "2025-06-01T12:10:00Z"},
      {"code": "queued", "message": "2 pipelines wait in the deploy queue; next: run-2"}]})");
  EXPECT_EQ(progress_text("production", ticket, kNow + std::chrono::minutes{20}, kNow),
            "waiting for production [20m left] place 3 in the queue: leased 10m, queued");
}

TEST(RenderEnvironment, TheQueueListsWhoWaitsInOrder) {
  Json env = incident_status();
  env["queue"] = Json::parse(R"({"order": "fifo", "supersede": false, "ticket_ttl_s": 120,
      "max_length": 100, "waiting": 2, "tickets": [
      {"position": 1, "holder": "github-run-8001", "run_id": 8001, "run_attempt": null,
       "ref": "main", "sha": null, "since": "2025-06-01T11:55:00Z"},
      {"position": 2, "holder": "alice hotfix", "run_id": null, "run_attempt": null,
       "ref": null, "sha": null, "since": "2025-06-01T11:59:00Z"}]})");
  const std::string out = render_environment(env, RenderOptions{false, kNow});
  EXPECT_NE(out.find("  queue     2 waiting (fifo):\n"
                     "    1   github-run-8001 run 8001 since 5m ago\n"
                     "    2   alice hotfix since 1m ago\n"),
            std::string::npos)
      << out;
  env["queue"]["waiting"] = 0;
  env["queue"]["tickets"] = Json::array();
  EXPECT_EQ(render_environment(env, RenderOptions{false, kNow}).find("queue"), std::string::npos);
}

}  // namespace
}  // namespace deployguard::cli
