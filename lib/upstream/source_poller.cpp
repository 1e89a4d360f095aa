#include "upstream/source_poller.hpp"

#include <algorithm>
#include <utility>

#include "log/escape.hpp"
#include "log/log.hpp"

namespace deployguard::upstream {
SourcePoller::SourcePoller(boost::asio::io_context& ioc, std::string environment,
                           std::unique_ptr<PolledSource> source, EventSink& sink,
                           SchedulePolicy policy, Duration min_refresh_spacing, Random random)
    : env_(std::move(environment)), source_(std::move(source)), sink_(sink),
      policy_(policy), min_refresh_spacing_(min_refresh_spacing), random_(std::move(random)),
      timer_(ioc) {}

SourcePoller::~SourcePoller() { stop(); }

void SourcePoller::start(Duration initial_delay) {
  if (started_) return;
  started_ = true;
  arm(initial_delay);
}

void SourcePoller::stop() {
  started_ = false;
  refresh_pending_ = false;
  ++generation_;
  armed_for_.reset();
  timer_.cancel();
}

void SourcePoller::arm(Duration delay) {
  if (!started_) return;
  const auto gen = ++generation_;
  armed_for_ = std::chrono::steady_clock::now() + delay;
  timer_.expires_at(*armed_for_);
  timer_.async_wait([this, alive = guard_.watch(), gen](const boost::system::error_code& ec) {
    if (alive.expired() || ec || gen != generation_) return;
    armed_for_.reset();
    begin_poll();
  });
}

bool SourcePoller::refresh_now() {
  if (!started_) return false;
  if (consecutive_failures_ > 0) return false;
  if (in_flight_) {
    refresh_pending_ = true;
    return true;
  }
  const auto now = std::chrono::steady_clock::now();
  auto at = now;
  if (last_started_) at = std::max(now, *last_started_ + min_refresh_spacing_);
  if (!armed_for_ || at < *armed_for_)
    arm(std::chrono::ceil<Duration>(at - now));
  return true;
}

void SourcePoller::begin_poll() {
  if (!started_ || in_flight_) return;
  in_flight_ = true;
  refresh_pending_ = false;
  source_->poll([this, alive = guard_.watch()](PollStatus status) {
    if (alive.expired()) return;
    on_done(std::move(status));
  });
  // Taken after poll() has sent its first request, so the spacing is never measured from a
  // point earlier than the request.
  last_started_ = std::chrono::steady_clock::now();
}

void SourcePoller::on_done(PollStatus status) {
  in_flight_ = false;
  if (!started_) return;  // stopped while in flight: deliver nothing more
  if (status.ok) {
    if (consecutive_failures_ > 0)
      logging::subsystem_logger("upstream")->info("source recovered env={} source={} after_failures={}", env_, source_->id(),
                     consecutive_failures_);
    consecutive_failures_ = 0;
    consecutive_rate_limits_ = 0;
    last_error_.clear();
    ++polls_ok_;
  } else {
    ++consecutive_failures_;
    if (status.kind == FailureKind::rate_limited) ++consecutive_rate_limits_;
    else consecutive_rate_limits_ = 0;
    ++polls_failed_;
    last_error_ = status.error;
    sink_.apply(env_, SourceFailed{source_->id(), status.error,
                                   status.kind == FailureKind::permanent});
  }
  next_delay_ = next_poll_delay(policy_, status, consecutive_failures_, consecutive_rate_limits_,
                                random_ ? random_() : 0.5);
  if (!status.ok)
    logging::subsystem_logger("upstream")->warn("source poll failed env={} source={} consecutive={} retry_in_ms={} error=\"{}\"",
                   env_, source_->id(), consecutive_failures_, next_delay_.count(), logging::escape(status.error));
  if (refresh_pending_ && status.ok) {
    // Something changed while that poll was running (webhook): look again right away, still
    // respecting the spacing between poll starts.
    refresh_pending_ = false;
    const auto now = std::chrono::steady_clock::now();
    const auto at = std::max(now, *last_started_ + min_refresh_spacing_);
    const auto delay = std::max(std::min(next_delay_, std::chrono::ceil<Duration>(at - now)),
                                status.wait.value_or(Duration::zero()));
    return arm(delay);
  }
  refresh_pending_ = false;
  arm(next_delay_);
}

SourceStats SourcePoller::stats() const {
  SourceStats s;
  s.environment = env_;
  s.source = source_->id();
  s.requests = source_->request_stats();
  s.rate_limit_remaining = source_->rate_limit_remaining();
  s.polls_ok = polls_ok_;
  s.polls_failed = polls_failed_;
  s.consecutive_failures = consecutive_failures_;
  s.rate_limited = consecutive_rate_limits_ > 0;
  s.in_flight = in_flight_;
  s.last_error = last_error_;
  s.next_delay = next_delay_;
  return s;
}

}  // namespace deployguard::upstream
