#pragma once
// The "github" source of one environment: resolves the configured workflows to ids once, polls
// their recent runs and their active runs (one list per active status, so a busy repository
// cannot hide one behind newer completed runs) with conditional requests, looks up by id the
// runs believed active that no list holds any more, and classifies ended run attempts by their
// jobs (never started?) and their failed jobs' logs (the configured busy patterns).
//
// Threading: single event loop (see GitHubApi).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/model.hpp"
#include "upstream/event_sink.hpp"
#include "upstream/github_api.hpp"
#include "upstream/lifetime.hpp"
#include "upstream/polled_source.hpp"

namespace deployguard::upstream {

struct GitHubSourceOptions {
  int runs_per_page = 20;
  std::size_t max_run_lookups = 10;   // runs looked up by id per poll
  int max_workflow_pages = 10;        // workflows list pages followed through Link rel="next"
  int max_classification_attempts = 3;  // per run, counting failed fetches (not rate limits)
  std::size_t max_concurrent_classifications = 4;
  std::size_t max_failed_jobs = 10;   // logs fetched per run
};

/// What classify_log found in one job log; exposed for tests.
struct LogMatch {
  bool busy = false;
  std::string pattern;
};
LogMatch find_busy_pattern(std::string_view log, const std::vector<std::string>& patterns);

/// What lets a GitHub source poll cheaply: the workflow ids its entries resolved to and, per runs
/// URL, the last ETag with the runs it described (a 304 reuses them). Valid only for the same
/// API, token and target; UpstreamPollers carries it across a rebuild (GitHubSourceKey).
struct GitHubPollCache {
  struct Runs {
    std::string etag;
    std::vector<WorkflowRun> runs;
  };
  std::vector<std::int64_t> workflow_ids;
  std::map<std::string, Runs> runs_by_url;
};

class GitHubSource final : public PolledSource {
 public:
  /// `api` is shared by every GitHub source (one token, one rate-limit budget). `config` supplies
  /// busy_patterns and max_log_bytes. Events for `environment` go to `sink`, which must outlive
  /// the source.
  GitHubSource(std::shared_ptr<GitHubApi> api, const GitHubConfig& config, std::string environment,
               GitHubTarget target, EventSink& sink, GitHubSourceOptions options = {});

  const SourceId& id() const override { return id_; }
  /// Resolves the workflows if needed, then GETs each workflow's runs (If-None-Match with the
  /// stored ETag; 304 reuses the stored runs). Emits one RunsPolled with the runs of all
  /// configured workflows, then starts classifying the runs the sink lists.
  void poll(std::function<void(PollStatus)> done) override;
  RequestStats request_stats() const override { return *stats_; }
  std::optional<std::int64_t> rate_limit_remaining() const override {
    return api_->rate_limit_remaining();
  }

  /// Workflow ids the configured entries resolved to (empty until the first resolution).
  const std::vector<std::int64_t>& workflow_ids() const { return cache_.workflow_ids; }
  std::size_t classifications_in_flight() const { return classifying_.size(); }
  /// The run-list URLs one poll requests: per workflow the recent runs, then one list per
  /// active status.
  std::vector<std::string> run_list_urls() const;
  /// The conditional-request state, to hand to the source that replaces this one.
  const GitHubPollCache& poll_cache() const { return cache_; }
  /// Starts from another source's state (before the first poll); the caller vouches that it
  /// was built for the same API, token and target.
  void restore_poll_cache(GitHubPollCache cache) { cache_ = std::move(cache); }

 private:
  struct PollRun;
  struct Inspection;
  void resolve(std::shared_ptr<PollRun> run, std::string url, int page);
  void finish_resolution(std::shared_ptr<PollRun> run);
  void fetch_runs(std::shared_ptr<PollRun> run, std::size_t index);
  void lookup_runs(std::shared_ptr<PollRun> run, std::size_t index);
  void deliver(std::shared_ptr<PollRun> run);
  void finish(std::shared_ptr<PollRun> run, PollStatus status);

  void start_classifications();
  void classify(const ClassificationRequest& request);
  void fetch_log(std::shared_ptr<Inspection> c, std::size_t index);
  void classification_done(RunRef run, std::optional<PollStatus> failure, Classification result,
                           std::string detail, std::optional<TimePoint> ended_at = std::nullopt);

  std::string repo_path() const { return "/repos/" + target_.repo; }

  std::shared_ptr<GitHubApi> api_;
  std::vector<std::string> busy_patterns_;
  std::size_t max_log_bytes_;
  std::string env_;
  GitHubTarget target_;
  EventSink& sink_;
  GitHubSourceOptions options_;
  SourceId id_;
  std::shared_ptr<RequestStats> stats_ = std::make_shared<RequestStats>();

  GitHubPollCache cache_;
  std::set<RunRef> classifying_;
  std::map<RunRef, ClassificationRequest> retry_requests_;
  std::map<RunRef, int> retry_;  // failed classification tries, retried after later polls
  LifetimeGuard guard_;
};

}  // namespace deployguard::upstream
