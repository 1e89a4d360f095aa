#pragma once
// Who may call which route. Tokens come from server.api_tokens (named, each with scopes and
// optionally a list of environments) and server.api_token_file (one token per line, every scope,
// named "token#N"). Only SHA-256 digests of the tokens are kept; a presented token is hashed and
// compared with every digest using CRYPTO_memcmp, so the comparison time depends neither on where
// the first differing byte is nor on the token's length. Nothing here logs, and no answer or
// actor name ever contains a token.
//
// The rules (authorize()):
//   * Scope::none routes (health, readiness) and webhook_signature ones (checked elsewhere) are
//     open here.
//   * Scope::read routes are open unless protect_reads; then they need a token with `read`.
//   * Mutating scopes (deploy, operate) need a token with that scope; without any token
//     configured they answer 403 auth_not_configured unless allow_anonymous_mutations.
//   * A token limited to some environments gets 403 on any other.
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployguard::api {

enum class Scope {
  none,               // anyone who reaches the listener
  read,               // a token with scope `read`, only when server.protect_reads
  deploy,             // a token with scope `deploy` (lease, queue, busy reports)
  operate,            // a token with scope `operate` (freeze, stop, stabilize)
  webhook_signature,  // the X-Hub-Signature-256 HMAC of github.webhook_secret_file
};

/// "read", "deploy", ...; nullopt for none / webhook_signature.
std::optional<std::string_view> scope_name(Scope scope);
/// "deploy" -> Scope::deploy; nullopt for anything else.
std::optional<Scope> parse_scope(std::string_view name);

struct NamedToken {
  std::string name;
  std::string token;
  std::vector<Scope> scopes;
  std::vector<std::string> environments;  // empty: every environment
};

/// The tokens of server.api_token_file: every scope on every environment, named "token#1",
/// "token#2", ... by their position.
std::vector<NamedToken> unscoped_tokens(std::vector<std::string> tokens);

struct AuthSettings {
  bool allow_anonymous_mutations = false;
  bool protect_reads = false;
};

enum class AuthOutcome {
  allowed,
  unauthorized,    // 401: no, malformed or unknown bearer token
  forbidden,       // 403: a known token outside its scopes or environments
  not_configured,  // 403 auth_not_configured: a mutation, and no token is configured
};

/// "allowed", "unauthorized", "forbidden", "not_configured" (metrics label).
std::string_view to_string(AuthOutcome outcome);

struct AuthResult {
  AuthOutcome outcome = AuthOutcome::allowed;
  std::string actor;    // the token's name, or "anonymous"
  std::string message;  // why, when not allowed
};

class TokenAuth {
 public:
  /// No tokens: reads are open, mutations refused (auth_not_configured) unless settings say so.
  TokenAuth() = default;
  TokenAuth(std::vector<NamedToken> tokens, AuthSettings settings);
  /// Every token with every scope, named "token#1", "token#2", ... (server.api_token_file).
  explicit TokenAuth(const std::vector<std::string>& tokens, AuthSettings settings = {});
  /// No tokens, mutations open to anyone (allow_anonymous_mutations: tests, local demos).
  static TokenAuth anonymous() { return TokenAuth(std::vector<NamedToken>{}, AuthSettings{true, false}); }

  bool enabled() const { return !tokens_.empty(); }
  std::size_t token_count() const { return tokens_.size(); }
  const AuthSettings& settings() const { return settings_; }

  /// Whether a request with this Authorization header value (nullopt: none) may use a route of
  /// `scope` on `environment` ("" for a route about no single environment).
  AuthResult authorize(std::optional<std::string_view> authorization, Scope scope,
                       std::string_view environment) const;

  /// The environments a request may read ({} with `all` set when unrestricted); for
  /// /v1/status, which lists only what the caller may see.
  struct Visible {
    bool all = true;
    std::vector<std::string> environments;
  };
  Visible visible(std::optional<std::string_view> authorization) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  struct Entry {
    std::string name;
    Digest digest;
    std::vector<Scope> scopes;
    std::vector<std::string> environments;
  };
  static Digest digest(std::string_view token);
  /// The entry of an `Authorization: Bearer TOKEN` value, or null (malformed or unknown).
  const Entry* find(std::string_view authorization) const;

  std::vector<Entry> tokens_;
  AuthSettings settings_;
};

}  // namespace deployguard::api
