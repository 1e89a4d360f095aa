#pragma once
// One upstream source of one environment, polled by a SourcePoller.
#include <cstdint>
#include <functional>
#include <optional>

#include "core/policy.hpp"
#include "upstream/request_stats.hpp"
#include "upstream/schedule.hpp"

namespace deployguard::upstream {

class PolledSource {
 public:
  virtual ~PolledSource() = default;

  /// The policy's source id: "github", "container_app" or "postgres/<name>".
  virtual const SourceId& id() const = 0;

  /// Fetches the source once. On success the source itself delivers its events to the sink
  /// *before* calling done(success); on failure it delivers nothing and the poller emits
  /// SourceFailed with status.error. `done` is called exactly once, on the io_context thread,
  /// never from inside poll(). The poller never starts a poll while one is in flight.
  virtual void poll(std::function<void(PollStatus)> done) = 0;

  virtual RequestStats request_stats() const = 0;
  /// GitHub's x-ratelimit-remaining as last seen; nullopt for other sources.
  virtual std::optional<std::int64_t> rate_limit_remaining() const { return std::nullopt; }
};

}  // namespace deployguard::upstream
