#pragma once
// GitHub webhook authentication: X-Hub-Signature-256 = "sha256=" + hex(HMAC-SHA256(secret, body)).
#include <string>
#include <string_view>
#include <vector>

namespace deployguard::webhook {

/// Lower-case hex HMAC-SHA256 of `body` keyed with `secret`.
std::string hmac_sha256_hex(std::string_view secret, std::string_view body);

/// True when `signature_header` ("sha256=<64 hex>") matches the body under any of `secrets`
/// (several are allowed during rotation). The comparison is constant-time per secret, and every
/// secret is tried, so timing reveals neither the expected value nor which secret matched.
bool verify_signature(std::string_view body, std::string_view signature_header,
                      const std::vector<std::string>& secrets);

}  // namespace deployguard::webhook
