#include "app/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "api/routes.hpp"
#include "core/live.hpp"

namespace deployguard::app {
namespace {

namespace bhttp = boost::beast::http;

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

void Metrics::record_http(std::string_view target, unsigned status) {
  ++http_requests_[{api::route_label(target), status}];
}

void Metrics::record_auth(std::string_view route, std::string_view token,
                          std::string_view outcome) {
  ++auth_[{std::string(route), std::string(token), std::string(outcome)}];
}

std::string Metrics::render() const {
  using namespace prometheus;
  Registry registry;
  const TimePoint now = service_.now();

  auto& safe = BuildGauge().Name("deployguard_safe").Help("1 when it is safe to deploy to the environment").Register(registry);
  auto& reason = BuildGauge()
                     .Name("deployguard_blocked_reason")
                     .Help("1 for each reason that currently blocks deploys to the environment")
                     .Register(registry);
  auto& cooldown = BuildGauge()
                       .Name("deployguard_cooldown_remaining_seconds")
                       .Help("Seconds until the cooldown / min_interval rule lapses (0 when not in force)")
                       .Register(registry);
  auto& backoff = BuildGauge()
                      .Name("deployguard_busy_backoff_remaining_seconds")
                      .Help("Seconds until the ServerIsBusy backoff lapses (0 when not in force)")
                      .Register(registry);
  auto& age = BuildGauge()
                  .Name("deployguard_source_refresh_age_seconds")
                  .Help("Seconds since the source's last successful refresh (absent before the first)")
                  .Register(registry);
  auto& live = BuildGauge()
                   .Name("deployguard_live_info")
                   .Help("1 for the revision serving the environment's traffic, labelled with the "
                         "deploy that created it (run_id, run_attempt, sha; empty when unknown) "
                         "and how it was linked (matched_by)")
                   .Register(registry);
  auto& queue_length = BuildGauge()
                           .Name("deployguard_queue_length")
                           .Help("Pipelines waiting in the environment's deploy queue (a granted "
                                 "ticket no longer waits)")
                           .Register(registry);
  for (const auto& [env, policy] : service_.environments()) {
    const Decision d = policy.decide(now);
    queue_length.Add({{"environment", env}}).Set(static_cast<double>(policy.queue().waiting_count()));
    if (const auto l = live_revision(policy)) {
      live.Add({{"environment", env},
                {"revision", l->revision},
                {"run_id", l->run_id ? std::to_string(*l->run_id) : std::string()},
                {"run_attempt", l->run_attempt ? std::to_string(*l->run_attempt) : std::string()},
                {"sha", l->sha},
                {"matched_by", std::string(to_string(l->matched_by))}})
          .Set(1);
    }
    safe.Add({{"environment", env}}).Set(d.safe ? 1 : 0);
    for (ReasonCode code : kAllReasonCodes)
      reason.Add({{"environment", env}, {"reason", std::string(to_string(code))}}).Set(d.has(code) ? 1 : 0);
    auto remaining = [&](ReasonCode code) {
      const Reason* r = d.find(code);
      return r && r->until ? std::max(0.0, seconds(*r->until - now)) : 0.0;
    };
    cooldown.Add({{"environment", env}}).Set(remaining(ReasonCode::Cooldown));
    backoff.Add({{"environment", env}}).Set(remaining(ReasonCode::BusyBackoff));
    for (const auto& [source, health] : policy.sources())
      if (health.last_success)
        age.Add({{"environment", env}, {"source", source}}).Set(seconds(now - *health.last_success));
  }

  if (pollers_) {
    auto& polls = BuildCounter().Name("deployguard_polls_total").Help("Polls of an upstream source by result").Register(registry);
    auto& requests = BuildCounter()
                         .Name("deployguard_upstream_requests_total")
                         .Help("Upstream HTTP requests by source and status (\"error\" = no response)")
                         .Register(registry);
    auto& rate = BuildGauge()
                     .Name("deployguard_github_rate_limit_remaining")
                     .Help("GitHub x-ratelimit-remaining as last seen")
                     .Register(registry);
    for (const auto& s : pollers_->stats()) {
      const Labels base{{"environment", s.environment}, {"source", s.source}};
      auto with = [&](std::string k, std::string v) {
        Labels l = base;
        l.emplace(std::move(k), std::move(v));
        return l;
      };
      polls.Add(with("result", "ok")).Increment(static_cast<double>(s.polls_ok));
      polls.Add(with("result", "error")).Increment(static_cast<double>(s.polls_failed));
      for (const auto& [status, count] : s.requests.by_status)
        requests.Add(with("status", std::to_string(status))).Increment(static_cast<double>(count));
      requests.Add(with("status", "error")).Increment(static_cast<double>(s.requests.transport_errors));
      if (s.rate_limit_remaining) rate.Add({{"environment", s.environment}}).Set(static_cast<double>(*s.rate_limit_remaining));
    }
  }

  if (webhooks_) {
    auto& deliveries = BuildCounter()
                           .Name("deployguard_webhook_deliveries_total")
                           .Help("GitHub webhook deliveries by outcome")
                           .Register(registry);
    for (const auto& [outcome, count] : webhooks_->stats().by_outcome)
      deliveries.Add({{"outcome", outcome}}).Increment(static_cast<double>(count));
  }

  if (reload_counts_) {
    auto& reloads = BuildCounter()
                        .Name("deployguard_config_reloads_total")
                        .Help("Configuration reloads (SIGHUP) by result")
                        .Register(registry);
    for (const char* result : {"ok", "failed"}) {
      auto it = reload_counts_->find(result);
      reloads.Add({{"result", result}})
          .Increment(it == reload_counts_->end() ? 0.0 : static_cast<double>(it->second));
    }
  }

  if (notifier_) {
    auto& notifications = BuildCounter()
                              .Name("deployguard_notifications_total")
                              .Help("Notification messages by sink and outcome (sent, retried "
                                    "attempts, dropped, failed)")
                              .Register(registry);
    auto& depth = BuildGauge()
                      .Name("deployguard_notification_queue_depth")
                      .Help("Notification messages waiting per sink (queued, in flight or held "
                            "by coalescing)")
                      .Register(registry);
    for (const auto& [sink, s] : notifier_->stats()) {
      const auto add = [&](const char* outcome, std::uint64_t count) {
        notifications.Add({{"sink", sink}, {"outcome", outcome}})
            .Increment(static_cast<double>(count));
      };
      add("sent", s.sent);
      add("retried", s.retried);
      add("dropped", s.dropped);
      add("failed", s.failed);
      depth.Add({{"sink", sink}}).Set(static_cast<double>(s.queued));
    }
  }

  auto& http_family = BuildCounter()
                          .Name("deployguard_http_requests_total")
                          .Help("HTTP requests answered by route and status")
                          .Register(registry);
  for (const auto& [key, count] : http_requests_)
    http_family.Add({{"route", key.first}, {"status", std::to_string(key.second)}})
        .Increment(static_cast<double>(count));

  auto& auth_family = BuildCounter()
                          .Name("deployguard_api_auth_total")
                          .Help("Authorizations of scoped API routes by route, token name and "
                                "outcome")
                          .Register(registry);
  for (const auto& [key, count] : auth_)
    auth_family
        .Add({{"route", std::get<0>(key)}, {"token", std::get<1>(key)}, {"outcome", std::get<2>(key)}})
        .Increment(static_cast<double>(count));

  auto& override_family = BuildCounter()
                              .Name("deployguard_overrides_total")
                              .Help("Break-glass overrides by environment and event (created, "
                                    "cancelled, used, expired, replaced)")
                              .Register(registry);
  for (const auto& [key, count] : overrides_)
    override_family.Add({{"environment", key.first}, {"event", key.second}})
        .Increment(static_cast<double>(count));
  auto& pending = BuildGauge()
                      .Name("deployguard_override_pending")
                      .Help("1 while a break-glass override waits to be used")
                      .Register(registry);
  auto& in_window = BuildGauge()
                        .Name("deployguard_freeze_window_active")
                        .Help("1 while a declared freeze window is in force")
                        .Register(registry);
  for (const auto& [name, policy] : service_.environments()) {
    pending.Add({{"environment", name}}).Set(policy.pending_override() ? 1.0 : 0.0);
    in_window.Add({{"environment", name}}).Set(policy.freeze_window_in_force(now) ? 1.0 : 0.0);
  }

  return TextSerializer{}.Serialize(registry.Collect());
}

http::Response Metrics::handle(const http::Request&) const {
  http::Response res{http::Status::ok, 11};
  res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = render();
  return res;
}

}  // namespace deployguard::app
