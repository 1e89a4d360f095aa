#pragma once
// What to do after one attempt to post a notification: done, try again after a wait, or give
// up. Pure: the caller passes the attempt count, `now` and the jitter draw.
#include <string>

#include "core/time.hpp"
#include "http/client/http_client.hpp"

namespace deployguard::notify {

struct RetryPolicy {
  int max_attempts = 5;                              // posts per message, the first included
  Duration initial_backoff = std::chrono::seconds{1};  // doubled after each failed attempt
  Duration max_backoff = std::chrono::seconds{60};
  Duration max_retry_after = std::chrono::minutes{5};  // a longer Retry-After is cut to this
};

enum class AttemptOutcome {
  Sent,    // 2xx
  Retry,   // connection error, timeout, 408, 429 or 5xx, attempts left: wait, then post again
  Failed,  // any other answer (3xx, 4xx), a request the client refuses, or no attempts left
};

struct AttemptVerdict {
  AttemptOutcome outcome = AttemptOutcome::Failed;
  Duration wait{};  // Retry only
  std::string why;  // "status=503", "error=timeout"; never a URL or a header value
};

/// `attempts`: posts made so far, this one included (1 after the first). `jitter` in [0, 1)
/// spreads the backoff over [b/2, b); a Retry-After (seconds, or an HTTP date compared with
/// `now`) is honoured as given, capped at max_retry_after.
AttemptVerdict judge_attempt(const http::HttpResult& result, int attempts,
                             const RetryPolicy& policy, TimePoint now, double jitter);

/// Retry-After as a wait from `now`: delta-seconds or an IMF-fixdate; nullopt if unparsable.
std::optional<Duration> parse_retry_after(std::string_view value, TimePoint now);

}  // namespace deployguard::notify
