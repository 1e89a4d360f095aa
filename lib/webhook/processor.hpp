#pragma once
// Turns one GitHub webhook delivery into policy events. Pure apart from the HMAC: no sockets,
// no clock. The HTTP layer enforces the body-size cap before calling process(); the caller
// applies the returned events to the environments and asks the pollers to reconcile.
// Not thread-safe: called on the event loop thread.
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/policy.hpp"
#include "webhook/dedupe.hpp"

namespace deployguard::webhook {

struct WebhookRequest {
  std::string_view event_type;  // X-GitHub-Event
  std::string_view delivery_id; // X-GitHub-Delivery
  std::string_view signature;   // X-Hub-Signature-256
  std::string_view body;        // raw bytes, exactly as received
};

enum class Outcome {
  Applied,       // 202: matched one or more environments
  Ignored,       // 202: valid, but no environment cares (other repo/workflow, unknown event)
  Pong,          // 200: ping
  Duplicate,     // 200: this delivery id was already processed
  Unauthorized,  // 401: missing or wrong signature (nothing was parsed)
  BadRequest,    // 400: missing headers, not JSON, wrong shape
};

std::string_view to_string(Outcome o);

/// Longest X-GitHub-Delivery accepted (GitHub sends a 36-character GUID). Remembered ids are
/// kept in the state file, whose size this bounds.
inline constexpr std::size_t kMaxDeliveryIdBytes = 128;

struct WebhookResult {
  Outcome outcome = Outcome::BadRequest;
  unsigned http_status = 400;
  std::string message;
  /// Events to apply, per environment, in order.
  std::vector<std::pair<std::string, Event>> events;
  /// Environments whose GitHub source should be polled now to reconcile what the webhook said.
  std::vector<std::string> refresh;
};

class WebhookProcessor {
 public:
  /// `targets`: environment name -> its GitHub target (environments without one are skipped).
  WebhookProcessor(std::map<std::string, GitHubTarget> targets, std::vector<std::string> secrets,
                   std::size_t dedupe_capacity = DeliveryDeduper::kDefaultCapacity);

  WebhookResult process(const WebhookRequest& request);

  /// Config reload: keeps the delivery-id memory.
  void reconfigure(std::map<std::string, GitHubTarget> targets, std::vector<std::string> secrets);

  /// The delivery ids already processed (read them out to persist; restore them at start-up).
  const DeliveryDeduper& deliveries() const { return deduper_; }
  DeliveryDeduper& deliveries() { return deduper_; }

 private:
  std::vector<std::string> environments_for_repo(std::string_view repo) const;

  std::map<std::string, GitHubTarget> targets_;
  std::vector<std::string> secrets_;
  DeliveryDeduper deduper_;
};

}  // namespace deployguard::webhook
