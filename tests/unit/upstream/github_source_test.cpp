#include "upstream/github_source.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/scripted_http_client.hpp"

namespace deployguard::upstream {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using deployguard::testing::header;
using deployguard::testing::response;
using deployguard::testing::run_until;
using deployguard::testing::RecordingSink;
using deployguard::testing::ScriptedHttpClient;
using Json = nlohmann::json;

constexpr std::int64_t kRunId = 9'000'000'001;  // above 2^31, as real run ids are

Json workflow(std::int64_t id, std::string name, std::string path) {
  return {{"id", id}, {"node_id", "W_" + std::to_string(id)}, {"name", std::move(name)},
          {"path", std::move(path)}, {"state", "active"}};
}

std::string workflows_body(std::vector<Json> items) {
  return Json{{"total_count", items.size()}, {"workflows", std::move(items)}}.dump();
}

Json run(std::int64_t id, std::string status, std::string conclusion,
         std::string path = ".github/workflows/deploy.yml@main") {
  Json r = {{"id", id},
            {"name", "Deploy"},
            {"workflow_id", 101},
            {"path", std::move(path)},
            {"head_branch", "main"},
            {"head_sha", "abc"},
            {"display_title", "deploy it"},
            {"event", "push"},
            {"status", std::move(status)},
            {"run_attempt", 1},
            {"created_at", "2023-11-14T22:00:00Z"},
            {"run_started_at", "2023-11-14T22:00:05Z"},
            {"updated_at", "2023-11-14T22:05:00Z"},
            {"repository", {{"full_name", "acme/shop"}}}};
  r["conclusion"] = conclusion.empty() ? Json(nullptr) : Json(conclusion);
  return r;
}

std::string runs_body(std::vector<Json> runs) {
  return Json{{"total_count", runs.size()}, {"workflow_runs", std::move(runs)}}.dump();
}

std::string jobs_body(std::vector<Json> jobs) {
  return Json{{"total_count", jobs.size()}, {"jobs", std::move(jobs)}}.dump();
}

Json job(std::int64_t id, std::string name, std::string conclusion) {
  return {{"id", id},        {"run_id", kRunId},        {"name", std::move(name)},
          {"status", "completed"}, {"conclusion", std::move(conclusion)}, {"runner_id", 7},
          {"completed_at", "2023-11-14T22:04:30Z"}};
}

/// The recent runs and one list per active status (in_progress, queued, waiting, pending,
/// requested).
constexpr std::size_t kListsPerWorkflow = 6;

class GitHubSourceTest : public ::testing::Test {
 protected:
  GitHubSourceTest() {
    config.api_url = "https://api.test/";
    config.max_log_bytes = 4096;
  }

  void make(std::vector<std::string> workflows, std::optional<std::string> branch = std::nullopt,
            GitHubSourceOptions options = {}) {
    api = std::make_shared<GitHubApi>(ioc, client, config, clock, [this](std::string& error)
                                          -> std::optional<std::string> {
      ++token_reads;
      if (token.empty()) {
        error = "cannot read token file";
        return std::nullopt;
      }
      return token;
    });
    source = std::make_unique<GitHubSource>(
        api, config, "prod", GitHubTarget{"acme/shop", std::move(workflows), std::move(branch)},
        sink, options);
  }

  void list_workflows() {
    client.always("/actions/workflows?per_page=100",
                  response(200, workflows_body({workflow(101, "Deploy", ".github/workflows/deploy.yml"),
                                                workflow(102, "CI", ".github/workflows/ci.yml"),
                                                workflow(103, "Release", ".github/workflows/release.yaml")})));
  }

  PollStatus poll() {
    std::optional<PollStatus> status;
    source->poll([&](PollStatus s) { status = std::move(s); });
    EXPECT_TRUE(run_until(ioc, [&] { return status.has_value(); })) << "poll did not finish";
    return status.value_or(PollStatus::failure("poll did not finish"));
  }

  boost::asio::io_context ioc;
  ManualClock clock{TimePoint{std::chrono::seconds{1'700'000'000}}};
  ScriptedHttpClient client{ioc};
  RecordingSink sink;
  GitHubConfig config;
  std::string token = "ghp_first";
  int token_reads = 0;
  std::shared_ptr<GitHubApi> api;
  std::unique_ptr<GitHubSource> source;
};

// ---- workflow resolution --------------------------------------------------------------------

TEST_F(GitHubSourceTest, ResolvesFileNamePathAndDisplayNameToIdsOnce) {
  make({"deploy.yml", ".github/workflows/release.yaml", "CI"});
  list_workflows();
  client.always("/runs?per_page=20", response(200, runs_body({})));

  ASSERT_TRUE(poll().ok);
  EXPECT_THAT(source->workflow_ids(), ::testing::ElementsAre(101, 103, 102));
  EXPECT_EQ(client.count("/actions/workflows/101/runs?per_page=20"), kListsPerWorkflow);
  EXPECT_EQ(client.count("/actions/workflows/102/runs?per_page=20"), kListsPerWorkflow);
  EXPECT_EQ(client.count("/actions/workflows/103/runs?per_page=20"), kListsPerWorkflow);

  ASSERT_TRUE(poll().ok);
  EXPECT_EQ(client.count("/actions/workflows?per_page=100"), 1u) << "resolution is cached";
  EXPECT_EQ(sink.count<RunsPolled>(), 2u);
}

TEST_F(GitHubSourceTest, UnknownWorkflowFailsThePollNamingIt) {
  make({"deploy.yml", "nope.yml"});
  list_workflows();
  const auto status = poll();
  EXPECT_FALSE(status.ok);
  EXPECT_EQ(status.kind, FailureKind::transient);
  EXPECT_THAT(status.error, HasSubstr("'nope.yml' not found in acme/shop (3 workflows listed)"));
  EXPECT_EQ(client.count("/runs?"), 0u);
  EXPECT_EQ(sink.count<RunsPolled>(), 0u);
}

TEST_F(GitHubSourceTest, WorkflowListFollowsLinkNext) {
  make({"Release"});
  client.once("/actions/workflows?per_page=100",
              response(200, workflows_body({workflow(101, "Deploy", ".github/workflows/deploy.yml")}),
                       {{"Link", "<https://api.test/repositories/1/actions/workflows?per_page=100&page=2>; "
                                 "rel=\"next\", <https://api.test/repositories/1/actions/workflows?"
                                 "per_page=100&page=2>; rel=\"last\""}}));
  client.once("page=2", response(200, workflows_body({workflow(103, "Release",
                                                               ".github/workflows/release.yaml")})));
  client.always("/runs?", response(200, runs_body({})));
  ASSERT_TRUE(poll().ok);
  EXPECT_EQ(client.requests()[1].url,
            "https://api.test/repositories/1/actions/workflows?per_page=100&page=2");
  EXPECT_THAT(source->workflow_ids(), ::testing::ElementsAre(103));
}

TEST_F(GitHubSourceTest, WorkflowListLinkToAnotherOriginIsRefusedAndNeverRequested) {
  make({"Release"});
  client.once("/actions/workflows?per_page=100",
              response(200, workflows_body({workflow(101, "Deploy", ".github/workflows/deploy.yml")}),
                       {{"Link", "<https://api.test.evil.example/repositories/1/actions/workflows?"
                                 "page=2>; rel=\"next\""}}));
  client.always("evil.example", response(200, workflows_body({})));
  const auto status = poll();
  EXPECT_FALSE(status.ok);
  EXPECT_EQ(status.kind, FailureKind::permanent);
  EXPECT_EQ(status.error,
            "GitHub workflows list: GitHub Link rel=next points to https://api.test.evil.example:443, "
            "not https://api.test:443 (the origin the GitHub token is for); refused");
  EXPECT_EQ(client.count("evil.example"), 0u) << "the token never went there";
  EXPECT_EQ(client.count("/runs?"), 0u);
  EXPECT_TRUE(source->workflow_ids().empty());
}

TEST_F(GitHubSourceTest, ApiRefusesAbsoluteUrlsOffApiUrlsOrigin) {
  make({"deploy.yml"});
  std::optional<GitHubApiResult> result;
  api->get("http://api.test/repos/acme/shop", {}, nullptr,
           [&](GitHubApiResult r) { result = std::move(r); });
  ASSERT_TRUE(run_until(ioc, [&] { return result.has_value(); }));
  EXPECT_FALSE(result->status.ok);
  EXPECT_EQ(result->status.kind, FailureKind::permanent);
  EXPECT_EQ(result->status.error,
            "GitHub request URL points to http://api.test:80, not https://api.test:443 (the origin "
            "the GitHub token is for); refused");
  EXPECT_TRUE(client.requests().empty());
  EXPECT_EQ(token_reads, 0) << "the token is not even read";
}

TEST(LinkHeaderTest, FindsNextAmongOtherRelations) {
  EXPECT_EQ(link_next("<https://x/a?page=1>; rel=\"prev\", <https://x/a?page=3>; rel=\"next\""),
            "https://x/a?page=3");
  EXPECT_EQ(link_next("<https://x/a?page=1>; rel=\"last\""), std::nullopt);
  EXPECT_EQ(link_next(""), std::nullopt);
}

// ---- runs polling ---------------------------------------------------------------------------

TEST_F(GitHubSourceTest, SendsGitHubHeadersAndTheBranchFilter) {
  make({"deploy.yml"}, "release/v1 hot");
  list_workflows();
  client.always("/runs?", response(200, runs_body({run(kRunId, "in_progress", "")})));
  ASSERT_TRUE(poll().ok);
  const std::string base =
      "https://api.test/repos/acme/shop/actions/workflows/101/runs?per_page=20&branch=release%2Fv1%20hot";
  std::vector<std::string> urls;
  for (const auto& r : client.requests())
    if (r.url.find("/runs?") != std::string::npos) urls.push_back(r.url);
  EXPECT_THAT(urls, ::testing::ElementsAre(base, base + "&status=in_progress", base + "&status=queued",
                                           base + "&status=waiting", base + "&status=pending",
                                           base + "&status=requested"))
      << "active runs are listed by status too, so newer completed runs cannot hide one";
  const auto& req = client.last("/runs?");
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(header(req, "Accept"), "application/vnd.github+json");
  EXPECT_EQ(header(req, "Authorization"), "Bearer ghp_first");
  EXPECT_EQ(header(req, "X-GitHub-Api-Version"), "2022-11-28");
  EXPECT_EQ(header(req, "If-None-Match"), "") << "no ETag known yet";

  const auto polled = sink.of<RunsPolled>("prod");
  ASSERT_EQ(polled.size(), 1u);
  ASSERT_EQ(polled[0].runs.size(), 1u) << "the same run in several lists is delivered once";
  EXPECT_EQ(polled[0].runs[0].id, kRunId);
  EXPECT_EQ(polled[0].runs[0].status, RunStatus::InProgress);
}

TEST_F(GitHubSourceTest, SendsStoredETagAndTreats304AsAnUnchangedSuccess) {
  make({"deploy.yml"});
  list_workflows();
  client.always("&status=", response(200, runs_body({})));
  client.once("/runs?", response(200, runs_body({run(kRunId, "completed", "success")}),
                                 {{"ETag", "W/\"e1\""}}));
  ASSERT_TRUE(poll().ok);
  client.once("/runs?", response(304, ""));
  ASSERT_TRUE(poll().ok);

  EXPECT_EQ(header(client.last("/runs?per_page=20"), "If-None-Match"), "") << "the status lists sent no ETag";
  const auto& recent = client.requests()[client.requests().size() - kListsPerWorkflow];
  EXPECT_EQ(recent.url, "https://api.test/repos/acme/shop/actions/workflows/101/runs?per_page=20");
  EXPECT_EQ(header(recent, "If-None-Match"), "W/\"e1\"") << "sent exactly as received";
  const auto polled = sink.of<RunsPolled>();
  ASSERT_EQ(polled.size(), 2u);
  ASSERT_EQ(polled[1].runs.size(), 1u) << "304 re-delivers the stored runs";
  EXPECT_EQ(polled[1].runs[0].id, kRunId);
}

TEST_F(GitHubSourceTest, RunsFromAllWorkflowsAreDeliveredTogether) {
  make({"deploy.yml", "release.yaml"});
  list_workflows();
  client.always("/workflows/101/runs", response(200, runs_body({run(1, "completed", "success")})));
  client.always("/workflows/103/runs", response(200, runs_body({run(2, "queued", "")})));
  ASSERT_TRUE(poll().ok);
  const auto polled = sink.of<RunsPolled>();
  ASSERT_EQ(polled.size(), 1u);
  EXPECT_EQ(polled[0].runs.size(), 2u);
}

TEST_F(GitHubSourceTest, RunsNotFoundResolvesTheWorkflowsAgainNextTime) {
  make({"deploy.yml"});
  list_workflows();
  client.once("/runs?", response(404, R"({"message":"Not Found"})"));
  const auto status = poll();
  EXPECT_FALSE(status.ok);
  EXPECT_EQ(status.error, "GitHub 404: Not Found");
  client.always("/runs?", response(200, runs_body({})));
  ASSERT_TRUE(poll().ok);
  EXPECT_EQ(client.count("/actions/workflows?per_page=100"), 2u);
}

TEST_F(GitHubSourceTest, ServerErrorAndTransportErrorAreTransientFailures) {
  make({"deploy.yml"});
  list_workflows();
  client.once("/runs?", response(502, "<html>bad gateway</html>"));
  auto status = poll();
  EXPECT_FALSE(status.ok);
  EXPECT_EQ(status.kind, FailureKind::transient);
  EXPECT_EQ(status.error, "GitHub 502: unparsable error body");

  client.once("/runs?", deployguard::testing::transport_error(http::HttpErrorKind::timeout,
                                                             "total deadline"));
  status = poll();
  EXPECT_FALSE(status.ok);
  EXPECT_EQ(status.error, "GitHub request failed: timeout: total deadline");
  const auto stats = source->request_stats();
  EXPECT_EQ(stats.by_status.at(502), 1u);
  EXPECT_EQ(stats.transport_errors, 1u);
  EXPECT_EQ(stats.last_status, 0u);
}

TEST_F(GitHubSourceTest, MalformedRunsPageIsAFailure) {
  make({"deploy.yml"});
  list_workflows();
  client.once("/runs?", response(200, "{not json"));
  const auto status = poll();
  EXPECT_FALSE(status.ok);
  EXPECT_THAT(status.error, HasSubstr("GitHub runs page:"));
}

// ---- tokens ---------------------------------------------------------------------------------

TEST_F(GitHubSourceTest, Unauthorized401ReReadsTheTokenAndRetriesOnce) {
  make({"deploy.yml"});
  client.once("/actions/workflows?per_page=100", response(401, R"({"message":"Bad credentials"})"));
  list_workflows();
  client.always("/runs?", response(200, runs_body({})));
  const int reads_before = token_reads;
  source->poll([](PollStatus) {});
  token = "ghp_second";  // the file was rotated after the first read
  ASSERT_TRUE(run_until(ioc, [&] { return sink.count<RunsPolled>() == 1; }));
  ASSERT_GE(client.requests().size(), 2u);
  EXPECT_EQ(header(client.requests()[0], "Authorization"), "Bearer ghp_first");
  EXPECT_EQ(header(client.requests()[1], "Authorization"), "Bearer ghp_second");
  EXPECT_EQ(client.requests()[1].url, client.requests()[0].url);
  EXPECT_GT(token_reads, reads_before + 1);
}

TEST_F(GitHubSourceTest, Unauthorized401WithAnUnchangedTokenFailsWithoutRetrying) {
  make({"deploy.yml"});
  client.always("/actions/workflows?per_page=100", response(401, R"({"message":"Bad credentials"})"));
  const auto status = poll();
  EXPECT_FALSE(status.ok);
  EXPECT_EQ(status.error, "GitHub 401: Bad credentials");
  EXPECT_EQ(client.requests().size(), 1u);
}

TEST_F(GitHubSourceTest, UnreadableTokenFailsWithoutSending) {
  token.clear();
  make({"deploy.yml"});
  const auto status = poll();
  EXPECT_FALSE(status.ok);
  EXPECT_EQ(status.error, "GitHub token: cannot read token file");
  EXPECT_TRUE(client.requests().empty());
}

// ---- rate limits ----------------------------------------------------------------------------

TEST_F(GitHubSourceTest, PrimaryRateLimitWaitsUntilResetAndClosesTheGate) {
  make({"deploy.yml"});
  list_workflows();
  const auto reset = std::chrono::duration_cast<std::chrono::seconds>(
                         clock.now().time_since_epoch()).count() + 1200;
  client.once("/runs?", response(403, R"({"message":"API rate limit exceeded for installation ID 1."})",
                                 {{"x-ratelimit-remaining", "0"},
                                  {"x-ratelimit-reset", std::to_string(reset)}}));
  auto status = poll();
  EXPECT_FALSE(status.ok);
  EXPECT_EQ(status.kind, FailureKind::rate_limited);
  ASSERT_TRUE(status.wait);
  EXPECT_EQ(*status.wait, 1200s);
  EXPECT_THAT(status.error, HasSubstr("GitHub 403 rate limited: API rate limit exceeded"));
  EXPECT_EQ(source->rate_limit_remaining(), 0);

  // Ten minutes later the gate is still closed: nothing is sent.
  clock.advance(600s);
  const auto sent = client.requests().size();
  status = poll();
  EXPECT_FALSE(status.ok);
  EXPECT_EQ(status.kind, FailureKind::rate_limited);
  EXPECT_EQ(status.wait, Duration{600s});
  EXPECT_EQ(client.requests().size(), sent);
  EXPECT_EQ(source->request_stats().skipped_rate_limited, 1u);

  // After the reset requests flow again.
  clock.advance(601s);
  client.always("/runs?", response(200, runs_body({}), {{"x-ratelimit-remaining", "4999"}}));
  EXPECT_TRUE(poll().ok);
  EXPECT_EQ(source->rate_limit_remaining(), 4999);
}

TEST_F(GitHubSourceTest, SecondaryRateLimitHonoursRetryAfter) {
  make({"deploy.yml"});
  list_workflows();
  client.once("/runs?", response(403,
                                 R"({"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."})",
                                 {{"Retry-After", "60"}, {"x-ratelimit-remaining", "4000"}}));
  const auto status = poll();
  EXPECT_EQ(status.kind, FailureKind::rate_limited);
  EXPECT_EQ(status.wait, Duration{60s});
  EXPECT_EQ(api->gate_wait(), Duration{60s});
}

TEST_F(GitHubSourceTest, RateLimitWithoutHeadersClosesTheGateForTheMinimumWait) {
  make({"deploy.yml"});
  list_workflows();
  client.once("/runs?", response(429, R"({"message":"secondary rate limit"})"));
  const auto status = poll();
  EXPECT_EQ(status.kind, FailureKind::rate_limited);
  EXPECT_FALSE(status.wait) << "no server hint: the poller applies 60 s with doubling";
  EXPECT_EQ(api->gate_wait(), Duration{60s});
}

TEST_F(GitHubSourceTest, Forbidden403WithoutRateLimitSignsIsAPermanentFailure) {
  make({"deploy.yml"});
  list_workflows();
  client.once("/runs?", response(403, R"({"message":"Resource not accessible by integration"})",
                                 {{"x-ratelimit-remaining", "4000"}}));
  const auto status = poll();
  EXPECT_EQ(status.kind, FailureKind::permanent) << "retrying will not grant the permission";
  EXPECT_EQ(status.error, "GitHub 403: Resource not accessible by integration");
  EXPECT_FALSE(api->gate_wait());
}

TEST_F(GitHubSourceTest, SuccessThatExhaustedTheBudgetWaitsForTheReset) {
  make({"deploy.yml"});
  list_workflows();
  const auto reset = std::chrono::duration_cast<std::chrono::seconds>(
                         clock.now().time_since_epoch()).count() + 300;
  // The poll's last list used the window's last request.
  client.always("&status=requested", response(200, runs_body({}), {{"x-ratelimit-remaining", "0"},
                                                                    {"x-ratelimit-reset", std::to_string(reset)}}));
  client.always("/runs?", response(200, runs_body({}), {{"x-ratelimit-remaining", "4000"}}));
  const auto status = poll();
  EXPECT_TRUE(status.ok);
  EXPECT_EQ(status.wait, Duration{300s});
}

TEST_F(GitHubSourceTest, BudgetExhaustedMidPollStopsThePollUntilTheReset) {
  make({"deploy.yml"});
  list_workflows();
  const auto reset = std::chrono::duration_cast<std::chrono::seconds>(
                         clock.now().time_since_epoch()).count() + 300;
  client.always("&status=", response(200, runs_body({}), {{"x-ratelimit-remaining", "0"},
                                                           {"x-ratelimit-reset", std::to_string(reset)}}));
  client.always("/runs?", response(200, runs_body({}), {{"x-ratelimit-remaining", "4000"}}));
  const auto status = poll();
  EXPECT_FALSE(status.ok) << "the first status list used the last request: the others may not be sent";
  EXPECT_EQ(status.kind, FailureKind::rate_limited);
  EXPECT_EQ(status.wait, Duration{300s});
  EXPECT_EQ(client.count("&status="), 1u) << "nothing is sent while the gate is closed";
  EXPECT_EQ(sink.count<RunsPolled>(), 0u) << "a partial answer is not delivered";
}

// ---- failure classification -----------------------------------------------------------------

class GitHubClassificationTest : public GitHubSourceTest {
 protected:
  void SetUp() override {
    make({"deploy.yml"});
    list_workflows();
    client.always("/runs?", response(200, runs_body({run(kRunId, "completed", "failure")})));
    WorkflowRun failed;
    failed.id = kRunId;
    sink.classify = {failed};
  }
  std::vector<RunClassified> classified() { return sink.of<RunClassified>("prod"); }
};

TEST_F(GitHubClassificationTest, BusyPatternInAFailedJobLogMarksTheRunBusy) {
  client.always("/runs/9000000001/attempts/1/jobs?per_page=100",
                response(200, jobs_body({job(1, "build", "success"), job(2, "deploy", "failure")})));
  client.always("/actions/jobs/2/logs",
                response(200, "2024-01-01T00:00:00Z ERROR: (ServerIsBusy) Cannot complete operation "
                              "while server 'pg' is busy processing another operation."));
  ASSERT_TRUE(poll().ok);
  ASSERT_TRUE(run_until(ioc, [&] { return !classified().empty(); }));
  EXPECT_THAT(sink.marked, ::testing::ElementsAre(kRunId));
  const auto c = classified().front();
  EXPECT_EQ(c.run.id, kRunId);
  EXPECT_EQ(c.result, Classification::ServerBusy);
  EXPECT_EQ(c.detail, "job 'deploy' log contains 'ServerIsBusy'");
  EXPECT_EQ(client.count("/actions/jobs/1/logs"), 0u) << "only failed jobs are read";
  const auto& logs = client.last("/actions/jobs/2/logs");
  EXPECT_EQ(logs.url, "https://api.test/repos/acme/shop/actions/jobs/2/logs");
  EXPECT_EQ(logs.max_response_bytes, std::optional<std::size_t>{4096});
  EXPECT_EQ(header(logs, "Range"), "bytes=-4096");
  EXPECT_TRUE(logs.follow_redirects) << "logs answer 302 to a blob host";
  EXPECT_EQ(header(logs, "Authorization"), "Bearer ghp_first")
      << "sent to the API; the client drops it on the cross-host redirect";
}

TEST_F(GitHubClassificationTest, LogWithoutBusyPatternIsNotBusy) {
  client.always("/jobs?", response(200, jobs_body({job(2, "deploy", "failure")})));
  client.always("/actions/jobs/2/logs", response(200, "error: tests failed\n"));
  ASSERT_TRUE(poll().ok);
  ASSERT_TRUE(run_until(ioc, [&] { return !classified().empty(); }));
  EXPECT_NE(classified().front().result, Classification::ServerBusy);
  EXPECT_EQ(classified().front().detail, "no busy pattern in 1 failed job log(s)");
}

TEST_F(GitHubClassificationTest, PatternsAreCaseSensitiveSubstrings) {
  EXPECT_TRUE(find_busy_pattern("x ServerBusy y", config.busy_patterns).busy);
  EXPECT_FALSE(find_busy_pattern("x serverbusy y", config.busy_patterns).busy);
  EXPECT_EQ(find_busy_pattern("is busy processing another operation", config.busy_patterns).pattern,
            "is busy processing another operation");
}

TEST_F(GitHubClassificationTest, ExpiredLogsAreNotBusyAndNotRetried) {
  client.always("/jobs?", response(200, jobs_body({job(2, "deploy", "failure")})));
  client.always("/actions/jobs/2/logs", response(410, R"({"message":"Gone"})"));
  ASSERT_TRUE(poll().ok);
  ASSERT_TRUE(run_until(ioc, [&] { return !classified().empty(); }));
  EXPECT_NE(classified().front().result, Classification::ServerBusy);
  EXPECT_THAT(classified().front().detail, HasSubstr("job 'deploy' logs unavailable (410)"));
}

TEST_F(GitHubClassificationTest, RunWithoutFailedJobsIsNotBusy) {
  client.always("/jobs?", response(200, jobs_body({job(2, "deploy", "cancelled")})));
  ASSERT_TRUE(poll().ok);
  ASSERT_TRUE(run_until(ioc, [&] { return !classified().empty(); }));
  EXPECT_EQ(classified().front().detail, "no failed jobs");
  EXPECT_EQ(client.count("/logs"), 0u);
}

TEST_F(GitHubClassificationTest, FailedFetchesAreRetriedAfterLaterPollsThenGivenUp) {
  client.always("/jobs?", response(500, R"({"message":"Server Error"})"));
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_TRUE(poll().ok);
    ASSERT_TRUE(run_until(ioc, [&] {
      return client.count("/jobs?") == static_cast<std::size_t>(attempt) &&
             source->classifications_in_flight() == 0;
    }));
    if (attempt < 3) {
      EXPECT_TRUE(classified().empty()) << "attempt " << attempt;
    }
  }
  EXPECT_EQ(sink.marked.size(), 1u) << "marked once, retried from the source's own list";
  ASSERT_EQ(classified().size(), 1u);
  EXPECT_NE(classified().front().result, Classification::ServerBusy);
  EXPECT_EQ(classified().front().detail,
            "logs not inspected after 3 tries: GitHub 500: Server Error");
  ASSERT_TRUE(poll().ok);
  EXPECT_EQ(client.count("/jobs?"), 3u) << "given up: no fourth attempt";
}

TEST_F(GitHubClassificationTest, WorksAgainstTheRealPolicy) {
  // The sink backed by EnvironmentPolicy: the policy lists the failed run, the source marks it.
  sink.classify.clear();
  ManualClock wall{TimePoint{std::chrono::seconds{1'700'000'000}}};
  RecordingSink policy_sink(&wall);
  EnvironmentConfig env;
  env.name = "prod";
  env.github = GitHubTarget{"acme/shop", {"deploy.yml"}, std::nullopt};
  policy_sink.add_policy(env);
  source = std::make_unique<GitHubSource>(api, config, "prod", *env.github, policy_sink);
  client.always("/jobs?", response(200, jobs_body({job(2, "deploy", "failure")})));
  client.always("/actions/jobs/2/logs", response(200, "Code: ServerBusy"));
  std::optional<PollStatus> st;
  source->poll([&](PollStatus s) { st = s; });
  ASSERT_TRUE(run_until(ioc, [&] { return policy_sink.count<RunClassified>() == 1; }));
  EXPECT_EQ(policy_sink.of<RunClassified>().front().result, Classification::ServerBusy);
  EXPECT_EQ(policy_sink.policies.at("prod").busy().consecutive_failures, 1);
  EXPECT_TRUE(policy_sink.policies.at("prod").runs_to_classify().empty());
}

class GitHubPolicySourceTest : public GitHubSourceTest {
 protected:
  void SetUp() override {
    make({"deploy.yml"});
    list_workflows();
    env.name = "prod";
    env.github = GitHubTarget{"acme/shop", {"deploy.yml"}, std::nullopt};
    policy_sink.add_policy(env);
    source = std::make_unique<GitHubSource>(api, config, "prod", *env.github, policy_sink);
  }
  PollStatus poll_policy() {
    std::optional<PollStatus> status;
    source->poll([&](PollStatus s) { status = std::move(s); });
    EXPECT_TRUE(run_until(ioc, [&] { return status.has_value(); })) << "poll did not finish";
    return status.value_or(PollStatus::failure("poll did not finish"));
  }
  EnvironmentPolicy& policy() { return policy_sink.policies.at("prod"); }

  ManualClock wall{TimePoint{std::chrono::seconds{1'700'000'000}}};
  RecordingSink policy_sink{&wall};
  EnvironmentConfig env;
};

TEST_F(GitHubPolicySourceTest, EachAttemptOfAReRunIsClassifiedFromItsOwnJobs) {
  Json second = run(kRunId, "completed", "failure");
  second["run_attempt"] = 2;
  second["run_started_at"] = "2023-11-14T22:10:00Z";
  second["updated_at"] = "2023-11-14T22:12:00Z";
  client.always("/runs?", response(200, runs_body({second})));
  client.always("/attempts/1/jobs", response(200, jobs_body({job(11, "deploy", "failure")})));
  client.always("/attempts/2/jobs", response(200, jobs_body({job(21, "deploy", "failure")})));
  client.always("/actions/jobs/11/logs", response(200, "ERROR: (ServerIsBusy) busy"));
  client.always("/actions/jobs/21/logs", response(200, "ERROR: (ServerIsBusy) busy again"));
  ASSERT_TRUE(poll_policy().ok);
  ASSERT_TRUE(run_until(ioc, [&] { return policy_sink.count<RunClassified>() == 2; }));
  EXPECT_EQ(policy().busy().consecutive_failures, 2) << "attempt 1 (never seen ending) and attempt 2 both count";
  std::vector<int> attempts;
  for (const auto& c : policy_sink.of<RunClassified>()) attempts.push_back(c.run.attempt);
  EXPECT_THAT(attempts, ::testing::UnorderedElementsAre(1, 2));
  ASSERT_TRUE(poll_policy().ok);
  EXPECT_EQ(client.count("/attempts/2/jobs"), 1u) << "classified once";
}

TEST_F(GitHubPolicySourceTest, ACancelledRunWhoseJobsNeverStartedIsNotADeploy) {
  client.always("/runs?", response(200, runs_body({run(kRunId, "completed", "cancelled")})));
  Json queued = job(31, "deploy", "cancelled");
  queued["runner_id"] = nullptr;
  queued["steps"] = Json::array();
  client.always("/attempts/1/jobs", response(200, jobs_body({queued})));
  ASSERT_TRUE(poll_policy().ok);
  EXPECT_EQ(policy().deploys().size(), 1u) << "counted until its jobs are known";
  ASSERT_TRUE(run_until(ioc, [&] { return policy_sink.count<RunClassified>() == 1; }));
  EXPECT_EQ(policy_sink.of<RunClassified>().front().result, Classification::NeverStarted);
  EXPECT_TRUE(policy().deploys().empty());
  EXPECT_EQ(client.count("/logs"), 0u);
}

TEST_F(GitHubPolicySourceTest, ACancelledRunThatRanIsStillADeploy) {
  client.always("/runs?", response(200, runs_body({run(kRunId, "completed", "cancelled")})));
  Json ran = job(31, "deploy", "cancelled");
  ran["steps"] = Json::array({Json{{"name", "Set up job"}, {"status", "completed"}, {"conclusion", "success"}}});
  client.always("/attempts/1/jobs", response(200, jobs_body({ran})));
  ASSERT_TRUE(poll_policy().ok);
  ASSERT_TRUE(run_until(ioc, [&] { return policy_sink.count<RunClassified>() == 1; }));
  EXPECT_EQ(policy_sink.of<RunClassified>().front().result, Classification::NotBusy);
  EXPECT_EQ(policy().deploys().size(), 1u);
}

TEST_F(GitHubPolicySourceTest, AnActiveRunThatLeftEveryListIsLookedUpById) {
  client.once("/runs?per_page=20&status=in_progress", response(200, runs_body({run(kRunId, "in_progress", "")})));
  client.always("/runs?", response(200, runs_body({})));
  ASSERT_TRUE(poll_policy().ok);
  ASSERT_EQ(policy().runs().size(), 1u);
  EXPECT_EQ(client.count("/actions/runs/9000000001"), 0u) << "listed: no lookup";

  // Next poll: no list holds it. Its lookup says it completed.
  Json done = run(kRunId, "completed", "success");
  done["updated_at"] = "2023-11-14T22:30:00Z";
  client.once("/actions/runs/9000000001", response(200, done.dump()));
  ASSERT_TRUE(poll_policy().ok);
  EXPECT_EQ(client.count("/actions/runs/9000000001"), 1u);
  EXPECT_EQ(policy().runs().at(0).status, RunStatus::Completed);

  // A run that is gone (404) ends.
  client.once("/runs?per_page=20&status=queued", response(200, runs_body({run(kRunId + 1, "queued", "")})));
  ASSERT_TRUE(poll_policy().ok);
  client.once("/actions/runs/9000000002", response(404, R"({"message":"Not Found"})"));
  ASSERT_TRUE(poll_policy().ok) << "a 404 on one run's lookup ends that run, not the poll";
  EXPECT_EQ(policy_sink.count<RunGone>(), 1u);
  for (const auto& r : policy().runs()) EXPECT_NE(r.id, kRunId + 1);
}

TEST_F(GitHubPolicySourceTest, ALookupThatFailsKeepsTheRunBlocking) {
  client.once("/runs?per_page=20&status=in_progress", response(200, runs_body({run(kRunId, "in_progress", "")})));
  client.always("/runs?", response(200, runs_body({})));
  ASSERT_TRUE(poll_policy().ok);
  client.once("/actions/runs/9000000001", response(502, R"({"message":"Bad Gateway"})"));
  ASSERT_TRUE(poll_policy().ok);
  ASSERT_EQ(policy().runs().size(), 1u);
  EXPECT_EQ(policy().runs().at(0).status, RunStatus::InProgress) << "not known to have ended: still blocks";
}

}  // namespace
}  // namespace deployguard::upstream
