#pragma once
// GET /metrics: Prometheus text exposition built with prometheus-cpp's registry and text
// serializer. Gauges are computed from the guard at scrape time (so they can never drift from
// what /can-deploy says); counters are kept here and by the pollers.
// Thread: io thread only.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "service/guard_service.hpp"
#include "app/webhook_receiver.hpp"
#include "http/server/server.hpp"
#include "notify/notifier.hpp"
#include "upstream/upstream_pollers.hpp"

namespace deployguard::app {

class Metrics {
 public:
  Metrics(const service::GuardService& service, const upstream::UpstreamPollers* pollers,
          const WebhookReceiver* webhooks)
      : service_(service), pollers_(pollers), webhooks_(webhooks) {}

  /// After a config reload rebuilt them. Their counters start again from zero (a counter reset
  /// Prometheus' rate() handles).
  void set_sources(const upstream::UpstreamPollers* pollers, const WebhookReceiver* webhooks) {
    pollers_ = pollers;
    webhooks_ = webhooks;
  }
  /// Config reloads by result ("ok", "failed"); read at scrape time.
  void set_reload_counts(const std::map<std::string, std::uint64_t>* counts) {
    reload_counts_ = counts;
  }

  /// Notifications by sink and outcome, and each sink's queue depth; read at scrape time.
  void set_notifier(const notify::Notifier* notifier) { notifier_ = notifier; }

  /// Counts one HTTP response (server on_response hook).
  void record_http(std::string_view target, unsigned status);
  /// Counts one authorization of a scoped route (Api on_auth hook): the route's pattern, the
  /// token's name (never its value; "anonymous" without one) and the outcome.
  void record_auth(std::string_view route, std::string_view token, std::string_view outcome);

  /// Counts one break-glass override event: created, cancelled, used, expired, replaced.
  void record_override(std::string_view environment, std::string_view event) {
    ++overrides_[{std::string(environment), std::string(event)}];
  }

  /// The whole exposition, text format 0.0.4.
  std::string render() const;
  /// GET /metrics (the route table lets only GET and HEAD through).
  http::Response handle(const http::Request& request) const;

 private:
  const service::GuardService& service_;
  const upstream::UpstreamPollers* pollers_;
  const WebhookReceiver* webhooks_;
  const std::map<std::string, std::uint64_t>* reload_counts_ = nullptr;
  const notify::Notifier* notifier_ = nullptr;
  std::map<std::pair<std::string, unsigned>, std::uint64_t> http_requests_;
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> auth_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> overrides_;
};

}  // namespace deployguard::app
