#include "webhook/processor.hpp"

#include <type_traits>

#include "parse/github.hpp"
#include "webhook/signature.hpp"

namespace deployguard::webhook {

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::Applied: return "applied";
    case Outcome::Ignored: return "ignored";
    case Outcome::Pong: return "pong";
    case Outcome::Duplicate: return "duplicate";
    case Outcome::Unauthorized: return "unauthorized";
    case Outcome::BadRequest: return "bad_request";
  }
  return "unknown";
}

namespace {

WebhookResult make(Outcome o, std::string message) {
  WebhookResult r;
  r.outcome = o;
  r.message = std::move(message);
  switch (o) {
    case Outcome::Applied:
    case Outcome::Ignored: r.http_status = 202; break;
    case Outcome::Pong:
    case Outcome::Duplicate: r.http_status = 200; break;
    case Outcome::Unauthorized: r.http_status = 401; break;
    case Outcome::BadRequest: r.http_status = 400; break;
  }
  return r;
}

}  // namespace

WebhookProcessor::WebhookProcessor(std::map<std::string, GitHubTarget> targets,
                                   std::vector<std::string> secrets, std::size_t dedupe_capacity)
    : targets_(std::move(targets)), secrets_(std::move(secrets)), deduper_(dedupe_capacity) {}

void WebhookProcessor::reconfigure(std::map<std::string, GitHubTarget> targets,
                                   std::vector<std::string> secrets) {
  targets_ = std::move(targets);
  secrets_ = std::move(secrets);
}

std::vector<std::string> WebhookProcessor::environments_for_repo(std::string_view repo) const {
  std::vector<std::string> out;
  for (const auto& [env, target] : targets_)
    if (iequals(target.repo, repo)) out.push_back(env);
  return out;
}

WebhookResult WebhookProcessor::process(const WebhookRequest& req) {
  // Authenticate before looking at anything else in the request.
  if (req.signature.empty()) return make(Outcome::Unauthorized, "missing X-Hub-Signature-256");
  if (!verify_signature(req.body, req.signature, secrets_))
    return make(Outcome::Unauthorized, "signature does not match");
  if (req.event_type.empty()) return make(Outcome::BadRequest, "missing X-GitHub-Event");
  if (req.delivery_id.empty()) return make(Outcome::BadRequest, "missing X-GitHub-Delivery");
  if (req.delivery_id.size() > kMaxDeliveryIdBytes)
    return make(Outcome::BadRequest,
                "X-GitHub-Delivery longer than " + std::to_string(kMaxDeliveryIdBytes) + " bytes");

  auto parsed = parse::parse_webhook(req.event_type, req.body);
  if (!parsed.ok()) return make(Outcome::BadRequest, parse::to_string(parsed.errors()));
  if (!deduper_.first_time(req.delivery_id))
    return make(Outcome::Duplicate, "delivery " + std::string(req.delivery_id) + " already processed");

  return std::visit(
      [&](const auto& ev) -> WebhookResult {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, parse::PingEvent>) {
          return make(Outcome::Pong, "pong");
        } else if constexpr (std::is_same_v<T, parse::WorkflowRunEvent>) {
          // Names what the run was (all from the payload: the caller escapes it for logs), so an
          // operator can see why a delivery did not count.
          WebhookResult r = make(Outcome::Ignored,
                                 "run " + std::to_string(ev.run.id) + " of " + ev.run.repository +
                                     " (workflow " + ev.run.workflow_path + ", branch " +
                                     ev.run.head_branch + "): no environment deploys with it");
          for (const auto& [env, target] : targets_) {
            if (!run_matches(target, ev.run) || ev.run.repository.empty()) continue;
            r.events.emplace_back(env, RunObserved{ev.run});
            r.refresh.push_back(env);
          }
          if (!r.events.empty()) {
            r.outcome = Outcome::Applied;
            r.http_status = 202;
            r.message = "run " + std::to_string(ev.run.id) + " " + ev.action;
          }
          return r;
        } else if constexpr (std::is_same_v<T, parse::UnknownEvent>) {
          return make(Outcome::Ignored, "event type " + ev.type + " is not used");
        } else {
          // workflow_job, deployment, deployment_status, ...: they say something changed in a
          // repository we watch; reconcile by polling it now rather than guessing run state.
          WebhookResult r = make(Outcome::Ignored, "no environment watches this repository");
          r.refresh = environments_for_repo(ev.repository);
          if (!r.refresh.empty()) {
            r.outcome = Outcome::Applied;
            r.http_status = 202;
            r.message = "refreshing " + std::to_string(r.refresh.size()) + " environment(s)";
          }
          return r;
        }
      },
      parsed.value());
}

}  // namespace deployguard::webhook
