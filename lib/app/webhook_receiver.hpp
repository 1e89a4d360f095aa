#pragma once
// The GitHub webhook route: POST /webhooks/github (405 for other methods comes from the route
// table, lib/api/routes.hpp). Authenticates the delivery
// (X-Hub-Signature-256) before parsing anything, applies the resulting run updates to the
// guard at once, and asks the pollers to reconcile with GitHub. Answers synchronously: nothing
// here waits on an upstream, so GitHub (which gives up after 10 s) always gets a fast answer.
//
// Status codes: 200 ping / duplicate delivery, 202 applied or ignored, 400 malformed, 401 bad or
// missing signature, 413 over max_webhook_body_bytes (enforced by the server
// before the body is read), 415 not JSON, 503 no webhook secret configured.
// Thread: io thread only.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "service/guard_service.hpp"
#include "http/server/server.hpp"
#include "webhook/processor.hpp"

namespace deployguard::app {

/// Counters by outcome, for status and metrics.
struct WebhookStats {
  std::map<std::string, std::uint64_t> by_outcome;  // applied, ignored, pong, duplicate, ...
};

class WebhookReceiver {
 public:
  using RefreshFn = std::function<void(const std::string& environment)>;

  /// `secrets` empty = webhooks disabled (every delivery gets 503).
  WebhookReceiver(service::GuardService& service, const std::map<std::string, EnvironmentConfig>& environments,
                  std::vector<std::string> secrets, RefreshFn refresh);

  http::Response handle(const http::Request& request);
  /// Config reload: new environments and secrets. The delivery ids already seen (so a
  /// redelivery right after a reload is still a duplicate) and the counters stay.
  void reconfigure(const std::map<std::string, EnvironmentConfig>& environments,
                   std::vector<std::string> secrets);
  void set_refresh(RefreshFn refresh) { refresh_ = std::move(refresh); }
  const WebhookStats& stats() const { return stats_; }

  /// The delivery ids answered so far (oldest first, at most the deduper's bound), for the
  /// state file.
  std::vector<std::string> delivery_ids() const;
  /// Start-up: the ids from the state file, so a delivery replayed after a restart is still
  /// answered as a duplicate.
  void restore_delivery_ids(const std::vector<std::string>& ids);
  /// Called (on the io thread, before the delivery is answered) whenever a delivery id was
  /// remembered, i.e. delivery_ids() changed.
  void set_delivery_listener(std::function<void()> listener) { delivery_listener_ = std::move(listener); }

 private:
  service::GuardService& service_;
  bool enabled_;
  webhook::WebhookProcessor processor_;
  RefreshFn refresh_;
  std::function<void()> delivery_listener_;
  WebhookStats stats_;
  std::shared_ptr<spdlog::logger> log_;
};

/// Environment name -> GitHub target, for the environments that have one.
std::map<std::string, GitHubTarget> github_targets(
    const std::map<std::string, EnvironmentConfig>& environments);

}  // namespace deployguard::app
