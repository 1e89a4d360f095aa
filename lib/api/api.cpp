#include "api/api.hpp"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <openssl/rand.h>

#include "api/render.hpp"
#include "api/render_remediation.hpp"

namespace deployguard::api {
namespace {

namespace bhttp = boost::beast::http;
using http::Response;
using http::Status;

/// A JSON answer that no cache may keep: `text` is the serialized body (a newline is added).
Response json_text_response(Status status, std::string text) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = std::move(text);
  res.body() += '\n';
  return res;
}

Response json_response(Status status, const Json& body) {
  // Bytes that are not UTF-8 (a percent-decoded name, say) become U+FFFD: dump() would throw.
  return json_text_response(status, body.dump(-1, ' ', false, Json::error_handler_t::replace));
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

Response unauthorized(std::string_view message) {
  auto res = error(Status::unauthorized, "unauthorized", message);
  res.set(bhttp::field::www_authenticate, "Bearer realm=\"deployguard\"");
  return res;
}

Response auth_refused(const AuthResult& auth) {
  switch (auth.outcome) {
    case AuthOutcome::unauthorized: return unauthorized(auth.message);
    case AuthOutcome::not_configured:
      return error(Status::forbidden, "auth_not_configured", auth.message);
    case AuthOutcome::forbidden:
    case AuthOutcome::allowed: break;
  }
  return error(Status::forbidden, "forbidden", auth.message);
}

std::optional<std::string_view> authorization_of(const http::Request& request) {
  const auto header = request.find(bhttp::field::authorization);
  if (header == request.end()) return std::nullopt;
  return std::string_view(header->value().data(), header->value().size());
}

Response malformed_target() {
  return error(Status::bad_request, "bad_request", "malformed request target");
}

Response bad_request(std::string_view message) {
  return error(Status::bad_request, "bad_request", message);
}

Response unknown_environment(std::string_view name) {
  return error(Status::not_found, "not_found", "unknown environment \"" + std::string(name) + "\"");
}

Response unknown_ticket(std::string_view environment, std::string_view ticket) {
  return error(Status::not_found, "not_found",
               "no ticket \"" + std::string(ticket) + "\" in the deploy queue of \"" +
                   std::string(environment) + "\" (left, expired or its lease ended?)");
}

Response state_write_failed() {
  return error(Status::internal_server_error, "state_write_failed",
               "the change could not be written to the state file and was not applied; see "
               "the daemon log");
}

void set_retry_after(Response& res, const Decision& decision) {
  if (decision.retry_after)
    res.set(bhttp::field::retry_after, std::to_string(seconds_rounded_up(*decision.retry_after)));
}

/// Reads a JSON object request body field by field, collecting every problem.
class BodyReader {
 public:
  explicit BodyReader(const std::string& body) {
    try {
      json_ = nlohmann::json::parse(body);
    } catch (const nlohmann::json::exception& e) {
      errors_.push_back(body.empty() ? std::string("request body must be a JSON object")
                                     : "request body is not valid JSON: " + std::string(e.what()));
      return;
    }
    if (!json_.is_object()) errors_.push_back("request body must be a JSON object");
  }

  bool usable() const { return json_.is_object(); }

  void only(std::initializer_list<std::string_view> known) {
    if (!usable()) return;
    for (const auto& [key, value] : json_.items()) {
      bool found = false;
      for (auto k : known) found = found || k == key;
      if (!found) errors_.push_back("unknown key \"" + key + "\"");
    }
  }

  /// A string of 1..max_bytes bytes. Absent: error if required, else nullopt.
  std::optional<std::string> string(const std::string& key, bool required, std::size_t max_bytes) {
    if (!usable()) return std::nullopt;
    auto it = json_.find(key);
    if (it == json_.end() || (!required && it->is_null())) {
      if (required) errors_.push_back(key + ": required");
      return std::nullopt;
    }
    if (!it->is_string()) {
      errors_.push_back(key + ": must be a string");
      return std::nullopt;
    }
    auto value = it->get<std::string>();
    if (value.empty()) {
      errors_.push_back(key + ": must not be empty");
      return std::nullopt;
    }
    if (value.size() > max_bytes) {
      errors_.push_back(key + ": longer than " + std::to_string(max_bytes) + " bytes");
      return std::nullopt;
    }
    return value;
  }

  /// An optional positive integer.
  /// A list of 1..max_items strings of 1..max_bytes bytes each. Absent: error if required.
  std::optional<std::vector<std::string>> string_list(const std::string& key, bool required,
                                                      std::size_t max_items, std::size_t max_bytes) {
    if (!usable()) return std::nullopt;
    auto it = json_.find(key);
    if (it == json_.end() || (!required && it->is_null())) {
      if (required) errors_.push_back(key + ": required");
      return std::nullopt;
    }
    if (!it->is_array() || it->empty() || it->size() > max_items) {
      errors_.push_back(key + ": must be a list of 1 to " + std::to_string(max_items) + " strings");
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (const auto& item : *it) {
      if (!item.is_string() || item.get_ref<const std::string&>().empty() ||
          item.get_ref<const std::string&>().size() > max_bytes) {
        errors_.push_back(key + ": every item must be a string of 1 to " + std::to_string(max_bytes) +
                          " bytes");
        return std::nullopt;
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  std::optional<std::int64_t> positive_integer(const std::string& key) {
    if (!usable()) return std::nullopt;
    auto it = json_.find(key);
    if (it == json_.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer() || (it->is_number_unsigned() &&
                                     it->get<std::uint64_t>() > static_cast<std::uint64_t>(
                                                                    INT64_MAX))) {
      errors_.push_back(key + ": must be an integer");
      return std::nullopt;
    }
    const auto value = it->get<std::int64_t>();
    if (value <= 0) {
      errors_.push_back(key + ": must be positive");
      return std::nullopt;
    }
    return value;
  }

  /// An optional run attempt (1..INT_MAX); only meaningful with a run id (`with_run`).
  std::optional<int> attempt(const std::string& key, bool with_run) {
    auto value = positive_integer(key);
    if (!value) return std::nullopt;
    if (!with_run) {
      errors_.push_back(key + ": needs run_id");
      return std::nullopt;
    }
    if (*value > std::numeric_limits<int>::max()) {
      errors_.push_back(key + ": too large");
      return std::nullopt;
    }
    return static_cast<int>(*value);
  }

  /// An optional boolean.
  std::optional<bool> boolean(const std::string& key) {
    if (!usable()) return std::nullopt;
    auto it = json_.find(key);
    if (it == json_.end() || it->is_null()) return std::nullopt;
    if (!it->is_boolean()) {
      errors_.push_back(key + ": must be true or false");
      return std::nullopt;
    }
    return it->get<bool>();
  }

  void add_error(std::string message) { errors_.push_back(std::move(message)); }
  bool ok() const { return errors_.empty(); }
  Response error_response() const {
    std::string message;
    for (const auto& e : errors_) message += (message.empty() ? "" : "; ") + e;
    return bad_request(message);
  }

 private:
  nlohmann::json json_;
  std::vector<std::string> errors_;
};

/// The `ttl` of a lease request: 1s .. max (server.max_lease_ttl); `fallback` when absent
/// (nullopt: required). nullopt after adding the error to `body`.
std::optional<Duration> lease_ttl(BodyReader& body, std::optional<Duration> fallback, Duration max,
                                  std::string_view max_name = "server.max_lease_ttl") {
  auto text = body.string("ttl", !fallback, 32);
  if (!text) return fallback && body.ok() ? std::optional<Duration>(std::min(*fallback, max)) : std::nullopt;
  const auto parsed = parse_duration(*text);
  if (!parsed) {
    body.add_error("ttl: not a duration (e.g. \"30m\", \"1h30m\")");
    return std::nullopt;
  }
  if (*parsed < std::chrono::seconds{1} || *parsed > max) {
    body.add_error("ttl: must be between 1s and " + format_duration(max) + " (" + std::string(max_name) + ")");
    return std::nullopt;
  }
  return parsed;
}

/// An override's `ttl`: how long it waits to be used.
constexpr Duration kDefaultOverrideTtl = std::chrono::minutes{30};
constexpr Duration kMaxOverrideTtl = std::chrono::hours{24};
/// GET .../windows: the longest look ahead and the most occurrences listed.
constexpr int kMaxWindowDays = 366;
constexpr std::size_t kMaxListedWindows = 1000;

/// Default lease TTL of a queue ticket.
constexpr Duration kDefaultQueueLeaseTtl = std::chrono::minutes{30};
/// How long a ticket that was superseded or whose run ended answers 409 (then 404), and how
/// many such are remembered.
constexpr Duration kEndedTicketMemory = std::chrono::minutes{10};
constexpr std::size_t kMaxEndedTickets = 1024;

std::string ticket_key(std::string_view environment, std::string_view ticket) {
  std::string key(environment);
  key += '/';
  key += ticket;
  return key;
}

Response no_content() {
  Response res{Status::no_content, 11};
  res.set(bhttp::field::cache_control, "no-store");
  return res;
}

std::optional<std::string> new_lease_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return std::nullopt;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(2 * sizeof bytes);
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 0xf];
  }
  return id;
}

struct CanDeployQuery {
  std::string environment;
  Duration wait{};
  std::optional<AsRun> as_run;  // run_id= (and run_attempt=): judged for that run
};

/// A query parameter holding a decimal integer >= `min` (no sign, no spaces); nullopt otherwise.
std::optional<std::int64_t> integer_param(std::string_view text, std::int64_t min) {
  std::int64_t value = -1;
  const auto* first = text.data();
  const auto* last = first + text.size();
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (text.empty() || ec != std::errc{} || ptr != last || text[0] == '+' || text[0] == '-' ||
      value < min)
    return std::nullopt;
  return value;
}

}  // namespace

/// Everything a mutating route needs once it matched: the environment and who asks.
struct Api::Route {
  std::string environment;
  std::string actor;  // the token's name ("ci", "token#N") or "anonymous"
};

namespace {

/// Parses env= and wait= of /can-deploy; an error response when they are invalid. Whether the
/// environment exists is left to the caller's decide() (404), so it is looked up once.
std::variant<CanDeployQuery, Response> parse_can_deploy(const RequestTarget& target,
                                                        const service::GuardService& service,
                                                        Duration max_wait) {
  CanDeployQuery query;
  const auto& environments = service.environments();
  if (auto env = target.param("env")) {
    if (env->empty()) return bad_request("env must not be empty");
    query.environment = std::move(*env);
  } else if (environments.size() == 1) {
    query.environment = environments.begin()->first;
  } else {
    std::string known;
    for (const auto& [n, p] : environments) known += (known.empty() ? "" : ", ") + n;
    return bad_request("missing query parameter env (configured environments: " + known + ")");
  }
  if (auto wait = target.param("wait")) {
    const auto seconds = integer_param(*wait, 0);
    if (!seconds) return bad_request("wait must be a non-negative integer number of seconds");
    // Values beyond the cap are accepted and capped (a client may ask for "as long as you can").
    const auto cap_s = max_wait / std::chrono::seconds{1};
    query.wait = std::chrono::seconds{std::min<std::int64_t>(*seconds, cap_s)};
  }
  const auto run_id = target.param("run_id");
  const auto run_attempt = target.param("run_attempt");
  if (run_attempt && !run_id) return bad_request("run_attempt needs run_id");
  if (run_id) {
    const auto id = integer_param(*run_id, 1);
    if (!id) return bad_request("run_id must be a positive integer (GITHUB_RUN_ID)");
    std::optional<int> attempt;
    if (run_attempt) {
      const auto n = integer_param(*run_attempt, 1);
      if (!n || *n > std::numeric_limits<int>::max())
        return bad_request("run_attempt must be a positive integer (GITHUB_RUN_ATTEMPT)");
      attempt = static_cast<int>(*n);
    }
    query.as_run = AsRun{*id, attempt};
  }
  return query;
}

}  // namespace

Api::Api(service::GuardService& service, ApiOptions options, service::Persistence* persistence,
         TokenAuth auth)
    : service_(service),
      options_(options),
      persistence_(persistence),
      auth_(std::move(auth)),
      waiters_(service.executor(), options.max_waiters,
               [this](const std::string& environment, const std::optional<AsRun>& as_run) {
                 return can_deploy_response(environment, as_run);
               },
               [this](std::size_t) { report_waiter_count(); }, &client_waiters_),
      ticket_waiters_(service.executor(), options.max_waiters,
                      [this](const std::string& key, const std::optional<AsRun>&) {
                        const auto slash = key.find('/');  // environment names have none
                        return ticket_response(key.substr(0, slash), key.substr(slash + 1));
                      },
                      [this](std::size_t) { report_waiter_count(); }, &client_waiters_) {
  // Lease ids come from here, so queue grants take theirs from here too; a grant is on disk
  // before its ticket's waiter hears of it.
  service_.serve_queues([] { return new_lease_id(); }, committer());
  // Long-poll waiters wake on the change that makes their environment safe, never by polling.
  service_.add_listener([this](const service::StateChange& change) {
    if (!change.queue.empty()) on_queue_change(change);
    if (change.decision.safe) return waiters_.wake(change.environment);
    // Not safe for everyone; a run's waiter may still be free to go (only its own run blocked).
    waiters_.wake_runs(change.environment, [&](const AsRun& as_run) {
      const auto decision = service_.decide(change.environment, as_run);
      return decision && decision->safe;
    });
  });
}

http::Response Api::can_deploy_response(const std::string& environment,
                                        const std::optional<AsRun>& as_run) const {
  const auto decision = service_.decide(environment, as_run);
  if (!decision) return unknown_environment(environment);
  return can_deploy_response(environment, *decision, as_run);
}

http::Response Api::can_deploy_response(std::string_view environment, const Decision& decision,
                                        const std::optional<AsRun>& as_run) {
  auto res = json_text_response(decision.safe ? Status::ok : Status::locked,
                                decision_text(environment, decision, as_run));
  set_retry_after(res, decision);
  return res;
}

void Api::operator()(http::Request&& request, http::Responder responder) {
  const auto peer = responder.peer();
  serve(Listener::api, request, Reply{std::move(responder)}, peer);
}

http::Handler Api::webhook_listener_handler() {
  return [this](http::Request&& request, http::Responder responder) {
    const auto peer = responder.peer();
    serve(Listener::webhook, request, Reply{std::move(responder)}, peer);
  };
}

void Api::serve(Listener listener, const http::Request& request, Reply reply,
                const std::optional<boost::asio::ip::address>& peer) {
  const RequestTarget target(request.target());
  if (!target.ok()) return reply(malformed_target());
  const auto match = match_route(request.method(), target.segments(), listener);
  if (!match.route) return reply(no_route(listener, match, target));
  dispatch(request, match, target, std::move(reply), client_of(request, peer));
}

http::Response Api::handle(const http::Request& request) {
  http::Response out;
  serve(Listener::api, request, Reply{&out}, std::nullopt);
  return out;
}

std::string Api::client_of(const http::Request& request,
                           const std::optional<boost::asio::ip::address>& peer) const {
  if (!peer) return {};
  std::string client = canonical_ip(peer->to_string()).value_or(peer->to_string());
  if (!contains_any(options_.trusted_proxies, client)) return client;
  // Every X-Forwarded-For line, in order, as one list; walked from the right (the hop closest to
  // us), skipping trusted proxies: the first other address is the client. An entry that is not
  // an IP address ends the walk (whatever is left of it was written by the client itself).
  std::vector<std::string_view> hops;
  const auto [first, last] = request.equal_range("X-Forwarded-For");
  for (auto field = first; field != last; ++field) {
    std::string_view value(field->value().data(), field->value().size());
    while (!value.empty()) {
      const auto comma = value.find(',');
      auto hop = value.substr(0, comma);
      while (!hop.empty() && (hop.front() == ' ' || hop.front() == '\t')) hop.remove_prefix(1);
      while (!hop.empty() && (hop.back() == ' ' || hop.back() == '\t')) hop.remove_suffix(1);
      if (!hop.empty()) hops.push_back(hop);
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    const auto address = canonical_ip(*it);
    if (!address) break;
    client = *address;
    if (!contains_any(options_.trusted_proxies, *address)) break;
  }
  return client;
}

std::optional<http::Response> Api::over_client_waiters(const std::string& client) const {
  if (client.empty() || client_waiters_.count(client) < options_.max_waiters_per_client)
    return std::nullopt;
  auto res = error(Status::service_unavailable, "too_many_waiters",
                   "too many long-poll requests from " + client +
                       " are waiting (server.max_waiters_per_client = " +
                       std::to_string(options_.max_waiters_per_client) +
                       "); retry without wait or later");
  res.set(bhttp::field::retry_after, "5");
  return res;
}

http::Response Api::no_route(Listener listener, const RouteMatch& match,
                             const RequestTarget& target) const {
  if (!match.allow.empty()) return method_not_allowed(match.allow);
  if (listener == Listener::webhook) {
    std::string served;
    for (const auto& route : routes())
      if (route.webhook_listener)
        served += (served.empty() ? "" : ", ") + std::string(bhttp::to_string(route.method)) +
                  " " + std::string(route.pattern);
    return error(Status::not_found, "not_found", "this listener serves only " + served);
  }
  return error(Status::not_found, "not_found", "no route for " + target.path());
}

void Api::dispatch(const http::Request& request, const RouteMatch& match,
                   const RequestTarget& target, Reply reply, const std::string& client) {
  const std::string name(match.name);
  // Who may call this route, before anything else is looked at: a refused caller learns
  // nothing about environments, tickets or leases.
  const auto auth = auth_.authorize(
      authorization_of(request), match.route->scope,
      match.route->id == RouteId::can_deploy ? target.param("env").value_or("") : name);
  if (options_.on_auth && match.route->scope != Scope::none &&
      match.route->scope != Scope::webhook_signature)
    options_.on_auth(*match.route, auth);
  if (auth.outcome != AuthOutcome::allowed) return reply(auth_refused(auth));
  const std::string& actor = auth.actor;
  switch (match.route->id) {
    case RouteId::can_deploy: {
      auto query = parse_can_deploy(target, service_, options_.max_wait);
      if (auto* res = std::get_if<Response>(&query)) return reply(std::move(*res));
      const auto& q = std::get<CanDeployQuery>(query);
      // Without a responder to hold (handle()), wait= is answered at once.
      if (!reply.can_wait()) return reply(can_deploy_response(q.environment, q.as_run));
      return answer_can_deploy(q.environment, q.wait, q.as_run, reply.responder(), client);
    }
    case RouteId::healthz:
      return reply(json_response(Status::ok, Json{{"status", "ok"}}));
    case RouteId::readyz:
      return reply(readiness());
    case RouteId::status:
      return reply(status(auth_.visible(authorization_of(request))));
    case RouteId::environment:
      return reply(environment_status(name));
    case RouteId::lease_acquire:
      return reply(mutate(request, name, actor, &Api::acquire_lease, ""));
    case RouteId::lease_release:
      return reply(mutate(request, name, actor, &Api::release_lease, std::string(match.id)));
    case RouteId::queue_join:
      return reply(mutate(request, name, actor, &Api::join_queue, ""));
    case RouteId::queue_ticket:
      return poll_ticket(target, name, std::string(match.id), std::move(reply), client);
    case RouteId::queue_leave:
      return reply(mutate(request, name, actor, &Api::leave_queue, std::string(match.id)));
    case RouteId::freeze_set:
      return reply(mutate(request, name, actor, &Api::set_freeze, ""));
    case RouteId::freeze_clear:
      return reply(mutate(request, name, actor, &Api::clear_freeze, ""));
    case RouteId::windows:
      return reply(freeze_windows(target, name));
    case RouteId::override_set:
      return reply(mutate(request, name, actor, &Api::set_override, ""));
    case RouteId::override_clear:
      return reply(mutate(request, name, actor, &Api::clear_override, ""));
    case RouteId::events:
      return reply(mutate(request, name, actor, &Api::report_event, ""));
    case RouteId::stabilize:
    case RouteId::stop:
      if (!reply.can_wait()) {
        return reply(error(Status::internal_server_error, "internal",
                           "POST " + target.path() + " is served asynchronously only"));
      }
      return remediate(request, reply.responder(), Route{name, actor},
                       match.route->id == RouteId::stabilize ? "stabilize" : "stop");
    case RouteId::metrics:
    case RouteId::webhook: {
      const auto it = handlers_.find(match.route->id);
      if (it == handlers_.end() || !it->second)
        return reply(error(Status::not_found, "not_found", "no route for " + target.path()));
      return reply(it->second(request));
    }
  }
}

Response Api::readiness() const {
  const auto missing = service_.missing_sources();
  if (missing.empty()) return json_response(Status::ok, Json{{"status", "ready"}});
  Json list = Json::array();
  for (const auto& m : missing) list.push_back(Json{{"environment", m.environment}, {"source", m.source}});
  Json body;
  body["status"] = "starting";
  body["missing"] = std::move(list);
  return json_response(Status::service_unavailable, body);
}

Response Api::status(const TokenAuth::Visible& visible) const {
  const auto now = service_.now();
  Json environments = Json::object();
  for (const auto& [name, policy] : service_.environments()) {
    if (!visible.all && std::find(visible.environments.begin(), visible.environments.end(),
                                  name) == visible.environments.end())
      continue;
    environments[name] = environment_status_json(name, policy, policy.decide(now), now);
  }
  Json body;
  body["evaluated_at"] = format_timestamp(now);
  body["environments"] = std::move(environments);
  return json_response(Status::ok, body);
}

Response Api::environment_status(const std::string& name) const {
  const auto* policy = service_.find(name);
  if (!policy) return unknown_environment(name);
  const auto now = service_.now();
  return json_response(Status::ok, environment_status_json(name, *policy, policy->decide(now), now));
}

Response Api::freeze_windows(const RequestTarget& target, const std::string& name) const {
  const auto* policy = service_.find(name);
  if (!policy) return unknown_environment(name);
  int days = 14;
  if (auto text = target.param("days")) {
    int parsed = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), parsed);
    if (ec != std::errc{} || end != text->data() + text->size() || parsed < 1 || parsed > kMaxWindowDays)
      return bad_request("days: expected a whole number from 1 to " + std::to_string(kMaxWindowDays));
    days = parsed;
  }
  const auto now = service_.now();
  Json windows = Json::array();
  for (const auto& span : windows_between(policy->rules().freeze_windows, now, now + date::days{days},
                                          kMaxListedWindows))
    windows.push_back(window_span_json(span, *policy));
  Json body = freeze_windows_json(*policy, now);
  body["environment"] = name;
  body["days"] = days;
  body["windows"] = std::move(windows);
  return json_response(Status::ok, body);
}

void Api::answer_can_deploy(const std::string& environment, Duration wait,
                            const std::optional<AsRun>& as_run, http::Responder responder,
                            const std::string& client) {
  // Decided once: the same evaluation chooses between answering and waiting and is the answer.
  const auto decision = service_.decide(environment, as_run);
  if (!decision) return responder(unknown_environment(environment));
  if (wait <= Duration::zero() || decision->safe)
    return responder(can_deploy_response(environment, *decision, as_run));
  if (waiters_.full()) {
    auto res = error(Status::service_unavailable, "too_many_waiters",
                     "too many long-poll requests are waiting (server.max_waiters = " +
                         std::to_string(options_.max_waiters) + "); retry without wait or later");
    res.set(bhttp::field::retry_after, "5");
    return responder(std::move(res));
  }
  if (auto refused = over_client_waiters(client)) return responder(std::move(*refused));
  waiters_.add(environment, wait, std::move(responder), as_run, client);
}

std::size_t Api::body_limit_for(const http::RequestHeader& header) const {
  return body_limit_of(header.method(), header.target()) == BodyLimit::webhook
             ? options_.max_webhook_body_bytes
             : options_.max_body_bytes;
}

// ---- mutating routes -----------------------------------------------------------------------

http::Response Api::mutate(const http::Request& request, const std::string& environment,
                           const std::string& actor, Mutator mutator, const std::string& argument) {
  if (!service_.find(environment)) return unknown_environment(environment);
  return (this->*mutator)(request, Route{environment, actor}, argument);
}

std::function<bool()> Api::committer() {
  if (!persistence_) return {};
  return [this] { return persistence_->commit(); };
}

void Api::audit(const Route& route, const std::string& action, Json old_value, Json new_value,
                Json detail) {
  if (!persistence_) return;
  persistence_->audit(route.environment, route.actor, action, nlohmann::json(std::move(old_value)),
                      nlohmann::json(std::move(new_value)), nlohmann::json(std::move(detail)));
}

http::Response Api::acquire_lease(const http::Request& request, const Route& route,
                                  const std::string&) {
  BodyReader body{request.body()};
  body.only({"holder", "ttl", "run_id", "run_attempt"});
  auto holder = body.string("holder", true, kMaxHolderBytes);
  auto run_id = body.positive_integer("run_id");
  auto run_attempt = body.attempt("run_attempt", run_id.has_value());
  const auto ttl = lease_ttl(body, std::nullopt, options_.max_lease_ttl);
  if (!body.ok() || !holder || !ttl) return body.error_response();

  auto id = new_lease_id();
  if (!id) return error(Status::internal_server_error, "internal", "no randomness for a lease id");
  const LeaseRequest lease_request{*id, *holder, *ttl, run_id, run_attempt};
  std::optional<std::variant<Lease, Decision>> outcome;
  const auto result = service_.transact(
      route.environment,
      [&](EnvironmentPolicy& policy, TimePoint now) {
        outcome = policy.acquire_lease(lease_request, now);
      },
      committer());
  if (result == service::TransactResult::UnknownEnvironment) return unknown_environment(route.environment);
  if (result == service::TransactResult::CommitFailed) return state_write_failed();
  if (auto* decision = std::get_if<Decision>(&*outcome)) {
    const auto as_run =
        run_id ? std::optional<AsRun>(AsRun{*run_id, run_attempt}) : std::optional<AsRun>{};
    auto res = json_response(Status::locked, decision_json(route.environment, *decision, as_run));
    set_retry_after(res, *decision);
    return res;
  }
  const auto& lease = std::get<Lease>(*outcome);
  audit(route, "lease.acquire", nullptr, lease_json(lease),
        Json{{"holder", lease.holder}, {"ttl", format_duration(*ttl)}});
  auto res = json_response(Status::created, lease_grant_json(lease));
  res.set(bhttp::field::location, "/v1/environments/" + route.environment + "/lease/" + lease.id);
  return res;
}

http::Response Api::release_lease(const http::Request&, const Route& route,
                                  const std::string& lease_id) {
  std::optional<Lease> previous;
  bool released = false;
  const auto result = service_.transact(
      route.environment,
      [&](EnvironmentPolicy& policy, TimePoint now) {
        previous = policy.lease();
        released = policy.release_lease(lease_id, now);
      },
      committer());
  if (result == service::TransactResult::UnknownEnvironment) return unknown_environment(route.environment);
  if (result == service::TransactResult::CommitFailed) return state_write_failed();
  if (!released)
    return error(Status::not_found, "not_found",
                 "no active lease \"" + lease_id + "\" on environment \"" + route.environment +
                     "\" (released or expired?)");
  audit(route, "lease.release", lease_json(previous), nullptr,
        Json{{"holder", previous ? previous->holder : std::string{}}});
  return no_content();
}

// ---- the deploy queue ----------------------------------------------------------------------

http::Response Api::join_queue(const http::Request& request, const Route& route,
                               const std::string&) {
  BodyReader body{request.body()};
  body.only({"holder", "ttl", "run_id", "run_attempt", "sha", "ref"});
  auto holder = body.string("holder", true, kMaxHolderBytes);
  auto run_id = body.positive_integer("run_id");
  auto run_attempt = body.attempt("run_attempt", run_id.has_value());
  auto sha = body.string("sha", false, 64);
  auto ref = body.string("ref", false, 256);
  const auto ttl = lease_ttl(body, kDefaultQueueLeaseTtl, options_.max_lease_ttl);
  if (!body.ok() || !holder || !ttl) return body.error_response();

  const auto* policy = service_.find(route.environment);
  if (run_id) {
    // The same run asking again (a retried POST, a restarted step) keeps its ticket and place.
    for (const auto& t : policy->queue().tickets())
      if (t.run_id == run_id && t.run_attempt == run_attempt)
        return ticket_response(route.environment, t.id);
    // A run that already ended would wait for nothing.
    const int attempt = run_attempt.value_or(policy->latest_attempt(*run_id));
    for (const auto& r : policy->runs())
      if (r.id == *run_id && r.run_attempt == attempt && r.status == RunStatus::Completed)
        return error(Status::conflict, "run_ended",
                     "run " + std::to_string(*run_id) + " attempt " + std::to_string(attempt) +
                         " has already completed; it cannot join the deploy queue");
  }

  auto id = new_lease_id();
  if (!id) return error(Status::internal_server_error, "internal", "no randomness for a ticket id");
  Ticket ticket{*id, *holder, *ttl, run_id, run_attempt, sha.value_or(""), ref.value_or(""), {}, {}};
  auto joined = DeployQueue::JoinResult::Full;
  const auto result = service_.transact(
      route.environment,
      [&](EnvironmentPolicy& p, TimePoint now) {
        ticket.joined_at = now;
        joined = p.join_queue(ticket, now);
      },
      committer());
  if (result == service::TransactResult::UnknownEnvironment) return unknown_environment(route.environment);
  if (result == service::TransactResult::CommitFailed) return state_write_failed();
  if (joined == DeployQueue::JoinResult::Full) {
    auto res = error(Status::service_unavailable, "queue_full",
                     "the deploy queue of \"" + route.environment + "\" is full (queue.max_length = " +
                         std::to_string(policy->queue().settings().max_length) + ")");
    res.set(bhttp::field::retry_after, "30");
    return res;
  }
  audit(route, "queue.join", nullptr, Json(service::ticket_audit_json(ticket)), nullptr);
  return ticket_response(route.environment, ticket.id);
}

http::Response Api::leave_queue(const http::Request&, const Route& route, const std::string& ticket) {
  std::optional<EndedTicket> left;
  std::optional<Lease> lease_before;
  const auto result = service_.transact(
      route.environment,
      [&](EnvironmentPolicy& policy, TimePoint now) {
        lease_before = policy.lease();
        left = policy.leave_queue(ticket, now);
      },
      committer());
  if (result == service::TransactResult::UnknownEnvironment) return unknown_environment(route.environment);
  if (result == service::TransactResult::CommitFailed) return state_write_failed();
  if (!left)
    return unknown_ticket(route.environment, ticket);
  Json detail = Json(service::ticket_audit_json(left->ticket));
  if (left->ticket.granted()) {
    detail["lease_released"] = left->ticket.lease_id;
    audit(route, "lease.release", lease_json(lease_before), nullptr,
          Json{{"holder", left->ticket.holder}, {"ticket", left->ticket.id}});
  }
  audit(route, "queue.leave", Json(service::ticket_audit_json(left->ticket)), nullptr, std::move(detail));
  ticket_waiters_.wake(ticket_key(route.environment, ticket));  // another poll of it: 404
  return no_content();
}

void Api::poll_ticket(const RequestTarget& target, const std::string& environment,
                      const std::string& ticket, Reply reply, const std::string& client) {
  const auto* policy = service_.find(environment);
  if (!policy) return reply(unknown_environment(environment));
  Duration wait{};
  if (auto text = target.param("wait")) {
    const auto seconds = integer_param(*text, 0);
    if (!seconds) return reply(bad_request("wait must be a non-negative integer number of seconds"));
    // Capped by server.max_wait and by half the ticket_ttl, so the answer (itself a poll)
    // always comes well before the ticket would expire.
    const Duration cap = std::min<Duration>(options_.max_wait, policy->queue().settings().ticket_ttl / 2);
    wait = std::min<Duration>(std::chrono::seconds{*seconds}, cap);
  }
  auto now_answer = ticket_response(environment, ticket);
  // Waiting makes sense only for a ticket that is still waiting.
  if (!reply.can_wait() || wait < std::chrono::seconds{1} || now_answer.result() != Status::accepted)
    return reply(std::move(now_answer));
  // Full (or this client holds its share): a plain poll, not an error.
  if (ticket_waiters_.full() || over_client_waiters(client)) return reply(std::move(now_answer));
  ticket_waiters_.add(ticket_key(environment, ticket),
                      std::chrono::duration_cast<std::chrono::milliseconds>(wait), reply.responder(),
                      std::nullopt, client);
}

http::Response Api::ticket_response(const std::string& environment, const std::string& ticket) {
  const auto* policy = service_.find(environment);
  if (!policy) return unknown_environment(environment);
  const Ticket* t = policy->queue().find(ticket);
  if (!t) {
    const auto key = ticket_key(environment, ticket);
    for (const auto& note : ended_tickets_)
      if (note.key == key) return error(Status::conflict, to_string(note.why), note.message);
    return unknown_ticket(environment, ticket);
  }
  service_.touch_ticket(environment, ticket);
  const auto now = service_.now();
  if (t->granted()) {
    const auto& lease = policy->lease();
    if (!lease || lease->id != t->lease_id)  // not expected: the ticket ends with its lease
      return error(Status::not_found, "not_found", "the lease of ticket \"" + ticket + "\" has ended");
    auto res = json_response(Status::created, lease_grant_json(*lease));
    res.set(bhttp::field::location, "/v1/environments/" + environment + "/lease/" + lease->id);
    return res;
  }
  const auto decision = policy->decide_for_ticket(now, ticket);
  const auto seen = policy->queue().last_seen(ticket).value_or(now);
  auto res = json_response(Status::accepted,
                           ticket_json(environment, policy->queue(), *t, *decision,
                                       seen + policy->queue().settings().ticket_ttl));
  res.set(bhttp::field::location, "/v1/environments/" + environment + "/queue/" + ticket);
  return res;
}

void Api::on_queue_change(const service::StateChange& change) {
  const auto now = change.decision.evaluated_at;
  while (!ended_tickets_.empty() &&
         (ended_tickets_.size() >= kMaxEndedTickets || now - ended_tickets_.front().at > kEndedTicketMemory))
    ended_tickets_.pop_front();
  for (const auto& ended : change.queue.ended) {
    const auto key = ticket_key(change.environment, ended.ticket.id);
    if (ended.why == TicketEnd::Superseded || ended.why == TicketEnd::RunEnded) {
      std::string message =
          ended.why == TicketEnd::Superseded
              ? "ticket " + ended.ticket.id + " was superseded by a newer ticket for ref \"" +
                    ended.ticket.ref + "\" (queue.supersede)"
              : "the run of ticket " + ended.ticket.id + " (" +
                    (ended.ticket.run_id ? std::to_string(*ended.ticket.run_id) : std::string("?")) +
                    ") ended while it waited";
      ended_tickets_.push_back({key, ended.why, std::move(message), ended.at});
      if (ended_tickets_.size() > kMaxEndedTickets) ended_tickets_.pop_front();
    }
    ticket_waiters_.wake(key);
  }
  if (change.queue.granted) ticket_waiters_.wake(ticket_key(change.environment, change.queue.granted->id));
}

http::Response Api::set_freeze(const http::Request& request, const Route& route,
                               const std::string&) {
  BodyReader body{request.body()};
  body.only({"reason", "by", "until"});
  auto reason = body.string("reason", true, kMaxReasonBytes);
  auto by = body.string("by", true, kMaxHolderBytes);
  auto until_text = body.string("until", false, 64);
  std::optional<TimePoint> until;
  const auto now = service_.now();
  if (until_text) {
    until = parse_timestamp(*until_text);
    if (!until)
      body.add_error("until: not an RFC 3339 timestamp (e.g. \"2025-12-31T23:00:00Z\")");
    else if (*until <= now)
      body.add_error("until: " + *until_text + " is not in the future");
  }
  if (!body.ok()) return body.error_response();
  auto applied = freeze_now(route, *reason, *by, until, Json{{"by", *by}});
  if (auto* failed = std::get_if<Response>(&applied)) return std::move(*failed);
  return json_response(Status::ok, freeze_json(std::get<std::optional<Freeze>>(applied)));
}

std::variant<std::optional<Freeze>, http::Response> Api::freeze_now(
    const Route& route, const std::string& reason, const std::string& by,
    std::optional<TimePoint> until, nlohmann::ordered_json audit_detail) {
  std::optional<Freeze> previous;
  std::optional<Freeze> applied;
  const auto result = service_.transact(
      route.environment,
      [&](EnvironmentPolicy& policy, TimePoint at) {
        previous = policy.freeze();
        policy.set_freeze(Freeze{reason, by, at, until});
        applied = policy.freeze();
      },
      committer());
  if (result == service::TransactResult::UnknownEnvironment) return unknown_environment(route.environment);
  if (result == service::TransactResult::CommitFailed) return state_write_failed();
  audit(route, "freeze.set", freeze_json(previous), freeze_json(applied), std::move(audit_detail));
  return applied;
}

http::Response Api::set_override(const http::Request& request, const Route& route,
                                 const std::string&) {
  BodyReader body{request.body()};
  body.only({"reason", "by", "ttl", "skip"});
  auto reason = body.string("reason", true, kMaxReasonBytes);
  auto by = body.string("by", false, kMaxHolderBytes);
  auto skip = body.string_list("skip", true, 8, 64);
  const auto ttl = lease_ttl(body, kDefaultOverrideTtl, kMaxOverrideTtl, "the longest override");
  if (!body.ok() || !reason || !skip || !ttl) return body.error_response();
  const SkipParse parsed = parse_skip(*skip);
  switch (parsed.status) {
    case SkipParse::Status::Ok: break;
    case SkipParse::Status::Protected:
    case SkipParse::Status::NotSkippable:
      return error(Status::unprocessable_entity, "not_skippable", parsed.message);
    case SkipParse::Status::Empty:
    case SkipParse::Status::Unknown: return bad_request("skip: " + parsed.message);
  }
  auto id = new_lease_id();
  if (!id) return error(Status::internal_server_error, "internal", "no randomness for an override id");
  std::vector<std::string> rules;  // each rule once, in the order given
  for (const auto& name : *skip)
    if (std::find(rules.begin(), rules.end(), name) == rules.end()) rules.push_back(name);
  std::optional<Override> created;
  const auto result = service_.transact(
      route.environment,
      [&](EnvironmentPolicy& policy, TimePoint now) {
        policy.set_override(Override{*id, *reason, by.value_or(route.actor), rules, now, now + *ttl}, now);
        created = policy.pending_override();
      },
      committer());
  if (result == service::TransactResult::UnknownEnvironment) return unknown_environment(route.environment);
  if (result == service::TransactResult::CommitFailed) return state_write_failed();
  audit(route, "override.create", nullptr, override_json(created), Json{{"ttl", format_duration(*ttl)}});
  if (options_.on_override) options_.on_override(route.environment, "created");
  return json_response(Status::created, override_json(created));
}

http::Response Api::clear_override(const http::Request&, const Route& route, const std::string&) {
  std::optional<Override> previous;
  const auto result = service_.transact(
      route.environment,
      [&](EnvironmentPolicy& policy, TimePoint now) {
        policy.expire(now);  // an override past its ttl is already over: 404, not 204
        previous = policy.pending_override();
        policy.clear_override();
      },
      committer());
  if (result == service::TransactResult::UnknownEnvironment) return unknown_environment(route.environment);
  if (result == service::TransactResult::CommitFailed) return state_write_failed();
  if (!previous)
    return error(Status::not_found, "not_found",
                 "environment \"" + route.environment + "\" has no pending override");
  audit(route, "override.cancel", override_json(previous), nullptr, nullptr);
  if (options_.on_override) options_.on_override(route.environment, "cancelled");
  return no_content();
}

http::Response Api::clear_freeze(const http::Request&, const Route& route, const std::string&) {
  std::optional<Freeze> previous;
  bool lifted = false;
  const auto result = service_.transact(
      route.environment,
      [&](EnvironmentPolicy& policy, TimePoint now) {
        policy.expire(now);  // a freeze past its `until` is already over: 404, not 204
        previous = policy.freeze();
        lifted = policy.clear_freeze();
      },
      committer());
  if (result == service::TransactResult::UnknownEnvironment) return unknown_environment(route.environment);
  if (result == service::TransactResult::CommitFailed) return state_write_failed();
  if (!lifted)
    return error(Status::not_found, "not_found",
                 "environment \"" + route.environment + "\" is not frozen");
  audit(route, "freeze.clear", freeze_json(previous), nullptr, nullptr);
  return no_content();
}

http::Response Api::report_event(const http::Request& request, const Route& route,
                                 const std::string&) {
  BodyReader body{request.body()};
  body.only({"type", "detail", "run_id", "run_attempt"});
  auto type = body.string("type", true, 64);
  auto detail = body.string("detail", false, kMaxReasonBytes);
  auto run_id = body.positive_integer("run_id");
  auto run_attempt = body.attempt("run_attempt", run_id.has_value());
  if (type && *type != "server_busy")
    body.add_error("type: unsupported event type \"" + *type + "\" (supported: server_busy)");
  if (!body.ok()) return body.error_response();

  BusyBackoffState before;
  BusyBackoffState after;
  BusyReportResult counted = BusyReportResult::Counted;
  int attempt = 0;
  const auto result = service_.transact(
      route.environment,
      [&](EnvironmentPolicy& policy, TimePoint now) {
        before = policy.busy();
        counted = policy.report_busy(BusyReported{detail.value_or(""), run_id, run_attempt}, now);
        if (run_id) attempt = run_attempt.value_or(policy.latest_attempt(*run_id));
        after = policy.busy();
      },
      committer());
  if (result == service::TransactResult::UnknownEnvironment) return unknown_environment(route.environment);
  if (result == service::TransactResult::CommitFailed) return state_write_failed();
  const bool duplicate = counted == BusyReportResult::Duplicate;
  Json out;
  out["environment"] = route.environment;
  out["accepted"] = true;
  out["counted"] = !duplicate;
  if (run_id) out["run"] = Json{{"run_id", *run_id}, {"run_attempt", attempt}};
  if (duplicate)
    out["duplicate_of"] = "this run attempt's ServerIsBusy failure was already counted (by an "
                          "earlier report or its logs); the backoff did not change";
  out["busy_backoff"] = busy_json(after);
  if (!duplicate)
    audit(route, "busy.report", busy_json(before), busy_json(after),
          Json{{"detail", detail ? Json(*detail) : Json(nullptr)},
               {"run_id", run_id ? Json(*run_id) : Json(nullptr)},
               {"run_attempt", run_id ? Json(attempt) : Json(nullptr)}});
  return json_response(Status::accepted, out);
}

// ---- remediation (asynchronous) ------------------------------------------------------------

namespace {

Response remediation_unavailable() {
  return error(Status::service_unavailable, "remediation_unavailable",
               "remediation needs the GitHub/Azure upstream, which this process does not run");
}

/// The report body with an error envelope in front, so clients that only read error.message
/// (the CLI's one-line errors) still get the essence.
Response report_response(Status status, Json body, std::string_view code, std::string message) {
  Json out;
  out["error"] = Json{{"code", code}, {"message", std::move(message)}};
  for (auto& [key, value] : body.items()) out[key] = std::move(value);
  return json_response(status, out);
}

}  // namespace

void Api::remediate(const http::Request& request, http::Responder responder, const Route& route,
                    const std::string& action) {
  if (!service_.find(route.environment)) return responder(unknown_environment(route.environment));
  if (action == "stabilize") return stabilize(request, std::move(responder), route);
  stop(request, std::move(responder), route);
}

void Api::stabilize(const http::Request& request, http::Responder responder, const Route& route) {
  // A plan unless the caller names the revision and says "dry_run": false: moving live traffic
  // is never the default, and never to a revision the caller did not name.
  BodyReader body{request.body().empty() ? std::string("{}") : request.body()};
  body.only({"revision", "dry_run"});
  auto revision = body.string("revision", false, kMaxHolderBytes);
  const bool dry_run = body.boolean("dry_run").value_or(true);
  if (body.ok() && !dry_run && !revision)
    body.add_error("revision: required with \"dry_run\": false (stabilize applies only the "
                   "revision you name; without dry_run false the answer is the plan, which "
                   "proposes one)");
  if (!body.ok()) return responder(body.error_response());
  if (!remediation_) return responder(remediation_unavailable());

  if (dry_run) {
    auto planned = remediation_->plan_observed(route.environment, revision);
    if (auto* refusal = std::get_if<remediation::Refusal>(&planned)) {
      Json out{{"environment", route.environment}, {"outcome", "refused"}, {"dry_run", true},
               {"refusal", Json{{"code", refusal->code}, {"message", refusal->message}}}};
      return responder(report_response(Status::conflict, std::move(out), refusal->code, refusal->message));
    }
    Json out{{"environment", route.environment}, {"outcome", "planned"}, {"dry_run", true},
             {"plan", plan_json(std::get<remediation::StabilizePlan>(planned))}};
    return responder(json_response(Status::ok, out));
  }

  audit(route, "stabilize.start", nullptr, nullptr,
        Json{{"revision", revision ? Json(*revision) : Json(nullptr)}});
  auto shared = std::make_shared<http::Responder>(std::move(responder));
  remediation_->stabilize(
      route.environment, revision,
      [this, route, shared](remediation::StabilizeReport report) {
        using Outcome = remediation::StabilizeReport::Outcome;
        Json out = stabilize_report_json(route.environment, report);
        Json old_value = report.plan ? traffic_json(report.plan->traffic_before) : Json(nullptr);
        Json new_value = out.contains("after") ? out["after"] : Json(nullptr);
        audit(route, "stabilize", std::move(old_value), std::move(new_value), out);
        switch (report.outcome) {
          case Outcome::Succeeded:
            return (*shared)(json_response(Status::ok, out));
          case Outcome::Refused:
            return (*shared)(report_response(Status::conflict, std::move(out), report.refusal->code,
                                             report.refusal->message));
          case Outcome::PartiallyFailed: {
            std::string failed;
            for (const auto& s : report.steps)
              if (s.action == "deactivate" && !s.ok)
                failed += (failed.empty() ? "" : "; ") + s.target + ": " + s.error + " (" +
                          std::to_string(s.attempts) + " attempts)";
            return (*shared)(report_response(
                Status::bad_gateway, std::move(out), "partially_failed",
                "traffic is 100% on " + report.plan->target +
                    ", but some revisions could not be deactivated: " + failed));
          }
          case Outcome::Failed:
            return (*shared)(report_response(Status::bad_gateway, std::move(out), "stabilize_failed",
                                             report.error));
        }
      });
}

void Api::stop(const http::Request& request, http::Responder responder, const Route& route) {
  BodyReader body{request.body()};
  body.only({"reason", "by"});
  auto reason = body.string("reason", true, kMaxReasonBytes);
  auto by = body.string("by", true, kMaxHolderBytes);
  if (!body.ok()) return responder(body.error_response());

  // Freeze first: nothing new starts while the running deploys are being cancelled.
  auto frozen = freeze_now(route, *reason, *by, std::nullopt, Json{{"by", *by}, {"via", "stop"}});
  if (auto* failed = std::get_if<Response>(&frozen)) return responder(std::move(*failed));
  const auto applied = std::get<std::optional<Freeze>>(std::move(frozen));
  if (!remediation_) {
    Json out{{"environment", route.environment}, {"freeze", freeze_json(applied)}};
    return responder(report_response(Status::bad_gateway, std::move(out), "remediation_unavailable",
                                     "frozen, but no run was cancelled: this process has no GitHub "
                                     "upstream"));
  }
  auto shared = std::make_shared<http::Responder>(std::move(responder));
  remediation_->cancel_deploy_runs(
      route.environment, [this, route, shared, applied, by = *by](remediation::StopReport report) {
        Json out;
        out["environment"] = route.environment;
        out["freeze"] = freeze_json(applied);
        const Json cancellation = stop_report_json(report);
        for (const auto& [key, value] : cancellation.items()) out[key] = value;
        audit(route, "stop", nullptr, out["cancelled"], out);
        // A 409 means the run can no longer be cancelled (it finished meanwhile): reported, but
        // not a failure of the stop.
        std::string problems;
        for (const auto& n : report.not_cancelled)
          if (n.step.status != 409)
            problems += (problems.empty() ? "" : "; ") + ("run " + std::to_string(n.run.id) + ": " + n.step.error);
        for (const auto& l : report.listing_errors)
          problems += (problems.empty() ? "" : "; ") + ("listing " + l.target + " runs: " + l.error);
        if (problems.empty()) return (*shared)(json_response(Status::ok, out));
        (*shared)(report_response(Status::bad_gateway, std::move(out), "cancel_incomplete",
                                  "frozen, but not every run could be cancelled: " + problems));
      });
}

}  // namespace deployguard::api
