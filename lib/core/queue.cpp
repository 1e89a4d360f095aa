#include "core/queue.hpp"

#include <algorithm>

namespace deployguard {

std::string_view to_string(QueueOrder order) {
  switch (order) {
    case QueueOrder::Fifo: return "fifo";
    case QueueOrder::NewestFirst: return "newest_first";
  }
  return "fifo";
}

std::string_view to_string(TicketEnd end) {
  switch (end) {
    case TicketEnd::Left: return "left";
    case TicketEnd::Expired: return "expired";
    case TicketEnd::Superseded: return "superseded";
    case TicketEnd::RunEnded: return "run_ended";
    case TicketEnd::LeaseEnded: return "lease_ended";
  }
  return "left";
}

DeployQueue::JoinResult DeployQueue::join(Ticket ticket, TimePoint now, std::vector<EndedTicket>* ended) {
  if (waiting_count() >= settings_.max_length) return JoinResult::Full;
  if (settings_.supersede && !ticket.ref.empty()) {
    std::erase_if(tickets_, [&](const Ticket& t) {
      if (t.granted() || t.ref != ticket.ref) return false;
      if (ended) ended->push_back(EndedTicket{t, TicketEnd::Superseded, now});
      return true;
    });
  }
  ticket.joined_at = now;
  ticket.lease_id.clear();
  seen_[ticket.id] = now;
  tickets_.push_back(std::move(ticket));
  return JoinResult::Joined;
}

bool DeployQueue::touch(std::string_view id, TimePoint now) {
  if (!find(id)) return false;
  auto [it, inserted] = seen_.try_emplace(std::string(id), now);
  if (!inserted) it->second = std::max(it->second, now);
  return true;
}

std::optional<TimePoint> DeployQueue::last_seen(std::string_view id) const {
  const auto it = seen_.find(id);
  if (it == seen_.end()) return std::nullopt;
  return it->second;
}

std::optional<EndedTicket> DeployQueue::leave(std::string_view id, TimePoint now) {
  const auto it = std::find_if(tickets_.begin(), tickets_.end(), [&](const Ticket& t) { return t.id == id; });
  if (it == tickets_.end()) return std::nullopt;
  EndedTicket out{*it, TicketEnd::Left, now};
  tickets_.erase(it);
  return out;
}

std::vector<const Ticket*> DeployQueue::waiting() const {
  std::vector<const Ticket*> out;
  for (const auto& t : tickets_)
    if (!t.granted()) out.push_back(&t);
  // tickets_ is in join order; equal join times keep it (stable).
  if (settings_.order == QueueOrder::NewestFirst) std::reverse(out.begin(), out.end());
  return out;
}

const Ticket* DeployQueue::head() const {
  const auto w = waiting();
  return w.empty() ? nullptr : w.front();
}

std::optional<std::size_t> DeployQueue::position(std::string_view id) const {
  const auto w = waiting();
  for (std::size_t i = 0; i < w.size(); ++i)
    if (w[i]->id == id) return i + 1;
  return std::nullopt;
}

const Ticket* DeployQueue::find(std::string_view id) const {
  for (const auto& t : tickets_)
    if (t.id == id) return &t;
  return nullptr;
}

std::size_t DeployQueue::waiting_count() const {
  return static_cast<std::size_t>(
      std::count_if(tickets_.begin(), tickets_.end(), [](const Ticket& t) { return !t.granted(); }));
}

const Ticket* DeployQueue::grant_head(std::string lease_id) {
  const Ticket* h = head();
  if (!h) return nullptr;
  auto it = std::find_if(tickets_.begin(), tickets_.end(), [&](const Ticket& t) { return &t == h; });
  it->lease_id = std::move(lease_id);
  return &*it;
}

std::optional<EndedTicket> DeployQueue::lease_ended(std::string_view lease_id, TimePoint now) {
  if (lease_id.empty()) return std::nullopt;
  const auto it = std::find_if(tickets_.begin(), tickets_.end(),
                               [&](const Ticket& t) { return t.lease_id == lease_id; });
  if (it == tickets_.end()) return std::nullopt;
  EndedTicket out{*it, TicketEnd::LeaseEnded, now};
  tickets_.erase(it);
  return out;
}

std::vector<EndedTicket> DeployQueue::run_ended(std::int64_t run_id, std::optional<int> attempt, TimePoint now) {
  std::vector<EndedTicket> out;
  std::erase_if(tickets_, [&](const Ticket& t) {
    if (t.granted() || t.run_id != run_id) return false;
    // A ticket for a later attempt (a re-run) is not ended by an earlier attempt's end.
    if (attempt && t.run_attempt && *t.run_attempt != *attempt) return false;
    out.push_back(EndedTicket{t, TicketEnd::RunEnded, now});
    return true;
  });
  return out;
}

std::vector<EndedTicket> DeployQueue::expire(TimePoint now) {
  std::vector<EndedTicket> out;
  std::erase_if(tickets_, [&](const Ticket& t) {
    if (t.granted()) return false;
    auto [seen, fresh] = seen_.try_emplace(t.id, now);
    if (fresh || now < seen->second + settings_.ticket_ttl) return false;
    out.push_back(EndedTicket{t, TicketEnd::Expired, now});
    return true;
  });
  // Poll times of tickets that are gone (bounded by the tickets that ever waited since).
  std::erase_if(seen_, [&](const auto& entry) { return !find(entry.first); });
  return out;
}

std::optional<TimePoint> DeployQueue::next_expiry(TimePoint now) const {
  std::optional<TimePoint> out;
  for (const auto& t : tickets_) {
    if (t.granted()) continue;
    const TimePoint at = last_seen(t.id).value_or(now) + settings_.ticket_ttl;
    if (!out || at < *out) out = at;
  }
  return out;
}

void DeployQueue::restore(std::vector<Ticket> tickets) { tickets_ = std::move(tickets); }

}  // namespace deployguard
