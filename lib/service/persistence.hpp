#pragma once
// Persistence: keeps the state file (lib/state) and the audit log in step with GuardService.
//
//   * restore(): at start-up, before GuardService::start(), loads state.path and restores each
//     configured environment's durable state. A corrupt or unreadable file throws
//     StateLoadError (its message names the file); with `move_corrupt` a *corrupt* file is
//     renamed aside (the new name is logged) and the daemon starts empty. An unreadable file is
//     always fatal: moving it would not make it readable, and starting empty could undo leases
//     and freezes an operator relies on.
//   * commit(): the `commit` step of GuardService::transact() for API mutations: saves the whole
//     file synchronously if any environment's durable state differs from what was last written.
//     The caller acknowledges the mutation only when it returns true.
//   * start(): listens to GuardService. Changes of durable state that did not come through
//     commit() (deploy starts/ends learned from polls and webhooks, leases expiring at their TTL)
//     mark the state dirty and arm a debounce timer: the file is written at most `debounce`
//     later, so a burst of poll results costs one fsync. Verdict changes are appended to the
//     audit log without fsync, and so is what the deploy queue did by itself (queue.granted,
//     queue.expired, queue.superseded, queue.run_ended; joins and leaves are the API's).
//   * stop(): cancels the timer and writes a pending change (graceful shutdown).
//   * Webhook delivery ids (keep_delivery_ids()): the receiver's remembered X-GitHub-Delivery
//     ids go into the same file, so a delivery replayed after a restart is still a duplicate.
//     restore() hands the file's ids to the receiver; a newly remembered id is written with the
//     next debounced save (delivery_ids_changed()), not before the delivery is answered: an
//     fsync per delivery would stall the loop that answers /can-deploy, and what the debounce
//     window can lose is only on a crash (stop() writes it), where a replay within it is applied
//     again — a run update the policy already ignores when it is not newer, plus a poll.
//
// Cost: save_state() is synchronous on the io thread (temp file, fsync, rename, fsync dir:
// ~1-50 ms depending on the disk). The file is a few KiB, and saves happen only on operator
// mutations and at most once per debounce interval otherwise, so the loop stalls rarely and
// briefly. Change detection compares one environment's durable state with the copy last
// written (operator==, no serialization) per GuardService change.
//
// Thread: io thread only, like GuardService.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/logger.h>

#include "service/guard_service.hpp"
#include "core/config.hpp"
#include "core/time.hpp"
#include "state/audit_log.hpp"
#include "state/state_store.hpp"

namespace deployguard::service {

/// A deploy-queue ticket as the audit log records it (id, holder, run, ref, sha, joined_at).
nlohmann::json ticket_audit_json(const Ticket& ticket);
/// A break-glass override as the audit log records it (id, reason, by, skip, created/expires).
nlohmann::json override_audit_json(const Override& o);

/// The state file could not be used at start-up; what() names the file.
class StateLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PersistenceOptions {
  std::string state_path;
  std::string audit_log_path;  // empty: AuditLog::default_path(state_path)
  Duration debounce = std::chrono::milliseconds{500};
  Duration retry_after_failure = std::chrono::seconds{5};

  static PersistenceOptions from_config(const StateConfig& state) {
    return {state.path, state.audit_log_path.value_or(""), std::chrono::milliseconds{500},
            std::chrono::seconds{5}};
  }
};

class Persistence {
 public:
  /// `service` must outlive this object.
  Persistence(boost::asio::any_io_executor executor, GuardService& service,
              PersistenceOptions options);
  Persistence(const Persistence&) = delete;
  Persistence& operator=(const Persistence&) = delete;

  /// Loads the state file and restores the policies (see the file comment). Call once, before
  /// GuardService::start(). Throws StateLoadError.
  void restore(bool move_corrupt);

  /// Opens the audit log (throws StateLoadError if it cannot be opened), subscribes to the
  /// service and writes the state file if it differs from the restored one (e.g. a lease that
  /// expired while the daemon was down, or the first start).
  void start();
  /// Cancels the debounce timer and writes pending changes. Further commits still work.
  void stop();

  /// Writes the file if any environment's durable state (or the delivery ids) changed since
  /// the last write. Returns false (and logs the error) if the write failed.
  bool commit();

  /// Keeps webhook delivery ids in the state file: `read` returns them (oldest first) at every
  /// write, `restore` receives the file's at restore(). Call before restore(). Without it the
  /// ids found in the file are written back unchanged.
  void keep_delivery_ids(std::function<state::DeliveryIds()> read,
                         std::function<void(state::DeliveryIds)> restore);
  /// A new delivery id was remembered: it is written with the next debounced save (see the file
  /// comment for why not before the delivery is answered).
  void delivery_ids_changed();

  /// Appends an operator action to the audit log with fsync. A failure is logged, not thrown:
  /// the state change itself is already durable.
  void audit(const std::string& environment, const std::string& actor, const std::string& action,
             nlohmann::json old_value, nlohmann::json new_value, nlohmann::json detail = nullptr);

  /// Observers of the audit trail (the notifier): called on the io thread, in registration
  /// order, with every record this object appends (operator actions through audit(), verdict
  /// changes and what the queue did by itself), after the append and whatever its outcome, so
  /// a full disk does not silence notifications. An observer must not call back into audit().
  void add_audit_observer(std::function<void(const state::AuditRecord&)> observer);

  /// Reopens the audit log at its path (SIGHUP, after logrotate moved it). Returns false and
  /// logs the error if that fails; the old file then stays in use.
  bool reopen_audit_log();

  const std::string& state_path() const { return options_.state_path; }
  const std::string& audit_log_path() const { return audit_path_; }
  /// True while a change waits for the debounce timer.
  bool dirty() const { return dirty_; }
  /// Number of successful writes of the state file (for tests and metrics).
  std::uint64_t saves() const { return saves_; }

 private:
  void on_change(const StateChange& change);
  void audit_queue(const StateChange& change);
  void audit_overrides(const StateChange& change);
  bool changed_since_save() const;
  void arm_debounce(Duration wait);
  void tell_observers(const state::AuditRecord& record) const;

  GuardService& service_;
  PersistenceOptions options_;
  std::string audit_path_;
  state::AuditLog audit_;
  boost::asio::steady_timer debounce_;
  bool timer_armed_ = false;
  bool dirty_ = false;
  bool started_ = false;
  bool deliveries_dirty_ = false;
  std::function<state::DeliveryIds()> read_deliveries_;
  std::function<void(state::DeliveryIds)> restore_deliveries_;
  state::DeliveryIds loaded_deliveries_;  // written back when nobody reads them (no receiver)
  std::uint64_t saves_ = 0;
  std::vector<std::function<void(const state::AuditRecord&)>> audit_observers_;
  /// Durable state of each environment as last written (or loaded), compared structurally.
  std::map<std::string, DurableEnvironmentState, std::less<>> saved_;
  /// Last verdict per environment, for "decision.change" audit records.
  std::map<std::string, nlohmann::json, std::less<>> last_verdict_;
  /// Lives as long as this object; the timer handler holds a weak_ptr to it.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace deployguard::service
