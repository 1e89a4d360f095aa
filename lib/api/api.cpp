#include "api/api.hpp"

#include <optional>
#include <string>
#include <vector>

#include <boost/url/parse.hpp>

#include "api/render.hpp"

namespace deployguard::api {
namespace {

namespace bhttp = boost::beast::http;
using http::Response;
using http::Status;

constexpr std::string_view kAllowGet = "GET, HEAD";

Response json_response(Status status, const Json& body) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = body.dump();
  res.body() += '\n';
  return res;
}

Response error(Status status, std::string_view code, std::string_view message) {
  auto res = http::make_error_response(status, code, message);
  res.set(bhttp::field::cache_control, "no-store");
  return res;
}

Response method_not_allowed(std::string_view allow) {
  auto res = error(Status::method_not_allowed, "method_not_allowed",
                   "method not allowed; allowed: " + std::string(allow));
  res.set(bhttp::field::allow, allow);
  return res;
}

bool is_get(const http::Request& req) {
  return req.method() == bhttp::verb::get || req.method() == bhttp::verb::head;
}

std::optional<std::string> query_param(const boost::urls::url_view& url, std::string_view key) {
  auto params = url.params();
  auto it = params.find(key);
  if (it == params.end()) return std::nullopt;
  return std::string((*it).value);
}

}  // namespace

Api::Api(app::GuardService& service, ApiOptions options)
    : service_(service), options_(options) {}

void Api::operator()(http::Request&& request, http::Responder responder) const {
  responder(handle(request));
}

std::size_t Api::body_limit_for(const http::RequestHeader& header) const {
  auto parsed = boost::urls::parse_origin_form(header.target());
  if (parsed && parsed->path() == kGitHubWebhookPath) return options_.max_webhook_body_bytes;
  return options_.max_body_bytes;
}

http::Response Api::handle(const http::Request& request) const {
  auto parsed = boost::urls::parse_origin_form(request.target());
  if (!parsed) return error(Status::bad_request, "bad_request", "malformed request target");
  const boost::urls::url_view url = *parsed;
  std::vector<std::string> segments;
  for (auto segment : url.segments()) segments.emplace_back(segment);
  const auto path = url.path();

  // ---- /healthz, /readyz ---------------------------------------------------------------------
  if (path == "/healthz") {
    if (!is_get(request)) return method_not_allowed(kAllowGet);
    return json_response(Status::ok, Json{{"status", "ok"}});
  }
  if (path == "/readyz") {
    if (!is_get(request)) return method_not_allowed(kAllowGet);
    const auto missing = service_.missing_sources();
    if (missing.empty()) return json_response(Status::ok, Json{{"status", "ready"}});
    Json list = Json::array();
    for (const auto& m : missing) list.push_back(Json{{"environment", m.environment}, {"source", m.source}});
    Json body;
    body["status"] = "starting";
    body["missing"] = std::move(list);
    return json_response(Status::service_unavailable, body);
  }

  // ---- /can-deploy ---------------------------------------------------------------------------
  if (path == "/can-deploy") {
    if (!is_get(request)) return method_not_allowed(kAllowGet);
    const auto& environments = service_.environments();
    std::string name;
    if (auto env = query_param(url, "env")) {
      if (env->empty()) return error(Status::bad_request, "bad_request", "env must not be empty");
      name = std::move(*env);
    } else if (environments.size() == 1) {
      name = environments.begin()->first;
    } else {
      std::string known;
      for (const auto& [n, p] : environments) known += (known.empty() ? "" : ", ") + n;
      return error(Status::bad_request, "bad_request",
                   "missing query parameter env (configured environments: " + known + ")");
    }
    const auto decision = service_.decide(name);
    if (!decision)
      return error(Status::not_found, "not_found", "unknown environment \"" + name + "\"");
    auto res = json_response(decision->safe ? Status::ok : Status::locked,
                             decision_json(name, *decision));
    if (decision->retry_after)
      res.set(bhttp::field::retry_after, std::to_string(seconds_rounded_up(*decision->retry_after)));
    return res;
  }

  // ---- /v1/status, /v1/environments/NAME -----------------------------------------------------
  if (path == "/v1/status") {
    if (!is_get(request)) return method_not_allowed(kAllowGet);
    const auto now = service_.now();
    Json environments = Json::object();
    for (const auto& [name, policy] : service_.environments())
      environments[name] = environment_status_json(name, policy, policy.decide(now), now);
    Json body;
    body["evaluated_at"] = format_timestamp(now);
    body["environments"] = std::move(environments);
    return json_response(Status::ok, body);
  }
  if (segments.size() == 3 && segments[0] == "v1" && segments[1] == "environments" &&
      !segments[2].empty()) {
    if (!is_get(request)) return method_not_allowed(kAllowGet);
    const auto* policy = service_.find(segments[2]);
    if (!policy)
      return error(Status::not_found, "not_found", "unknown environment \"" + segments[2] + "\"");
    const auto now = service_.now();
    return json_response(Status::ok,
                         environment_status_json(segments[2], *policy, policy->decide(now), now));
  }

  return error(Status::not_found, "not_found", "no route for " + std::string(path));
}

}  // namespace deployguard::api
