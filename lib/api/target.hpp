#pragma once
// Request targets that need no decoding, split without a URL parser: the /can-deploy fast path.
// Anything else (percent-encoding, '+', characters outside RFC 3986) is left to
// boost::urls, so both paths give the same answer for every target the fast path accepts
// (tests/unit/api/target_test.cpp compares them).
#include <optional>
#include <string_view>

namespace deployguard::api {

struct PlainTarget {
  std::string_view path;   // starts with '/'
  std::string_view query;  // after the first '?', without it
  bool has_query = false;  // there is a '?' (then even an empty query has one empty parameter)
};

/// Splits an origin-form target ("/path?query") whose every character stands for itself: RFC
/// 3986 unreserved and sub-delims characters other than '+', and ':', '@', '/', '?'. nullopt
/// for anything else, including '%' and '+' (which boost::urls decodes).
std::optional<PlainTarget> plain_target(std::string_view target);

/// The value of the first `key=value` pair of the target's query whose key is `key` ("" for a
/// bare `key` without '='), or nullopt. Same result as boost::urls' params().find(key).
std::optional<std::string_view> plain_query_param(const PlainTarget& target, std::string_view key);

}  // namespace deployguard::api
