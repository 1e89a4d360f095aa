#pragma once
// Notifier: posts audit-trail events (see events.hpp) to the configured sinks (notify[]) without
// ever blocking the event loop.
//
//   * Input: observe(record), registered with service::Persistence::add_audit_observer. Each
//     sink picks the record's categories it subscribes to and the environments it watches.
//   * Coalescing per sink, environment and category (coalescer.hpp): the first event goes out at
//     once; further events within min_interval_between become ONE message with the latest
//     state, sent when the interval ends, saying how many changes it covers.
//   * Per sink: a bounded queue (`queue_limit` messages; when full the oldest is dropped,
//     counted and logged) and at most one post in flight, through the shared HttpClient with a
//     deadline per post (`request_timeout`), redirects not followed, the response body capped.
//   * Retries (retry.hpp): connection errors, timeouts, 408, 429 and 5xx are retried with
//     jittered exponential backoff or the server's Retry-After (capped), up to
//     `retry.max_attempts` posts; then the message is counted `failed` and logged. Other
//     answers fail at once.
//   * Secrets: a sink's URL (a credential for Slack and Teams) and its signing key are held
//     here only. Log lines name the sink and the URL's origin (scheme, host, port); messages
//     hold what the audit log holds, which has no secrets.
//   * configure() (start-up, SIGHUP) keeps a sink whose settings are unchanged (its queue,
//     windows and post in flight) and replaces the others; a removed or replaced sink's pending
//     messages are dropped and counted. Counters are kept by sink name across reloads.
//   * stop() (shutdown): cancels every timer and drops what is pending (counted); later
//     events are ignored.
//
// Thread: io thread only (observe, configure, stop, stats), like GuardService. HTTP callbacks
// and timers run on the same executor; they hold weak references, so a sink may go away while
// its post is in flight.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <spdlog/logger.h>

#include "core/config.hpp"
#include "core/decision.hpp"
#include "core/time.hpp"
#include "http/client/http_client.hpp"
#include "notify/events.hpp"
#include "notify/message.hpp"
#include "notify/retry.hpp"
#include "state/audit_log.hpp"

namespace deployguard::notify {

/// A sink ready to use: its configuration plus the secrets read from its files.
struct SinkSettings {
  std::string name;
  Format format = Format::Json;
  std::set<Category> events;             // never empty
  std::set<std::string> environments;    // empty: every environment
  Duration min_interval_between{};
  std::string url;                       // secret
  std::optional<std::string> secret;     // secret; json only
  http::Origin origin;                   // what logs may show of the URL

  bool operator==(const SinkSettings&) const = default;
};

/// Reads every sink's url_file and secret_file (relative names in $CREDENTIALS_DIRECTORY
/// first). Throws std::runtime_error naming the key ("notify[0].url_file: ...") when a file
/// cannot be read or does not hold an http(s) URL; the message never quotes the file's content.
std::vector<SinkSettings> load_sinks(const std::vector<NotifyConfig>& config);

struct NotifierOptions {
  std::size_t queue_limit = 100;  // messages waiting per sink, the one in flight not counted
  RetryPolicy retry;
  Duration request_timeout = std::chrono::seconds{20};  // http_client.request_timeout
  std::size_t max_response_bytes = 64 * 1024;
  std::function<double()> jitter;  // [0, 1); default: a PRNG

  static NotifierOptions from_config(const HttpClientConfig& http) {
    NotifierOptions options;
    options.request_timeout = http.request_timeout;
    return options;
  }
};

/// Messages per sink by outcome, since start (kept across reloads).
struct SinkStats {
  std::uint64_t sent = 0;     // answered 2xx
  std::uint64_t retried = 0;  // attempts that are tried again
  std::uint64_t dropped = 0;  // queue full, sink removed or replaced, shutdown
  std::uint64_t failed = 0;   // a final answer that is not 2xx, or out of attempts
  std::size_t queued = 0;     // waiting now: queue + post in flight + held by coalescing
};

class Notifier {
 public:
  /// The environment's current decision; nullopt when the environment is unknown.
  using DecisionSource = std::function<std::optional<Decision>(const std::string& environment)>;

  /// `http` and `clock` must outlive this object.
  Notifier(boost::asio::any_io_executor executor, http::HttpClient& http, const Clock& clock,
           DecisionSource decisions, NotifierOptions options = {});
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  /// Replaces the sinks (see the file comment for what is kept). Does not throw.
  void configure(std::vector<SinkSettings> sinks);
  /// An audit record was appended: queue, hold or drop it for every sink.
  void observe(const state::AuditRecord& record);
  /// Cancels timers and drops everything pending, counted. Idempotent.
  void stop();

  std::map<std::string, SinkStats> stats() const;
  std::size_t sinks() const { return sinks_.size(); }

  class Sink;
  struct Counters {
    std::uint64_t sent = 0, retried = 0, dropped = 0, failed = 0;
  };

 private:
  boost::asio::any_io_executor executor_;
  http::HttpClient& http_;
  const Clock& clock_;
  DecisionSource decisions_;
  NotifierOptions options_;
  std::vector<std::shared_ptr<Sink>> sinks_;
  std::map<std::string, std::shared_ptr<Counters>> counters_;
  bool stopped_ = false;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace deployguard::notify
