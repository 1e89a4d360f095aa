#include "service/guard_service.hpp"

#include <algorithm>
#include <string>

#include "log/escape.hpp"
#include "log/log.hpp"

namespace deployguard::service {

namespace {

std::string reason_codes(const Decision& decision) {
  if (decision.reasons.empty()) return "none";
  // Reasons come grouped by code; each code is listed once ("starting" for three sources).
  std::string out;
  std::string_view previous;
  for (const auto& reason : decision.reasons) {
    const auto code = to_string(reason.code);
    if (code == previous) continue;
    if (!out.empty()) out += ',';
    out += code;
    previous = code;
  }
  return out;
}

}  // namespace

GuardService::GuardService(boost::asio::any_io_executor executor, const Clock& clock,
                           const std::map<std::string, EnvironmentConfig>& environments)
    : clock_(clock), configs_(environments), timer_(executor), log_(logging::subsystem_logger("guard")) {
  for (const auto& [name, config] : environments) {
    policies_.emplace(name, EnvironmentPolicy{EnvironmentRules::from_config(config)});
    entries_.emplace(name, Entry{});
  }
}

void GuardService::start() {
  running_ = true;
  const auto now = clock_.now();
  for (auto& [name, policy] : policies_) after_change(name, policy, now, Notify::Never);
  arm_timer();
}

void GuardService::stop() {
  running_ = false;
  timer_.cancel();
  timer_pending_ = false;
  armed_deadline_.reset();
}

const EnvironmentPolicy* GuardService::find(std::string_view environment) const {
  auto it = policies_.find(environment);
  return it == policies_.end() ? nullptr : &it->second;
}

std::optional<Decision> GuardService::decide(std::string_view environment,
                                             std::optional<AsRun> as_run) const {
  const auto* policy = find(environment);
  if (!policy) return std::nullopt;
  return policy->decide(clock_.now(), as_run);
}

bool GuardService::touch_ticket(std::string_view environment, std::string_view ticket) {
  auto it = policies_.find(environment);
  return it != policies_.end() && it->second.touch_ticket(ticket, clock_.now());
}

bool GuardService::apply(std::string_view environment, const Event& event) {
  return modify(environment,
                [&event](EnvironmentPolicy& policy, TimePoint now) { policy.apply(event, now); });
}

bool GuardService::modify(std::string_view environment, const Mutation& mutate) {
  auto it = policies_.find(environment);
  if (it == policies_.end()) return false;
  const auto now = clock_.now();
  mutate(it->second, now);
  after_change(it->first, it->second, now, Notify::Always);
  arm_timer();
  return true;
}

TransactResult GuardService::transact(std::string_view environment, const Mutation& mutate,
                                      const std::function<bool()>& commit) {
  auto it = policies_.find(environment);
  if (it == policies_.end()) return TransactResult::UnknownEnvironment;
  const auto now = clock_.now();
  DurableEnvironmentState before = it->second.durable();
  mutate(it->second, now);
  if (commit && !commit()) {
    it->second.restore(std::move(before));
    it->second.take_ended_tickets();  // ended by the mutation that did not happen
    it->second.take_override_ends();
    return TransactResult::CommitFailed;
  }
  after_change(it->first, it->second, now, Notify::Always);
  arm_timer();
  return TransactResult::Committed;
}

std::vector<MissingSource> GuardService::missing_sources() const {
  std::vector<MissingSource> missing;
  for (const auto& [name, policy] : policies_) {
    const auto& health = policy.sources();
    for (const auto& source : policy.rules().sources()) {
      auto it = health.find(source);
      if (it == health.end() || !it->second.last_success) missing.push_back({name, source});
    }
  }
  return missing;
}

void GuardService::add_listener(Listener listener) { listeners_.push_back(std::move(listener)); }

void GuardService::serve_queues(IdSource new_lease_id, std::function<bool()> commit) {
  new_lease_id_ = std::move(new_lease_id);
  grant_commit_ = std::move(commit);
}

std::optional<Ticket> GuardService::serve_queue(const std::string& environment,
                                                EnvironmentPolicy& policy, TimePoint now) {
  if (!running_ || !new_lease_id_ || policy.lease() || policy.queue().waiting_count() == 0)
    return std::nullopt;
  policy.expire(now);  // what expires now is real (and persisted by the caller's save)
  const Ticket* head = policy.queue().head();
  if (!head) return std::nullopt;
  const std::string ticket_id = head->id;
  DurableEnvironmentState before = policy.durable();
  const auto id = new_lease_id_();
  if (!id) {
    log_->error("event=queue_grant_failed env={} ticket={} error=\"no randomness for a lease id\"",
                environment, ticket_id);
    return std::nullopt;
  }
  const auto lease = policy.serve_queue(now, *id);
  if (!lease) return std::nullopt;
  if (grant_commit_ && !grant_commit_()) {
    // Not on disk: nobody may hear of it. The head stays first and is served at the next change.
    policy.restore(std::move(before));
    policy.forget_override_use(*id);
    log_->error("event=queue_grant_failed env={} ticket={} error=\"state write failed\"",
                environment, ticket_id);
    return std::nullopt;
  }
  const Ticket* granted = policy.queue().find(ticket_id);
  log_->info("event=queue_granted env={} ticket={} holder=\"{}\" lease={}", environment, ticket_id,
             logging::escape(lease->holder), lease->id);
  return granted ? std::optional<Ticket>(*granted) : std::nullopt;
}

ReconfigureSummary GuardService::reconfigure(
    const std::map<std::string, EnvironmentConfig>& environments) {
  ReconfigureSummary summary;
  for (auto it = policies_.begin(); it != policies_.end();) {
    if (environments.count(it->first)) {
      ++it;
      continue;
    }
    summary.removed.push_back(it->first);
    entries_.erase(it->first);
    configs_.erase(it->first);
    it = policies_.erase(it);
  }
  const auto now = clock_.now();
  for (const auto& [name, config] : environments) {
    auto rules = EnvironmentRules::from_config(config);
    auto it = policies_.find(name);
    auto old = configs_.find(name);
    if (it == policies_.end()) {
      summary.added.push_back(name);
      it = policies_.emplace(name, EnvironmentPolicy{std::move(rules)}).first;
      entries_.emplace(name, Entry{});
    } else if (old != configs_.end() && old->second == config) {
      ++summary.unchanged;
      continue;
    } else if (old != configs_.end() && same_sources(old->second, config)) {
      summary.rules_changed.push_back(name);
      it->second.set_rules(std::move(rules));
    } else {
      summary.sources_changed.push_back(name);
      EnvironmentPolicy fresh{std::move(rules)};
      fresh.restore(it->second.durable());
      it->second = std::move(fresh);
    }
    after_change(name, it->second, now, Notify::Always);
  }
  configs_ = environments;
  arm_timer();
  return summary;
}

void GuardService::run_due_deadlines() {
  const auto now = clock_.now();
  for (auto& [name, policy] : policies_) {
    const bool expired = policy.expire(now);
    after_change(name, policy, now, expired ? Notify::Always : Notify::IfVerdictChanged);
  }
  arm_timer();
}

void GuardService::after_change(const std::string& environment, EnvironmentPolicy& policy,
                                TimePoint now, Notify notify) {
  auto& entry = entries_.at(environment);
  QueueChange queue;
  queue.granted = serve_queue(environment, policy, now);
  queue.ended = policy.take_ended_tickets();
  const std::vector<OverrideEnd> overrides = policy.take_override_ends();
  if (!queue.empty() || !overrides.empty()) notify = Notify::Always;
  const Decision decision = policy.decide(now);
  const bool verdict_changed = !entry.last || !entry.last->same_verdict(decision);
  if (verdict_changed) {
    log_->info("event=decision env={} safe={} reasons={}{}", environment, decision.safe,
               reason_codes(decision),
               decision.retry_after
                   ? " retry_after=" + format_duration(*decision.retry_after)
                   : std::string{});
  }
  entry.last = decision;
  entry.deadline = policy.next_deadline(now);
  if (notify == Notify::Never || (notify == Notify::IfVerdictChanged && !verdict_changed)) return;
  const StateChange change{environment, decision, verdict_changed, queue, overrides};
  for (const auto& listener : listeners_) listener(change);
}

void GuardService::arm_timer() {
  if (!running_) return;
  const auto now = clock_.now();
  std::optional<TimePoint> earliest;
  for (auto& [name, entry] : entries_) {
    if (entry.deadline && *entry.deadline <= now) {  // passed, not yet handled: ask again
      if (const auto* policy = find(name)) entry.deadline = policy->next_deadline(now);
    }
    if (entry.deadline && (!earliest || *entry.deadline < *earliest)) earliest = entry.deadline;
  }
  // Most changes (a poll that found nothing new) leave the earliest deadline where it was:
  // keep the armed timer instead of cancelling and re-queuing it.
  if (timer_pending_ && earliest == armed_deadline_) return;
  armed_deadline_ = earliest;
  timer_.cancel();
  timer_pending_ = false;
  if (!earliest) return;
  // A deadline not after `now` would make the timer spin; next_deadline promises a future
  // instant, so treat that as a policy slip and look again a second later.
  const Duration wait =
      *earliest > now ? std::min<Duration>(*earliest - now, kMaxTimerWait) : std::chrono::seconds{1};
  timer_.expires_after(wait);
  timer_pending_ = true;
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // cancelled: re-armed or stopped
    timer_pending_ = false;
    run_due_deadlines();
  });
}

}  // namespace deployguard::service
