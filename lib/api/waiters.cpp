#include "api/waiters.hpp"

#include <vector>

namespace deployguard::api {

WaiterRegistry::WaiterRegistry(boost::asio::any_io_executor executor, std::size_t max_waiters,
                               Answer answer, CountObserver observer, ClientCounts* clients)
    : max_waiters_(max_waiters),
      answer_(std::move(answer)),
      observer_(std::move(observer)),
      clients_(clients),
      timer_(std::move(executor)) {}

WaiterRegistry::~WaiterRegistry() {
  alive_.reset();
  // Remaining responders answer 500 from their destructors if their connection is still open;
  // answer_all() at shutdown normally leaves none.
}

std::size_t WaiterRegistry::size(std::string_view environment) const {
  auto it = by_environment_.find(environment);
  return it == by_environment_.end() ? 0 : it->second.size();
}

void WaiterRegistry::add(const std::string& environment, std::chrono::milliseconds wait,
                         http::Responder responder, std::optional<AsRun> as_run,
                         std::string client) {
  const auto id = next_id_++;
  const auto deadline = SteadyClock::now() + wait;
  responder.on_disconnect([this, alive = std::weak_ptr<int>(alive_), id] {
    if (alive.expired()) return;
    take(id);  // the responder is dropped unused: its connection is gone, so nothing is sent
    arm();
  });
  if (as_run) runs_by_environment_[environment].insert(id);
  if (clients_ && !client.empty()) clients_->add(client);
  waiters_.emplace(id, Waiter{environment, deadline, std::move(responder), std::move(as_run),
                              clients_ ? std::move(client) : std::string{}});
  by_environment_[environment].insert(id);
  deadlines_.emplace(deadline, id);
  arm();
  if (observer_) observer_(waiters_.size());
}

std::optional<WaiterRegistry::Waiter> WaiterRegistry::take(std::uint64_t id) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return std::nullopt;
  Waiter waiter = std::move(it->second);
  waiters_.erase(it);
  deadlines_.erase({waiter.deadline, id});
  if (clients_ && !waiter.client.empty()) clients_->remove(waiter.client);
  for (auto* index : {&by_environment_, &runs_by_environment_}) {
    if (auto env = index->find(waiter.environment); env != index->end()) {
      env->second.erase(id);
      if (env->second.empty()) index->erase(env);
    }
  }
  if (observer_) observer_(waiters_.size());
  return waiter;
}

void WaiterRegistry::answer(Waiter waiter) {
  waiter.responder(answer_(waiter.environment, waiter.as_run));
}

void WaiterRegistry::wake(std::string_view environment) {
  auto it = by_environment_.find(environment);
  if (it == by_environment_.end()) return;
  const std::vector<std::uint64_t> ids(it->second.begin(), it->second.end());
  for (auto id : ids) {
    if (auto waiter = take(id)) answer(std::move(*waiter));
  }
  arm();
}

void WaiterRegistry::wake_prefix(std::string_view prefix) {
  std::vector<std::uint64_t> ids;
  for (auto it = by_environment_.lower_bound(prefix);
       it != by_environment_.end() && std::string_view(it->first).starts_with(prefix); ++it)
    ids.insert(ids.end(), it->second.begin(), it->second.end());
  for (auto id : ids) {
    if (auto waiter = take(id)) answer(std::move(*waiter));
  }
  arm();
}

void WaiterRegistry::wake_runs(std::string_view environment, const RunReady& ready) {
  auto it = runs_by_environment_.find(environment);
  if (it == runs_by_environment_.end()) return;
  std::vector<std::uint64_t> due;
  for (auto id : it->second)
    if (auto w = waiters_.find(id); w != waiters_.end() && ready(*w->second.as_run)) due.push_back(id);
  for (auto id : due) {
    if (auto waiter = take(id)) answer(std::move(*waiter));
  }
  arm();
}

void WaiterRegistry::answer_all() {
  std::vector<std::uint64_t> ids;
  ids.reserve(waiters_.size());
  for (const auto& [id, waiter] : waiters_) ids.push_back(id);
  for (auto id : ids) {
    if (auto waiter = take(id)) answer(std::move(*waiter));
  }
  arm();
}

void WaiterRegistry::on_timer() {
  const auto now = SteadyClock::now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const auto id = deadlines_.begin()->second;
    if (auto waiter = take(id)) answer(std::move(*waiter));
  }
  arm();
}

void WaiterRegistry::arm() {
  if (deadlines_.empty()) {
    if (armed_) timer_.cancel();
    armed_.reset();
    return;
  }
  const auto earliest = deadlines_.begin()->first;
  if (armed_ && *armed_ == earliest) return;
  armed_ = earliest;
  timer_.expires_at(earliest);  // cancels a wait for an older deadline
  timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](boost::system::error_code ec) {
    if (ec || alive.expired()) return;  // re-armed, cancelled or destroyed
    armed_.reset();
    on_timer();
  });
}

}  // namespace deployguard::api
