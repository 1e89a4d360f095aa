#pragma once
// Bearer-token check for mutating routes (server.api_token_file: several tokens, one per line,
// so tokens can be rotated). Only SHA-256 digests of the tokens are kept; a presented token is
// hashed and compared with every digest using CRYPTO_memcmp, so the comparison time depends
// neither on where the first differing byte is nor on the token's length. Nothing here logs.
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployguard::api {

class TokenAuth {
 public:
  /// No tokens: every request is allowed (auth disabled).
  TokenAuth() = default;
  explicit TokenAuth(const std::vector<std::string>& tokens);

  bool enabled() const { return !digests_.empty(); }
  std::size_t token_count() const { return digests_.size(); }

  /// The 1-based index of the token in an `Authorization: Bearer TOKEN` header value, or
  /// nullopt when the header is malformed or the token unknown.
  std::optional<std::size_t> check(std::string_view authorization) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  static Digest digest(std::string_view token);
  std::vector<Digest> digests_;
};

}  // namespace deployguard::api
