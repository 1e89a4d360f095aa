#pragma once
// GuardService: owns one EnvironmentPolicy per configured environment and is the only way the
// daemon changes them. It is the seam between the pure core and the I/O shell.
//
// Thread: every member function must be called on the io thread (the thread running the
// executor passed to the constructor). Nothing is locked.
//
// Who uses what:
//   * pollers and the webhook receiver feed observations with apply(env, event);
//   * state restore mutates a policy through modify(env, fn), which re-evaluates and notifies
//     exactly like apply();
//   * API mutations use transact(env, fn, commit): the change is persisted (commit) before any
//     listener hears of it, and rolled back if persisting fails;
//   * long-poll waiters and Persistence subscribe with add_listener(): the listener runs after
//     every change of an environment (event applied, mutation, deadline expiry), with the fresh
//     decision and whether the verdict changed;
//   * metrics read decisions(), environments() and missing_sources();
//   * the deploy queue is served here: after every change of an environment whose queue has a
//     waiting head and no lease, the head is granted a lease when the environment is safe for
//     it (serve_queues() enables this). The grant is persisted before any listener hears of it.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/logger.h>

#include "core/config.hpp"
#include "core/decision.hpp"
#include "core/policy.hpp"
#include "core/time.hpp"

namespace deployguard::service {

/// What the deploy queue of an environment did during one change.
struct QueueChange {
  std::vector<EndedTicket> ended;  // expired, superseded, run ended, lease ended (no API leave)
  std::optional<Ticket> granted;   // the head was granted its lease (ticket.lease_id)

  bool empty() const { return ended.empty() && !granted; }
};

/// What a listener is told after an environment changed.
struct StateChange {
  const std::string& environment;
  const Decision& decision;  // decide(now) right after the change
  bool verdict_changed;      // safe flag or reason codes differ from the previous decision
  const QueueChange& queue;  // what the queue did (granted, tickets ended)
  const std::vector<OverrideEnd>& overrides;  // break-glass overrides used, expired or replaced
};

/// A configured source of an environment that has never been refreshed successfully.
struct MissingSource {
  std::string environment;
  SourceId source;
};

/// True when both watch the same things (repo and workflows, container app, database servers):
/// what was observed for one is valid for the other. Config reload uses it to decide what to
/// keep (GuardService::reconfigure) and whether the pollers must be rebuilt (DaemonApp).
inline bool same_sources(const EnvironmentConfig& a, const EnvironmentConfig& b) {
  return a.github == b.github && a.container_app == b.container_app &&
         a.postgres_servers == b.postgres_servers;
}

/// What GuardService::reconfigure() did, by environment name.
struct ReconfigureSummary {
  std::vector<std::string> added;      // new policy, nothing observed yet
  std::vector<std::string> removed;    // policy dropped (its durable state leaves the state file)
  std::vector<std::string> rules_changed;  // same sources: rules replaced, all state kept
  std::vector<std::string> sources_changed;  // other repo/app/servers: durable state kept,
                                             // observations dropped (they were of other things)
  std::size_t unchanged = 0;
};

/// Outcome of GuardService::transact().
enum class TransactResult {
  Committed,           // mutate ran, commit succeeded, listeners were told
  UnknownEnvironment,  // nothing ran
  CommitFailed,        // mutate ran, commit failed: durable state rolled back, nobody told
};

class GuardService {
 public:
  using Listener = std::function<void(const StateChange&)>;
  using Mutation = std::function<void(EnvironmentPolicy&, TimePoint)>;
  using Policies = std::map<std::string, EnvironmentPolicy, std::less<>>;
  /// Longest single wait of the deadline timer. The timer is steady but deadlines are wall-clock
  /// times, so a bounded wait lets the guard notice wall-clock jumps.
  static constexpr Duration kMaxTimerWait = std::chrono::seconds{60};

  /// `clock` must outlive the service.
  GuardService(boost::asio::any_io_executor executor, const Clock& clock,
               const std::map<std::string, EnvironmentConfig>& environments);
  GuardService(const GuardService&) = delete;
  GuardService& operator=(const GuardService&) = delete;

  /// Logs the initial decisions (listeners are not called) and arms the deadline timer.
  void start();
  /// Cancels the deadline timer; apply()/modify() keep working but nothing expires by itself.
  void stop();

  /// Applies an observation to one environment. Returns false for an unknown environment.
  bool apply(std::string_view environment, const Event& event);
  /// Runs `mutate(policy, now)` on one environment, then re-evaluates and notifies listeners.
  /// Returns false for an unknown environment (mutate is not called).
  bool modify(std::string_view environment, const Mutation& mutate);
  /// Like modify(), but `commit()` (which persists the state) runs after `mutate` and before
  /// the change is re-evaluated or any listener is told. If commit returns false, the
  /// environment's durable state is restored to what it was before `mutate` (mutations of
  /// leases/freezes/busy reports only touch durable state), so no waiter or audit record ever
  /// sees a change that is not on disk. An empty `commit` always succeeds.
  TransactResult transact(std::string_view environment, const Mutation& mutate,
                          const std::function<bool()>& commit);

  TimePoint now() const { return clock_.now(); }
  /// The io thread's executor (for components that arm their own timers, e.g. waiters).
  boost::asio::any_io_executor executor() { return timer_.get_executor(); }
  const Policies& environments() const { return policies_; }
  const EnvironmentPolicy* find(std::string_view environment) const;
  /// decide(now) for one environment, on behalf of `as_run` when given (see
  /// EnvironmentPolicy::decide); nullopt when unknown.
  std::optional<Decision> decide(std::string_view environment,
                                 std::optional<AsRun> as_run = std::nullopt) const;

  /// A poll of a queue ticket: keeps it alive (not durable, so nobody is told). False when
  /// the environment or the ticket is unknown.
  bool touch_ticket(std::string_view environment, std::string_view ticket);

  /// True once every configured source of every environment was refreshed at least once.
  bool ready() const { return missing_sources().empty(); }
  std::vector<MissingSource> missing_sources() const;

  void add_listener(Listener listener);

  /// Random lease ids for grants (nullopt: no randomness, nothing is granted).
  using IdSource = std::function<std::optional<std::string>()>;
  /// Enables serving the deploy queues: after every change (once start() ran) a waiting head is
  /// granted a lease with an id from `new_lease_id` when no lease is held and the environment is
  /// safe for it. `commit` persists the grant before it is told to anyone; if it fails, the
  /// grant is rolled back and tried again at the next change of that environment.
  void serve_queues(IdSource new_lease_id, std::function<bool()> commit);

  /// Config reload: makes the set of environments match `environments`. Unchanged environments
  /// keep everything; see ReconfigureSummary for the others. Every kept or added environment is
  /// re-evaluated and listeners are told (a rule change can change a verdict). Listeners are not
  /// told about removed environments; the caller answers their waiters.
  ReconfigureSummary reconfigure(const std::map<std::string, EnvironmentConfig>& environments);

  /// Expires leases/freezes and re-evaluates every environment at now(), then re-arms the timer.
  /// The timer calls this; tests driving a ManualClock call it directly after advancing time.
  void run_due_deadlines();
  /// The policies' earliest next_deadline the timer is armed for (nullopt: timer idle).
  std::optional<TimePoint> armed_deadline() const { return armed_deadline_; }

 private:
  struct Entry {
    std::optional<Decision> last;  // last decision logged / notified
    // policy.next_deadline() as of the last change: arm_timer() takes the minimum of these
    // instead of asking all N policies after every poll result (that was ~40% of an idle
    // poll's cost with 50 environments). Recomputed when it has passed.
    std::optional<TimePoint> deadline;
  };

  enum class Notify { Never, IfVerdictChanged, Always };
  /// Re-evaluates one environment, logs a changed verdict and tells the listeners.
  void after_change(const std::string& environment, EnvironmentPolicy& policy, TimePoint now,
                    Notify notify);
  void arm_timer();
  /// Grants the head of the environment's queue if it can be served now (see serve_queues).
  std::optional<Ticket> serve_queue(const std::string& environment, EnvironmentPolicy& policy,
                                    TimePoint now);

  const Clock& clock_;
  std::map<std::string, EnvironmentConfig> configs_;  // what the policies were built from
  Policies policies_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::vector<Listener> listeners_;
  boost::asio::steady_timer timer_;
  std::optional<TimePoint> armed_deadline_;
  bool timer_pending_ = false;  // timer_ armed for armed_deadline_ (or kMaxTimerWait)
  bool running_ = false;
  IdSource new_lease_id_;
  std::function<bool()> grant_commit_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace deployguard::service
