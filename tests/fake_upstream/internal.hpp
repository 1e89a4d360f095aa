// Helpers shared by the FakeUpstream translation units. Not part of the library interface.
#pragma once

#include "fake_upstream.hpp"

#include <string>

namespace deployguard::fake {

struct FakeUpstream::Ctx {
  ParsedTarget t;
  SystemTime now;
  std::string base_url;  // "http://<Host header>", used for absolute links back to this server
};

/// obj[key] without the const operator[]'s precondition (key present): null when absent.
inline const Json& member_or_null(const Json& obj, const char* key) {
  static const Json null_value;
  if (!obj.is_object()) return null_value;
  auto it = obj.find(key);
  return it == obj.end() ? null_value : *it;
}

/// Where absolute links in `section` ("github" or "azure" state) point: its `link_base` when set,
/// else `own` (this server, by the request's Host).
inline std::string link_base_or(const Json& section, const std::string& own) {
  const Json& base = member_or_null(section, "link_base");
  return base.is_string() ? base.get<std::string>() : own;
}

Response make_json(http::status status, const Json& body);
Response make_text(http::status status, std::string body, const char* content_type = "text/plain; charset=utf-8");
Response github_error(http::status status, const std::string& message, const std::string& doc_url);
Response arm_error(http::status status, const std::string& code, const std::string& message);
std::string header_value(const Request& req, std::string_view name);

}  // namespace deployguard::fake
