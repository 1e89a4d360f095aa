#include "upstream/azure_credentials.hpp"

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/scripted_http_client.hpp"
#include "common/temp_dir.hpp"

namespace deployguard::upstream {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using deployguard::testing::header;
using deployguard::testing::response;
using deployguard::testing::run_until;
using deployguard::testing::ScriptedHttpClient;
using deployguard::testing::TempFile;

std::string aad_token(const std::string& token, int expires_in) {
  return R"({"token_type":"Bearer","expires_in":)" + std::to_string(expires_in) +
         R"(,"ext_expires_in":3599,"access_token":")" + token + "\"}";
}

class CredentialsTest : public ::testing::Test {
 protected:
  CredentialsTest() {
    config.arm_url = "https://management.azure.com";
    config.subscription_id = "sub-1";
    config.auth.authority_url = "https://login.test";
  }

  std::unique_ptr<TokenProvider> make() {
    return make_token_provider(ioc, client, config, clock, env);
  }

  TokenResult get(TokenProvider& p) {
    std::optional<TokenResult> out;
    p.get_token([&](TokenResult r) { out = std::move(r); });
    EXPECT_TRUE(run_until(ioc, [&] { return out.has_value(); }));
    return out.value_or(TokenResult{std::nullopt, "no answer"});
  }

  boost::asio::io_context ioc;
  ManualClock clock{TimePoint{std::chrono::seconds{1'700'000'000}}};
  ScriptedHttpClient client{ioc};
  AzureConfig config;
  CredentialEnvironment env;
};

TEST_F(CredentialsTest, ClientSecretPostsTheClientCredentialsForm) {
  TempFile secret("s3cr&t=\n");
  config.auth.method = "client_secret";
  config.auth.tenant_id = "tenant-1";
  config.auth.client_id = "client-1";
  config.auth.client_secret_file = secret.path();
  client.always("/oauth2/v2.0/token", response(200, aad_token("arm-token-1", 3599)));
  auto provider = make();
  const auto r = get(*provider);
  ASSERT_TRUE(r.token) << r.error;
  EXPECT_EQ(*r.token, "arm-token-1");
  const auto& req = client.last("/oauth2/v2.0/token");
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://login.test/tenant-1/oauth2/v2.0/token");
  EXPECT_EQ(header(req, "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(req.body,
            "grant_type=client_credentials&client_id=client-1"
            "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default&client_secret=s3cr%26t%3D");
  EXPECT_FALSE(req.follow_redirects) << "the form holds the secret: it stays with the token endpoint";
}

TEST_F(CredentialsTest, ARedirectFromTheTokenEndpointIsAnErrorNotFollowed) {
  TempFile secret("s3cr3t");
  config.auth.method = "client_secret";
  config.auth.tenant_id = "tenant-1";
  config.auth.client_id = "client-1";
  config.auth.client_secret_file = secret.path();
  client.always("/oauth2/v2.0/token",
                response(307, "", {{"Location", "https://evil.example/tenant-1/oauth2/v2.0/token"}}));
  auto provider = make();
  const auto r = get(*provider);
  EXPECT_FALSE(r.token);
  EXPECT_THAT(r.error, ::testing::HasSubstr("AAD 307"));
  EXPECT_EQ(client.requests().size(), 1u);
}

TEST_F(CredentialsTest, TokensAreCachedAndRefreshedFiveMinutesBeforeExpiry) {
  TempFile secret("s");
  config.auth.method = "client_secret";
  config.auth.tenant_id = "t";
  config.auth.client_id = "c";
  config.auth.client_secret_file = secret.path();
  client.once("/token", response(200, aad_token("first", 3600)));
  client.once("/token", response(200, aad_token("second", 3600)));
  auto provider = make();
  EXPECT_EQ(get(*provider).token, "first");
  clock.advance(54min);
  EXPECT_EQ(get(*provider).token, "first") << "6 minutes left: still cached";
  EXPECT_EQ(client.count("/token"), 1u);
  clock.advance(2min);
  EXPECT_EQ(get(*provider).token, "second") << "4 minutes left: refreshed";
  EXPECT_EQ(client.count("/token"), 2u);
}

TEST_F(CredentialsTest, ExpiredAndInvalidatedTokensAreFetchedAgain) {
  TempFile secret("s");
  config.auth.method = "client_secret";
  config.auth.tenant_id = "t";
  config.auth.client_id = "c";
  config.auth.client_secret_file = secret.path();
  client.always("/token", response(200, aad_token("tok", 3600)));
  auto provider = make();
  ASSERT_TRUE(get(*provider).token);
  provider->invalidate();
  ASSERT_TRUE(get(*provider).token);
  EXPECT_EQ(client.count("/token"), 2u);
  clock.advance(2h);
  ASSERT_TRUE(get(*provider).token);
  EXPECT_EQ(client.count("/token"), 3u);
}

TEST_F(CredentialsTest, ConcurrentCallersShareOneTokenRequest) {
  TempFile secret("s");
  config.auth.method = "client_secret";
  config.auth.tenant_id = "t";
  config.auth.client_id = "c";
  config.auth.client_secret_file = secret.path();
  auto provider = make();
  std::vector<TokenResult> results;
  for (int i = 0; i < 3; ++i) provider->get_token([&](TokenResult r) { results.push_back(r); });
  deployguard::testing::drain(ioc);
  EXPECT_EQ(client.requests().size(), 1u);
  EXPECT_EQ(client.pending(), 1u);
  EXPECT_TRUE(results.empty());
  client.reply_pending(response(200, aad_token("shared", 3600)));
  ASSERT_TRUE(run_until(ioc, [&] { return results.size() == 3; }));
  for (const auto& r : results) EXPECT_EQ(r.token, "shared");
}

TEST_F(CredentialsTest, ErrorsReachEveryWaiterAndAreNotCached) {
  TempFile secret("s");
  config.auth.method = "client_secret";
  config.auth.tenant_id = "t";
  config.auth.client_id = "c";
  config.auth.client_secret_file = secret.path();
  client.once("/token", response(401, R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]})"));
  client.once("/token", response(200, aad_token("ok", 3600)));
  auto provider = make();
  const auto r = get(*provider);
  EXPECT_FALSE(r.token);
  EXPECT_EQ(r.error, "AAD 401 invalid_client: AADSTS7000215: Invalid client secret provided.");
  EXPECT_EQ(get(*provider).token, "ok");
}

TEST_F(CredentialsTest, WorkloadIdentityReReadsTheFederatedTokenOnEveryRequest) {
  TempFile assertion("jwt-one\n");
  config.auth.method = "workload_identity";
  config.auth.tenant_id.clear();
  config.auth.client_id.clear();
  env.azure_tenant_id = "env-tenant";
  env.azure_client_id = "env-client";
  env.azure_federated_token_file = assertion.path();
  client.always("/token", response(200, aad_token("tok", 3600)));
  auto provider = make();
  ASSERT_TRUE(get(*provider).token);
  const auto& first = client.last("/token");
  EXPECT_EQ(first.url, "https://login.test/env-tenant/oauth2/v2.0/token");
  EXPECT_THAT(first.body, HasSubstr("client_id=env-client"));
  EXPECT_THAT(first.body, HasSubstr("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"));
  EXPECT_THAT(first.body, HasSubstr("&client_assertion=jwt-one"));
  EXPECT_THAT(first.body, ::testing::Not(HasSubstr("client_secret")));

  assertion.write("jwt-two");  // kubelet rotated it
  provider->invalidate();
  ASSERT_TRUE(get(*provider).token);
  EXPECT_THAT(client.last("/token").body, HasSubstr("&client_assertion=jwt-two"));
}

TEST_F(CredentialsTest, WorkloadIdentityWithoutATenantIsAStartupError) {
  config.auth.method = "workload_identity";
  config.auth.tenant_id.clear();
  env.azure_client_id = "c";
  env.azure_federated_token_file = "/x";
  EXPECT_THROW(make(), std::runtime_error);
}

TEST_F(CredentialsTest, ManagedIdentityUsesImdsWithTheMetadataHeader) {
  config.auth.method = "managed_identity";
  config.auth.client_id = "user-assigned-1";
  env.imds_endpoint = "http://127.0.0.1:1/metadata/identity/oauth2/token";
  client.always("/metadata/identity/oauth2/token",
                response(200, R"({"access_token":"imds-tok","refresh_token":"","expires_in":"3599",)"
                              R"("expires_on":"1700003599","not_before":"1700000000",)"
                              R"("resource":"https://management.azure.com/","token_type":"Bearer"})"));
  auto provider = make();
  EXPECT_EQ(get(*provider).token, "imds-tok");
  const auto& req = client.last("/metadata/identity");
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.url,
            "http://127.0.0.1:1/metadata/identity/oauth2/token?api-version=2018-02-01"
            "&resource=https%3A%2F%2Fmanagement.azure.com%2F&client_id=user-assigned-1");
  EXPECT_EQ(header(req, "Metadata"), "true");
  EXPECT_EQ(header(req, "X-IDENTITY-HEADER"), "");
  EXPECT_FALSE(req.follow_redirects);
}

TEST_F(CredentialsTest, ManagedIdentityUsesTheAppServiceEndpointWhenConfigured) {
  config.auth.method = "managed_identity";
  env.identity_endpoint = "http://127.0.0.1:2/msi/token";
  env.identity_header = "rotating-header-value";
  client.always("/msi/token",
                response(200, R"({"access_token":"msi-tok","expires_on":"1700003600",)"
                              R"("resource":"https://management.azure.com/","token_type":"Bearer"})"));
  auto provider = make();
  EXPECT_EQ(get(*provider).token, "msi-tok");
  const auto& req = client.last("/msi/token");
  EXPECT_EQ(req.url, "http://127.0.0.1:2/msi/token?api-version=2019-08-01"
                     "&resource=https%3A%2F%2Fmanagement.azure.com%2F");
  EXPECT_EQ(header(req, "X-IDENTITY-HEADER"), "rotating-header-value");
  EXPECT_EQ(header(req, "Metadata"), "");
  // expires_on is an epoch: one hour from the manual clock, so cached for 55 minutes.
  clock.advance(54min);
  EXPECT_EQ(get(*provider).token, "msi-tok");
  EXPECT_EQ(client.count("/msi/token"), 1u);
}

TEST_F(CredentialsTest, TokenFileIsReadOnEveryUse) {
  TempFile file("static-1\n");
  config.auth.method = "token_file";
  config.auth.token_file = file.path();
  auto provider = make();
  EXPECT_EQ(get(*provider).token, "static-1");
  file.write("static-2");
  EXPECT_EQ(get(*provider).token, "static-2");
  std::filesystem::remove(file.path());
  const auto r = get(*provider);
  EXPECT_FALSE(r.token);
  EXPECT_THAT(r.error, HasSubstr("azure token_file:"));
  EXPECT_TRUE(client.requests().empty());
}

TEST(ArmScopeTest, ScopeAndResourceForTheRealAndAFakeArm) {
  EXPECT_EQ(arm_scope("https://management.azure.com"), "https://management.azure.com/.default");
  EXPECT_EQ(arm_scope("https://management.azure.com/"), "https://management.azure.com/.default");
  EXPECT_EQ(arm_resource("http://127.0.0.1:8443"), "http://127.0.0.1:8443/");
}

}  // namespace
}  // namespace deployguard::upstream
