#pragma once
// The HTTP API: every route of routes.hpp's table is dispatched here, in one switch. Routes are
// answered at once (a plain request -> response function) or, for the long-poll and the
// asynchronous stabilize/stop, later through the http::Responder. No sockets, and the only timer
// is the long-poll waiters' (waiters.hpp), so every route and status code is unit-tested without
// a network. The server calls operator() on the io thread. Reference: docs/api.md.
//
// Every route has a scope (routes.hpp); auth.hpp decides who may call it (401 without a valid
// token, 403 outside the token's scopes or environments, 403 auth_not_configured for a mutation
// when no token is configured at all). A mutation is answered only after the state file was written
// (Persistence::commit); if that fails the change is rolled back and the answer is 500
// state_write_failed. Errors: {"error":{"code":"...","message":"..."}}; an unknown path gets
// 404, a wrong method 405 with Allow.
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>
#include <string_view>

#include "api/auth.hpp"
#include "api/routes.hpp"
#include "api/waiters.hpp"
#include "service/guard_service.hpp"
#include "service/persistence.hpp"
#include "core/cidr.hpp"
#include "core/config.hpp"
#include "http/server/server.hpp"
#include "remediation/remediation.hpp"

namespace deployguard::api {

struct ApiOptions {
  std::size_t max_body_bytes = ServerConfig{}.max_body_bytes;
  std::size_t max_webhook_body_bytes = ServerConfig{}.max_webhook_body_bytes;
  Duration max_wait = ServerConfig{}.max_wait;
  std::size_t max_waiters = ServerConfig{}.max_waiters;
  Duration max_lease_ttl = ServerConfig{}.max_lease_ttl;
  std::size_t max_waiters_per_client = ServerConfig{}.max_waiters_per_client;
  /// Peers whose X-Forwarded-For names the client (server.trusted_proxies).
  std::vector<Cidr> trusted_proxies;
  /// Told the number of long-poll waiters whenever it changes (metrics, tests). Io thread.
  std::function<void(std::size_t)> on_waiter_count;
  /// Told the outcome of every authorization of a route that has a scope (metrics).
  std::function<void(const Route&, const AuthResult&)> on_auth;
  /// Told each break-glass override created or cancelled through the API ("created",
  /// "cancelled"); its use and expiry reach GuardService listeners (StateChange::overrides).
  std::function<void(const std::string& environment, std::string_view event)> on_override;

  static ApiOptions from_config(const ServerConfig& server) {
    ApiOptions out;
    out.max_body_bytes = server.max_body_bytes;
    out.max_webhook_body_bytes = server.max_webhook_body_bytes;
    out.max_wait = server.max_wait;
    out.max_waiters = server.max_waiters;
    out.max_lease_ttl = server.max_lease_ttl;
    out.max_waiters_per_client = server.max_waiters_per_client;
    out.trusted_proxies = parse_cidrs(server.trusted_proxies);
    return out;
  }
};

/// Longest accepted holder / by / detail / reason strings (bytes).
inline constexpr std::size_t kMaxHolderBytes = 200;
inline constexpr std::size_t kMaxReasonBytes = 1000;

class Api {
 public:
  /// `service` and `persistence` must outlive the Api. `persistence` null: mutations are
  /// applied without a state file or audit log (tests). `auth` without tokens: mutating routes
  /// answer 403 auth_not_configured unless its settings allow anonymous mutations. Registers a
  /// GuardService listener (long-poll wake-ups). Io thread only.
  Api(service::GuardService& service, ApiOptions options = {}, service::Persistence* persistence = nullptr,
      TokenAuth auth = {});
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  /// Maps one request to its response at once: /can-deploy?wait= is answered without waiting,
  /// stabilize and stop (which need a responder) answer 500.
  http::Response handle(const http::Request& request);

  /// The API listener's http::Handler: answers through the responder, now or later.
  void operator()(http::Request&& request, http::Responder responder);
  /// The handler of the public webhook-only listener (server.webhook_listen): only the routes
  /// the table marks for it, 404 for the others.
  http::Handler webhook_listener_handler();

  using RouteHandler = std::function<http::Response(const http::Request&)>;
  /// Serves a route implemented above this layer (the metrics page, the webhook receiver).
  /// Unset: the route answers 404.
  void set_handler(RouteId route, RouteHandler handler) { handlers_[route] = std::move(handler); }

  /// Body limit for a request, chosen from its header (ServerOptions::body_limit_for).
  std::size_t body_limit_for(const http::RequestHeader& header) const;

  /// Enables POST .../stabilize and .../stop (503 remediation_unavailable without it). The
  /// service must outlive the Api or be destroyed first (its callbacks then never run).
  void set_remediation(remediation::RemediationService* remediation) { remediation_ = remediation; }

  /// Answers every long-poll waiter with the current decision (graceful shutdown).
  void answer_waiters() {
    waiters_.answer_all();
    ticket_waiters_.answer_all();
  }
  /// Answers the waiters of one environment now (config reload removed it: they get 404).
  void wake_waiters(std::string_view environment) {
    waiters_.wake(environment);
    ticket_waiters_.wake_prefix(std::string(environment) + "/");
  }
  /// Replaces the tokens and settings (config reload re-reads the token files).
  void set_auth(TokenAuth auth) { auth_ = std::move(auth); }
  const TokenAuth& auth() const { return auth_; }
  std::size_t waiter_count() const { return waiters_.size() + ticket_waiters_.size(); }

 private:
  struct Route;
  /// Where a dispatched route's answer goes: a Responder (may answer later) or, from handle(),
  /// a response to fill at once.
  class Reply {
   public:
    explicit Reply(http::Responder responder) : responder_(std::move(responder)) {}
    explicit Reply(http::Response* out) : out_(out) {}
    bool can_wait() const { return out_ == nullptr; }
    http::Responder responder() { return std::move(responder_); }
    void operator()(http::Response response) {
      if (out_) {
        *out_ = std::move(response);
      } else {
        responder_(std::move(response));
      }
    }

   private:
    http::Responder responder_;
    http::Response* out_ = nullptr;
  };
  /// Splits the target, matches the route table and dispatches: the one entry of every request.
  /// `peer`: the connection's peer address (nullopt from handle()).
  void serve(Listener listener, const http::Request& request, Reply reply,
             const std::optional<boost::asio::ip::address>& peer);
  void dispatch(const http::Request& request, const RouteMatch& match,
                const RequestTarget& target, Reply reply, const std::string& client);
  /// The client a request is from: the peer, or behind a trusted proxy the right-most
  /// X-Forwarded-For entry that is not a trusted proxy. "" when unknown (handle()).
  std::string client_of(const http::Request& request,
                        const std::optional<boost::asio::ip::address>& peer) const;
  /// 503 too_many_waiters when `client` already has max_waiters_per_client waiting.
  std::optional<http::Response> over_client_waiters(const std::string& client) const;
  http::Response no_route(Listener listener, const RouteMatch& match,
                          const RequestTarget& target) const;
  http::Response readiness() const;
  http::Response status(const TokenAuth::Visible& visible) const;
  http::Response environment_status(const std::string& name) const;
  using Mutator = http::Response (Api::*)(const http::Request&, const Route&,
                                          const std::string& argument);
  http::Response can_deploy_response(const std::string& environment,
                                     const std::optional<AsRun>& as_run) const;
  /// GET /can-deploy once its query is valid: answers now, or parks a long-poll waiter.
  void answer_can_deploy(const std::string& environment, Duration wait,
                         const std::optional<AsRun>& as_run, http::Responder responder,
                         const std::string& client);
  static http::Response can_deploy_response(std::string_view environment, const Decision& decision,
                                            const std::optional<AsRun>& as_run);
  /// Checks the environment, then runs the mutator as `actor` (authorized in dispatch()).
  http::Response mutate(const http::Request& request, const std::string& environment,
                        const std::string& actor, Mutator mutator, const std::string& argument);
  http::Response acquire_lease(const http::Request&, const Route&, const std::string&);
  http::Response release_lease(const http::Request&, const Route&, const std::string& lease_id);
  http::Response set_freeze(const http::Request&, const Route&, const std::string&);
  http::Response clear_freeze(const http::Request&, const Route&, const std::string&);
  http::Response set_override(const http::Request&, const Route&, const std::string&);
  http::Response clear_override(const http::Request&, const Route&, const std::string&);
  /// GET .../windows?days=N: the windows in force and those starting within N days.
  http::Response freeze_windows(const RequestTarget& target, const std::string& name) const;
  /// Sets the environment's freeze in one durable transaction and audits it ("freeze.set" with
  /// `audit_detail`): the freeze in force afterwards, or the error response to send.
  std::variant<std::optional<Freeze>, http::Response> freeze_now(
      const Route& route, const std::string& reason, const std::string& by,
      std::optional<TimePoint> until, nlohmann::ordered_json audit_detail);
  http::Response report_event(const http::Request&, const Route&, const std::string&);
  http::Response join_queue(const http::Request&, const Route&, const std::string&);
  http::Response leave_queue(const http::Request&, const Route&, const std::string& ticket);
  /// GET .../queue/TICKET (authorized in dispatch()): answers now or parks a ticket waiter.
  void poll_ticket(const RequestTarget& target, const std::string& environment,
                   const std::string& ticket, Reply reply, const std::string& client);
  /// The answer for a ticket now (202 waiting, 201 granted, 404, 409); counts as a poll.
  http::Response ticket_response(const std::string& environment, const std::string& ticket);
  /// Remembers tickets that ended by themselves (409 for a while) and wakes their waiters.
  void on_queue_change(const service::StateChange& change);
  void report_waiter_count() const {
    if (options_.on_waiter_count) options_.on_waiter_count(waiter_count());
  }
  /// POST /v1/environments/NAME/{stabilize,stop}: answered through the responder, later.
  void remediate(const http::Request& request, http::Responder responder, const Route& route,
                 const std::string& action);
  void stabilize(const http::Request& request, http::Responder responder, const Route& route);
  void stop(const http::Request& request, http::Responder responder, const Route& route);
  std::function<bool()> committer();
  void audit(const Route& route, const std::string& action, nlohmann::ordered_json old_value,
             nlohmann::ordered_json new_value, nlohmann::ordered_json detail);

  service::GuardService& service_;
  ApiOptions options_;
  service::Persistence* persistence_;
  TokenAuth auth_;
  ClientCounts client_waiters_;  // before the registries, which count into it
  WaiterRegistry waiters_;
  WaiterRegistry ticket_waiters_;  // keyed "ENV/TICKET": woken only when that ticket changes
  /// Tickets superseded or whose run ended, answered 409 instead of 404 for a while.
  struct EndedTicketNote {
    std::string key;  // "ENV/TICKET"
    TicketEnd why;
    std::string message;
    TimePoint at;
  };
  std::deque<EndedTicketNote> ended_tickets_;  // oldest first, bounded
  remediation::RemediationService* remediation_ = nullptr;
  std::map<RouteId, RouteHandler> handlers_;
};

}  // namespace deployguard::api
