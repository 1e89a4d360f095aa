#include "webhook/processor.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "webhook/signature.hpp"

using namespace deployguard;
using namespace deployguard::webhook;

namespace {

std::string fixture(const std::string& rel) {
  std::ifstream in(std::string(DEPLOYGUARD_FIXTURES_DIR) + "/github/" + rel, std::ios::binary);
  EXPECT_TRUE(in) << rel;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kSecret = "test-webhook-secret";

class ProcessorTest : public ::testing::Test {
 protected:
  // octo-org/octo-repo's test.yml on master is what the octokit payloads describe.
  WebhookProcessor processor{{{"staging", GitHubTarget{"octo-org/octo-repo", {"test.yml"}, "master"}},
                              {"other", GitHubTarget{"octo-org/elsewhere", {"deploy.yml"}, std::nullopt}},
                              {"hello", GitHubTarget{"Codertocat/Hello-World", {"deploy.yml"}, std::nullopt}}},
                             {"old-secret", kSecret},
                             100};
  int next_delivery = 0;

  WebhookResult deliver(std::string_view event, const std::string& body,
                        std::optional<std::string> signature = std::nullopt,
                        std::optional<std::string> delivery = std::nullopt) {
    const std::string sig = signature.value_or("sha256=" + hmac_sha256_hex(kSecret, body));
    const std::string id = delivery.value_or("delivery-" + std::to_string(++next_delivery));
    return processor.process(WebhookRequest{event, id, sig, body});
  }
};

}  // namespace

TEST_F(ProcessorTest, EveryWorkflowRunFixtureAppliesToTheMatchingEnvironment) {
  for (const char* f : {"workflow_run/requested.payload.json", "workflow_run/in_progress.payload.json",
                        "workflow_run/completed.payload.json",
                        "workflow_run/completed.with-pull-requests.payload.json",
                        "workflow_run/requested.with-conclusion.payload.json"}) {
    const auto r = deliver("workflow_run", fixture(f));
    EXPECT_EQ(r.outcome, Outcome::Applied) << f << ": " << r.message;
    EXPECT_EQ(r.http_status, 202u);
    ASSERT_EQ(r.events.size(), 1u) << f;
    EXPECT_EQ(r.events[0].first, "staging");
    const auto& run = std::get<RunObserved>(r.events[0].second).run;
    EXPECT_EQ(run.id, 289782451);
    EXPECT_EQ(r.refresh, std::vector<std::string>{"staging"});
  }
}

TEST_F(ProcessorTest, AppliedEventsDriveThePolicy) {
  EnvironmentRules rules;
  rules.name = "staging";
  rules.github = GitHubTarget{"octo-org/octo-repo", {"test.yml"}, "master"};
  EnvironmentPolicy policy{rules};
  const auto now = parse_timestamp("2020-10-05T16:40:00Z").value();
  policy.apply(RunsPolled{}, now);
  ASSERT_TRUE(policy.decide(now).safe);
  auto r = deliver("workflow_run", fixture("workflow_run/in_progress.payload.json"));
  for (const auto& [env, ev] : r.events) policy.apply(ev, now);
  EXPECT_TRUE(policy.decide(now).has(ReasonCode::DeployInProgress));
  // The completed delivery arrives, then a stale replay of in_progress with a new delivery id.
  r = deliver("workflow_run", fixture("workflow_run/completed.payload.json"));
  for (const auto& [env, ev] : r.events) policy.apply(ev, now);
  r = deliver("workflow_run", fixture("workflow_run/in_progress.payload.json"));
  for (const auto& [env, ev] : r.events) policy.apply(ev, now);
  const auto d = policy.decide(now);
  EXPECT_FALSE(d.has(ReasonCode::DeployInProgress));
  EXPECT_TRUE(d.has(ReasonCode::Cooldown));
}

TEST_F(ProcessorTest, WrongOrMissingSignatureIsRejectedBeforeParsing) {
  const std::string body = fixture("workflow_run/in_progress.payload.json");
  auto r = deliver("workflow_run", body, "sha256=" + hmac_sha256_hex("wrong", body));
  EXPECT_EQ(r.http_status, 401u);
  EXPECT_TRUE(r.events.empty());
  r = deliver("workflow_run", body, std::string());
  EXPECT_EQ(r.http_status, 401u);
  // Even garbage is 401 (not 400) when unsigned: nothing is parsed before authentication.
  r = deliver("workflow_run", "not json", "sha256=" + std::string(64, '0'));
  EXPECT_EQ(r.http_status, 401u);
}

TEST_F(ProcessorTest, TamperedBodyFailsSignature) {
  const std::string body = fixture("workflow_run/in_progress.payload.json");
  const std::string sig = "sha256=" + hmac_sha256_hex(kSecret, body);
  std::string tampered = body;
  tampered.replace(tampered.find("in_progress"), 11, "completed__");
  EXPECT_EQ(deliver("workflow_run", tampered, sig).http_status, 401u);
}

TEST_F(ProcessorTest, RotatedSecretStillAccepted) {
  const std::string body = fixture("ping/payload.json");
  const auto r = deliver("ping", body, "sha256=" + hmac_sha256_hex("old-secret", body));
  EXPECT_EQ(r.outcome, Outcome::Pong);
  EXPECT_EQ(r.http_status, 200u);
}

TEST_F(ProcessorTest, MalformedAndTruncatedBodiesAre400) {
  const std::string body = fixture("workflow_run/completed.payload.json");
  EXPECT_EQ(deliver("workflow_run", body.substr(0, body.size() / 2)).http_status, 400u);
  EXPECT_EQ(deliver("workflow_run", "[]").http_status, 400u);
  EXPECT_EQ(deliver("workflow_run", R"({"action":"completed","workflow_run":{"id":"x"}})").http_status, 400u);
  EXPECT_EQ(deliver("", body).http_status, 400u);
}

TEST_F(ProcessorTest, ReplayedDeliveryIsAcknowledgedButNotApplied) {
  const std::string body = fixture("workflow_run/in_progress.payload.json");
  EXPECT_EQ(deliver("workflow_run", body, std::nullopt, "same-id").outcome, Outcome::Applied);
  const auto r = deliver("workflow_run", body, std::nullopt, "same-id");
  EXPECT_EQ(r.outcome, Outcome::Duplicate);
  EXPECT_EQ(r.http_status, 200u);
  EXPECT_TRUE(r.events.empty());
}

TEST_F(ProcessorTest, UnknownEventsAreAcceptedAndIgnored) {
  const auto r = deliver("star", R"({"action":"created","repository":{"full_name":"octo-org/octo-repo"}})");
  EXPECT_EQ(r.outcome, Outcome::Ignored);
  EXPECT_EQ(r.http_status, 202u);
  EXPECT_TRUE(r.events.empty());
}

TEST_F(ProcessorTest, JobAndDeploymentEventsRequestARefreshOfTheirRepository) {
  for (const auto& [event, file] : std::vector<std::pair<std::string, std::string>>{
           {"workflow_job", "workflow_job/queued.payload.json"},
           {"deployment", "deployment/payload.json"},
           {"deployment_status", "deployment_status/payload.json"}}) {
    const auto r = deliver(event, fixture(file));
    EXPECT_EQ(r.outcome, Outcome::Applied) << file << ": " << r.message;
    EXPECT_TRUE(r.events.empty());
    EXPECT_EQ(r.refresh, std::vector<std::string>{"hello"}) << file;
  }
}

TEST_F(ProcessorTest, RunsOfOtherRepositoriesAreIgnored) {
  WebhookProcessor p{{{"x", GitHubTarget{"someone/else", {"test.yml"}, std::nullopt}}}, {kSecret}};
  const std::string body = fixture("workflow_run/completed.payload.json");
  const auto r = p.process({"workflow_run", "d1", "sha256=" + hmac_sha256_hex(kSecret, body), body});
  EXPECT_EQ(r.outcome, Outcome::Ignored);
  EXPECT_TRUE(r.events.empty());
}
