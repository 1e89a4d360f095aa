#include "api/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>

namespace deployguard::api {

TokenAuth::TokenAuth(const std::vector<std::string>& tokens) {
  digests_.reserve(tokens.size());
  for (const auto& token : tokens) digests_.push_back(digest(token));
}

TokenAuth::Digest TokenAuth::digest(std::string_view token) {
  Digest out{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), out.data());
  return out;
}

std::optional<std::size_t> TokenAuth::check(std::string_view authorization) const {
  // RFC 6750: "Bearer" (case-insensitive scheme), one or more spaces, the token.
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i])
      return std::nullopt;
  }
  auto token = authorization.substr(kScheme.size());
  if (token.front() != ' ') return std::nullopt;
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  if (token.empty()) return std::nullopt;

  const Digest presented = digest(token);
  std::optional<std::size_t> match;
  // Every digest is compared (no early exit) so timing does not reveal which token matched.
  for (std::size_t i = 0; i < digests_.size(); ++i) {
    if (CRYPTO_memcmp(presented.data(), digests_[i].data(), presented.size()) == 0) match = i + 1;
  }
  return match;
}

}  // namespace deployguard::api
