#include "notify/retry.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

namespace deployguard::notify {
namespace {

bool retryable_error(http::HttpErrorKind kind) {
  switch (kind) {
    case http::HttpErrorKind::resolve:
    case http::HttpErrorKind::connect:
    case http::HttpErrorKind::tls:
    case http::HttpErrorKind::proxy:
    case http::HttpErrorKind::timeout:
    case http::HttpErrorKind::protocol:
    case http::HttpErrorKind::io: return true;
    case http::HttpErrorKind::invalid_request:
    case http::HttpErrorKind::too_large:
    case http::HttpErrorKind::too_many_redirects:
    case http::HttpErrorKind::redirect_refused:
    case http::HttpErrorKind::cancelled: return false;
  }
  return false;
}

Duration backoff(int attempts, const RetryPolicy& policy, double jitter) {
  Duration wait = policy.initial_backoff;
  for (int i = 1; i < attempts && wait < policy.max_backoff; ++i) wait *= 2;
  wait = std::min(wait, policy.max_backoff);
  const double factor = 0.5 + 0.5 * std::clamp(jitter, 0.0, 1.0);
  return Duration{static_cast<Duration::rep>(static_cast<double>(wait.count()) * factor)};
}

}  // namespace

std::optional<Duration> parse_retry_after(std::string_view value, TimePoint now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  long long seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc{} && end == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    return std::chrono::duration_cast<Duration>(std::chrono::seconds{std::min(seconds, 86400LL)});
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  const std::string text(value);
  const char* parsed = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (parsed == nullptr || *parsed != '\0') return std::nullopt;
  const auto at = std::chrono::sys_seconds{std::chrono::seconds{::timegm(&tm)}};
  const auto wait = std::chrono::duration_cast<Duration>(at - now);
  return std::max(wait, Duration{0});
}

AttemptVerdict judge_attempt(const http::HttpResult& result, int attempts,
                             const RetryPolicy& policy, TimePoint now, double jitter) {
  AttemptVerdict verdict;
  bool retryable = false;
  std::optional<Duration> retry_after;
  if (!result.ok()) {
    verdict.why = "error=" + std::string(http::to_string(result.error().kind));
    retryable = retryable_error(result.error().kind);
  } else {
    const auto& response = result.response();
    verdict.why = "status=" + std::to_string(response.status);
    if (response.status >= 200 && response.status < 300) {
      verdict.outcome = AttemptOutcome::Sent;
      return verdict;
    }
    retryable = response.status >= 500 || response.status == 429 || response.status == 408;
    if (retryable)
      if (const auto header = response.header("Retry-After"))
        retry_after = parse_retry_after(*header, now);
  }
  if (!retryable) return verdict;
  if (attempts >= policy.max_attempts) {
    verdict.why += " attempts=" + std::to_string(attempts);
    return verdict;
  }
  verdict.outcome = AttemptOutcome::Retry;
  verdict.wait = retry_after ? std::min(*retry_after, policy.max_retry_after)
                             : backoff(attempts, policy, jitter);
  return verdict;
}

}  // namespace deployguard::notify
