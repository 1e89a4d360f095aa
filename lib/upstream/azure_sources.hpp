#pragma once
// The Azure sources of one environment: "container_app" (the app and all its revisions) and
// "postgres/<name>" (one flexible server each).
//
// Threading: single event loop.
#include <memory>
#include <string>

#include "core/config.hpp"
#include "upstream/arm_api.hpp"
#include "upstream/event_sink.hpp"
#include "upstream/lifetime.hpp"
#include "upstream/polled_source.hpp"

namespace deployguard::upstream {

/// GET the container app, then its revisions, following nextLink verbatim until it is absent,
/// null or "" (at most max_revision_pages pages); emits one ContainerAppPolled. A nextLink on
/// another origin than arm_url's is not followed: the poll fails (permanent) naming it.
class ContainerAppSource final : public PolledSource {
 public:
  ContainerAppSource(std::shared_ptr<ArmApi> arm, const AzureConfig& config,
                     std::string environment, AzureResourceRef app, EventSink& sink,
                     int max_revision_pages = 20);

  const SourceId& id() const override { return id_; }
  void poll(std::function<void(PollStatus)> done) override;
  RequestStats request_stats() const override { return *stats_; }

  const std::string& app_url() const { return app_url_; }

 private:
  struct PollRun;
  void fetch_revisions(std::shared_ptr<PollRun> run, std::string url, int page);

  std::shared_ptr<ArmApi> arm_;
  std::string env_;
  AzureResourceRef app_;
  EventSink& sink_;
  int max_pages_;
  SourceId id_;
  std::string app_url_;
  std::string revisions_url_;
  std::shared_ptr<RequestStats> stats_ = std::make_shared<RequestStats>();
  LifetimeGuard guard_;
};

/// GET one PostgreSQL flexible server; emits PostgresPolled named as configured.
class PostgresSource final : public PolledSource {
 public:
  PostgresSource(std::shared_ptr<ArmApi> arm, const AzureConfig& config, std::string environment,
                 AzureResourceRef server, EventSink& sink);

  const SourceId& id() const override { return id_; }
  void poll(std::function<void(PollStatus)> done) override;
  RequestStats request_stats() const override { return *stats_; }

  const std::string& server_url() const { return url_; }

 private:
  std::shared_ptr<ArmApi> arm_;
  std::string env_;
  AzureResourceRef server_;
  EventSink& sink_;
  SourceId id_;
  std::string url_;
  std::shared_ptr<RequestStats> stats_ = std::make_shared<RequestStats>();
  LifetimeGuard guard_;
};

}  // namespace deployguard::upstream
