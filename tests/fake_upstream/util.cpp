#include "util.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>

namespace deployguard::fake {

namespace {

std::tm to_utc_tm(SystemTime t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

std::string format_with(SystemTime t, const char* suffix) {
  const std::tm tm = to_utc_tm(t);
  std::array<char, 40> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02d%s", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, suffix);
  return buf.data();
}

std::uint64_t fnv1a(std::string_view data, std::uint64_t seed) {
  std::uint64_t h = seed;
  for (const char c : data) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view strip_weak(std::string_view tag) {
  tag = trim(tag);
  if (tag.size() >= 2 && (tag[0] == 'W' || tag[0] == 'w') && tag[1] == '/') tag.remove_prefix(2);
  return tag;
}

}  // namespace

std::string format_iso8601_z(SystemTime t) { return format_with(t, "Z"); }
std::string format_iso8601_offset(SystemTime t) { return format_with(t, "+00:00"); }

std::int64_t unix_seconds(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

bool is_relative_time(std::string_view value) { return starts_with(value, "now"); }

std::string resolve_time(const std::string& value, SystemTime now, bool arm_style) {
  if (!is_relative_time(value)) return value;
  std::string_view rest = std::string_view(value).substr(3);
  SystemTime when = now;
  if (!rest.empty()) {
    const char sign = rest.front();
    if (sign != '-' && sign != '+') return value;
    rest.remove_prefix(1);
    long long amount = 0;
    const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), amount);
    if (ec != std::errc{}) return value;
    const std::string_view unit(ptr, static_cast<std::size_t>(rest.data() + rest.size() - ptr));
    long long seconds = amount;
    if (unit == "m") seconds = amount * 60;
    else if (unit == "h") seconds = amount * 3600;
    else if (unit != "s" && !unit.empty()) return value;
    when = sign == '-' ? now - std::chrono::seconds(seconds) : now + std::chrono::seconds(seconds);
  }
  return arm_style ? format_iso8601_offset(when) : format_iso8601_z(when);
}

std::string content_etag(std::string_view body) {
  std::array<char, 48> buf{};
  std::snprintf(buf.data(), buf.size(), "W/\"%016llx%016llx\"",
                static_cast<unsigned long long>(fnv1a(body, 14695981039346656037ULL)),
                static_cast<unsigned long long>(fnv1a(body, 0x9e3779b97f4a7c15ULL)));
  return buf.data();
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  const std::string_view want = strip_weak(etag);
  while (!if_none_match.empty()) {
    const auto comma = if_none_match.find(',');
    const std::string_view item = trim(if_none_match.substr(0, comma));
    if (item == "*" || (!item.empty() && strip_weak(item) == want)) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

std::string percent_decode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_as_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::string percent_encode(std::string_view in) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : in) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 0xF]);
    }
  }
  return out;
}

namespace {
std::map<std::string, std::string> parse_pairs(std::string_view s, bool plus_as_space) {
  std::map<std::string, std::string> out;
  while (!s.empty()) {
    const auto amp = s.find('&');
    const std::string_view pair = s.substr(0, amp);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      const std::string key = percent_decode(pair.substr(0, eq), plus_as_space);
      const std::string value =
          eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1), plus_as_space);
      out[key] = value;
    }
    if (amp == std::string_view::npos) break;
    s.remove_prefix(amp + 1);
  }
  return out;
}
}  // namespace

ParsedTarget parse_target(std::string_view target) {
  ParsedTarget out;
  const auto q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    out.raw_query = std::string(target.substr(q + 1));
    out.query = parse_pairs(out.raw_query, true);
  }
  std::string_view p = out.path;
  while (!p.empty()) {
    const auto slash = p.find('/');
    const std::string_view seg = p.substr(0, slash);
    if (!seg.empty()) out.segments.push_back(percent_decode(seg, false));
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash + 1);
  }
  return out;
}

std::map<std::string, std::string> parse_form(std::string_view body) { return parse_pairs(body, true); }

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace deployguard::fake
