// WebhookReceiver's answers to deliveries whose headers are not UTF-8. The message of an answer
// quotes X-GitHub-Event and X-GitHub-Delivery as sent; the JSON serializer threw on such bytes
// and the delivery was answered 500 (the bug tests/fuzz/fuzz_http_request found in the API's
// error bodies, here in the receiver's own JSON answer). No sockets.
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "app/webhook_receiver.hpp"
#include "service/guard_service.hpp"
#include "webhook/signature.hpp"

namespace deployguard::app {
namespace {

namespace bhttp = boost::beast::http;

constexpr const char* kSecret = "webhook-secret";

class WebhookReceiverUtf8Test : public ::testing::Test {
 protected:
  WebhookReceiverUtf8Test() : service_(io_.get_executor(), clock_, environments()),
                          receiver_(service_, environments(), {kSecret}, {}) {}

  static std::map<std::string, EnvironmentConfig> environments() {
    EnvironmentConfig env;
    env.name = "staging";
    env.github = GitHubTarget{"octo-org/octo-repo", {"deploy.yml"}, std::nullopt};
    return {{"staging", env}};
  }

  http::Response deliver(const std::string& event, const std::string& delivery,
                         const std::string& body) {
    http::Request req{bhttp::verb::post, "/webhooks/github", 11};
    req.set("X-GitHub-Event", event);
    req.set("X-GitHub-Delivery", delivery);
    req.set("X-Hub-Signature-256", "sha256=" + webhook::hmac_sha256_hex(kSecret, body));
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    return receiver_.handle(req);
  }

  boost::asio::io_context io_;
  ManualClock clock_{parse_timestamp("2025-12-31T19:00:00Z").value()};
  service::GuardService service_;
  WebhookReceiver receiver_;
};

TEST_F(WebhookReceiverUtf8Test, AnEventTypeThatIsNotUtf8IsIgnoredWithAJsonAnswer) {
  const auto res = deliver("push\xff\xfe", "d-1", R"({"action":"x"})");
  EXPECT_EQ(res.result(), http::Status::accepted);
  const auto body = nlohmann::json::parse(res.body());
  EXPECT_EQ(body["outcome"], "ignored");
  EXPECT_EQ(body["message"], "event type push\xef\xbf\xbd\xef\xbf\xbd is not used");
}

TEST_F(WebhookReceiverUtf8Test, ADuplicateDeliveryIdThatIsNotUtf8IsAnsweredAsADuplicate) {
  const std::string ping = R"({"zen":"z","hook_id":1})";
  EXPECT_EQ(deliver("ping", "id-\xc3", ping).result(), http::Status::ok);
  const auto res = deliver("ping", "id-\xc3", ping);
  EXPECT_EQ(res.result(), http::Status::ok);
  EXPECT_EQ(nlohmann::json::parse(res.body())["outcome"], "duplicate");
}

}  // namespace
}  // namespace deployguard::app
