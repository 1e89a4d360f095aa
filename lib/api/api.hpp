#pragma once
// The HTTP API as a plain mapping Request -> Response: no sockets, and the only timer is the
// long-poll waiters' (waiters.hpp), so every route and status code is unit-tested without a
// network. The server calls operator() on the io thread. Full reference: docs/api.md.
//
// Read-only routes (GET; HEAD answers like GET without a body):
//   GET /can-deploy[?env=NAME][&wait=SECONDS]
//                                200 safe / 423 blocked, decision JSON, Retry-After when known.
//                                env may be omitted when exactly one environment is configured.
//                                wait>0 holds the request until the environment is safe or the
//                                wait (capped at server.max_wait) ends; 503 too_many_waiters
//                                beyond server.max_waiters.
//   GET /v1/status               {"evaluated_at":..., "environments":{"NAME":{...}, ...}}
//   GET /v1/environments/NAME    the same object for one environment
//   GET /healthz                 200 {"status":"ok"} while serving
//   GET /readyz                  503 until every source of every environment refreshed once
// Mutating routes (Authorization: Bearer TOKEN when server.api_token_file is set, else 401):
//   POST   /v1/environments/NAME/lease       201 lease / 423 decision
//   DELETE /v1/environments/NAME/lease/ID    204 / 404 unknown or expired lease
//   POST   /v1/environments/NAME/freeze      200 freeze
//   DELETE /v1/environments/NAME/freeze      204 lifted / 404 not frozen
//   POST   /v1/environments/NAME/events      202 (type "server_busy")
//   POST   /v1/environments/NAME/stabilize   200 done / 200 plan (dry_run) / 409 refused /
//                                            502 failed or partially failed (report in body)
//   POST   /v1/environments/NAME/stop        200 frozen + runs cancelled / 502 incomplete
//   (stabilize and stop are asynchronous: served by operator(), see lib/remediation)
// A mutation is answered only after the state file was written (Persistence::commit); if that
// fails the change is rolled back and the answer is 500 state_write_failed.
// Errors: {"error":{"code":"bad_request|unauthorized|not_found|method_not_allowed|...",
// "message":"..."}}; wrong methods get 405 with Allow.
//
// Extension points: add routes in Api::handle() (api.cpp); the GitHub webhook route gets the
// larger body limit through body_limit_for() (kGitHubWebhookPath).
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>
#include <string_view>

#include "api/auth.hpp"
#include "api/waiters.hpp"
#include "service/guard_service.hpp"
#include "service/persistence.hpp"
#include "core/config.hpp"
#include "http/server/server.hpp"
#include "remediation/remediation.hpp"

namespace deployguard::api {

/// Reserved for the webhook receiver (later issue): requests to it get max_webhook_body_bytes.
inline constexpr std::string_view kGitHubWebhookPath = "/webhooks/github";

struct ApiOptions {
  std::size_t max_body_bytes = ServerConfig{}.max_body_bytes;
  std::size_t max_webhook_body_bytes = ServerConfig{}.max_webhook_body_bytes;
  Duration max_wait = ServerConfig{}.max_wait;
  std::size_t max_waiters = ServerConfig{}.max_waiters;
  Duration max_lease_ttl = ServerConfig{}.max_lease_ttl;
  /// Told the number of long-poll waiters whenever it changes (metrics, tests). Io thread.
  std::function<void(std::size_t)> on_waiter_count;

  static ApiOptions from_config(const ServerConfig& server) {
    return {server.max_body_bytes, server.max_webhook_body_bytes, server.max_wait,
            server.max_waiters, server.max_lease_ttl, {}};
  }
};

/// Longest accepted holder / by / detail / reason strings (bytes).
inline constexpr std::size_t kMaxHolderBytes = 200;
inline constexpr std::size_t kMaxReasonBytes = 1000;

class Api {
 public:
  /// `service` and `persistence` must outlive the Api. `persistence` null: mutations are
  /// applied without a state file or audit log (tests). `auth` without tokens: mutating routes
  /// are open. Registers a GuardService listener (long-poll wake-ups). Io thread only.
  Api(service::GuardService& service, ApiOptions options = {}, service::Persistence* persistence = nullptr,
      TokenAuth auth = {});
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  /// Maps one request to its response. /can-deploy?wait= is answered at once here (the
  /// long-poll needs operator()).
  http::Response handle(const http::Request& request);

  /// The http::Handler: answers through the responder, now or (long-poll) later.
  void operator()(http::Request&& request, http::Responder responder);

  /// Body limit for a request, chosen from its header (ServerOptions::body_limit_for).
  std::size_t body_limit_for(const http::RequestHeader& header) const;

  /// Enables POST .../stabilize and .../stop (503 remediation_unavailable without it). The
  /// service must outlive the Api or be destroyed first (its callbacks then never run).
  void set_remediation(remediation::RemediationService* remediation) { remediation_ = remediation; }

  /// Answers every long-poll waiter with the current decision (graceful shutdown).
  void answer_waiters() { waiters_.answer_all(); }
  /// Answers the waiters of one environment now (config reload removed it: they get 404).
  void wake_waiters(std::string_view environment) { waiters_.wake(environment); }
  /// Replaces the bearer tokens (config reload re-reads server.api_token_file).
  void set_auth(TokenAuth auth) { auth_ = std::move(auth); }
  std::size_t waiter_count() const { return waiters_.size(); }

 private:
  struct Route;
  using Mutator = http::Response (Api::*)(const http::Request&, const Route&,
                                          const std::string& argument);
  http::Response can_deploy_response(const std::string& environment) const;
  /// GET /can-deploy once its query is valid: answers now, or parks a long-poll waiter.
  void answer_can_deploy(const std::string& environment, Duration wait,
                         http::Responder responder);
  static http::Response can_deploy_response(std::string_view environment,
                                            const Decision& decision);
  /// Authenticates, checks the environment, then runs the mutator.
  http::Response mutate(const http::Request& request, const std::string& environment,
                        Mutator mutator, const std::string& argument);
  http::Response acquire_lease(const http::Request&, const Route&, const std::string&);
  http::Response release_lease(const http::Request&, const Route&, const std::string& lease_id);
  http::Response set_freeze(const http::Request&, const Route&, const std::string&);
  http::Response clear_freeze(const http::Request&, const Route&, const std::string&);
  /// Sets the environment's freeze in one durable transaction and audits it ("freeze.set" with
  /// `audit_detail`): the freeze in force afterwards, or the error response to send.
  std::variant<std::optional<Freeze>, http::Response> freeze_now(
      const Route& route, const std::string& reason, const std::string& by,
      std::optional<TimePoint> until, nlohmann::ordered_json audit_detail);
  http::Response report_event(const http::Request&, const Route&, const std::string&);
  /// Bearer-token check shared by every mutating route; sets route.actor. nullopt: allowed.
  std::optional<http::Response> authenticate(const http::Request& request, Route& route) const;
  /// POST /v1/environments/NAME/{stabilize,stop}: answered through the responder, later.
  void remediate(const http::Request& request, http::Responder responder,
                 const std::string& environment, const std::string& action);
  void stabilize(const http::Request& request, http::Responder responder, const Route& route);
  void stop(const http::Request& request, http::Responder responder, const Route& route);
  std::function<bool()> committer();
  void audit(const Route& route, const std::string& action, nlohmann::ordered_json old_value,
             nlohmann::ordered_json new_value, nlohmann::ordered_json detail);

  service::GuardService& service_;
  ApiOptions options_;
  service::Persistence* persistence_;
  TokenAuth auth_;
  WaiterRegistry waiters_;
  remediation::RemediationService* remediation_ = nullptr;
};

}  // namespace deployguard::api
