#include "webhook/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace deployguard::webhook {

std::string hmac_sha256_hex(std::string_view secret, std::string_view body) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac.data(), &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xF]);
  }
  return out;
}

bool verify_signature(std::string_view body, std::string_view signature_header,
                      const std::vector<std::string>& secrets) {
  constexpr std::string_view kPrefix = "sha256=";
  if (signature_header.size() != kPrefix.size() + 64 ||
      signature_header.substr(0, kPrefix.size()) != kPrefix)
    return false;
  std::string given(signature_header.substr(kPrefix.size()));
  for (char& c : given)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  bool ok = false;
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    const std::string expected = hmac_sha256_hex(secret, body);
    ok |= CRYPTO_memcmp(expected.data(), given.data(), expected.size()) == 0;
  }
  return ok;
}

}  // namespace deployguard::webhook
