#include "common/scripted_http_client.hpp"

#include <cassert>
#include <stdexcept>
#include <utility>

#include <boost/asio/post.hpp>

namespace deployguard::testing {

void ScriptedHttpClient::once(std::string url_contains, http::HttpResult result) {
  rules_.push_back(Rule{std::move(url_contains),
                        [r = std::move(result)](const http::HttpRequest&) { return r; }, true});
}

void ScriptedHttpClient::always(std::string url_contains, Responder responder) {
  rules_.push_back(Rule{std::move(url_contains), std::move(responder), false});
}

void ScriptedHttpClient::always(std::string url_contains, http::HttpResult result) {
  always(std::move(url_contains), [r = std::move(result)](const http::HttpRequest&) { return r; });
}

void ScriptedHttpClient::send(http::HttpRequest request, http::HttpCallback done) {
  requests_.push_back(request);
  auto pick = rules_.end();
  for (auto it = rules_.begin(); it != rules_.end(); ++it)
    if (it->once && request.url.find(it->needle) != std::string::npos) {
      pick = it;
      break;
    }
  if (pick == rules_.end())
    for (auto it = rules_.begin(); it != rules_.end(); ++it)
      if (!it->once && request.url.find(it->needle) != std::string::npos) {
        pick = it;
        break;
      }
  if (pick == rules_.end()) {
    pending_.push_back(std::move(done));
    return;
  }
  auto result = pick->responder(request);
  if (result.ok() && result.response().final_url.empty()) result.response().final_url = request.url;
  if (pick->once) rules_.erase(pick);
  boost::asio::post(ioc_, [done = std::move(done), result = std::move(result)]() mutable {
    done(std::move(result));
  });
}

void ScriptedHttpClient::reply_pending(http::HttpResult result) {
  if (pending_.empty()) throw std::logic_error("no pending request");
  auto done = std::move(pending_.front());
  pending_.pop_front();
  boost::asio::post(ioc_, [done = std::move(done), result = std::move(result)]() mutable {
    done(std::move(result));
  });
}

std::size_t ScriptedHttpClient::count(std::string_view needle) const {
  std::size_t n = 0;
  for (const auto& r : requests_)
    if (r.url.find(needle) != std::string::npos) ++n;
  return n;
}

const http::HttpRequest& ScriptedHttpClient::last(std::string_view needle) const {
  for (auto it = requests_.rbegin(); it != requests_.rend(); ++it)
    if (it->url.find(needle) != std::string::npos) return *it;
  throw std::logic_error("no request matching " + std::string(needle));
}

http::HttpResponse response(unsigned status, std::string body, http::Headers headers) {
  http::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

http::HttpResult transport_error(http::HttpErrorKind kind, std::string message) {
  return http::HttpError{kind, std::move(message)};
}

std::string header(const http::HttpRequest& r, std::string_view name) {
  auto v = http::find_header(r.headers, name);
  return v ? std::string(*v) : std::string();
}

void RecordingSink::add_policy(const EnvironmentConfig& env) {
  policies.emplace(env.name, EnvironmentPolicy(EnvironmentRules::from_config(env)));
}

void RecordingSink::apply(const std::string& env, Event event) {
  if (clock_) {
    auto it = policies.find(env);
    if (it != policies.end()) it->second.apply(event, clock_->now());
  }
  events.emplace_back(env, std::move(event));
}

std::vector<ClassificationRequest> RecordingSink::runs_to_classify(const std::string& env) {
  auto it = policies.find(env);
  if (it != policies.end()) return it->second.runs_to_classify();
  std::vector<ClassificationRequest> out;
  for (const auto& run : classify) out.push_back({run, run.run_attempt});
  return out;
}

void RecordingSink::mark_classification_started(const std::string& env, RunRef run) {
  marked.push_back(run.id);
  auto it = policies.find(env);
  if (it != policies.end()) it->second.mark_classification_started(run);
  std::erase_if(classify, [&](const WorkflowRun& r) { return r.id == run.id && r.run_attempt == run.attempt; });
}

std::vector<std::int64_t> RecordingSink::active_runs_not_in(const std::string& env,
                                                            const std::vector<WorkflowRun>& listed) {
  auto it = policies.find(env);
  return it != policies.end() ? it->second.active_runs_not_in(listed) : std::vector<std::int64_t>{};
}

bool run_until(boost::asio::io_context& ioc, const std::function<bool()>& pred,
               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (ioc.stopped()) ioc.restart();
    if (ioc.run_one_for(std::chrono::milliseconds{50}) == 0 && ioc.stopped()) return pred();
  }
  return true;
}

void drain(boost::asio::io_context& ioc) {
  ioc.restart();
  ioc.poll();
}

}  // namespace deployguard::testing
