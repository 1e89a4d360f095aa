#include "upstream/url.hpp"

#include <cctype>

#include "http/client/http_client.hpp"

namespace deployguard::upstream {
namespace {

/// "https://management.azure.com:443" for any URL of that origin.
std::string origin_text(std::string_view url) {
  const auto o = http::origin_of(url);
  return o ? o->to_string() : "(not an absolute http(s) URL)";
}

}  // namespace

std::string encode_query_value(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string add_query(std::string url, std::string_view name, std::string_view value) {
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += name;
  url += '=';
  url += encode_query_value(value);
  return url;
}

bool same_origin(std::string_view a, std::string_view b) {
  const auto oa = http::origin_of(a);
  const auto ob = http::origin_of(b);
  return oa && ob && *oa == *ob;
}

std::optional<std::string> refuse_foreign_origin(std::string_view what, std::string_view url,
                                                 std::string_view trusted_url,
                                                 std::string_view credential) {
  if (same_origin(url, trusted_url)) return std::nullopt;
  const std::string trusted = origin_text(trusted_url) + " (the origin " + std::string(credential) +
                              " is for); refused";
  if (!http::origin_of(url)) return std::string(what) + " is not an absolute URL on " + trusted;
  return std::string(what) + " points to " + origin_text(url) + ", not " + trusted;
}

}  // namespace deployguard::upstream
