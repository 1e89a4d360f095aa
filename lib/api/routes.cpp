#include "api/routes.hpp"

#include <boost/url/parse.hpp>

namespace deployguard::api {
namespace {

using boost::beast::http::verb;

constexpr std::array kRoutes = {
    Route{RouteId::can_deploy, verb::get, "/can-deploy", Dispatch::async, BodyLimit::api,
          Scope::read, false,
          "200 safe / 423 blocked with the reasons; `wait=S` holds the request until safe"},
    Route{RouteId::status, verb::get, "/v1/status", Dispatch::sync, BodyLimit::api, Scope::read,
          false, "every environment's verdict, reasons, lease, freeze and observations"},
    Route{RouteId::environment, verb::get, "/v1/environments/{name}", Dispatch::sync,
          BodyLimit::api, Scope::read, false, "the same object for one environment"},
    Route{RouteId::healthz, verb::get, "/healthz", Dispatch::sync, BodyLimit::api, Scope::none,
          false, "200 while serving"},
    Route{RouteId::readyz, verb::get, "/readyz", Dispatch::sync, BodyLimit::api, Scope::none,
          false, "503 until every source of every environment refreshed once"},
    Route{RouteId::lease_acquire, verb::post, "/v1/environments/{name}/lease", Dispatch::sync,
          BodyLimit::api, Scope::deploy, false, "201 lease when safe / 423 decision"},
    Route{RouteId::lease_release, verb::delete_, "/v1/environments/{name}/lease/{id}",
          Dispatch::sync, BodyLimit::api, Scope::deploy, false, "204 released / 404 unknown"},
    Route{RouteId::queue_join, verb::post, "/v1/environments/{name}/queue", Dispatch::sync,
          BodyLimit::api, Scope::deploy, false,
          "201 lease when granted at once / 202 ticket with its place / 503 queue full"},
    Route{RouteId::queue_ticket, verb::get, "/v1/environments/{name}/queue/{id}",
          Dispatch::async, BodyLimit::api, Scope::deploy, false,
          "202 waiting / 201 granted / 404 unknown or expired / 409 superseded or run ended; "
          "`wait=S` holds the request until that changes"},
    Route{RouteId::queue_leave, verb::delete_, "/v1/environments/{name}/queue/{id}",
          Dispatch::sync, BodyLimit::api, Scope::deploy, false,
          "204 left the queue (a granted ticket's lease is released) / 404 unknown"},
    Route{RouteId::freeze_set, verb::post, "/v1/environments/{name}/freeze", Dispatch::sync,
          BodyLimit::api, Scope::operate, false, "200 freeze in force"},
    Route{RouteId::freeze_clear, verb::delete_, "/v1/environments/{name}/freeze",
          Dispatch::sync, BodyLimit::api, Scope::operate, false, "204 lifted / 404 not frozen"},
    Route{RouteId::windows, verb::get, "/v1/environments/{name}/windows", Dispatch::sync,
          BodyLimit::api, Scope::read, false,
          "the freeze windows in force and starting within `days=N` (default 14, at most 366)"},
    Route{RouteId::override_set, verb::post, "/v1/environments/{name}/override", Dispatch::sync,
          BodyLimit::api, Scope::operate, false,
          "201 break-glass: the next lease or queue grant within `ttl` skips the listed rules / "
          "422 a rule that cannot be skipped"},
    Route{RouteId::override_clear, verb::delete_, "/v1/environments/{name}/override",
          Dispatch::sync, BodyLimit::api, Scope::operate, false,
          "204 pending override withdrawn / 404 none"},
    Route{RouteId::events, verb::post, "/v1/environments/{name}/events", Dispatch::sync,
          BodyLimit::api, Scope::deploy, false, "202 a `server_busy` report counted"},
    Route{RouteId::stabilize, verb::post, "/v1/environments/{name}/stabilize", Dispatch::async,
          BodyLimit::api, Scope::operate, false,
          "100% traffic to one revision, the others deactivated (or the plan)"},
    Route{RouteId::stop, verb::post, "/v1/environments/{name}/stop", Dispatch::async,
          BodyLimit::api, Scope::operate, false, "freeze, then cancel the active runs"},
    Route{RouteId::metrics, verb::get, "/metrics", Dispatch::sync, BodyLimit::api, Scope::read,
          false, "Prometheus text format"},
    Route{RouteId::webhook, verb::post, "/webhooks/github", Dispatch::sync, BodyLimit::webhook,
          Scope::webhook_signature, true, "GitHub webhook deliveries"},
};

/// A route's pattern split once, for matching.
struct CompiledRoute {
  const Route* route;
  PathSegments segments;
};

const std::vector<CompiledRoute>& compiled() {
  static const std::vector<CompiledRoute> table = [] {
    std::vector<CompiledRoute> out;
    for (const auto& route : kRoutes) out.push_back({&route, split_path(route.pattern)});
    return out;
  }();
  return table;
}

bool is_placeholder(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

/// Whether `path` has the shape of `pattern`; fills the placeholders (never empty).
bool matches(const PathSegments& pattern, const PathSegments& path, std::string_view& name,
             std::string_view& id) {
  if (path.too_long || path.size != pattern.size) return false;
  std::string_view found_name, found_id;
  for (std::size_t i = 0; i < path.size; ++i) {
    const auto want = pattern.items[i];
    const auto got = path.items[i];
    if (!is_placeholder(want)) {
      if (want != got) return false;
      continue;
    }
    if (got.empty()) return false;
    (want == "{id}" ? found_id : found_name) = got;
  }
  name = found_name;
  id = found_id;
  return true;
}

bool method_matches(verb route_method, verb method) {
  return method == route_method || (route_method == verb::get && method == verb::head);
}

void add_allowed(std::string& allow, verb method) {
  const auto text = method == verb::get ? std::string_view("GET, HEAD")
                                        : std::string_view(boost::beast::http::to_string(method));
  if (allow.find(text) != std::string::npos) return;
  if (!allow.empty()) allow += ", ";
  allow += text;
}

/// The first route whose pattern `path` has, whatever the method.
const Route* route_of_path(const PathSegments& path) {
  std::string_view name, id;
  for (const auto& compiled_route : compiled())
    if (matches(compiled_route.segments, path, name, id)) return compiled_route.route;
  return nullptr;
}

}  // namespace

std::span<const Route> routes() { return kRoutes; }

PathSegments split_path(std::string_view path) {
  PathSegments out;
  if (path.empty() || path.front() != '/') return out;
  std::size_t pos = 1;
  while (true) {
    const auto slash = path.find('/', pos);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    if (out.size == kMaxRouteSegments) {
      out.too_long = true;
      return out;
    }
    out.items[out.size++] = path.substr(pos, end - pos);
    if (slash == std::string_view::npos) return out;
    pos = slash + 1;
  }
}

RequestTarget::RequestTarget(std::string_view target) {
  if ((plain_ = plain_target(target))) {
    segments_ = split_path(plain_->path);
    ok_ = true;
    return;
  }
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return;
  url_ = *parsed;
  for (auto segment : url_->segments()) storage_.emplace_back(segment);
  for (const auto& segment : storage_) {
    if (segments_.size == kMaxRouteSegments) {
      segments_.too_long = true;
      break;
    }
    segments_.items[segments_.size++] = segment;
  }
  ok_ = true;
}

std::string RequestTarget::path() const {
  if (plain_) return std::string(plain_->path);
  if (url_) return std::string(url_->path());
  return {};
}

std::optional<std::string> RequestTarget::param(std::string_view key) const {
  if (plain_) {
    auto value = plain_query_param(*plain_, key);
    return value ? std::optional<std::string>(std::string(*value)) : std::nullopt;
  }
  if (!url_) return std::nullopt;
  auto params = url_->params();
  auto it = params.find(key);
  if (it == params.end()) return std::nullopt;
  return std::string((*it).value);
}

RouteMatch match_route(verb method, const PathSegments& path, Listener listener) {
  RouteMatch out;
  for (const auto& [route, pattern] : compiled()) {
    if (listener == Listener::webhook && !route->webhook_listener) continue;
    std::string_view name, id;
    if (!matches(pattern, path, name, id)) continue;
    if (!method_matches(route->method, method)) {
      add_allowed(out.allow, route->method);
      continue;
    }
    out.route = route;
    out.name = name;
    out.id = id;
    out.allow.clear();
    return out;
  }
  return out;
}

BodyLimit body_limit_of(verb method, std::string_view target) {
  const RequestTarget parsed(target);
  if (!parsed.ok()) return BodyLimit::api;
  const auto match = match_route(method, parsed.segments());
  return match.route ? match.route->body_limit : BodyLimit::api;
}

std::string route_label(std::string_view target) {
  if (target.empty()) return "(none)";
  const RequestTarget parsed(target);
  const Route* route = parsed.ok() ? route_of_path(parsed.segments()) : nullptr;
  return route ? std::string(route->pattern) : "(other)";
}

std::string route_list_markdown() {
  std::string out =
      "| method | path | answered | body limit | auth | listeners | what |\n"
      "|---|---|---|---|---|---|---|\n";
  for (const auto& route : kRoutes) {
    out += "| `";
    out += route.method == verb::get ? "GET` `HEAD" : std::string(boost::beast::http::to_string(route.method));
    out += "` | `";
    out += route.pattern;
    out += "` | ";
    out += route.dispatch == Dispatch::sync ? "at once" : "at once or later";
    out += " | ";
    out += route.body_limit == BodyLimit::webhook ? "`max_webhook_body_bytes`" : "`max_body_bytes`";
    out += " | ";
    switch (route.scope) {
      case Scope::none: out += "none"; break;
      case Scope::read: out += "none; scope `read` with `protect_reads`"; break;
      case Scope::deploy: out += "token, scope `deploy`"; break;
      case Scope::operate: out += "token, scope `operate`"; break;
      case Scope::webhook_signature: out += "HMAC signature"; break;
    }
    out += " | ";
    out += route.webhook_listener ? "`listen`, `webhook_listen`" : "`listen`";
    out += " | ";
    out += route.summary;
    out += " |\n";
  }
  return out;
}

}  // namespace deployguard::api
