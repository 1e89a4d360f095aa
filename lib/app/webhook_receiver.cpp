#include "app/webhook_receiver.hpp"

#include <nlohmann/json.hpp>

#include "log/escape.hpp"
#include "log/log.hpp"

namespace deployguard::app {
namespace {

namespace bhttp = boost::beast::http;

std::string_view header(const http::Request& req, std::string_view name) {
  auto it = req.find(name);
  return it == req.end() ? std::string_view{} : std::string_view(it->value());
}

http::Response json_answer(http::Status status, const nlohmann::json& body) {
  http::Response res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::cache_control, "no-store");
  // The message may quote headers (X-GitHub-Event, X-GitHub-Delivery) as sent: bytes that are
  // not UTF-8 become U+FFFD instead of making dump() throw.
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  res.prepare_payload();
  return res;
}

}  // namespace

std::map<std::string, GitHubTarget> github_targets(
    const std::map<std::string, EnvironmentConfig>& environments) {
  std::map<std::string, GitHubTarget> out;
  for (const auto& [name, env] : environments)
    if (env.github) out.emplace(name, *env.github);
  return out;
}

WebhookReceiver::WebhookReceiver(service::GuardService& service,
                                 const std::map<std::string, EnvironmentConfig>& environments,
                                 std::vector<std::string> secrets, RefreshFn refresh)
    : service_(service),
      enabled_(!secrets.empty()),
      processor_(github_targets(environments), std::move(secrets)),
      refresh_(std::move(refresh)),
      log_(logging::subsystem_logger("webhook")) {}

std::vector<std::string> WebhookReceiver::delivery_ids() const {
  return processor_.deliveries().ids();
}

void WebhookReceiver::restore_delivery_ids(const std::vector<std::string>& ids) {
  processor_.deliveries().restore(ids);
}

void WebhookReceiver::reconfigure(const std::map<std::string, EnvironmentConfig>& environments,
                                  std::vector<std::string> secrets) {
  enabled_ = !secrets.empty();
  processor_.reconfigure(github_targets(environments), std::move(secrets));
}

http::Response WebhookReceiver::handle(const http::Request& req) {
  if (!enabled_) {
    ++stats_.by_outcome["disabled"];
    return http::make_error_response(http::Status::service_unavailable, "webhooks_disabled",
                                     "github.webhook_secret_file is not configured");
  }
  const auto content_type = header(req, "Content-Type");
  if (!content_type.empty() && content_type.substr(0, 16) != "application/json") {
    ++stats_.by_outcome["unsupported_media_type"];
    return http::make_error_response(
        http::Status::unsupported_media_type, "unsupported_media_type",
        "set the webhook's content type to application/json in GitHub");
  }
  const auto event = header(req, "X-GitHub-Event");
  const auto delivery = header(req, "X-GitHub-Delivery");
  const auto remembered = processor_.deliveries().remembered();
  const auto result = processor_.process(webhook::WebhookRequest{
      event, delivery, header(req, "X-Hub-Signature-256"), req.body()});
  ++stats_.by_outcome[std::string(webhook::to_string(result.outcome))];
  if (processor_.deliveries().remembered() != remembered && delivery_listener_) delivery_listener_();
  // The headers and the message (which names payload fields) are the sender's text.
  log_->info("event=webhook delivery=\"{}\" type=\"{}\" outcome={} status={} detail=\"{}\"",
             logging::escape(delivery), logging::escape(event), webhook::to_string(result.outcome),
             result.http_status, logging::escape(result.message));

  switch (result.outcome) {
    case webhook::Outcome::Unauthorized:
      return http::make_error_response(http::Status::unauthorized, "unauthorized", result.message);
    case webhook::Outcome::BadRequest:
      return http::make_error_response(http::Status::bad_request, "bad_request", result.message);
    default:
      break;
  }
  for (const auto& [env, ev] : result.events) service_.apply(env, ev);
  if (refresh_)
    for (const auto& env : result.refresh) refresh_(env);
  return json_answer(static_cast<http::Status>(result.http_status),
                     {{"outcome", webhook::to_string(result.outcome)}, {"message", result.message}});
}

}  // namespace deployguard::app
