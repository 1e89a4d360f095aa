// Token endpoints of FakeUpstream: Entra ID v2 client credentials, IMDS and the App Service /
// Container Apps identity endpoint. Shapes from api-facts.md section C8.
#include "internal.hpp"

namespace deployguard::fake {

namespace {

Response aad_error(http::status status, const std::string& error, const std::string& description, int code) {
  return make_json(status, Json{{"error", error},
                                {"error_description", description},
                                {"error_codes", Json::array({code})},
                                {"timestamp", "2025-01-01 00:00:00Z"},
                                {"trace_id", "00000000-0000-0000-0000-000000000001"},
                                {"correlation_id", "00000000-0000-0000-0000-000000000002"}});
}

bool configured(const Json& j, const char* key) { return j.contains(key) && j[key].is_string(); }

}  // namespace

Response FakeUpstream::handle_aad_token(const Request& req, const Ctx& ctx) {
  if (req.method() != http::verb::post)
    return aad_error(http::status::method_not_allowed, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.", 900561);
  const Json& aad = member_or_null(tokens_, "aad");
  const std::string tenant = ctx.t.segments[0];
  if (configured(aad, "tenant") && aad["tenant"].get<std::string>() != tenant)
    return aad_error(http::status::bad_request, "invalid_request",
                     "AADSTS90002: Tenant '" + tenant + "' not found.", 90002);
  const auto form = parse_form(req.body());
  auto field = [&](const char* k) { return form.count(k) ? form.at(k) : std::string{}; };
  if (field("grant_type") != "client_credentials")
    return aad_error(http::status::bad_request, "unsupported_grant_type",
                     "AADSTS70003: The app requested an unsupported grant type.", 70003);
  if (field("scope").empty() || field("scope").size() < 9 ||
      field("scope").substr(field("scope").size() - 9) != "/.default")
    return aad_error(http::status::bad_request, "invalid_scope",
                     "AADSTS70011: The provided value for the input parameter 'scope' is not valid.", 70011);
  if (configured(aad, "client_id") && aad["client_id"].get<std::string>() != field("client_id"))
    return aad_error(http::status::bad_request, "unauthorized_client",
                     "AADSTS700016: Application with identifier '" + field("client_id") + "' was not found.", 700016);
  if (!field("client_assertion").empty()) {
    if (field("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
      return aad_error(http::status::bad_request, "invalid_request",
                       "AADSTS50027: Invalid client_assertion_type.", 50027);
    if (configured(aad, "client_assertion") && aad["client_assertion"].get<std::string>() != field("client_assertion"))
      return aad_error(http::status::unauthorized, "invalid_client",
                       "AADSTS700024: Client assertion is not within its valid time range.", 700024);
  } else if (!field("client_secret").empty()) {
    if (configured(aad, "client_secret") && aad["client_secret"].get<std::string>() != field("client_secret"))
      return aad_error(http::status::unauthorized, "invalid_client",
                       "AADSTS7000215: Invalid client secret provided.", 7000215);
  } else {
    return aad_error(http::status::unauthorized, "invalid_client",
                     "AADSTS7000218: The request body must contain 'client_assertion' or 'client_secret'.", 7000218);
  }
  const std::string token = member_or_null(tokens_, "arm").is_string() ? member_or_null(tokens_, "arm").get<std::string>() : "fake-arm-access-token";
  return make_json(http::status::ok, Json{{"token_type", "Bearer"}, {"expires_in", 3599}, {"ext_expires_in", 3599},
                                          {"access_token", token}});
}

Response FakeUpstream::handle_imds_token(const Request& req, const Ctx& ctx) {
  if (header_value(req, "metadata") != "true")
    return make_json(http::status::bad_request,
                     Json{{"error", "invalid_request"}, {"error_description", "Required metadata header not specified"}});
  if (!ctx.t.query.count("resource") || ctx.t.query.at("resource").empty())
    return make_json(http::status::bad_request,
                     Json{{"error", "invalid_request"}, {"error_description", "Required query variable 'resource' is missing"}});
  const std::string token = member_or_null(tokens_, "arm").is_string() ? member_or_null(tokens_, "arm").get<std::string>() : "fake-arm-access-token";
  const auto now = unix_seconds(ctx.now);
  return make_json(http::status::ok, Json{{"access_token", token},
                                          {"refresh_token", ""},
                                          {"expires_in", "3599"},
                                          {"expires_on", std::to_string(now + 3599)},
                                          {"not_before", std::to_string(now)},
                                          {"resource", ctx.t.query.at("resource")},
                                          {"token_type", "Bearer"}});
}

Response FakeUpstream::handle_msi_token(const Request& req, const Ctx& ctx) {
  const std::string got = header_value(req, "x-identity-header");
  const Json& want = member_or_null(tokens_, "identity_header");
  // The status and body for a bad header are not recorded anywhere; 401 is the fake's choice.
  if (got.empty() || (want.is_string() && want.get<std::string>() != got))
    return make_json(http::status::unauthorized,
                     Json{{"statusCode", 401}, {"message", "Unauthorized: X-IDENTITY-HEADER is missing or invalid"}});
  if (!ctx.t.query.count("resource") || ctx.t.query.at("resource").empty())
    return make_json(http::status::bad_request, Json{{"statusCode", 400}, {"message", "resource is required"}});
  const std::string token = member_or_null(tokens_, "arm").is_string() ? member_or_null(tokens_, "arm").get<std::string>() : "fake-arm-access-token";
  return make_json(http::status::ok, Json{{"access_token", token},
                                          {"expires_on", std::to_string(unix_seconds(ctx.now) + 3599)},
                                          {"resource", ctx.t.query.at("resource")},
                                          {"token_type", "Bearer"},
                                          {"client_id", "11111111-2222-3333-4444-555555555555"}});
}

}  // namespace deployguard::fake
