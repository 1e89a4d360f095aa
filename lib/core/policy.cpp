#include "core/policy.hpp"

#include "core/upstream_states.hpp"

#include <algorithm>
#include <set>

namespace deployguard {
namespace {

std::string_view strip_ref(std::string_view path) {
  const auto at = path.find('@');
  return at == std::string_view::npos ? path : path.substr(0, at);
}

std::string_view basename(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

/// Seconds, rounded up, for messages.
std::string human(Duration d) {
  const auto secs = std::chrono::ceil<std::chrono::seconds>(d);
  return format_duration(std::chrono::duration_cast<Duration>(secs));
}

bool counts_as_deploy(const WorkflowRun& run) {
  // A run that never ran a step did not touch the environment. A cancelled one may not have
  // either: it counts until its classification says it never started.
  if (run.status == RunStatus::Completed)
    return run.conclusion != RunConclusion::Skipped &&
           run.conclusion != RunConclusion::StartupFailure;
  return run.status == RunStatus::InProgress;
}

bool needs_classification(RunConclusion c) {
  return c == RunConclusion::Failure || c == RunConclusion::TimedOut || c == RunConclusion::Cancelled;
}

constexpr int kEarlierAttemptsClassified = 3;  // per re-run run, the most recent ones

template <typename T>
void push_bounded(std::vector<T>& v, T value, std::size_t max) {
  v.push_back(std::move(value));
  if (v.size() > max) v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() - max));
}

}  // namespace

SourceId postgres_source(std::string_view server_name) {
  return "postgres/" + std::string(server_name);
}

std::string run_key(RunRef run) {
  return "run:" + std::to_string(run.id) + "/" + std::to_string(run.attempt);
}

std::string describe(RunRef run) {
  return "run " + std::to_string(run.id) + " attempt " + std::to_string(run.attempt);
}

std::string_view to_string(Classification c) {
  switch (c) {
    case Classification::ServerBusy: return "server_busy";
    case Classification::NotBusy: return "not_busy";
    case Classification::NeverStarted: return "never_started";
    case Classification::Unknown: return "unknown";
  }
  return "unknown";
}

EnvironmentRules EnvironmentRules::from_config(const EnvironmentConfig& env) {
  EnvironmentRules r;
  r.name = env.name;
  r.github = env.github;
  r.has_container_app = env.container_app.has_value();
  for (const auto& pg : env.postgres_servers) r.postgres_servers.push_back(pg.name);
  r.min_interval = env.min_interval;
  r.cooldown = env.cooldown;
  r.busy_backoff = env.busy_backoff;
  r.max_active_revisions = env.max_active_revisions;
  r.stale_after = env.stale_after;
  r.queue = env.queue;
  for (const auto& w : env.freeze_windows) {
    std::string why;
    std::string key;
    if (auto window = FreezeWindow::make(w, &why, &key))
      r.freeze_windows.push_back(std::move(*window));
    else
      r.invalid_freeze_windows.push_back("freeze window \"" + w.name + "\" is invalid (" +
                                         (key.empty() ? "" : key + ": ") + why + ")");
  }
  return r;
}

std::vector<SourceId> EnvironmentRules::sources() const {
  std::vector<SourceId> out;
  if (github) out.emplace_back(kGitHubSource);
  if (has_container_app) out.emplace_back(kContainerAppSource);
  for (const auto& pg : postgres_servers) out.push_back(postgres_source(pg));
  return out;
}

bool run_matches(const GitHubTarget& target, const WorkflowRun& run) {
  if (!run.repository.empty() && !iequals(run.repository, target.repo)) return false;
  if (target.branch && !run.head_branch.empty() && run.head_branch != *target.branch) return false;
  if (target.workflows.empty()) return true;
  const std::string_view path = strip_ref(run.workflow_path);
  for (const auto& w : target.workflows) {
    if (w == run.workflow_name || w == path || (!path.empty() && w == basename(path))) return true;
  }
  return false;
}

Duration busy_backoff_for(const BusyBackoff& cfg, int consecutive) {
  if (consecutive <= 0) return Duration::zero();
  Duration d = cfg.initial;
  for (int i = 1; i < consecutive && d < cfg.max; ++i) d *= 2;
  return std::min(d, cfg.max);
}

EnvironmentPolicy::EnvironmentPolicy(EnvironmentRules rules) { set_rules(std::move(rules)); }

void EnvironmentPolicy::set_rules(EnvironmentRules rules) {
  rules_ = std::move(rules);
  queue_.set_settings(rules_.queue);
  std::map<SourceId, SourceHealth> kept;
  for (const auto& s : rules_.sources()) {
    auto it = sources_.find(s);
    kept[s] = it == sources_.end() ? SourceHealth{} : it->second;
  }
  sources_ = std::move(kept);
  for (auto it = postgres_.begin(); it != postgres_.end();) {
    if (std::find(rules_.postgres_servers.begin(), rules_.postgres_servers.end(), it->first) ==
        rules_.postgres_servers.end())
      it = postgres_.erase(it);
    else
      ++it;
  }
  if (!rules_.has_container_app) {
    app_.reset();
    revisions_.clear();
  }
  if (rules_.github) {
    std::erase_if(runs_, [&](const WorkflowRun& r) { return !run_matches(*rules_.github, r); });
  } else {
    runs_.clear();
  }
}

void EnvironmentPolicy::apply(const Event& event, TimePoint now) {
  std::visit([&](const auto& e) { on(e, now); }, event);
}

void EnvironmentPolicy::mark_success(const SourceId& source, TimePoint now) {
  auto it = sources_.find(source);
  if (it == sources_.end()) return;  // not configured (any more): ignore
  it->second.last_success = now;
  it->second.last_error.clear();
  it->second.last_error_permanent = false;
}

void EnvironmentPolicy::on(const RunsPolled& e, TimePoint now) {
  if (!rules_.github) return;
  for (const auto& run : e.runs) upsert_run(run, now);
  mark_success(SourceId(kGitHubSource), now);
}

void EnvironmentPolicy::on(const RunObserved& e, TimePoint now) {
  if (!rules_.github) return;
  upsert_run(e.run, now);
}

void EnvironmentPolicy::upsert_run(const WorkflowRun& run, TimePoint now) {
  if (!rules_.github || !run_matches(*rules_.github, run)) return;
  const RunRef ref{run.id, run.run_attempt};
  auto it = std::find_if(runs_.begin(), runs_.end(),
                         [&](const WorkflowRun& r) { return r.id == run.id; });
  // runs_ holds each run's latest attempt. An update of an earlier attempt (a late webhook)
  // still feeds that attempt's deploy record below.
  bool latest = true;
  if (it != runs_.end()) {
    if (run.run_attempt < it->run_attempt) {
      latest = false;
    } else if (run.run_attempt == it->run_attempt) {
      // Never let an older update overwrite a newer one (webhooks arrive out of order).
      if (run.updated_at < it->updated_at) return;
      if (run.updated_at == it->updated_at && it->status == RunStatus::Completed &&
          run.status != RunStatus::Completed)
        return;
    }
    if (latest) *it = run;
  } else {
    runs_.push_back(run);
  }
  if (latest) {
    std::stable_sort(runs_.begin(), runs_.end(), [](const WorkflowRun& a, const WorkflowRun& b) {
      return a.created_at != b.created_at ? a.created_at > b.created_at : a.id > b.id;
    });
    if (runs_.size() > kMaxRuns) runs_.resize(kMaxRuns);
  }

  // Polls list a run again and again: one whose classification found it never started stays
  // no deploy.
  const bool never_started =
      std::find(never_started_.begin(), never_started_.end(), ref) != never_started_.end();
  if (counts_as_deploy(run) && !never_started) {
    DeployRecord record{run_key(ref), run.started_at(), std::nullopt, ref, run.head_sha, run.title,
                        run.html_url};
    if (run.status == RunStatus::Completed) record.ended_at = run.updated_at;
    record_deploy(std::move(record));
  }
  if (run.status == RunStatus::Completed) {
    if (!attempt_conclusions_.contains(ref) && attempt_conclusions_.size() >= kMaxRuns * 4)
      attempt_conclusions_.erase(attempt_conclusions_.begin());
    attempt_conclusions_[ref] = run.conclusion;
    if (run.conclusion == RunConclusion::Success) record_success(run.started_at());
    if (const auto& l = durable_.lease;
        l && l->run_id == run.id && (!l->run_attempt || *l->run_attempt == run.run_attempt))
      end_lease(LeaseEndCause::RunCompleted, now);
    if (latest) queue_changed(queue_.run_ended(run.id, run.run_attempt, now));
  }
}

void EnvironmentPolicy::record_success(TimePoint started) {
  // Only a success that started after the last busy failure shows the server took a deploy.
  auto& busy = durable_.busy;
  if (!busy.last_success_started_at || started > *busy.last_success_started_at)
    busy.last_success_started_at = started;
  if (busy.consecutive_failures > 0 && busy.last_failure_at && started > *busy.last_failure_at)
    busy.consecutive_failures = 0;
}

int EnvironmentPolicy::latest_attempt(std::int64_t run_id) const {
  for (const auto& r : runs_)
    if (r.id == run_id) return r.run_attempt;
  int latest = 1;
  for (const auto& d : durable_.deploys)
    if (d.run && d.run->id == run_id) latest = std::max(latest, d.run->attempt);
  return latest;
}

void EnvironmentPolicy::record_deploy(DeployRecord record) {
  auto& deploys = durable_.deploys;
  auto it = std::find_if(deploys.begin(), deploys.end(),
                         [&](const DeployRecord& d) { return d.key == record.key; });
  if (it != deploys.end()) {
    it->started_at = std::min(it->started_at, record.started_at);
    if (record.ended_at && (!it->ended_at || *record.ended_at > *it->ended_at))
      it->ended_at = record.ended_at;
    if (!it->run) it->run = record.run;
    for (auto [field, value] : {std::pair{&it->sha, &record.sha}, std::pair{&it->title, &record.title},
                                std::pair{&it->url, &record.url}})
      if (!value->empty()) *field = std::move(*value);
  } else {
    deploys.push_back(std::move(record));
  }
  std::stable_sort(deploys.begin(), deploys.end(), [](const DeployRecord& a, const DeployRecord& b) {
    return a.started_at > b.started_at;
  });
  if (deploys.size() > kMaxDeployRecords) deploys.resize(kMaxDeployRecords);
}

void EnvironmentPolicy::on(const ContainerAppPolled& e, TimePoint now) {
  if (!rules_.has_container_app) return;
  app_ = e.app;
  revisions_ = e.revisions;
  mark_success(SourceId(kContainerAppSource), now);
}

void EnvironmentPolicy::on(const PostgresPolled& e, TimePoint now) {
  const auto& servers = rules_.postgres_servers;
  if (std::find(servers.begin(), servers.end(), e.server.name) == servers.end()) return;
  postgres_[e.server.name] = e.server;
  mark_success(postgres_source(e.server.name), now);
}

void EnvironmentPolicy::on(const SourceFailed& e, TimePoint now) {
  auto it = sources_.find(e.source);
  if (it == sources_.end()) return;
  // A permanent error holds until the next success: a transient one after it (the retry timing
  // out) must not reopen the source, and the permanent error stays the one to report.
  if (it->second.last_error_permanent && !e.permanent) return;
  it->second.last_error = e.error;
  it->second.last_error_at = now;
  it->second.last_error_permanent = e.permanent;
}

void EnvironmentPolicy::on(const RunGone& e, TimePoint now) {
  auto it = std::find_if(runs_.begin(), runs_.end(),
                         [&](const WorkflowRun& r) { return r.id == e.run_id; });
  if (it == runs_.end()) return;
  // Deleted (or no longer visible): its deploy, if it was one, ended by now at the latest.
  const RunRef ref{it->id, it->run_attempt};
  for (auto& d : durable_.deploys)
    if (d.key == run_key(ref) && !d.ended_at) d.ended_at = now;
  if (const auto& l = durable_.lease; l && l->run_id == e.run_id) end_lease(LeaseEndCause::RunCompleted, now);
  queue_changed(queue_.run_ended(e.run_id, std::nullopt, now));
  runs_.erase(it);
}

void EnvironmentPolicy::on(const RunClassified& e, TimePoint now) {
  mark_classification_started(e.run);
  switch (e.result) {
    case Classification::NotBusy:
      return;
    case Classification::Unknown:
      push_bounded(unclassified_, Unclassified{e.run, e.detail, now}, kMaxRuns);
      return;
    case Classification::NeverStarted:
      if (std::find(never_started_.begin(), never_started_.end(), e.run) == never_started_.end())
        push_bounded(never_started_, e.run, kMaxRuns * 2);
      std::erase_if(durable_.deploys, [&](const DeployRecord& d) { return d.key == run_key(e.run); });
      return;
    case Classification::ServerBusy:
      break;
  }
  if (!count_busy_run_once(e.run)) return;
  // The failure happened when the attempt ended, not when we finished reading its logs.
  TimePoint at = e.ended_at.value_or(now);
  if (!e.ended_at)
    for (const auto& r : runs_)
      if (r.id == e.run.id && r.run_attempt == e.run.attempt) at = r.updated_at;
  record_busy_failure(at, e.detail.empty() ? describe(e.run) : describe(e.run) + ": " + e.detail);
}

void EnvironmentPolicy::on(const BusyReported& e, TimePoint now) { report_busy(e, now); }

BusyReportResult EnvironmentPolicy::report_busy(const BusyReported& e, TimePoint now) {
  std::string detail = e.detail.empty() ? "reported by a pipeline" : e.detail;
  if (e.run_id) {
    const RunRef ref{*e.run_id, e.run_attempt.value_or(latest_attempt(*e.run_id))};
    if (!count_busy_run_once(ref)) return BusyReportResult::Duplicate;
    detail = describe(ref) + ": " + detail;
  }
  record_busy_failure(now, std::move(detail));
  return BusyReportResult::Counted;
}

bool EnvironmentPolicy::count_busy_run_once(RunRef run) {
  auto& counted = durable_.busy_runs_counted;
  if (std::find(counted.begin(), counted.end(), run) != counted.end()) return false;
  push_bounded(counted, run, kMaxCountedBusyRuns);
  return true;
}

void EnvironmentPolicy::record_busy_failure(TimePoint at, std::string detail) {
  auto& busy = durable_.busy;
  // Learnt late: a successful deploy started after it, so the server has recovered since.
  if (busy.last_success_started_at && at < *busy.last_success_started_at) return;
  ++busy.consecutive_failures;
  if (!busy.last_failure_at || at > *busy.last_failure_at) busy.last_failure_at = at;
  busy.last_detail = std::move(detail);
}

std::vector<ClassificationRequest> EnvironmentPolicy::runs_to_classify() const {
  std::vector<ClassificationRequest> out;
  auto classified = [&](RunRef ref) {
    return std::find(classified_runs_.begin(), classified_runs_.end(), ref) != classified_runs_.end();
  };
  for (const auto& r : runs_) {
    if (r.status == RunStatus::Completed && needs_classification(r.conclusion) &&
        !classified({r.id, r.run_attempt}))
      out.push_back({r, r.run_attempt});
    // Earlier attempts of a re-run: seen to fail, or never seen to end (the re-run came
    // between two polls). Ones seen to succeed or be skipped need no logs.
    for (int a = r.run_attempt - 1; a >= 1 && a >= r.run_attempt - kEarlierAttemptsClassified; --a) {
      const RunRef ref{r.id, a};
      const auto seen = attempt_conclusions_.find(ref);
      if (seen != attempt_conclusions_.end() && !needs_classification(seen->second)) continue;
      if (!classified(ref)) out.push_back({r, a});
    }
  }
  return out;
}

void EnvironmentPolicy::mark_classification_started(RunRef run) {
  if (std::find(classified_runs_.begin(), classified_runs_.end(), run) == classified_runs_.end())
    push_bounded(classified_runs_, run, kMaxRuns * 2);
}

std::vector<std::int64_t> EnvironmentPolicy::active_runs_not_in(
    const std::vector<WorkflowRun>& listed) const {
  std::vector<std::int64_t> out;
  for (const auto& r : runs_) {
    if (!is_active(r.status)) continue;
    if (std::none_of(listed.begin(), listed.end(), [&](const WorkflowRun& l) { return l.id == r.id; }))
      out.push_back(r.id);
  }
  return out;
}

std::map<std::string, int> EnvironmentPolicy::traffic_by_revision() const {
  std::map<std::string, int> out;
  if (app_ && !app_->traffic.empty()) {
    for (const auto& t : app_->traffic) {
      std::string name = t.revision_name;
      if (name.empty() && t.latest_revision) name = app_->latest_revision_name;
      if (name.empty()) name = "(latest)";
      if (t.weight > 0) out[name] += t.weight;
    }
    return out;
  }
  for (const auto& r : revisions_)
    if (r.active && r.traffic_weight > 0) out[r.name] += r.traffic_weight;
  return out;
}

namespace {

/// "run 77 attempt 2" for a run's record, the key for a lease's.
std::string deploy_name(const DeployRecord& rec) { return rec.run ? describe(*rec.run) : rec.key; }

}  // namespace

void EnvironmentPolicy::source_reasons(TimePoint now, Reasons& out) const {
  for (const auto& [source, health] : sources_) {
    if (health.last_error_permanent &&
        (!health.last_success || (health.last_error_at && *health.last_error_at >= *health.last_success))) {
      out.push_back({ReasonCode::SourceError, source + ": " + health.last_error, std::nullopt});
    } else if (!health.last_success) {
      std::string msg = "no successful refresh of " + source + " yet";
      if (!health.last_error.empty()) msg += " (last error: " + health.last_error + ")";
      out.push_back({ReasonCode::Starting, std::move(msg), std::nullopt});
    } else if (now - *health.last_success > rules_.stale_after) {
      std::string msg = source + " data is " + human(now - *health.last_success) +
                        " old (stale_after " + format_duration(rules_.stale_after) + ")";
      if (!health.last_error.empty()) msg += "; last error: " + health.last_error;
      out.push_back({ReasonCode::Stale, std::move(msg), std::nullopt});
    }
  }
}

void EnvironmentPolicy::freeze_reason(TimePoint now, Reasons& out) const {
  if (const auto& f = durable_.freeze; f && (!f->until || now < *f->until))
    out.push_back({ReasonCode::Frozen, "frozen by " + f->by + ": " + f->reason, f->until});
}

std::optional<ActiveFreeze> EnvironmentPolicy::freeze_window_in_force(TimePoint now) const {
  return active_freeze(rules_.freeze_windows, now);
}

std::optional<WindowSpan> EnvironmentPolicy::next_freeze_window(TimePoint now) const {
  return next_window(rules_.freeze_windows, now);
}

void EnvironmentPolicy::freeze_window_reason(TimePoint now, const std::optional<RunRef>& own,
                                             Reasons& out) const {
  for (const auto& invalid : rules_.invalid_freeze_windows)
    out.push_back({ReasonCode::FreezeWindow, invalid, std::nullopt});
  if (rules_.freeze_windows.empty()) return;
  // When the asker's own deploy began: its run attempt's record, or its lease.
  std::optional<TimePoint> own_start;
  if (own) {
    const std::string key = run_key(*own);
    for (const auto& rec : durable_.deploys)
      if (rec.key == key && !rec.ended_at) own_start = rec.started_at;
    if (const auto& l = durable_.lease; l && now < l->expires_at && l->run_id && *l->run_id == own->id &&
                                        (!l->run_attempt || *l->run_attempt == own->attempt))
      own_start = own_start ? std::min(*own_start, l->acquired_at) : l->acquired_at;
  }
  const auto active = active_freeze(rules_.freeze_windows, now, [&](const WindowSpan& span) {
    return own_start && *own_start < span.start;  // it runs to its end
  });
  if (!active) return;
  std::string names;
  for (const auto& span : active->windows) {
    const auto w = std::find_if(rules_.freeze_windows.begin(), rules_.freeze_windows.end(),
                                 [&](const FreezeWindow& fw) { return fw.name() == span.name; });
    names += std::string(names.empty() ? "" : ", ") + "\"" + span.name + "\" (" +
             (w != rules_.freeze_windows.end() ? w->describe() : std::string("?")) + ")";
  }
  out.push_back({ReasonCode::FreezeWindow,
                 std::string(active->windows.size() == 1 ? "freeze window " : "freeze windows ") + names +
                     " in force until " + format_timestamp(active->until) + "; new deploys wait",
                 active->until});
}

void EnvironmentPolicy::lease_reason(TimePoint now, const std::optional<RunRef>& own, Reasons& out) const {
  const auto& l = durable_.lease;
  if (!l || now >= l->expires_at) return;
  const bool own_lease = own && l->run_id && *l->run_id == own->id &&
                         (!l->run_attempt || *l->run_attempt == own->attempt);
  if (!own_lease)
    out.push_back({ReasonCode::Leased, "deploy lease " + l->id + " held by " + l->holder, l->expires_at});
}

namespace {
bool ticket_of(const Ticket& t, const RunRef& run) {
  return t.run_id == run.id && (!t.run_attempt || *t.run_attempt == run.attempt);
}
}  // namespace

void EnvironmentPolicy::queued_reason(const std::optional<RunRef>& own, std::string_view own_ticket,
                                      Reasons& out) const {
  // Everyone in the line blocks a newcomer; a run with a ticket is blocked by those ahead of it.
  std::size_t ahead = 0;
  const Ticket* next = nullptr;
  for (const Ticket* t : queue_.waiting()) {
    if ((own && ticket_of(*t, *own)) || (!own_ticket.empty() && t->id == own_ticket)) break;
    ++ahead;
    if (!next) next = t;
  }
  if (ahead == 0) return;
  out.push_back({ReasonCode::Queued,
                 std::to_string(ahead) + (ahead == 1 ? " pipeline waits" : " pipelines wait") +
                     " in the deploy queue; next: " + next->holder +
                     (next->run_id ? " (run " + std::to_string(*next->run_id) + ")" : ""),
                 std::nullopt});
}

void EnvironmentPolicy::in_progress_reasons(const std::optional<RunRef>& own, Reasons& out) const {
  for (const auto& r : runs_) {
    if (!is_active(r.status) || (own && r.id == own->id && r.run_attempt == own->attempt)) continue;
    out.push_back({ReasonCode::DeployInProgress,
                   "run " + std::to_string(r.id) + (r.run_attempt > 1 ? " attempt " + std::to_string(r.run_attempt) : "") +
                       " (" + (r.workflow_name.empty() ? r.workflow_path : r.workflow_name) + ") is " +
                       (r.status_text.empty() ? std::string(to_string(r.status)) : r.status_text) +
                       (r.html_url.empty() ? "" : " " + r.html_url),
                   std::nullopt});
  }
}

void EnvironmentPolicy::cooldown_reason(TimePoint now, const std::optional<RunRef>& own,
                                        const SkipSet& skip, Reasons& out) const {
  const std::string own_key = own ? run_key(*own) : std::string();
  const DeployRecord* last_start = nullptr;
  const DeployRecord* last_end = nullptr;
  for (const auto& rec : durable_.deploys) {
    if (!own_key.empty() && rec.key == own_key) continue;
    if (!last_start || rec.started_at > last_start->started_at) last_start = &rec;
    if (rec.ended_at && (!last_end || *rec.ended_at > *last_end->ended_at)) last_end = &rec;
  }
  std::optional<TimePoint> until;
  std::string msg;
  if (last_start && !skip.min_interval && now < last_start->started_at + rules_.min_interval) {
    until = last_start->started_at + rules_.min_interval;
    msg = "last deploy (" + deploy_name(*last_start) + ") started at " +
          format_timestamp(last_start->started_at) + "; min_interval " +
          format_duration(rules_.min_interval) + " between starts";
  }
  if (last_end && !skip.cooldown && now < *last_end->ended_at + rules_.cooldown &&
      (!until || *last_end->ended_at + rules_.cooldown > *until)) {
    until = *last_end->ended_at + rules_.cooldown;
    msg = "last deploy (" + deploy_name(*last_end) + ") ended at " + format_timestamp(*last_end->ended_at) +
          "; cooldown " + format_duration(rules_.cooldown) + " after a deploy ends";
  }
  if (until) out.push_back({ReasonCode::Cooldown, msg + "; wait " + human(*until - now), until});
}

void EnvironmentPolicy::busy_backoff_reason(TimePoint now, Reasons& out) const {
  const auto& b = durable_.busy;
  if (b.consecutive_failures <= 0 || !b.last_failure_at) return;
  const Duration backoff = busy_backoff_for(rules_.busy_backoff, b.consecutive_failures);
  const TimePoint until = *b.last_failure_at + backoff;
  if (now < until)
    out.push_back({ReasonCode::BusyBackoff,
                   std::to_string(b.consecutive_failures) + " consecutive ServerIsBusy failure(s), last at " +
                       format_timestamp(*b.last_failure_at) + " (" + b.last_detail + "); backing off " +
                       format_duration(backoff),
                   until});
}

void EnvironmentPolicy::judge(StateField field, std::string_view value, const std::string& subject,
                              Reasons& out) {
  const StateVerdict v = judge_state(field, value);
  if (!v.blocks) return;
  out.push_back({*v.blocks,
                 subject + " " + std::string(to_string(field)) + " is " +
                     (value.empty() ? std::string("absent") : std::string(value)) + " (" + std::string(v.why) + ")",
                 std::nullopt});
}

void EnvironmentPolicy::postgres_reasons(Reasons& out) const {
  for (const auto& [name, pg] : postgres_) {
    judge(StateField::PostgresState, pg.state, "PostgreSQL server " + name + ":", out);
    judge(StateField::PostgresHighAvailability, pg.ha_state, "PostgreSQL server " + name + ":", out);
  }
}

void EnvironmentPolicy::app_reasons(Reasons& out) const {
  if (!app_) return;
  const std::string subject = "container app " + app_->name + ":";
  judge(StateField::AppProvisioning, app_->provisioning_state, subject, out);
  judge(StateField::AppRunning, app_->running_status, subject, out);
  // A new revision rolls out until it is the latest ready one, unless it failed (then
  // latestReadyRevisionName stays on the old one for good).
  if (app_->latest_revision_name.empty() || app_->latest_ready_revision_name.empty() ||
      app_->latest_revision_name == app_->latest_ready_revision_name)
    return;
  const auto latest = std::find_if(revisions_.begin(), revisions_.end(), [&](const RevisionSnapshot& r) {
    return r.name == app_->latest_revision_name;
  });
  const bool failed = latest != revisions_.end() &&
                      (iequals(latest->provisioning_state, "Failed") || iequals(latest->running_state, "Failed"));
  if (!failed)
    out.push_back({ReasonCode::AppBusy,
                   subject + " latest revision " + app_->latest_revision_name + " is not ready yet (latest ready " +
                       app_->latest_ready_revision_name + ")",
                   std::nullopt});
}

void EnvironmentPolicy::revision_reasons(Reasons& out) const {
  for (const auto& r : revisions_) {
    const std::string subject = "revision " + r.name + ":";
    judge(StateField::RevisionProvisioning, r.provisioning_state, subject, out);
    if (!r.active) continue;  // an inactive revision's running and health state serve nobody
    judge(StateField::RevisionRunning, r.running_state, subject, out);
    judge(StateField::RevisionHealth, r.health_state, subject, out);
  }
}

void EnvironmentPolicy::traffic_split_reason(Reasons& out) const {
  const auto traffic = traffic_by_revision();
  if (traffic.size() <= 1) return;
  std::string msg = "traffic is split across " + std::to_string(traffic.size()) + " revisions:";
  for (const auto& [name, weight] : traffic) msg += " " + name + "=" + std::to_string(weight) + "%";
  out.push_back({ReasonCode::TrafficSplit, std::move(msg), std::nullopt});
}

void EnvironmentPolicy::active_revisions_reason(Reasons& out) const {
  std::vector<std::string> active;
  for (const auto& r : revisions_)
    if (r.active) active.push_back(r.name);
  if (static_cast<int>(active.size()) <= rules_.max_active_revisions) return;
  std::string msg = std::to_string(active.size()) + " active revisions (max " +
                    std::to_string(rules_.max_active_revisions) + "):";
  for (const auto& n : active) msg += " " + n;
  out.push_back({ReasonCode::MultipleActiveRevisions, std::move(msg), std::nullopt});
}

Decision EnvironmentPolicy::decide(TimePoint now, std::optional<AsRun> as_run) const {
  const std::optional<RunRef> own =
      as_run ? std::optional<RunRef>(RunRef{as_run->id, as_run->attempt.value_or(latest_attempt(as_run->id))})
             : std::nullopt;
  return evaluate(now, own, true);
}

std::optional<Decision> EnvironmentPolicy::decide_for_ticket(TimePoint now,
                                                            std::string_view ticket_id) const {
  const Ticket* t = queue_.find(ticket_id);
  if (!t || t->granted()) return std::nullopt;
  const std::optional<RunRef> own =
      t->run_id ? std::optional<RunRef>(RunRef{*t->run_id, t->run_attempt.value_or(latest_attempt(*t->run_id))})
                : std::nullopt;
  return evaluate(now, own, true, ticket_id);
}

Decision EnvironmentPolicy::evaluate(TimePoint now, const std::optional<RunRef>& own,
                                     bool with_queue, std::string_view own_ticket,
                                     const SkipSet& skip) const {
  Decision d;
  d.evaluated_at = now;
  source_reasons(now, d.reasons);
  if (!skip.frozen) freeze_reason(now, d.reasons);
  if (!skip.freeze_window) freeze_window_reason(now, own, d.reasons);
  lease_reason(now, own, d.reasons);
  if (with_queue) queued_reason(own, own_ticket, d.reasons);
  in_progress_reasons(own, d.reasons);
  cooldown_reason(now, own, skip, d.reasons);
  busy_backoff_reason(now, d.reasons);
  postgres_reasons(d.reasons);
  app_reasons(d.reasons);
  revision_reasons(d.reasons);
  traffic_split_reason(d.reasons);
  active_revisions_reason(d.reasons);

  std::stable_sort(d.reasons.begin(), d.reasons.end(),
                   [](const Reason& a, const Reason& b) { return a.code < b.code; });
  d.safe = d.reasons.empty();
  if (!d.safe) {
    std::optional<TimePoint> latest;
    bool all_known = true;
    for (const auto& r : d.reasons) {
      if (!r.until) {
        all_known = false;
        break;
      }
      if (!latest || *r.until > *latest) latest = r.until;
    }
    if (all_known && latest) d.retry_after = *latest - now;
  }
  return d;
}

std::variant<Lease, Decision> EnvironmentPolicy::acquire_lease(const LeaseRequest& request,
                                                               TimePoint now) {
  expire(now);
  Decision d = decide(now, request.run_id ? std::optional<AsRun>(AsRun{*request.run_id, request.run_attempt})
                                         : std::nullopt);
  if (!d.safe) {
    const std::optional<RunRef> own =
        request.run_id ? std::optional<RunRef>(RunRef{*request.run_id, request.run_attempt.value_or(latest_attempt(*request.run_id))})
                       : std::nullopt;
    if (!use_override(d, now, own, true, request.id)) return d;
  }
  Lease lease{request.id, request.holder, request.run_id, now, now + request.ttl,
              request.run_id ? std::optional<int>(request.run_attempt.value_or(latest_attempt(*request.run_id)))
                             : std::nullopt};
  durable_.lease = lease;
  // The head of the queue taking its lease directly: its ticket is served by it.
  if (const Ticket* head = queue_.head(); head && lease.run_id && ticket_of(*head, RunRef{*lease.run_id, *lease.run_attempt})) {
    queue_.grant_head(lease.id);
    queue_changed({});
  }
  return lease;
}

bool EnvironmentPolicy::release_lease(std::string_view lease_id, TimePoint now) {
  expire(now);
  if (!durable_.lease || durable_.lease->id != lease_id) return false;
  end_lease(LeaseEndCause::Released, now);
  return true;
}

void EnvironmentPolicy::end_lease(LeaseEndCause cause, TimePoint now) {
  if (!durable_.lease) return;
  const Lease& l = *durable_.lease;
  // The leased deploy feeds the cooldown as a run would: it started when the lease was granted
  // and ended when the lease did (at its TTL if it expired).
  const TimePoint ended = cause == LeaseEndCause::Expired ? std::min(now, l.expires_at) : now;
  DeployRecord record{"lease:" + l.id, l.acquired_at, ended, std::nullopt, "", "", ""};
  if (l.run_id) {
    record.run = RunRef{*l.run_id, l.run_attempt.value_or(1)};
    record.key = run_key(*record.run);
  }
  record_deploy(std::move(record));
  const std::string ended_id = l.id;
  durable_.lease.reset();
  if (auto ticket = queue_.lease_ended(ended_id, now)) queue_changed({std::move(*ticket)});
}

void EnvironmentPolicy::set_freeze(Freeze freeze) { durable_.freeze = std::move(freeze); }

bool EnvironmentPolicy::clear_freeze() {
  const bool had = durable_.freeze.has_value();
  durable_.freeze.reset();
  return had;
}

bool EnvironmentPolicy::expire(TimePoint now) {
  bool changed = false;
  if (durable_.lease && now >= durable_.lease->expires_at) {
    end_lease(LeaseEndCause::Expired, now);
    changed = true;
  }
  if (durable_.freeze && durable_.freeze->until && now >= *durable_.freeze->until) {
    durable_.freeze.reset();
    changed = true;
  }
  if (auto expired = queue_.expire(now); !expired.empty()) {
    queue_changed(std::move(expired));
    changed = true;
  }
  if (durable_.pending_override && now >= durable_.pending_override->expires_at) {
    push_bounded(override_ends_, OverrideEnd{OverrideEnd::Why::Expired, *durable_.pending_override, now, {}, {}},
                 kMaxRuns);
    durable_.pending_override.reset();
    changed = true;
  }
  return changed;
}

void EnvironmentPolicy::set_override(Override o, TimePoint now) {
  expire(now);
  if (durable_.pending_override)
    push_bounded(override_ends_, OverrideEnd{OverrideEnd::Why::Replaced, *durable_.pending_override, now, {}, {}},
                 kMaxRuns);
  durable_.pending_override = std::move(o);
}

bool EnvironmentPolicy::use_override(const Decision& d, TimePoint now, const std::optional<RunRef>& own,
                                     bool with_queue, const std::string& lease_id) {
  const auto& o = durable_.pending_override;
  if (!o || now >= o->expires_at) return false;
  const Decision without = evaluate(now, own, with_queue, {}, o->skip_set());
  if (!without.safe) return false;
  OverrideEnd used{OverrideEnd::Why::Used, *o, now, lease_id, {}};
  for (const auto& r : d.reasons) {
    const std::string code(to_string(r.code));
    if (std::find(used.skipped.begin(), used.skipped.end(), code) == used.skipped.end())
      used.skipped.push_back(code);
  }
  push_bounded(override_ends_, std::move(used), kMaxRuns);
  durable_.pending_override.reset();
  return true;
}

std::optional<TimePoint> EnvironmentPolicy::next_deadline(TimePoint now) const {
  std::optional<TimePoint> next;
  auto consider = [&](TimePoint t) {
    if (t > now && (!next || t < *next)) next = t;
  };
  for (const auto& r : decide(now).reasons)
    if (r.until) consider(*r.until);
  if (durable_.lease) consider(durable_.lease->expires_at);
  if (durable_.freeze && durable_.freeze->until) consider(*durable_.freeze->until);
  if (durable_.pending_override) consider(durable_.pending_override->expires_at);
  if (const auto window = next_freeze_window(now)) consider(window->start);
  if (const auto expiry = queue_.next_expiry(now)) consider(*expiry);
  for (const auto& [source, health] : sources_)
    if (health.last_success) consider(*health.last_success + rules_.stale_after + Duration{1});
  return next;
}

void EnvironmentPolicy::restore(DurableEnvironmentState state) {
  durable_ = std::move(state);
  queue_.restore(durable_.queue);
}

void EnvironmentPolicy::queue_changed(std::vector<EndedTicket> ended) {
  for (auto& e : ended) push_bounded(ended_tickets_, std::move(e), rules_.queue.max_length + kMaxRuns);
  durable_.queue = queue_.tickets();
}

DeployQueue::JoinResult EnvironmentPolicy::join_queue(Ticket ticket, TimePoint now) {
  expire(now);
  std::vector<EndedTicket> superseded;
  const auto result = queue_.join(std::move(ticket), now, &superseded);
  queue_changed(std::move(superseded));
  return result;
}

bool EnvironmentPolicy::touch_ticket(std::string_view id, TimePoint now) { return queue_.touch(id, now); }

std::optional<EndedTicket> EnvironmentPolicy::leave_queue(std::string_view id, TimePoint now) {
  const Ticket* t = queue_.find(id);
  if (!t) return std::nullopt;
  // Leaving with the lease granted gives it back (the deploy is over or abandoned).
  if (t->granted() && durable_.lease && durable_.lease->id == t->lease_id) {
    const std::string lease_id = t->lease_id;
    auto left = *t;
    end_lease(LeaseEndCause::Released, now);  // forgets the ticket (lease_ended)
    std::erase_if(ended_tickets_, [&](const EndedTicket& e) {
      return e.why == TicketEnd::LeaseEnded && e.ticket.lease_id == lease_id;
    });
    return EndedTicket{std::move(left), TicketEnd::Left, now};
  }
  auto left = queue_.leave(id, now);
  queue_changed({});
  return left;
}

std::optional<Lease> EnvironmentPolicy::serve_queue(TimePoint now, const std::string& lease_id) {
  expire(now);
  const Ticket* head = queue_.head();
  if (!head || durable_.lease) return std::nullopt;
  const std::optional<RunRef> own =
      head->run_id ? std::optional<RunRef>(RunRef{*head->run_id, head->run_attempt.value_or(latest_attempt(*head->run_id))})
                   : std::nullopt;
  if (const Decision d = evaluate(now, own, false); !d.safe && !use_override(d, now, own, false, lease_id))
    return std::nullopt;
  Lease lease{lease_id, head->holder, head->run_id, now, now + head->lease_ttl,
              head->run_id ? std::optional<int>(own->attempt) : std::nullopt};
  durable_.lease = lease;
  queue_.grant_head(lease_id);
  queue_changed({});
  return lease;
}

}  // namespace deployguard
