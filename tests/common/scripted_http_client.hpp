#pragma once
// Test doubles for the upstream and remediation tests: a scripted HttpClient, a recording
// EventSink (optionally backed by real EnvironmentPolicy objects) and an event-driven io_context
// loop helper.
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "core/policy.hpp"
#include "http/client/http_client.hpp"
#include "upstream/event_sink.hpp"

namespace deployguard::testing {

/// Answers requests from rules: one-shot rules first (registration order), then persistent ones;
/// the first rule whose needle occurs in the URL answers. A request no rule matches stays
/// pending until reply_pending(). Answers are posted to the io_context (never inside send()).
class ScriptedHttpClient final : public http::HttpClient {
 public:
  using Responder = std::function<http::HttpResult(const http::HttpRequest&)>;
  explicit ScriptedHttpClient(boost::asio::io_context& ioc) : ioc_(ioc) {}

  void once(std::string url_contains, http::HttpResult result);
  void always(std::string url_contains, Responder responder);
  void always(std::string url_contains, http::HttpResult result);

  void send(http::HttpRequest request, http::HttpCallback done) override;

  std::size_t pending() const { return pending_.size(); }
  /// Answers the oldest pending request.
  void reply_pending(http::HttpResult result);

  const std::vector<http::HttpRequest>& requests() const { return requests_; }
  std::size_t count(std::string_view url_contains) const;
  /// Last request whose URL contains the needle (asserts there is one).
  const http::HttpRequest& last(std::string_view url_contains) const;

 private:
  struct Rule {
    std::string needle;
    Responder responder;
    bool once = false;
  };
  boost::asio::io_context& ioc_;
  std::deque<Rule> rules_;
  std::vector<http::HttpRequest> requests_;
  std::deque<http::HttpCallback> pending_;
};

http::HttpResponse response(unsigned status, std::string body, http::Headers headers = {});
http::HttpResult transport_error(http::HttpErrorKind kind, std::string message = "scripted");
std::string header(const http::HttpRequest& r, std::string_view name);

class RecordingSink final : public upstream::EventSink {
 public:
  /// With `clock`, events for environments that have a policy (add_policy) are applied to it
  /// and runs_to_classify() comes from it; otherwise from `classify`.
  explicit RecordingSink(const Clock* clock = nullptr) : clock_(clock) {}
  void add_policy(const EnvironmentConfig& env);

  void apply(const std::string& env, Event event) override;
  std::vector<ClassificationRequest> runs_to_classify(const std::string& env) override;
  void mark_classification_started(const std::string& env, RunRef run) override;
  std::vector<std::int64_t> active_runs_not_in(const std::string& env,
                                               const std::vector<WorkflowRun>& listed) override;

  template <class T>
  std::vector<T> of(const std::string& env = {}) const {
    std::vector<T> out;
    for (const auto& [e, ev] : events)
      if ((env.empty() || e == env) && std::holds_alternative<T>(ev)) out.push_back(std::get<T>(ev));
    return out;
  }
  template <class T>
  std::size_t count(const std::string& env = {}) const { return of<T>(env).size(); }

  std::vector<std::pair<std::string, Event>> events;
  std::vector<WorkflowRun> classify;  // their latest attempts are returned when no policy
  std::vector<std::int64_t> marked;   // run ids, in the order they were marked
  std::map<std::string, EnvironmentPolicy> policies;

 private:
  const Clock* clock_;
};

/// Runs handlers until pred() holds; false if the loop runs out of work or the safety-net
/// timeout passes first. Never sleeps: it blocks only inside the io_context.
bool run_until(boost::asio::io_context& ioc, const std::function<bool()>& pred,
               std::chrono::milliseconds timeout = std::chrono::seconds{10});
/// Runs every handler that is ready now.
void drain(boost::asio::io_context& ioc);

}  // namespace deployguard::testing
