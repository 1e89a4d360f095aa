// FakeUpstream: the request-handling core of the fake GitHub / Azure Resource Manager / token
// server. It owns the scriptable state, the fault rules and the request log, and turns one
// parsed HTTP request into an Outcome. It performs no I/O and reads no clock: the caller
// passes `now`, and the server (server.hpp) carries out delays, connection resets and
// long-polls described by the Outcome. Not thread-safe: the server calls it from its single
// event-loop thread only.
#pragma once

#include "util.hpp"

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

namespace deployguard::fake {

namespace http = boost::beast::http;
using Json = nlohmann::json;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Thrown by control operations for malformed control input; the HTTP control API turns it
// into a 400 and scenario loading into a startup error. Carries every problem found.
class ControlError : public std::runtime_error {
 public:
  explicit ControlError(std::vector<std::string> errors);
  const std::vector<std::string>& errors() const noexcept { return errors_; }

 private:
  std::vector<std::string> errors_;
};

// What the wire should do with a response.
enum class WireAction {
  normal,    // send the response
  truncate,  // send headers (with the full Content-Length) and half the body, then close
  reset,     // send nothing, abort the connection with RST
};

// A long-poll registered by GET /_fake/wait. Satisfied when at least `request_count`
// recorded requests match (method, path_prefix), or when at least `scenario_steps`
// scenario steps have been applied.
struct WaitSpec {
  std::optional<std::size_t> request_count;
  std::optional<std::size_t> scenario_steps;
  std::string path_prefix;
  std::string method;
  std::chrono::milliseconds timeout{5000};
};

struct Outcome {
  Response response;
  std::chrono::milliseconds delay{0};
  WireAction wire = WireAction::normal;
  std::optional<WaitSpec> wait;  // set for /_fake/wait; the server answers later
};

// `edit` routes the request normally (state changes happen) and then changes the response:
// the status and body only when the rule gives them, `headers` set, `remove_headers` removed.
enum class FaultKind { status, delay, malformed_json, truncated, reset, rate_limit, edit };

struct FaultRule {
  std::uint64_t id = 0;
  FaultKind kind = FaultKind::status;
  std::string method;  // empty = any
  std::string path_prefix;
  std::optional<std::regex> path_regex;
  std::string path_regex_text;
  unsigned status = 500;
  std::string body;
  std::string content_type = "application/json; charset=utf-8";
  std::map<std::string, std::string> headers;
  std::vector<std::string> remove_headers;  // edit only
  bool has_status = false;                  // the rule gave `status` (edit keeps the routed one otherwise)
  bool has_body = false;                    // the rule gave `body`
  std::chrono::milliseconds delay{0};
  std::optional<long> retry_after_s;   // rate_limit: Retry-After header
  std::optional<long> reset_after_s;   // rate_limit: x-ratelimit-remaining 0 + reset epoch
  std::optional<long> remaining;       // nullopt = unlimited
  long hits = 0;
};

struct RecordedRequest {
  std::uint64_t seq = 0;
  std::string method;
  std::string target;
  std::string path;
  Json headers = Json::object();
  std::string body;
  std::int64_t elapsed_ms = 0;  // since the fake started
  std::int64_t unix_ms = 0;
  unsigned status = 0;          // 0 when the connection was reset
  std::optional<std::uint64_t> fault_id;
};

class FakeUpstream {
 public:
  explicit FakeUpstream(SystemTime start);

  // Handles one request. `now` is wall-clock time (timestamps, rate-limit reset epochs).
  Outcome handle(const Request& req, SystemTime now);

  // --- control operations (the same ones the /_fake/ HTTP API exposes) ---------------
  Json state_json() const;
  void replace_state(const Json& state, SystemTime now);  // throws ControlError
  // Applies one scenario step's "set" object; see README.md for its keys.
  void apply_set(const Json& set, SystemTime now);  // throws ControlError
  void upsert_runs(const std::string& repo, const Json& body, SystemTime now);
  void update_container_app(const std::string& key, const Json& body, SystemTime now);
  void update_postgres(const std::string& key, const Json& body);
  std::vector<std::uint64_t> add_faults(const Json& body);
  void clear_faults() { faults_.clear(); }

  // --- long-poll support -------------------------------------------------------------
  bool wait_satisfied(const WaitSpec& spec) const;
  Json wait_result(const WaitSpec& spec) const;
  void note_scenario_step() { ++scenario_steps_applied_; }
  std::size_t scenario_steps_applied() const { return scenario_steps_applied_; }

  const std::deque<RecordedRequest>& requests() const { return requests_; }

  // Oldest recorded requests are dropped beyond this many (bounded memory).
  static constexpr std::size_t kMaxRecordedRequests = 10000;

 private:
  struct Ctx;  // per-request context (parsed target, now, host)

  Outcome handle_control(const Request& req, const ParsedTarget& t, SystemTime now);
  Response handle_github(const Request& req, const Ctx& ctx);
  Response github_route(const Request& req, const Ctx& ctx);
  Response handle_arm(const Request& req, const Ctx& ctx);
  Response handle_blob(const Ctx& ctx);
  Response handle_ops(const Request& req, const Ctx& ctx);
  Response handle_aad_token(const Request& req, const Ctx& ctx);
  Response handle_imds_token(const Request& req, const Ctx& ctx);
  Response handle_msi_token(const Request& req, const Ctx& ctx);
  Response apply_fault(FaultRule& rule, const Request& req, const Ctx& ctx, Outcome& out);

  Json render_run(const std::string& repo, const Json& run, const Ctx& ctx) const;
  Json render_job(const std::string& repo, const Json& run, const Json& job, const Ctx& ctx) const;
  Json render_run_attempt(const std::string& repo, const Json& run, long attempt, const Ctx& ctx) const;
  /// The attempt a stored job belongs to (its own run_attempt, else the run's current one).
  static long job_attempt(const Json& run, const Json& job);
  Json render_workflow(const std::string& repo, const Json& wf, const Ctx& ctx) const;
  Json render_container_app(const std::string& sub, const std::string& rg, const std::string& name,
                            const Json& app) const;
  Json render_revision(const std::string& sub, const std::string& rg, const std::string& app_name,
                       const Json& app, const Json& rev) const;
  Json* find_run(const std::string& repo, std::int64_t id);
  const Json* find_workflow(const std::string& repo, const std::string& id_or_file) const;
  bool arm_authorized(const Request& req, Response& out) const;

  void validate_state(const Json& state, std::vector<std::string>& errors) const;
  Json normalise_run(const Json& run, const Json* existing, const std::string& repo, SystemTime now) const;

  SystemTime start_;
  // State. Kept as JSON documents in the same shape the control API accepts, because the
  // fake's job is to echo scripted data in realistic envelopes, not to model it.
  Json tokens_;
  Json github_;
  Json azure_;
  // GitHub primary rate limit bucket.
  long rl_limit_ = 5000;
  long rl_remaining_ = 5000;
  std::int64_t rl_reset_ = 0;
  // ARM long-running operations: id -> {polls_left, app key}.
  struct Operation {
    int polls_left = 0;
    std::string app_key;
    std::string started;
  };
  std::map<std::string, Operation> operations_;
  std::uint64_t next_operation_ = 1;
  std::vector<FaultRule> faults_;
  std::uint64_t next_fault_id_ = 1;
  std::deque<RecordedRequest> requests_;
  std::uint64_t next_seq_ = 1;
  std::size_t scenario_steps_applied_ = 0;
};

}  // namespace deployguard::fake
