#pragma once
// Adapts GuardService to the pollers' EventSink: the upstream layer does not know the app layer.
// Thread: io thread only.
#include "service/guard_service.hpp"
#include "upstream/event_sink.hpp"

namespace deployguard::app {

class GuardEventSink final : public upstream::EventSink {
 public:
  explicit GuardEventSink(service::GuardService& service) : service_(service) {}

  void apply(const std::string& env, Event event) override { service_.apply(env, event); }

  std::vector<ClassificationRequest> runs_to_classify(const std::string& env) override {
    const auto* policy = service_.find(env);
    return policy ? policy->runs_to_classify() : std::vector<ClassificationRequest>{};
  }

  void mark_classification_started(const std::string& env, RunRef run) override {
    // Not a change of anything decide() looks at, but modify() is the only mutating door.
    service_.modify(env, [run](EnvironmentPolicy& p, TimePoint) { p.mark_classification_started(run); });
  }

  std::vector<std::int64_t> active_runs_not_in(const std::string& env,
                                               const std::vector<WorkflowRun>& listed) override {
    const auto* policy = service_.find(env);
    return policy ? policy->active_runs_not_in(listed) : std::vector<std::int64_t>{};
  }

 private:
  service::GuardService& service_;
};

}  // namespace deployguard::app
