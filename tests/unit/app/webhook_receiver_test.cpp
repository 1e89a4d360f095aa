// WebhookReceiver in-process: the delivery ids it hands to the state file (remembered, restored,
// announced once per new id) and what an untrusted delivery does to the text log.
#include "app/webhook_receiver.hpp"

#include <algorithm>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>

#include "log/log.hpp"
#include "service/clock.hpp"
#include "webhook/signature.hpp"

namespace deployguard::app {
namespace {

using Json = nlohmann::json;
constexpr const char* kSecret = "receiver-test-secret";

std::map<std::string, EnvironmentConfig> environments() {
  EnvironmentConfig env;
  env.name = "staging";
  env.github = GitHubTarget{"acme/shop", {"deploy.yml"}, std::string("main")};
  return {{"staging", env}};
}

std::string run_payload(std::int64_t id, const std::string& branch) {
  Json run = {{"id", id}, {"name", "Deploy"}, {"path", ".github/workflows/deploy.yml"},
              {"head_branch", branch}, {"head_sha", "0123456789abcdef"}, {"status", "in_progress"},
              {"conclusion", nullptr}, {"workflow_id", 4242}, {"run_attempt", 1},
              {"display_title", "deploy"}, {"event", "push"},
              {"html_url", "https://github.com/acme/shop/actions/runs/" + std::to_string(id)},
              {"created_at", "2025-01-01T00:00:00Z"}, {"run_started_at", "2025-01-01T00:00:00Z"},
              {"updated_at", "2025-01-01T00:00:01Z"}, {"repository", {{"full_name", "acme/shop"}}}};
  return Json{{"action", "in_progress"}, {"workflow_run", run},
              {"workflow", {{"id", 4242}, {"name", "Deploy"}, {"path", ".github/workflows/deploy.yml"}}},
              {"repository", {{"full_name", "acme/shop"}}}}
      .dump();
}

http::Request delivery(const std::string& id, const std::string& body, const std::string& secret = kSecret) {
  http::Request req{boost::beast::http::verb::post, "/webhooks/github", 11};
  req.set("Content-Type", "application/json");
  req.set("X-GitHub-Event", "workflow_run");
  req.set("X-GitHub-Delivery", id);
  req.set("X-Hub-Signature-256", "sha256=" + webhook::hmac_sha256_hex(secret, body));
  req.body() = body;
  req.prepare_payload();
  return req;
}

class WebhookReceiverTest : public ::testing::Test {
 protected:
  WebhookReceiverTest() {
    service_.start();
    receiver_.set_delivery_listener([this] { ++announced_; });
  }

  Json answer(const http::Request& req, unsigned expected_status) {
    const auto res = receiver_.handle(req);
    EXPECT_EQ(res.result_int(), expected_status) << res.body();
    return Json::parse(res.body(), nullptr, false);
  }

  boost::asio::io_context io_;
  service::SystemClock clock_;
  service::GuardService service_{io_.get_executor(), clock_, environments()};
  WebhookReceiver receiver_{service_, environments(), {kSecret}, nullptr};
  int announced_ = 0;
};

TEST_F(WebhookReceiverTest, EachNewDeliveryIdIsRememberedAndAnnouncedOnce) {
  answer(delivery("d-1", run_payload(1, "main")), 202);
  EXPECT_EQ(announced_, 1);
  EXPECT_EQ(answer(delivery("d-1", run_payload(1, "main")), 200)["outcome"], "duplicate");
  EXPECT_EQ(announced_, 1) << "a duplicate changes nothing to save";
  answer(delivery("d-2", run_payload(2, "feature")), 202);  // ignored, still remembered
  answer(delivery("d-3", run_payload(3, "main"), "wrong-secret"), 401);
  EXPECT_EQ(announced_, 2) << "an unauthenticated delivery is not remembered";
  EXPECT_EQ(receiver_.delivery_ids(), (std::vector<std::string>{"d-1", "d-2"}));
}

TEST_F(WebhookReceiverTest, RestoredIdsAreDuplicates) {
  receiver_.restore_delivery_ids({"d-old", "d-1"});
  EXPECT_EQ(answer(delivery("d-1", run_payload(1, "main")), 200)["outcome"], "duplicate");
  EXPECT_EQ(announced_, 0);
  EXPECT_FALSE(service_.decide("staging")->has(ReasonCode::DeployInProgress)) << "not applied";
  answer(delivery("d-new", run_payload(1, "main")), 202);
  EXPECT_TRUE(service_.decide("staging")->has(ReasonCode::DeployInProgress));
}

TEST_F(WebhookReceiverTest, AnOverlongDeliveryIdIsRefusedNotRemembered) {
  answer(delivery(std::string(webhook::kMaxDeliveryIdBytes + 1, 'x'), run_payload(1, "main")), 400);
  EXPECT_EQ(announced_, 0);
  EXPECT_TRUE(receiver_.delivery_ids().empty());
}

TEST_F(WebhookReceiverTest, APayloadCannotForgeALogLine) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  sink->set_pattern("%l [%n] %v");
  auto log = logging::subsystem_logger("webhook");
  const auto saved_sinks = log->sinks();
  const auto saved_level = log->level();
  log->sinks() = {sink};
  log->set_level(spdlog::level::info);

  // A branch nobody deploys from: the delivery is ignored, and its message names the branch.
  answer(delivery("d-\x1b[2Jevil", run_payload(7, "evil\nwarn [guard] event=decision env=staging safe=true")), 202);
  log->flush();
  log->sinks() = saved_sinks;
  log->set_level(saved_level);

  const std::string text = captured.str();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_NE(text.find("branch evil\\nwarn [guard] event=decision env=staging safe=true)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("delivery=\"d-\\x1b[2Jevil\""), std::string::npos) << text;
}

}  // namespace
}  // namespace deployguard::app
