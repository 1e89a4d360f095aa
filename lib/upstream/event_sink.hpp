#pragma once
// Where pollers deliver what they observe. The upstream layer does not know the app layer: the
// daemon implements this interface on top of its per-environment policies (GuardService).
//
// Threading: every call is made on the io_context thread that runs the pollers.
#include <cstdint>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/policy.hpp"

namespace deployguard::upstream {

class EventSink {
 public:
  virtual ~EventSink() = default;

  /// One observation for environment `env` (RunsPolled, ContainerAppPolled, PostgresPolled,
  /// SourceFailed, RunClassified). The implementation stamps it with its own `now`.
  virtual void apply(const std::string& env, Event event) = 0;

  /// The completed failed runs of `env` whose logs have not been classified yet
  /// (EnvironmentPolicy::runs_to_classify()). Asked right after each successful GitHub poll.
  virtual std::vector<WorkflowRun> runs_to_classify(const std::string& env) = 0;

  /// Called once per run before its logs are fetched, so the run is not handed out again
  /// (EnvironmentPolicy::mark_classification_started()).
  virtual void mark_classification_started(const std::string& env, std::int64_t run_id) = 0;
};

}  // namespace deployguard::upstream
