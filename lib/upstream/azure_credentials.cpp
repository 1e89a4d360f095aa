#include "upstream/azure_credentials.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <utility>

#include <boost/asio/post.hpp>

#include "config/secrets.hpp"
#include "parse/azure.hpp"
#include "upstream/url.hpp"

namespace deployguard::upstream {
namespace {

std::string trim_slashes(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return std::string(s);
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// Error text for a non-2xx token answer: AAD/IMDS {"error","error_description"} when present.
std::string token_error(std::string_view who, const http::HttpResponse& res) {
  std::string text = std::string(who) + " " + std::to_string(res.status);
  auto aad = parse::parse_aad_error(res.body);
  if (aad.ok()) {
    text += " " + aad->error;
    if (!aad->error_description.empty()) text += ": " + aad->error_description;
  }
  return text;
}

FetchResult from_response(std::string_view who, const http::HttpResult& result, TimePoint now) {
  if (!result.ok())
    return {std::nullopt, std::string(who) + " request failed: " +
                              std::string(http::to_string(result.error().kind)) + ": " +
                              result.error().message};
  const auto& res = result.response();
  if (res.status < 200 || res.status >= 300) return {std::nullopt, token_error(who, res)};
  auto parsed = parse::parse_token_response(res.body, now);
  if (!parsed) return {std::nullopt, std::string(who) + " token response: " + parsed.error_text()};
  if (parsed->access_token.empty())
    return {std::nullopt, std::string(who) + " token response: empty access_token"};
  return {FetchedToken{parsed->access_token, parsed->expires_at}, ""};
}

}  // namespace

std::string arm_scope(std::string_view arm_url) { return trim_slashes(arm_url) + "/.default"; }
std::string arm_resource(std::string_view arm_url) { return trim_slashes(arm_url) + "/"; }

// ---- CachingTokenProvider -------------------------------------------------------------------

CachingTokenProvider::CachingTokenProvider(boost::asio::io_context& ioc, const Clock& wall_clock,
                                           std::unique_ptr<TokenFetcher> fetcher,
                                           Duration refresh_margin)
    : ioc_(ioc), clock_(wall_clock), fetcher_(std::move(fetcher)), margin_(refresh_margin) {}

bool CachingTokenProvider::fresh(TimePoint now) const {
  if (!cached_) return false;
  // Short-lived tokens (under 10 minutes) are refreshed at half their lifetime instead.
  const Duration lifetime = cached_->expires_at - cached_->fetched_at;
  if (lifetime <= Duration::zero()) return false;
  const Duration margin = std::min(margin_, lifetime / 2);
  return now < cached_->expires_at - margin;
}

void CachingTokenProvider::get_token(Callback done) {
  if (fresh(clock_.now())) {
    boost::asio::post(ioc_, [alive = guard_.watch(), done = std::move(done),
                             token = cached_->token]() mutable {
      if (alive.expired()) return;
      done(TokenResult{std::move(token), ""});
    });
    return;
  }
  waiters_.push_back(std::move(done));
  if (in_flight_) return;
  in_flight_ = true;
  ++fetches_;
  const TimePoint started = clock_.now();
  fetcher_->fetch([this, alive = guard_.watch(), started](FetchResult result) {
    if (alive.expired()) return;
    on_fetched(std::move(result), started);
  });
}

void CachingTokenProvider::on_fetched(FetchResult result, TimePoint started) {
  in_flight_ = false;
  TokenResult out;
  if (result.token) {
    cached_ = Cached{result.token->access_token, started, result.token->expires_at};
    out.token = std::move(result.token->access_token);
  } else {
    out.error = std::move(result.error);
  }
  // Delivered from a fresh handler: the fetcher may have answered from inside fetch().
  boost::asio::post(ioc_, [alive = guard_.watch(), waiters = std::exchange(waiters_, {}),
                           out = std::move(out)]() {
    if (alive.expired()) return;
    for (const auto& w : waiters) w(out);
  });
}

// ---- FileTokenProvider ----------------------------------------------------------------------

FileTokenProvider::FileTokenProvider(boost::asio::io_context& ioc, std::string path)
    : ioc_(ioc), path_(std::move(path)) {}

void FileTokenProvider::get_token(Callback done) {
  std::string error;
  auto token = config::read_secret_file(path_, error);
  TokenResult out;
  if (token) out.token = std::move(token);
  else out.error = "azure token_file: " + error;
  boost::asio::post(ioc_, [alive = guard_.watch(), done = std::move(done),
                           out = std::move(out)]() mutable {
    if (alive.expired()) return;
    done(std::move(out));
  });
}

// ---- AadTokenFetcher ------------------------------------------------------------------------

AadTokenFetcher::AadTokenFetcher(http::HttpClient& client, const Clock& wall_clock,
                                 std::string authority_url, std::string tenant_id,
                                 std::string client_id, std::string scope,
                                 CredentialForm credential)
    : client_(client), clock_(wall_clock),
      url_(trim_slashes(authority_url) + "/" + encode_query_value(tenant_id) +
           "/oauth2/v2.0/token"),
      client_id_(std::move(client_id)), scope_(std::move(scope)),
      credential_(std::move(credential)) {}

void AadTokenFetcher::fetch(Callback done) {
  std::string error;
  auto credential = credential_(error);
  if (!credential) return done(FetchResult{std::nullopt, error});
  http::HttpRequest req;
  req.method = "POST";
  req.url = url_;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  req.body = "grant_type=client_credentials&client_id=" + encode_query_value(client_id_) +
             "&scope=" + encode_query_value(scope_) + "&" + *credential;
  // The body is the credential (client secret or assertion): it goes to the token endpoint and
  // nowhere else, so a redirect is an answer, never followed.
  req.follow_redirects = false;
  client_.send(std::move(req), [this, alive = guard_.watch(),
                                done = std::move(done)](http::HttpResult result) {
    if (alive.expired()) return;
    done(from_response("AAD", result, clock_.now()));
  });
}

// ---- ManagedIdentityFetcher -----------------------------------------------------------------

ManagedIdentityFetcher::ManagedIdentityFetcher(http::HttpClient& client, const Clock& wall_clock,
                                               Endpoint endpoint, std::string resource,
                                               std::string client_id)
    : client_(client), clock_(wall_clock), endpoint_(std::move(endpoint)),
      resource_(std::move(resource)), client_id_(std::move(client_id)) {}

void ManagedIdentityFetcher::fetch(Callback done) {
  const bool app_service = !endpoint_.app_service_header.empty();
  http::HttpRequest req;
  req.method = "GET";
  req.url = add_query(endpoint_.url, "api-version",
                      app_service ? kAppServiceIdentityApiVersion : kImdsApiVersion);
  req.url = add_query(std::move(req.url), "resource", resource_);
  if (!client_id_.empty()) req.url = add_query(std::move(req.url), "client_id", client_id_);
  if (app_service) req.headers.push_back({"X-IDENTITY-HEADER", endpoint_.app_service_header});
  else req.headers.push_back({"Metadata", "true"});
  // IMDS is a link-local HTTP endpoint: no redirects are expected, and following one would
  // take the headers elsewhere.
  req.follow_redirects = false;
  const std::string who = app_service ? "managed identity endpoint" : "IMDS";
  client_.send(std::move(req), [this, alive = guard_.watch(), who,
                                done = std::move(done)](http::HttpResult result) {
    if (alive.expired()) return;
    done(from_response(who, result, clock_.now()));
  });
}

// ---- factory --------------------------------------------------------------------------------

CredentialEnvironment CredentialEnvironment::from_process_environment() {
  CredentialEnvironment env;
  env.azure_tenant_id = env_or_empty("AZURE_TENANT_ID");
  env.azure_client_id = env_or_empty("AZURE_CLIENT_ID");
  env.azure_federated_token_file = env_or_empty("AZURE_FEDERATED_TOKEN_FILE");
  env.identity_endpoint = env_or_empty("IDENTITY_ENDPOINT");
  env.identity_header = env_or_empty("IDENTITY_HEADER");
  return env;
}

std::unique_ptr<TokenProvider> make_token_provider(boost::asio::io_context& ioc,
                                                   http::HttpClient& client,
                                                   const AzureConfig& config,
                                                   const Clock& wall_clock,
                                                   const CredentialEnvironment& env) {
  const auto& auth = config.auth;
  const auto require = [](const std::string& value, const char* what) {
    if (value.empty())
      throw std::runtime_error(std::string("azure.auth: ") + what + " is not set");
  };
  if (auth.method == "token_file") {
    if (!auth.token_file) throw std::runtime_error("azure.auth: token_file is not set");
    return std::make_unique<FileTokenProvider>(ioc, *auth.token_file);
  }
  std::unique_ptr<TokenFetcher> fetcher;
  if (auth.method == "client_secret") {
    require(auth.tenant_id, "tenant_id");
    require(auth.client_id, "client_id");
    if (!auth.client_secret_file && !auth.client_secret_env)
      throw std::runtime_error("azure.auth: client_secret_file or client_secret_env is not set");
    CredentialForm form = [file = auth.client_secret_file, var = auth.client_secret_env](
                              std::string& error) -> std::optional<std::string> {
      std::string read_error;
      auto secret = config::read_secret(file, var, read_error);
      if (!secret) {
        error = "azure client secret: " + read_error;
        return std::nullopt;
      }
      return "client_secret=" + encode_query_value(*secret);
    };
    fetcher = std::make_unique<AadTokenFetcher>(client, wall_clock, auth.authority_url,
                                                auth.tenant_id, auth.client_id,
                                                arm_scope(config.arm_url), std::move(form));
  } else if (auth.method == "workload_identity") {
    const std::string tenant = !auth.tenant_id.empty() ? auth.tenant_id : env.azure_tenant_id;
    const std::string client_id = !auth.client_id.empty() ? auth.client_id : env.azure_client_id;
    const std::string file =
        auth.federated_token_file ? *auth.federated_token_file : env.azure_federated_token_file;
    require(tenant, "tenant_id (or $AZURE_TENANT_ID)");
    require(client_id, "client_id (or $AZURE_CLIENT_ID)");
    require(file, "federated_token_file (or $AZURE_FEDERATED_TOKEN_FILE)");
    // Re-read on every token request: the kubelet rotates the projected token.
    CredentialForm form = [file](std::string& error) -> std::optional<std::string> {
      std::string read_error;
      auto assertion = config::read_secret_file(file, read_error);
      if (!assertion) {
        error = "azure federated token: " + read_error;
        return std::nullopt;
      }
      return "client_assertion_type=" +
             encode_query_value("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
             "&client_assertion=" + encode_query_value(*assertion);
    };
    fetcher = std::make_unique<AadTokenFetcher>(client, wall_clock, auth.authority_url, tenant,
                                                client_id, arm_scope(config.arm_url),
                                                std::move(form));
  } else if (auth.method == "managed_identity") {
    ManagedIdentityFetcher::Endpoint endpoint;
    if (!env.identity_endpoint.empty() && !env.identity_header.empty()) {
      endpoint.url = env.identity_endpoint;
      endpoint.app_service_header = env.identity_header;
    } else {
      endpoint.url = env.imds_endpoint;
    }
    fetcher = std::make_unique<ManagedIdentityFetcher>(client, wall_clock, std::move(endpoint),
                                                       arm_resource(config.arm_url),
                                                       auth.client_id);
  } else {
    throw std::runtime_error("azure.auth.method: unknown method '" + auth.method + "'");
  }
  return std::make_unique<CachingTokenProvider>(ioc, wall_clock, std::move(fetcher));
}

}  // namespace deployguard::upstream
