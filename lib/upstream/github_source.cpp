#include "upstream/github_source.hpp"

#include <algorithm>
#include <utility>

#include "log/escape.hpp"
#include "log/log.hpp"

#include "parse/github.hpp"

namespace deployguard::upstream {
namespace {

std::string_view basename(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}


}  // namespace

LogMatch find_busy_pattern(std::string_view log, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    if (!p.empty() && log.find(p) != std::string_view::npos) return {true, p};
  }
  return {};
}

struct GitHubSource::PollRun {
  std::function<void(PollStatus)> done;
  std::vector<parse::Workflow> workflows;  // while resolving
  std::vector<std::string> urls;           // run lists to fetch
  std::vector<WorkflowRun> runs;
  std::vector<std::int64_t> lookups;  // runs believed active that no list holds
  std::vector<std::int64_t> gone;     // looked up and answered 404
};

struct GitHubSource::Inspection {
  ClassificationRequest request;
  RunRef ref;
  std::vector<parse::WorkflowJob> failed_jobs;
  std::vector<std::string> notes;  // per-job remarks for the detail text
  std::optional<TimePoint> ended_at;
};

GitHubSource::GitHubSource(std::shared_ptr<GitHubApi> api, const GitHubConfig& config,
                           std::string environment, GitHubTarget target, EventSink& sink,
                           GitHubSourceOptions options)
    : api_(std::move(api)), busy_patterns_(config.busy_patterns),
      max_log_bytes_(config.max_log_bytes), env_(std::move(environment)),
      target_(std::move(target)), sink_(sink), options_(options),
      id_(std::string(kGitHubSource)) {}

void GitHubSource::poll(std::function<void(PollStatus)> done) {
  auto run = std::make_shared<PollRun>();
  run->done = std::move(done);
  if (cache_.workflow_ids.empty()) {
    resolve(run, repo_path() + "/actions/workflows?per_page=100", 1);
  } else {
    fetch_runs(run, 0);
  }
}

void GitHubSource::finish(std::shared_ptr<PollRun> run, PollStatus status) {
  auto done = std::move(run->done);
  done(std::move(status));
}

void GitHubSource::resolve(std::shared_ptr<PollRun> run, std::string url, int page) {
  api_->get(std::move(url), {}, stats_,
            [this, alive = guard_.watch(), run, page](GitHubApiResult r) {
              if (alive.expired()) return;
              if (!r.status.ok) return finish(run, r.status);
              auto parsed = parse::parse_workflows_list(r.response->body);
              if (!parsed)
                return finish(run, PollStatus::failure("GitHub workflows list: " +
                                                       parsed.error_text()));
              for (auto& w : parsed->workflows) run->workflows.push_back(std::move(w));
              auto link = r.response->header("link");
              auto next = link ? link_next(*link) : std::nullopt;
              if (next && page < options_.max_workflow_pages) {
                if (auto refused = refuse_foreign_origin("GitHub Link rel=next", *next,
                                                         api_->api_url(), "the GitHub token"))
                  return finish(run, PollStatus::failure("GitHub workflows list: " + *refused,
                                                         FailureKind::permanent));
                return resolve(run, std::move(*next), page + 1);
              }
              finish_resolution(run);
            });
}

void GitHubSource::finish_resolution(std::shared_ptr<PollRun> run) {
  std::vector<std::int64_t> ids;
  std::vector<std::string> missing;
  for (const auto& entry : target_.workflows) {
    // Path first, then file name, then display name: names need not be unique, paths are.
    const parse::Workflow* found = nullptr;
    for (const auto& w : run->workflows)
      if (entry == w.path) found = &w;
    if (!found)
      for (const auto& w : run->workflows)
        if (entry == basename(w.path)) found = &w;
    if (!found)
      for (const auto& w : run->workflows)
        if (entry == w.name) {
          found = &w;
          break;
        }
    if (!found) {
      missing.push_back(entry);
    } else if (std::find(ids.begin(), ids.end(), found->id) == ids.end()) {
      ids.push_back(found->id);
    }
  }
  if (!missing.empty()) {
    std::string text = "GitHub workflow";
    text += missing.size() > 1 ? "s " : " ";
    for (std::size_t i = 0; i < missing.size(); ++i)
      text += (i ? ", '" : "'") + missing[i] + "'";
    text += " not found in " + target_.repo + " (" + std::to_string(run->workflows.size()) +
            " workflows listed)";
    return finish(run, PollStatus::failure(std::move(text)));
  }
  cache_.workflow_ids = std::move(ids);
  run->workflows.clear();
  logging::subsystem_logger("upstream")->info("github workflows resolved env={} repo={} count={}", env_, target_.repo,
                 cache_.workflow_ids.size());
  fetch_runs(run, 0);
}

std::vector<std::string> GitHubSource::run_list_urls() const {
  // GitHub's `status` filter takes one value; these are the ones is_active() counts.
  static constexpr std::string_view kActive[] = {"in_progress", "queued", "waiting", "pending",
                                                 "requested"};
  std::vector<std::string> urls;
  for (const auto id : cache_.workflow_ids) {
    std::string base = api_->url(repo_path() + "/actions/workflows/" + std::to_string(id) +
                                 "/runs?per_page=" + std::to_string(options_.runs_per_page));
    if (target_.branch) base += "&branch=" + encode_query_value(*target_.branch);
    urls.push_back(base);
    for (const auto status : kActive) urls.push_back(base + "&status=" + std::string(status));
  }
  return urls;
}

void GitHubSource::fetch_runs(std::shared_ptr<PollRun> run, std::size_t index) {
  if (index == 0) run->urls = run_list_urls();
  if (index >= run->urls.size()) {
    // The same run may be in the recent list and in its status list.
    std::vector<WorkflowRun> unique;
    for (auto& r : run->runs)
      if (std::none_of(unique.begin(), unique.end(), [&](const WorkflowRun& u) { return u.id == r.id; }))
        unique.push_back(std::move(r));
    run->runs = std::move(unique);
    run->lookups = sink_.active_runs_not_in(env_, run->runs);
    if (run->lookups.size() > options_.max_run_lookups) run->lookups.resize(options_.max_run_lookups);
    return lookup_runs(run, 0);
  }
  const std::string url = run->urls[index];
  http::Headers headers;
  auto cached = cache_.runs_by_url.find(url);
  if (cached != cache_.runs_by_url.end() && !cached->second.etag.empty())
    headers.push_back({"If-None-Match", cached->second.etag});
  api_->get(url, std::move(headers), stats_,
            [this, alive = guard_.watch(), run, index, url](GitHubApiResult r) {
              if (alive.expired()) return;
              if (!r.status.ok) {
                // A deleted or renamed workflow: resolve the entries again next time.
                if (r.response && r.response->status == 404) cache_.workflow_ids.clear();
                return finish(run, r.status);
              }
              auto& res = *r.response;
              if (res.status == 304) {
                auto it = cache_.runs_by_url.find(url);
                if (it == cache_.runs_by_url.end())
                  return finish(run, PollStatus::failure("GitHub 304 without a cached response"));
                run->runs.insert(run->runs.end(), it->second.runs.begin(), it->second.runs.end());
                return fetch_runs(run, index + 1);
              }
              auto page = parse::parse_workflow_runs_page(res.body);
              if (!page)
                return finish(run, PollStatus::failure("GitHub runs page: " + page.error_text()));
              if (!page->item_errors.empty())
                logging::subsystem_logger("upstream")->warn("github runs skipped env={} count={} first_error=\"{}\"", env_,
                               page->item_errors.size(), logging::escape(page->item_errors.front().to_string()));
              auto etag = res.header("etag");
              GitHubPollCache::Runs entry{etag ? std::string(*etag) : std::string(), page->runs};
              run->runs.insert(run->runs.end(), page->runs.begin(), page->runs.end());
              cache_.runs_by_url[url] = std::move(entry);
              fetch_runs(run, index + 1);
            });
}

void GitHubSource::lookup_runs(std::shared_ptr<PollRun> run, std::size_t index) {
  if (index >= run->lookups.size()) return deliver(run);
  const auto id = run->lookups[index];
  api_->get(repo_path() + "/actions/runs/" + std::to_string(id), {}, stats_,
            [this, alive = guard_.watch(), run, index, id](GitHubApiResult r) {
              if (alive.expired()) return;
              if (r.status.ok) {
                auto parsed = parse::parse_workflow_run_body(r.response->body);
                if (parsed) {
                  run->runs.push_back(std::move(*parsed));
                } else {
                  logging::subsystem_logger("upstream")->warn("github run lookup unreadable env={} run_id={} error=\"{}\"",
                                          env_, id, logging::escape(parsed.error_text()));
                }
              } else if (r.response && r.response->status == 404) {
                run->gone.push_back(id);  // deleted, or no longer visible: that run ends
              } else if (r.status.kind == FailureKind::rate_limited) {
                return finish(run, r.status);
              } else {
                // The run stays as last seen (active, so it keeps blocking): fail closed.
                logging::subsystem_logger("upstream")->warn("github run lookup failed env={} run_id={} error=\"{}\"", env_,
                                        id, logging::escape(r.status.error));
              }
              lookup_runs(run, index + 1);
            });
}

void GitHubSource::deliver(std::shared_ptr<PollRun> run) {
  const auto gone = std::move(run->gone);
  sink_.apply(env_, RunsPolled{std::move(run->runs)});
  for (const auto id : gone) sink_.apply(env_, RunGone{id});
  start_classifications();
  PollStatus ok = PollStatus::success();
  ok.wait = api_->gate_wait();
  finish(run, std::move(ok));
}

// ---- classification -------------------------------------------------------------------------

void GitHubSource::start_classifications() {
  const auto capacity = [&] {
    return classifying_.size() < options_.max_concurrent_classifications;
  };
  // Earlier tries that failed first, then new attempts. Attempts left over when the capacity
  // is reached are not marked started, so the sink lists them again after the next poll.
  for (const auto& [ref, request] : retry_requests_) {
    if (!capacity()) return;
    if (!classifying_.contains(ref)) classify(request);
  }
  for (const auto& request : sink_.runs_to_classify(env_)) {
    const RunRef ref{request.run.id, request.attempt};
    if (classifying_.contains(ref) || retry_requests_.contains(ref)) continue;
    const bool latest = request.attempt == request.run.run_attempt;
    if (busy_patterns_.empty() && latest && request.run.conclusion != RunConclusion::Cancelled) {
      // Matching disabled and nothing else to learn from the jobs: answer without requests.
      sink_.mark_classification_started(env_, ref);
      sink_.apply(env_, RunClassified{ref, Classification::NotBusy, "busy_patterns is empty", std::nullopt});
      continue;
    }
    if (!capacity()) return;
    sink_.mark_classification_started(env_, ref);
    classify(request);
  }
}

void GitHubSource::classify(const ClassificationRequest& request) {
  const RunRef ref{request.run.id, request.attempt};
  classifying_.insert(ref);
  retry_requests_.insert_or_assign(ref, request);  // kept until it is classified, for retries
  auto c = std::make_shared<Inspection>();
  c->request = request;
  c->ref = ref;
  api_->get(repo_path() + "/actions/runs/" + std::to_string(ref.id) + "/attempts/" +
                std::to_string(ref.attempt) + "/jobs?per_page=100",
            {}, stats_, [this, alive = guard_.watch(), c](GitHubApiResult r) {
              if (alive.expired()) return;
              if (!r.status.ok) return classification_done(c->ref, r.status, Classification::Unknown, "");
              auto jobs = parse::parse_jobs_list(r.response->body);
              if (!jobs)
                return classification_done(
                    c->ref, PollStatus::failure("GitHub jobs list: " + jobs.error_text()),
                    Classification::Unknown, "");
              bool started = false;
              for (const auto& job : jobs->jobs) {
                started = started || job.ever_started();
                if (job.completed_at && (!c->ended_at || *job.completed_at > *c->ended_at))
                  c->ended_at = job.completed_at;
              }
              if (!started)
                return classification_done(c->ref, std::nullopt, Classification::NeverStarted,
                                           std::to_string(jobs->jobs.size()) +
                                               " job(s), none got a runner or ran a step",
                                           c->ended_at);
              if (busy_patterns_.empty())
                return classification_done(c->ref, std::nullopt, Classification::NotBusy,
                                           "busy_patterns is empty", c->ended_at);
              for (auto& job : jobs->jobs) {
                if (job.conclusion != RunConclusion::Failure &&
                    job.conclusion != RunConclusion::TimedOut)
                  continue;
                if (!job.ever_started()) continue;
                if (c->failed_jobs.size() >= options_.max_failed_jobs) break;
                c->failed_jobs.push_back(std::move(job));
              }
              if (c->failed_jobs.empty())
                return classification_done(c->ref, std::nullopt, Classification::NotBusy,
                                           "no failed jobs", c->ended_at);
              fetch_log(c, 0);
            });
}

void GitHubSource::fetch_log(std::shared_ptr<Inspection> c, std::size_t index) {
  if (index >= c->failed_jobs.size()) {
    std::string detail = "no busy pattern in " + std::to_string(c->failed_jobs.size()) +
                         " failed job log(s)";
    for (const auto& n : c->notes) detail += "; " + n;
    return classification_done(c->ref, std::nullopt, Classification::NotBusy, std::move(detail),
                               c->ended_at);
  }
  const auto& job = c->failed_jobs[index];
  // The API answers 302 to a blob URL on another host; the HTTP client follows it and drops
  // Authorization there. Busy errors sit near the end of a log, so ask for its last bytes (the
  // blob store honours Range; a server that ignores it and sends more than max_log_bytes makes
  // the client fail with too_large, which skips this log).
  http::Headers headers{{"Range", "bytes=-" + std::to_string(max_log_bytes_)}};
  api_->get(repo_path() + "/actions/jobs/" + std::to_string(job.id) + "/logs", std::move(headers),
            stats_,
            [this, alive = guard_.watch(), c, index](GitHubApiResult r) {
              if (alive.expired()) return;
              const auto& failed = c->failed_jobs[index];
              if (!r.status.ok) {
                const unsigned status = r.response ? r.response->status : 0;
                if (status == 404 || status == 410) {
                  // Logs expired or deleted: nothing to inspect, and retrying will not help.
                  c->notes.push_back("job '" + failed.name + "' logs unavailable (" +
                                     std::to_string(status) + ")");
                  return fetch_log(c, index + 1);
                }
                if (r.status.kind != FailureKind::rate_limited &&
                    r.status.error.find("too_large") != std::string::npos) {
                  c->notes.push_back("job '" + failed.name + "' log larger than max_log_bytes");
                  return fetch_log(c, index + 1);
                }
                return classification_done(c->ref, r.status, Classification::Unknown, "");
              }
              const auto match = find_busy_pattern(r.response->body, busy_patterns_);
              if (match.busy)
                return classification_done(c->ref, std::nullopt, Classification::ServerBusy,
                                           "job '" + failed.name + "' log contains '" +
                                               match.pattern + "'",
                                           c->ended_at);
              fetch_log(c, index + 1);
            },
            max_log_bytes_);
}

void GitHubSource::classification_done(RunRef ref, std::optional<PollStatus> failure,
                                       Classification result, std::string detail,
                                       std::optional<TimePoint> ended_at) {
  classifying_.erase(ref);
  if (failure) {
    int& counted = retry_[ref];
    if (failure->kind != FailureKind::rate_limited) ++counted;
    const int tries = counted;  // a copy: the map entry is erased below
    logging::subsystem_logger("upstream")->warn(
        "github classification failed env={} run_id={} run_attempt={} try={} error=\"{}\"", env_,
        ref.id, ref.attempt, tries, logging::escape(failure->error));
    if (tries < options_.max_classification_attempts) return;  // retried after a later poll
    retry_.erase(ref);
    retry_requests_.erase(ref);
    sink_.apply(env_, RunClassified{ref, Classification::Unknown,
                                    "logs not inspected after " + std::to_string(tries) +
                                        " tries: " + failure->error,
                                    std::nullopt});
    return;
  }
  retry_.erase(ref);
  retry_requests_.erase(ref);
  logging::subsystem_logger("upstream")->info(
      "github run classified env={} run_id={} run_attempt={} result={} detail=\"{}\"", env_, ref.id,
      ref.attempt, to_string(result), logging::escape(detail));
  sink_.apply(env_, RunClassified{ref, result, std::move(detail), ended_at});
}

}  // namespace deployguard::upstream
