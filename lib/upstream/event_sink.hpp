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
  /// SourceFailed, RunGone, RunClassified). The implementation stamps it with its own `now`.
  virtual void apply(const std::string& env, Event event) = 0;

  /// The run attempts of `env` whose jobs and logs have not been classified yet
  /// (EnvironmentPolicy::runs_to_classify()). Asked right after each successful GitHub poll.
  virtual std::vector<ClassificationRequest> runs_to_classify(const std::string& env) = 0;

  /// Called once per attempt before its jobs are fetched, so it is not handed out again
  /// (EnvironmentPolicy::mark_classification_started()).
  virtual void mark_classification_started(const std::string& env, RunRef run) = 0;

  /// The runs `env` believes active that `listed` does not hold
  /// (EnvironmentPolicy::active_runs_not_in()): the source looks them up by id.
  virtual std::vector<std::int64_t> active_runs_not_in(const std::string& env,
                                                       const std::vector<WorkflowRun>& listed) = 0;
};

}  // namespace deployguard::upstream
