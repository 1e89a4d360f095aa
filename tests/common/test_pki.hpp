#pragma once
// Throw-away PKI for the TLS tests, generated at test time with the OpenSSL C API (EC P-256 keys,
// so generation takes milliseconds). Nothing is checked in.
#include <string>

namespace deployguard::testing {

struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

/// A self-signed CA certificate.
KeyAndCert make_ca(const std::string& common_name);

/// A server certificate signed by `ca`; `subject_alt_names` in OpenSSL syntax, e.g.
/// "DNS:localhost,IP:127.0.0.1".
KeyAndCert make_leaf(const KeyAndCert& ca, const std::string& common_name,
                     const std::string& subject_alt_names);

}  // namespace deployguard::testing
