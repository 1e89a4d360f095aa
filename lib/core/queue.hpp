#pragma once
// The deploy queue of one environment: pipelines that wait for the environment, in the order
// they are served. Pure: times are passed in, ticket ids are chosen by the caller (random), no
// I/O. It knows nothing about safety; the policy grants the head when the environment is safe for
// the head's run and records which lease the ticket got.
//
// A ticket waits until it is granted, leaves (DELETE), expires (not polled for ticket_ttl), is
// superseded (a newer ticket of the same ref, with supersede on) or its run ends. A granted
// ticket stays known, answering with its lease, until that lease ends.
//
// The tickets are durable (the state file keeps them); when each was last polled is not: a poll
// must not cost a disk write. A ticket the queue has no poll time for (after a restart, or put
// back by a rollback) gets a full ticket_ttl from the next expire() on.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"

namespace deployguard {

enum class QueueOrder { Fifo, NewestFirst };
std::string_view to_string(QueueOrder order);  // "fifo", "newest_first"

struct QueueSettings {
  QueueOrder order = QueueOrder::Fifo;
  bool supersede = false;  // a newer ticket of the same ref ends older waiting ones
  Duration ticket_ttl = std::chrono::minutes{2};
  std::size_t max_length = 100;

  bool operator==(const QueueSettings&) const = default;
};

struct Ticket {
  std::string id;
  std::string holder;
  Duration lease_ttl{};
  std::optional<std::int64_t> run_id;
  std::optional<int> run_attempt;
  std::string sha;
  std::string ref;
  TimePoint joined_at{};
  std::string lease_id;  // set once granted

  bool granted() const { return !lease_id.empty(); }
  bool operator==(const Ticket&) const = default;
};

/// Why a ticket left the queue without being granted (or after its lease ended).
enum class TicketEnd { Left, Expired, Superseded, RunEnded, LeaseEnded };
std::string_view to_string(TicketEnd end);  // "left", "expired", "superseded", "run_ended", ...

struct EndedTicket {
  Ticket ticket;
  TicketEnd why = TicketEnd::Left;
  TimePoint at{};

  bool operator==(const EndedTicket&) const = default;
};

class DeployQueue {
 public:
  explicit DeployQueue(QueueSettings settings = {}) : settings_(settings) {}

  const QueueSettings& settings() const { return settings_; }
  /// Config reload: the tickets keep their places (a changed order applies to the next head).
  void set_settings(QueueSettings settings) { settings_ = settings; }

  enum class JoinResult { Joined, Full };
  /// Adds `ticket` (joined and seen at `now`). With supersede, waiting tickets of the
  /// same non-empty ref that joined earlier end as Superseded (returned through `ended`).
  JoinResult join(Ticket ticket, TimePoint now, std::vector<EndedTicket>* ended = nullptr);
  /// Keeps a ticket alive (a poll). False when unknown.
  bool touch(std::string_view id, TimePoint now);
  /// Removes a ticket (granted or not). False when unknown.
  std::optional<EndedTicket> leave(std::string_view id, TimePoint now);

  /// Waiting tickets in serving order (the head first).
  std::vector<const Ticket*> waiting() const;
  const Ticket* head() const;
  /// 1-based place of a waiting ticket; nullopt for a granted or unknown one.
  std::optional<std::size_t> position(std::string_view id) const;
  const Ticket* find(std::string_view id) const;
  std::size_t waiting_count() const;

  /// Marks the head granted with `lease_id`; nullptr (nothing changed) when nobody waits.
  const Ticket* grant_head(std::string lease_id);
  /// The lease of a granted ticket ended (released, expired, its run completed): the ticket is
  /// forgotten. Returns it, if one had that lease.
  std::optional<EndedTicket> lease_ended(std::string_view lease_id, TimePoint now);
  /// Waiting tickets of this run (any attempt when `attempt` is nullopt) end as RunEnded.
  std::vector<EndedTicket> run_ended(std::int64_t run_id, std::optional<int> attempt, TimePoint now);
  /// Waiting tickets not seen for ticket_ttl end as Expired; one without a poll time is seen now.
  std::vector<EndedTicket> expire(TimePoint now);
  /// The earliest instant a waiting ticket expires (one without a poll time: now + ticket_ttl).
  std::optional<TimePoint> next_expiry(TimePoint now) const;
  /// When the ticket was joined or last polled, if known.
  std::optional<TimePoint> last_seen(std::string_view id) const;

  /// Every ticket, granted or waiting, in join order (what the state file keeps).
  const std::vector<Ticket>& tickets() const { return tickets_; }
  /// The tickets as saved (restart) or as before a failed commit (rollback). Poll times of
  /// tickets still known are kept.
  void restore(std::vector<Ticket> tickets);

 private:
  QueueSettings settings_;
  std::vector<Ticket> tickets_;  // join order
  std::map<std::string, TimePoint, std::less<>> seen_;  // not durable
};

}  // namespace deployguard
