// Small pure helpers shared by the fake upstream: time formatting, ETags, target parsing.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace deployguard::fake {

using SystemTime = std::chrono::system_clock::time_point;

// "2024-01-01T12:00:00Z" (GitHub style).
std::string format_iso8601_z(SystemTime t);
// "2024-01-01T12:00:00+00:00" (ARM revision createdTime style).
std::string format_iso8601_offset(SystemTime t);
std::int64_t unix_seconds(SystemTime t);

// Timestamps in state and scenario files may be written relative to the moment they are
// applied, so a replayed incident always looks live: "now", "now-90s", "now+2m", "now-1h".
// Any other string is returned unchanged. `arm_style` selects the +00:00 form.
std::string resolve_time(const std::string& value, SystemTime now, bool arm_style = false);
bool is_relative_time(std::string_view value);

// Weak ETag derived from the response body, so identical content always has the same tag
// and any change to the rendered resource changes it.
std::string content_etag(std::string_view body);
// RFC 7232 weak comparison against an If-None-Match value (list and "*" supported).
bool etag_matches(std::string_view if_none_match, std::string_view etag);

std::string percent_decode(std::string_view in, bool plus_as_space);
std::string percent_encode(std::string_view in);

struct ParsedTarget {
  std::string path;                           // raw path, no query
  std::vector<std::string> segments;          // decoded, empty segments dropped
  std::map<std::string, std::string> query;   // decoded; last value wins
  std::string raw_query;                      // without '?'
};
ParsedTarget parse_target(std::string_view target);
std::map<std::string, std::string> parse_form(std::string_view body);

bool starts_with(std::string_view s, std::string_view prefix);
std::string to_lower(std::string_view s);

}  // namespace deployguard::fake
