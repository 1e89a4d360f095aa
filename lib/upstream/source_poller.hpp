#pragma once
// Polls one source of one environment on a steady_timer: the interval (+-jitter) after a
// success, exponential backoff after failures, the upstream's wait after a rate limit (see
// schedule.hpp). Every failure is delivered as SourceFailed; successes are delivered by the
// source itself. refresh_now() pulls the next poll forward (webhooks).
//
// Threading: single event loop; every member must be called on the io_context thread.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "upstream/event_sink.hpp"
#include "upstream/lifetime.hpp"
#include "upstream/polled_source.hpp"
#include "upstream/schedule.hpp"

namespace deployguard::upstream {

struct SourceStats {
  std::string environment;
  SourceId source;
  RequestStats requests;
  std::optional<std::int64_t> rate_limit_remaining;  // GitHub only
  std::uint64_t polls_ok = 0;
  std::uint64_t polls_failed = 0;
  int consecutive_failures = 0;
  bool rate_limited = false;  // the last poll ended in a rate limit
  bool in_flight = false;
  std::string last_error;     // "" after a success
  Duration next_delay{};      // the delay the poller last scheduled
};

class SourcePoller {
 public:
  /// Returns a uniform draw in [0, 1) for the jitter.
  using Random = std::function<double()>;

  /// `min_refresh_spacing`: refresh_now() never starts a poll sooner than this after the
  /// previous poll started (a burst of webhooks becomes one poll).
  SourcePoller(boost::asio::io_context& ioc, std::string environment,
               std::unique_ptr<PolledSource> source, EventSink& sink, SchedulePolicy policy,
               Duration min_refresh_spacing, Random random);
  ~SourcePoller();
  SourcePoller(const SourcePoller&) = delete;
  SourcePoller& operator=(const SourcePoller&) = delete;

  /// Schedules the first poll after `initial_delay`. No-op when already started.
  void start(Duration initial_delay = Duration::zero());
  /// Cancels the timer; a poll in flight completes but schedules nothing and emits nothing.
  void stop();
  /// Polls as soon as min_refresh_spacing allows. While a poll is in flight, one more poll
  /// follows it (any number of calls coalesce into that one). Ignored (returns false) when
  /// stopped or while the source is failing: backoff and rate-limit waits are never cut short.
  bool refresh_now();

  SourceStats stats() const;
  const std::string& environment() const { return env_; }
  PolledSource& source() { return *source_; }

 private:
  void arm(Duration delay);
  void begin_poll();
  void on_done(PollStatus status);

  std::string env_;
  std::unique_ptr<PolledSource> source_;
  EventSink& sink_;
  SchedulePolicy policy_;
  Duration min_refresh_spacing_;
  Random random_;
  boost::asio::steady_timer timer_;
  std::uint64_t generation_ = 0;  // invalidates timer handlers already queued when re-armed
  std::optional<std::chrono::steady_clock::time_point> armed_for_;
  std::optional<std::chrono::steady_clock::time_point> last_started_;
  bool started_ = false;
  bool in_flight_ = false;
  bool refresh_pending_ = false;
  int consecutive_failures_ = 0;
  int consecutive_rate_limits_ = 0;
  std::uint64_t polls_ok_ = 0;
  std::uint64_t polls_failed_ = 0;
  std::string last_error_;
  Duration next_delay_{};
  LifetimeGuard guard_;
};

}  // namespace deployguard::upstream
