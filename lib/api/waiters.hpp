#pragma once
// Long-poll waiters of GET /can-deploy?wait=N (keyed by environment) and of GET
// .../queue/TICKET?wait=N (a second registry, keyed "ENV/TICKET"). A waiter is a held Responder, optionally on
// behalf of a run (run_id=); it is answered
//   * when its environment becomes safe (wake(), called from a GuardService listener: no polling),
//     or, for a run's waiter, safe for that run (wake_runs()),
//   * at its deadline (one steady_timer for all waiters, armed at the earliest deadline), or
//   * at shutdown (answer_all()).
// A waiter whose client disconnects is removed at once (Responder::on_disconnect).
//
// Memory per waiter: the Responder (a weak_ptr + id), the environment name, a deadline and three
// container nodes: roughly 200 bytes, so 10,000 waiters cost ~2 MiB here (the connections
// themselves cost more, in the HTTP server).
//
// Thread: io thread only.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/policy.hpp"
#include "http/server/server.hpp"

namespace deployguard::api {

/// Waiters per client address, shared by the registries of one Api (server.max_waiters_per_client).
class ClientCounts {
 public:
  std::size_t count(const std::string& client) const {
    auto it = counts_.find(client);
    return it == counts_.end() ? 0 : it->second;
  }
  void add(const std::string& client) { ++counts_[client]; }
  void remove(const std::string& client) {
    auto it = counts_.find(client);
    if (it != counts_.end() && --it->second == 0) counts_.erase(it);
  }

 private:
  std::map<std::string, std::size_t> counts_;
};

class WaiterRegistry {
 public:
  using SteadyClock = std::chrono::steady_clock;
  /// Builds the answer for a waiter of `environment` (on behalf of `as_run`) at the moment it
  /// is answered.
  using Answer = std::function<http::Response(const std::string& environment,
                                              const std::optional<AsRun>& as_run)>;
  /// Whether a run's waiter should be answered now.
  using RunReady = std::function<bool(const AsRun& as_run)>;

  /// Told the number of waiters after every change of it (metrics, tests). May be empty.
  using CountObserver = std::function<void(std::size_t waiting)>;

  /// `clients` (optional, must outlive the registry) counts each waiter's client while it waits.
  WaiterRegistry(boost::asio::any_io_executor executor, std::size_t max_waiters, Answer answer,
                 CountObserver observer = {}, ClientCounts* clients = nullptr);
  ~WaiterRegistry();
  WaiterRegistry(const WaiterRegistry&) = delete;
  WaiterRegistry& operator=(const WaiterRegistry&) = delete;

  bool full() const { return waiters_.size() >= max_waiters_; }
  std::size_t size() const { return waiters_.size(); }
  std::size_t size(std::string_view environment) const;

  /// Holds `responder` for at most `wait`. Precondition: !full().
  void add(const std::string& environment, std::chrono::milliseconds wait,
           http::Responder responder, std::optional<AsRun> as_run = std::nullopt,
           std::string client = {});
  /// Answers every waiter of `environment` now.
  void wake(std::string_view environment);
  /// Answers every waiter whose key starts with `prefix` (the ticket waiters of an environment
  /// are keyed "ENV/TICKET").
  void wake_prefix(std::string_view prefix);
  /// Answers the waiters of `environment` that wait on behalf of a run for which `ready` holds
  /// (the environment is not safe for everyone, but may be for the asking run).
  void wake_runs(std::string_view environment, const RunReady& ready);
  /// Answers every waiter now (graceful shutdown).
  void answer_all();

 private:
  struct Waiter {
    std::string environment;
    SteadyClock::time_point deadline;
    http::Responder responder;
    std::optional<AsRun> as_run;
    std::string client;  // counted in clients_ while waiting ("" when not counted)
  };

  /// Removes the waiter and returns it (nullopt if already gone).
  std::optional<Waiter> take(std::uint64_t id);
  void answer(Waiter waiter);
  void on_timer();
  void arm();

  std::size_t max_waiters_;
  Answer answer_;
  CountObserver observer_;
  ClientCounts* clients_;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, Waiter> waiters_;
  std::map<std::string, std::set<std::uint64_t>, std::less<>> by_environment_;
  // The waiters of by_environment_ that wait on behalf of a run: wake_runs() looks at these
  // only, so plain waiters cost nothing on a change that keeps the environment blocked.
  std::map<std::string, std::set<std::uint64_t>, std::less<>> runs_by_environment_;
  std::set<std::pair<SteadyClock::time_point, std::uint64_t>> deadlines_;
  boost::asio::steady_timer timer_;
  std::optional<SteadyClock::time_point> armed_;
  /// Disconnect callbacks may outlive the registry (sessions end with the io_context).
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace deployguard::api
