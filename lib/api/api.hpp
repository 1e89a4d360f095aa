#pragma once
// The HTTP API as a plain mapping Request -> Response: no sockets, no timers, so every route and
// status code is unit-tested without a network. The server calls operator() on the io thread.
//
// Routes (GET; HEAD answers like GET without a body; other methods -> 405 with Allow):
//   GET /can-deploy[?env=NAME]   200 safe / 423 blocked, decision JSON, Retry-After when known.
//                                env may be omitted when exactly one environment is configured.
//   GET /v1/status               {"evaluated_at":..., "environments":{"NAME":{...}, ...}}
//   GET /v1/environments/NAME    the same object for one environment
//   GET /healthz                 200 {"status":"ok"} while serving
//   GET /readyz                  503 until every source of every environment refreshed once
// Errors: {"error":{"code":"bad_request|not_found|method_not_allowed|...","message":"..."}}.
//
// Extension points: add routes in Api::route() (api.cpp). Asynchronous routes (long-poll
// ?wait=, webhooks) keep the Responder passed to operator() and answer later; the GitHub webhook
// route gets the larger body limit through body_limit_for() (kGitHubWebhookPath).
#include <cstddef>
#include <string_view>

#include "app/guard_service.hpp"
#include "core/config.hpp"
#include "http/server/server.hpp"

namespace deployguard::api {

/// Reserved for the webhook receiver (later issue): requests to it get max_webhook_body_bytes.
inline constexpr std::string_view kGitHubWebhookPath = "/webhooks/github";

struct ApiOptions {
  std::size_t max_body_bytes = ServerConfig{}.max_body_bytes;
  std::size_t max_webhook_body_bytes = ServerConfig{}.max_webhook_body_bytes;

  static ApiOptions from_config(const ServerConfig& server) {
    return {server.max_body_bytes, server.max_webhook_body_bytes};
  }
};

class Api {
 public:
  /// `service` must outlive the Api. Io thread only.
  explicit Api(app::GuardService& service, ApiOptions options = {});

  /// Maps one request to its response (synchronous routes).
  http::Response handle(const http::Request& request) const;

  /// The http::Handler: answers through the responder.
  void operator()(http::Request&& request, http::Responder responder) const;

  /// Body limit for a request, chosen from its header (ServerOptions::body_limit_for).
  std::size_t body_limit_for(const http::RequestHeader& header) const;

 private:
  app::GuardService& service_;
  ApiOptions options_;
};

}  // namespace deployguard::api
