#include "service/persistence.hpp"

#include <utility>

#include "log/log.hpp"
#include "state/state_json.hpp"

namespace deployguard::service {
namespace {

nlohmann::json verdict_json(const Decision& decision) {
  nlohmann::json codes = nlohmann::json::array();
  for (const auto& reason : decision.reasons) {
    const auto code = std::string(to_string(reason.code));
    if (codes.empty() || codes.back() != code) codes.push_back(code);
  }
  return nlohmann::json{{"safe", decision.safe}, {"reasons", std::move(codes)}};
}

}  // namespace

nlohmann::json ticket_audit_json(const Ticket& ticket) {
  nlohmann::json out{{"ticket", ticket.id}, {"holder", ticket.holder}};
  if (ticket.run_id) out["run_id"] = *ticket.run_id;
  if (ticket.run_attempt) out["run_attempt"] = *ticket.run_attempt;
  if (!ticket.ref.empty()) out["ref"] = ticket.ref;
  if (!ticket.sha.empty()) out["sha"] = ticket.sha;
  out["joined_at"] = format_timestamp(ticket.joined_at);
  return out;
}

Persistence::Persistence(boost::asio::any_io_executor executor, GuardService& service,
                         PersistenceOptions options)
    : service_(service),
      options_(std::move(options)),
      audit_path_(options_.audit_log_path.empty()
                      ? state::AuditLog::default_path(options_.state_path)
                      : options_.audit_log_path),
      debounce_(std::move(executor)),
      log_(logging::subsystem_logger("state")) {}

void Persistence::restore(bool move_corrupt) {
  auto loaded = state::load_state(options_.state_path);
  if (loaded.failure == state::LoadFailure::Corrupt && move_corrupt) {
    auto moved = state::move_aside(options_.state_path, service_.now());
    if (!moved.ok()) throw StateLoadError(moved.error);
    log_->warn("event=state_moved_aside path={} moved_to={} error=\"{}\"", options_.state_path,
               moved.new_path, loaded.error);
    loaded = state::LoadResult{};
  } else if (!loaded.ok()) {
    throw StateLoadError(loaded.error + (loaded.failure == state::LoadFailure::Corrupt
                                             ? " (start with --move-corrupt-state to move it "
                                               "aside and start with empty state)"
                                             : ""));
  }

  const std::size_t deliveries = loaded.webhook_deliveries.size();
  if (restore_deliveries_) restore_deliveries_(std::move(loaded.webhook_deliveries));
  else loaded_deliveries_ = std::move(loaded.webhook_deliveries);
  std::size_t restored = 0;
  for (auto& [name, durable] : loaded.states) {
    if (!service_.find(name)) {
      log_->warn("event=state_dropped env={} reason=not_configured path={}", name,
                 options_.state_path);
      continue;
    }
    saved_[name] = durable;
    // Leases and freezes that ran out while the daemon was down end now (their cooldown record
    // is kept); start() then writes the file because it differs from what was loaded.
    service_.modify(name, [state = std::move(durable)](EnvironmentPolicy& policy, TimePoint now) {
      policy.restore(state);
      policy.expire(now);
    });
    ++restored;
  }
  log_->info("event=state_loaded path={} existed={} environments={} webhook_deliveries={}",
             options_.state_path, loaded.file_existed, restored, deliveries);
}

void Persistence::keep_delivery_ids(std::function<state::DeliveryIds()> read,
                                    std::function<void(state::DeliveryIds)> restore) {
  read_deliveries_ = std::move(read);
  restore_deliveries_ = std::move(restore);
}

void Persistence::delivery_ids_changed() {
  deliveries_dirty_ = true;
  dirty_ = true;
  // Before start() nothing is armed: start() writes the file anyway.
  if (started_ && !timer_armed_) arm_debounce(options_.debounce);
}

void Persistence::start() {
  if (started_) return;
  if (auto status = audit_.open(audit_path_); !status.ok()) throw StateLoadError(status.error);
  for (const auto& [name, policy] : service_.environments())
    last_verdict_[name] = verdict_json(policy.decide(service_.now()));
  service_.add_listener([this](const StateChange& change) { on_change(change); });
  started_ = true;
  // The first start creates the file, which also proves early that the directory is writable.
  // A failure is logged (mutations will answer 500) rather than fatal, so a read-only
  // deployment still answers /can-deploy.
  commit();
}

void Persistence::stop() {
  debounce_.cancel();
  timer_armed_ = false;
  if (dirty_ || changed_since_save()) commit();
}

bool Persistence::changed_since_save() const {
  for (const auto& [name, policy] : service_.environments()) {
    auto it = saved_.find(name);
    if (it == saved_.end() || !(it->second == policy.durable())) return true;
  }
  return false;
}

bool Persistence::commit() {
  state::EnvironmentStates current;
  bool changed = deliveries_dirty_ || saved_.size() != service_.environments().size();
  for (const auto& [name, policy] : service_.environments()) {
    auto durable = policy.durable();
    auto it = saved_.find(name);
    if (it == saved_.end() || !(it->second == durable)) changed = true;
    current.emplace(name, std::move(durable));
  }
  if (!changed) {
    dirty_ = false;
    return true;
  }
  const auto result = state::save_state(options_.state_path, current,
                                        read_deliveries_ ? read_deliveries_() : loaded_deliveries_);
  if (!result.ok()) {
    log_->error("event=state_write_failed error=\"{}\"", result.error);
    return false;
  }
  saved_.clear();
  for (auto& [name, durable] : current) saved_.emplace(name, std::move(durable));
  dirty_ = false;
  deliveries_dirty_ = false;
  ++saves_;
  log_->debug("event=state_saved path={}", options_.state_path);
  return true;
}

void Persistence::audit(const std::string& environment, const std::string& actor,
                        const std::string& action, nlohmann::json old_value,
                        nlohmann::json new_value, nlohmann::json detail) {
  if (!audit_.is_open()) return;
  state::AuditRecord record{service_.now(), environment, actor, action, std::move(old_value),
                            std::move(new_value), std::move(detail)};
  if (auto status = audit_.append(record, state::AuditSync::Fsync); !status.ok())
    log_->error("event=audit_write_failed action={} env={} error=\"{}\"", action, environment,
                status.error);
  tell_observers(record);
}

void Persistence::add_audit_observer(std::function<void(const state::AuditRecord&)> observer) {
  audit_observers_.push_back(std::move(observer));
}

void Persistence::tell_observers(const state::AuditRecord& record) const {
  for (const auto& observer : audit_observers_) observer(record);
}

void Persistence::on_change(const StateChange& change) {
  if (change.verdict_changed) {
    auto verdict = verdict_json(change.decision);
    auto& last = last_verdict_[change.environment];
    if (audit_.is_open() && last != verdict) {
      state::AuditRecord record{change.decision.evaluated_at, change.environment, "deployguard",
                                "decision.change", last, verdict, nullptr};
      if (auto status = audit_.append(record, state::AuditSync::NoFsync); !status.ok())
        log_->warn("event=audit_write_failed action=decision.change env={} error=\"{}\"",
                   change.environment, status.error);
      tell_observers(record);
    }
    last = std::move(verdict);
  }
  audit_queue(change);
  audit_overrides(change);
  // Mutations through transact() were saved before listeners run, so this finds no difference
  // for them; observations from pollers and webhooks, and TTL expiries, are picked up here.
  // A save is already scheduled, and commit() compares every environment with what was saved,
  // so comparing this one now would only repeat that work.
  if (dirty_ && timer_armed_) return;
  const auto* policy = service_.find(change.environment);
  if (!policy) return;
  auto it = saved_.find(change.environment);
  if (it != saved_.end() && it->second == policy->durable()) return;
  dirty_ = true;
  if (!timer_armed_) arm_debounce(options_.debounce);
}

void Persistence::audit_queue(const StateChange& change) {
  if (!audit_.is_open() || change.queue.empty()) return;
  auto append = [&](std::string action, nlohmann::json new_value, nlohmann::json detail) {
    state::AuditRecord record{change.decision.evaluated_at, change.environment, "deployguard",
                              action, nullptr, std::move(new_value), std::move(detail)};
    if (auto status = audit_.append(record, state::AuditSync::NoFsync); !status.ok())
      log_->warn("event=audit_write_failed action={} env={} error=\"{}\"", action,
                 change.environment, status.error);
    tell_observers(record);
  };
  for (const auto& ended : change.queue.ended) {
    if (ended.why == TicketEnd::LeaseEnded) continue;  // the lease's own end is the record
    append("queue." + std::string(to_string(ended.why)), nullptr, ticket_audit_json(ended.ticket));
  }
  if (const auto& granted = change.queue.granted) {
    const auto* policy = service_.find(change.environment);
    nlohmann::json lease = nullptr;
    if (policy && policy->lease()) {
      const auto& l = *policy->lease();
      lease = {{"id", l.id}, {"holder", l.holder}, {"expires_at", format_timestamp(l.expires_at)}};
    }
    append("queue.granted", std::move(lease), ticket_audit_json(*granted));
  }
}

nlohmann::json override_audit_json(const Override& o) {
  return {{"id", o.id},
          {"reason", o.reason},
          {"by", o.by},
          {"skip", o.skip},
          {"created_at", format_timestamp(o.created_at)},
          {"expires_at", format_timestamp(o.expires_at)}};
}

void Persistence::audit_overrides(const StateChange& change) {
  if (!audit_.is_open()) return;
  for (const auto& end : change.overrides) {
    std::string action;
    nlohmann::json detail = nullptr;
    switch (end.why) {
      case OverrideEnd::Why::Used:
        action = "override.use";
        detail = {{"lease", end.lease_id}, {"skipped", end.skipped}};
        break;
      case OverrideEnd::Why::Expired: action = "override.expire"; break;
      case OverrideEnd::Why::Replaced: action = "override.replace"; break;
    }
    // Rare and what an incident review looks for: durable before anyone hears of it.
    state::AuditRecord record{end.at, change.environment, "deployguard", action,
                              override_audit_json(end.override_), nullptr, std::move(detail)};
    if (auto status = audit_.append(record, state::AuditSync::Fsync); !status.ok())
      log_->warn("event=audit_write_failed action={} env={} error=\"{}\"", action,
                 change.environment, status.error);
    tell_observers(record);
  }
}

void Persistence::arm_debounce(Duration wait) {
  timer_armed_ = true;
  debounce_.expires_after(wait);
  debounce_.async_wait([this, alive = std::weak_ptr<int>(alive_)](boost::system::error_code ec) {
    if (ec || alive.expired()) return;  // cancelled (stop) or destroyed
    timer_armed_ = false;
    if (!commit()) arm_debounce(options_.retry_after_failure);
  });
}

bool Persistence::reopen_audit_log() {
  if (!audit_.is_open()) return true;  // not started yet: start() opens it
  if (auto status = audit_.reopen(); !status.ok()) {
    log_->error("event=audit_log_reopen_failed path={} error=\"{}\"", audit_path_, status.error);
    return false;
  }
  log_->info("event=audit_log_reopened path={}", audit_path_);
  return true;
}

}  // namespace deployguard::service
