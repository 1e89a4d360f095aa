#pragma once
// URL helpers of the adapters, and the one rule for URLs a credential is sent to: only the
// origin (scheme, host, port) the credential was configured for.
#include <optional>
#include <string>
#include <string_view>

namespace deployguard::upstream {

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters kept).
std::string encode_query_value(std::string_view value);

/// Appends "name=value" (value encoded) to a URL with '?' or '&' as needed.
std::string add_query(std::string url, std::string_view name, std::string_view value);

/// True when both are absolute http(s) URLs of one origin: scheme and host compared
/// case-insensitively, a missing port read as the scheme's default (http::origin_of, the HTTP
/// client's own parser). False when either is not such a URL.
bool same_origin(std::string_view a, std::string_view b);

/// Checks a URL an upstream told us to follow (a paging link, an operation URL) before the
/// credential `credential` configured for `trusted_url`'s origin goes with it. nullopt: same
/// origin, follow it. Otherwise the refusal, e.g. "ARM nextLink points to
/// https://evil.example:443, not https://management.azure.com:443 (the origin the ARM token is
/// for); refused". `what` names the link ("ARM nextLink"), `credential` the secret ("the ARM
/// token"). The text names origins only, never the link's path or query.
std::optional<std::string> refuse_foreign_origin(std::string_view what, std::string_view url,
                                                 std::string_view trusted_url,
                                                 std::string_view credential);

}  // namespace deployguard::upstream
