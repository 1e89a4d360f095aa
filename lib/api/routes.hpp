#pragma once
// Every route the daemon serves, in one table: method, path pattern, whether it is answered at
// once or later through a Responder, its body limit, who may call it and on which listener. The
// table is used for dispatch (Api), request body limits (before the body is read), the metrics'
// route label, the 404/405 answers and the route list of docs/api.md (route_list_markdown(),
// compared with the file by a test).
#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/verb.hpp>
#include <boost/url/url_view.hpp>

#include "api/auth.hpp"
#include "api/target.hpp"

namespace deployguard::api {

enum class RouteId {
  can_deploy,
  healthz,
  readyz,
  status,
  environment,
  lease_acquire,
  lease_release,
  queue_join,
  queue_ticket,
  queue_leave,
  freeze_set,
  freeze_clear,
  windows,
  override_set,
  override_clear,
  events,
  stabilize,
  stop,
  metrics,
  webhook,
};

enum class Dispatch {
  sync,   // a plain request -> response function
  async,  // may answer later through the http::Responder (long-poll, remediation)
};

enum class BodyLimit {
  api,      // server.max_body_bytes
  webhook,  // server.max_webhook_body_bytes
};

struct Route {
  RouteId id;
  boost::beast::http::verb method;  // GET routes answer HEAD too (without a body)
  std::string_view pattern;         // literal segments and {name} / {id} placeholders
  Dispatch dispatch;
  BodyLimit body_limit;
  Scope scope;
  bool webhook_listener;  // also served on server.webhook_listen (the public listener)
  std::string_view summary;
};

/// The table, in the order docs/api.md lists the routes.
std::span<const Route> routes();

/// Which listener a request arrived on: the webhook-only one serves only the routes marked so.
enum class Listener { api, webhook };

/// The most segments any pattern has; longer paths match nothing.
inline constexpr std::size_t kMaxRouteSegments = 5;

/// The path of a request target split into its (decoded) segments; "/v1/status" is
/// {"v1", "status"}. Views into storage the caller keeps alive.
struct PathSegments {
  std::array<std::string_view, kMaxRouteSegments> items{};
  std::size_t size = 0;
  bool too_long = false;  // more segments than any route has
};

/// Splits a path whose characters stand for themselves ("/a/b", see plain_target()).
PathSegments split_path(std::string_view path);

/// A request target split once: its decoded path segments and query parameters. Targets whose
/// every character stands for itself (the common case, e.g. "/can-deploy?env=prod") are split
/// without the URL parser; anything else goes through boost::urls (percent-decoding).
class RequestTarget {
 public:
  explicit RequestTarget(std::string_view target);
  RequestTarget(const RequestTarget&) = delete;
  RequestTarget& operator=(const RequestTarget&) = delete;

  /// False for a target that is not in origin form ("http://host/x", "/a?%zz").
  bool ok() const { return ok_; }
  const PathSegments& segments() const { return segments_; }
  /// The decoded path, for messages.
  std::string path() const;
  /// The decoded value of the first parameter named `key` ("" for a bare `key`), or nullopt.
  std::optional<std::string> param(std::string_view key) const;

 private:
  bool ok_ = false;
  std::optional<PlainTarget> plain_;
  std::optional<boost::urls::url_view> url_;
  std::vector<std::string> storage_;  // decoded segments of url_
  PathSegments segments_;
};

/// `name` and `id` view into the PathSegments matched (and so into its RequestTarget): valid only
/// while that target lives.
struct RouteMatch {
  const Route* route = nullptr;  // null: no route (see allow)
  std::string_view name;         // {name}
  std::string_view id;           // {id}
  /// When the path matched a route but not the method: the Allow header ("GET, HEAD").
  std::string allow;
};

/// The route for a method and path on a listener. HEAD matches GET routes.
RouteMatch match_route(boost::beast::http::verb method, const PathSegments& path,
                       Listener listener = Listener::api);

/// The body limit class of a request target (percent-encoded or plain), without the body.
BodyLimit body_limit_of(boost::beast::http::verb method, std::string_view target);

/// The metrics label of a request target: the pattern of the route its path names (whatever the
/// method), "(other)" without one, "(none)" for an empty target.
std::string route_label(std::string_view target);

/// The route list of docs/api.md (a Markdown table), rendered from the table.
std::string route_list_markdown();

}  // namespace deployguard::api
