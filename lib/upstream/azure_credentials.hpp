#pragma once
// ARM bearer tokens for the four azure.auth methods, behind one TokenProvider interface.
//
//   client_secret      POST {authority}/{tenant}/oauth2/v2.0/token, client_credentials grant,
//                      scope {arm_url}/.default, secret from client_secret_file/_env (re-read per
//                      token request, so rotation needs no restart)
//   workload_identity  the same POST with client_assertion = the federated token file's contents,
//                      re-read on every token request (kubelet rotates it); tenant, client and
//                      file default to $AZURE_TENANT_ID, $AZURE_CLIENT_ID,
//                      $AZURE_FEDERATED_TOKEN_FILE
//   managed_identity   IMDS GET with "Metadata: true", or, when IDENTITY_ENDPOINT and
//                      IDENTITY_HEADER are set (Container Apps / App Service), GET that endpoint
//                      with "X-IDENTITY-HEADER"; client_id selects a user-assigned identity
//   token_file         a ready bearer token read from a file on every use, never cached
//
// The fetched tokens are cached and refreshed 5 minutes before expiry (half the lifetime for
// short-lived tokens); concurrent callers share one in-flight token request.
//
// Threading: single event loop; callbacks run on the io_context, never inside get_token().
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "core/config.hpp"
#include "core/time.hpp"
#include "http/client/http_client.hpp"
#include "upstream/lifetime.hpp"

namespace deployguard::upstream {

struct TokenResult {
  std::optional<std::string> token;  // the bearer token; never logged
  std::string error;                 // when !token; names the cause, never the secret
};

class TokenProvider {
 public:
  using Callback = std::function<void(TokenResult)>;
  virtual ~TokenProvider() = default;
  /// Calls `done` exactly once, on the io_context thread, never from inside get_token().
  virtual void get_token(Callback done) = 0;
  /// ARM rejected the token (401): forget any cached copy so the next call fetches a new one.
  virtual void invalidate() {}
};

/// One token request to an identity endpoint.
struct FetchedToken {
  std::string access_token;
  TimePoint expires_at{};
};
struct FetchResult {
  std::optional<FetchedToken> token;
  std::string error;
};
class TokenFetcher {
 public:
  using Callback = std::function<void(FetchResult)>;
  virtual ~TokenFetcher() = default;
  /// Calls `done` exactly once; may call it from inside fetch() (CachingTokenProvider copes).
  virtual void fetch(Callback done) = 0;
};

/// Caches a fetcher's tokens; single-flight refresh.
class CachingTokenProvider final : public TokenProvider {
 public:
  CachingTokenProvider(boost::asio::io_context& ioc, const Clock& wall_clock,
                       std::unique_ptr<TokenFetcher> fetcher,
                       Duration refresh_margin = std::chrono::minutes{5});
  void get_token(Callback done) override;
  void invalidate() override { cached_.reset(); }

  std::size_t fetches_started() const { return fetches_; }

 private:
  void on_fetched(FetchResult result, TimePoint started);
  bool fresh(TimePoint now) const;

  boost::asio::io_context& ioc_;
  const Clock& clock_;
  std::unique_ptr<TokenFetcher> fetcher_;
  Duration margin_;
  struct Cached {
    std::string token;
    TimePoint fetched_at{};
    TimePoint expires_at{};
  };
  std::optional<Cached> cached_;
  std::vector<Callback> waiters_;
  bool in_flight_ = false;
  std::size_t fetches_ = 0;
  LifetimeGuard guard_;
};

/// token_file: reads the file (through lib/config secrets) on every call.
class FileTokenProvider final : public TokenProvider {
 public:
  FileTokenProvider(boost::asio::io_context& ioc, std::string path);
  void get_token(Callback done) override;

 private:
  boost::asio::io_context& ioc_;
  std::string path_;
  LifetimeGuard guard_;
};

/// Returns the URL-encoded credential part of an AAD client-credentials form body
/// ("client_secret=..." or "client_assertion_type=...&client_assertion=..."), or nullopt and
/// `error`.
using CredentialForm = std::function<std::optional<std::string>(std::string& error)>;

/// client_secret and workload_identity: POST {authority}/{tenant}/oauth2/v2.0/token.
class AadTokenFetcher final : public TokenFetcher {
 public:
  AadTokenFetcher(http::HttpClient& client, const Clock& wall_clock, std::string authority_url,
                  std::string tenant_id, std::string client_id, std::string scope,
                  CredentialForm credential);
  void fetch(Callback done) override;

 private:
  http::HttpClient& client_;
  const Clock& clock_;
  std::string url_;
  std::string client_id_;
  std::string scope_;
  CredentialForm credential_;
  LifetimeGuard guard_;
};

/// managed_identity: IMDS, or the App Service / Container Apps identity endpoint.
class ManagedIdentityFetcher final : public TokenFetcher {
 public:
  struct Endpoint {
    std::string url;          // IMDS token URL or $IDENTITY_ENDPOINT
    std::string app_service_header;  // $IDENTITY_HEADER; empty = IMDS
  };
  ManagedIdentityFetcher(http::HttpClient& client, const Clock& wall_clock, Endpoint endpoint,
                         std::string resource, std::string client_id);
  void fetch(Callback done) override;

 private:
  http::HttpClient& client_;
  const Clock& clock_;
  Endpoint endpoint_;
  std::string resource_;
  std::string client_id_;
  LifetimeGuard guard_;
};

/// The process environment the credentials read, injectable for tests.
struct CredentialEnvironment {
  std::string azure_tenant_id;             // AZURE_TENANT_ID
  std::string azure_client_id;             // AZURE_CLIENT_ID
  std::string azure_federated_token_file;  // AZURE_FEDERATED_TOKEN_FILE
  std::string identity_endpoint;           // IDENTITY_ENDPOINT
  std::string identity_header;             // IDENTITY_HEADER
  std::string imds_endpoint = "http://169.254.169.254/metadata/identity/oauth2/token";

  static CredentialEnvironment from_process_environment();
};

inline constexpr std::string_view kImdsApiVersion = "2018-02-01";
inline constexpr std::string_view kAppServiceIdentityApiVersion = "2019-08-01";

/// Builds the provider for config.auth.method. Throws std::runtime_error naming the missing
/// setting (e.g. workload_identity without a tenant) — a startup error. The returned provider
/// keeps references to `client` and `wall_clock`.
std::unique_ptr<TokenProvider> make_token_provider(boost::asio::io_context& ioc,
                                                   http::HttpClient& client,
                                                   const AzureConfig& config,
                                                   const Clock& wall_clock,
                                                   const CredentialEnvironment& env);

/// "https://management.azure.com" -> "https://management.azure.com/.default".
std::string arm_scope(std::string_view arm_url);
/// "https://management.azure.com" -> "https://management.azure.com/" (managed identity resource).
std::string arm_resource(std::string_view arm_url);

}  // namespace deployguard::upstream
