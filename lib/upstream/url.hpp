#pragma once
#include <string>
#include <string_view>

namespace deployguard::upstream {

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters kept).
std::string encode_query_value(std::string_view value);

/// Appends "name=value" (value encoded) to a URL with '?' or '&' as needed.
std::string add_query(std::string url, std::string_view name, std::string_view value);

}  // namespace deployguard::upstream
