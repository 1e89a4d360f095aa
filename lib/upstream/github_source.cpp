#include "upstream/github_source.hpp"

#include <algorithm>
#include <utility>

#include "upstream/log.hpp"

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
  std::vector<WorkflowRun> runs;
};

struct GitHubSource::Classification {
  std::int64_t run_id = 0;
  std::vector<parse::WorkflowJob> failed_jobs;
  std::vector<std::string> notes;  // per-job remarks for the detail text
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
              if (next && page < options_.max_workflow_pages)
                return resolve(run, std::move(*next), page + 1);
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
  upstream_logger()->info("github workflows resolved env={} repo={} count={}", env_, target_.repo,
                 cache_.workflow_ids.size());
  fetch_runs(run, 0);
}

void GitHubSource::fetch_runs(std::shared_ptr<PollRun> run, std::size_t index) {
  if (index >= cache_.workflow_ids.size()) {
    sink_.apply(env_, RunsPolled{std::move(run->runs)});
    start_classifications();
    PollStatus ok = PollStatus::success();
    ok.wait = api_->gate_wait();
    return finish(run, std::move(ok));
  }
  std::string url = api_->url(repo_path() + "/actions/workflows/" +
                              std::to_string(cache_.workflow_ids[index]) +
                              "/runs?per_page=" + std::to_string(options_.runs_per_page));
  if (target_.branch) url += "&branch=" + encode_query_value(*target_.branch);
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
                upstream_logger()->warn("github runs skipped env={} count={} first_error=\"{}\"", env_,
                               page->item_errors.size(), page->item_errors.front().to_string());
              auto etag = res.header("etag");
              GitHubPollCache::Runs entry{etag ? std::string(*etag) : std::string(), page->runs};
              run->runs.insert(run->runs.end(), page->runs.begin(), page->runs.end());
              cache_.runs_by_url[url] = std::move(entry);
              fetch_runs(run, index + 1);
            });
}

// ---- classification -------------------------------------------------------------------------

void GitHubSource::start_classifications() {
  if (busy_patterns_.empty()) {
    // Matching disabled: still answer, so the policy does not list the runs forever.
    for (const auto& run : sink_.runs_to_classify(env_)) {
      sink_.mark_classification_started(env_, run.id);
      sink_.apply(env_, RunClassified{run.id, false, "busy_patterns is empty"});
    }
    return;
  }
  const auto capacity = [&] {
    return classifying_.size() < options_.max_concurrent_classifications;
  };
  // Earlier attempts that failed first, then new runs. Runs left over when the capacity is
  // reached are not marked started, so the sink lists them again after the next poll.
  for (const auto& [run_id, attempts] : retry_) {
    if (!capacity()) return;
    if (!classifying_.contains(run_id)) classify(run_id);
  }
  for (const auto& run : sink_.runs_to_classify(env_)) {
    if (!capacity()) return;
    if (classifying_.contains(run.id) || retry_.contains(run.id)) continue;
    sink_.mark_classification_started(env_, run.id);
    classify(run.id);
  }
}

void GitHubSource::classify(std::int64_t run_id) {
  classifying_.insert(run_id);
  auto c = std::make_shared<Classification>();
  c->run_id = run_id;
  api_->get(repo_path() + "/actions/runs/" + std::to_string(run_id) + "/jobs?per_page=100", {},
            stats_, [this, alive = guard_.watch(), c](GitHubApiResult r) {
              if (alive.expired()) return;
              if (!r.status.ok) return classification_done(c->run_id, r.status, false, "");
              auto jobs = parse::parse_jobs_list(r.response->body);
              if (!jobs)
                return classification_done(
                    c->run_id, PollStatus::failure("GitHub jobs list: " + jobs.error_text()), false,
                    "");
              for (auto& job : jobs->jobs) {
                if (job.conclusion != RunConclusion::Failure &&
                    job.conclusion != RunConclusion::TimedOut)
                  continue;
                if (c->failed_jobs.size() >= options_.max_failed_jobs) break;
                c->failed_jobs.push_back(std::move(job));
              }
              if (c->failed_jobs.empty())
                return classification_done(c->run_id, std::nullopt, false, "no failed jobs");
              fetch_log(c, 0);
            });
}

void GitHubSource::fetch_log(std::shared_ptr<Classification> c, std::size_t index) {
  if (index >= c->failed_jobs.size()) {
    std::string detail = "no busy pattern in " + std::to_string(c->failed_jobs.size()) +
                         " failed job log(s)";
    for (const auto& n : c->notes) detail += "; " + n;
    return classification_done(c->run_id, std::nullopt, false, std::move(detail));
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
                return classification_done(c->run_id, r.status, false, "");
              }
              const auto match = find_busy_pattern(r.response->body, busy_patterns_);
              if (match.busy)
                return classification_done(c->run_id, std::nullopt, true,
                                           "job '" + failed.name + "' log contains '" +
                                               match.pattern + "'");
              fetch_log(c, index + 1);
            },
            max_log_bytes_);
}

void GitHubSource::classification_done(std::int64_t run_id, std::optional<PollStatus> failure,
                                       bool busy, std::string detail) {
  classifying_.erase(run_id);
  if (failure) {
    int& counted = retry_[run_id];
    if (failure->kind != FailureKind::rate_limited) ++counted;
    const int attempts = counted;  // a copy: the map entry is erased below
    upstream_logger()->warn("github classification failed env={} run_id={} attempt={} error=\"{}\"", env_,
                   run_id, attempts, failure->error);
    if (attempts < options_.max_classification_attempts) return;  // retried after a later poll
    retry_.erase(run_id);
    sink_.apply(env_, RunClassified{run_id, false,
                                    "logs not inspected after " + std::to_string(attempts) +
                                        " attempts: " + failure->error});
    return;
  }
  retry_.erase(run_id);
  upstream_logger()->info("github run classified env={} run_id={} server_busy={} detail=\"{}\"", env_,
                 run_id, busy, detail);
  sink_.apply(env_, RunClassified{run_id, busy, std::move(detail)});
}

}  // namespace deployguard::upstream
