#include "api/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>

namespace deployguard::api {

std::optional<std::string_view> scope_name(Scope scope) {
  switch (scope) {
    case Scope::read: return "read";
    case Scope::deploy: return "deploy";
    case Scope::operate: return "operate";
    case Scope::none:
    case Scope::webhook_signature: break;
  }
  return std::nullopt;
}

std::optional<Scope> parse_scope(std::string_view name) {
  for (const Scope scope : {Scope::read, Scope::deploy, Scope::operate})
    if (scope_name(scope) == name) return scope;
  return std::nullopt;
}

std::vector<NamedToken> unscoped_tokens(std::vector<std::string> tokens) {
  std::vector<NamedToken> out;
  out.reserve(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i)
    out.push_back({"token#" + std::to_string(i + 1), std::move(tokens[i]),
                   {Scope::read, Scope::deploy, Scope::operate}, {}});
  return out;
}

std::string_view to_string(AuthOutcome outcome) {
  switch (outcome) {
    case AuthOutcome::allowed: return "allowed";
    case AuthOutcome::unauthorized: return "unauthorized";
    case AuthOutcome::forbidden: return "forbidden";
    case AuthOutcome::not_configured: return "not_configured";
  }
  return "allowed";
}

TokenAuth::TokenAuth(std::vector<NamedToken> tokens, AuthSettings settings) : settings_(settings) {
  tokens_.reserve(tokens.size());
  for (auto& token : tokens)
    tokens_.push_back({std::move(token.name), digest(token.token), std::move(token.scopes),
                       std::move(token.environments)});
}

TokenAuth::TokenAuth(const std::vector<std::string>& tokens, AuthSettings settings)
    : TokenAuth(unscoped_tokens(tokens), settings) {}

TokenAuth::Digest TokenAuth::digest(std::string_view token) {
  Digest out{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), out.data());
  return out;
}

const TokenAuth::Entry* TokenAuth::find(std::string_view authorization) const {
  // RFC 6750: "Bearer" (case-insensitive scheme), one or more spaces, the token.
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size()) return nullptr;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return nullptr;
  }
  auto token = authorization.substr(kScheme.size());
  if (token.front() != ' ') return nullptr;
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  if (token.empty()) return nullptr;

  const Digest presented = digest(token);
  const Entry* match = nullptr;
  // Every digest is compared (no early exit) so timing does not reveal which token matched.
  for (const auto& entry : tokens_) {
    if (CRYPTO_memcmp(presented.data(), entry.digest.data(), presented.size()) == 0) match = &entry;
  }
  return match;
}

AuthResult TokenAuth::authorize(std::optional<std::string_view> authorization, Scope scope,
                                std::string_view environment) const {
  AuthResult out;
  out.actor = "anonymous";
  if (scope == Scope::none || scope == Scope::webhook_signature) return out;
  if (scope == Scope::read && !settings_.protect_reads) return out;
  if (tokens_.empty()) {
    if (scope == Scope::read || settings_.allow_anonymous_mutations) return out;
    out.outcome = AuthOutcome::not_configured;
    out.message =
        "no API token is configured (server.api_tokens, server.api_token_file), so this route "
        "is refused; configure a token, or set server.allow_anonymous_mutations: true to let "
        "anyone who reaches the listener use it";
    return out;
  }
  if (!authorization) {
    out.outcome = AuthOutcome::unauthorized;
    out.message = "this route requires Authorization: Bearer TOKEN";
    return out;
  }
  const Entry* entry = find(*authorization);
  if (!entry) {
    out.outcome = AuthOutcome::unauthorized;
    out.message = "invalid bearer token";
    return out;
  }
  out.actor = entry->name;
  const auto name = std::string(scope_name(scope).value_or(""));
  if (std::find(entry->scopes.begin(), entry->scopes.end(), scope) == entry->scopes.end()) {
    out.outcome = AuthOutcome::forbidden;
    out.message = "token \"" + entry->name + "\" does not have scope " + name;
    return out;
  }
  if (!environment.empty() && !entry->environments.empty() &&
      std::find(entry->environments.begin(), entry->environments.end(), environment) ==
          entry->environments.end()) {
    out.outcome = AuthOutcome::forbidden;
    out.message = "token \"" + entry->name + "\" may not act on environment \"" +
                  std::string(environment) + "\"";
    return out;
  }
  return out;
}

TokenAuth::Visible TokenAuth::visible(std::optional<std::string_view> authorization) const {
  if (!settings_.protect_reads || !authorization) return {};
  const Entry* entry = find(*authorization);
  if (!entry || entry->environments.empty()) return {};
  return {false, entry->environments};
}

}  // namespace deployguard::api
