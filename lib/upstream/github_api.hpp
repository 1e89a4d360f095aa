#pragma once
// GitHub REST access shared by every GitHub source of one daemon (one token, hence one rate-limit
// budget): common headers, bearer token from the configured file or variable (re-read once on a
// 401), the rate-limit gate and the mapping of responses to PollStatus. Requests go to the
// origin of github.api_url only: any other URL fails (permanent) without being sent, so the
// token never leaves it (the HTTP client drops it on a redirect elsewhere).
//
// Threading: single event loop; call only on the thread running the io_context. Callbacks run
// there too, never from inside get().
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "core/config.hpp"
#include "core/time.hpp"
#include "http/client/http_client.hpp"
#include "upstream/lifetime.hpp"
#include "upstream/request_stats.hpp"
#include "upstream/schedule.hpp"
#include "upstream/url.hpp"

namespace deployguard::upstream {

inline constexpr std::string_view kGitHubApiVersion = "2022-11-28";

struct GitHubApiResult {
  /// ok for 2xx and 304. A failure's error reads "GitHub 500: <message>", "GitHub 403 rate
  /// limited: <message>", "GitHub request failed: timeout: <detail>", ...
  PollStatus status;
  std::optional<http::HttpResponse> response;  // set whenever a response arrived
};

class GitHubApi {
 public:
  /// Returns the token, "" for none configured (unauthenticated requests), or nullopt with
  /// `error` set when it cannot be read. Never logged.
  using TokenSource = std::function<std::optional<std::string>(std::string& error)>;
  using Callback = std::function<void(GitHubApiResult)>;

  /// `tokens` defaults to reading config.token_file / config.token_env through lib/config
  /// secrets. `wall_clock` is used for x-ratelimit-reset (epoch seconds) only.
  GitHubApi(boost::asio::io_context& ioc, http::HttpClient& client, const GitHubConfig& config,
            const Clock& wall_clock, TokenSource tokens = {});

  /// `path` starting with "/" is appended to api_url; anything else is used as an absolute URL
  /// (Link header targets), which must be on api_url's origin. `extra` headers are added to the
  /// standard ones. `stats` (optional) records each request actually sent. While the rate-limit
  /// gate is closed the request is not sent: it fails with kind rate_limited and the remaining
  /// wait.
  void get(std::string path_or_url, http::Headers extra, std::shared_ptr<RequestStats> stats,
           Callback done, std::optional<std::size_t> max_response_bytes = std::nullopt);

  /// POST with a JSON body (empty: no body), e.g. ".../actions/runs/{id}/cancel". Same headers,
  /// token, rate-limit gate and status mapping as get(); never follows redirects.
  void post(std::string path_or_url, std::string json_body, std::shared_ptr<RequestStats> stats,
            Callback done);

  std::string url(std::string_view path) const { return api_url_ + std::string(path); }
  /// github.api_url without trailing slashes; links to follow are checked against its origin.
  const std::string& api_url() const { return api_url_; }

  /// x-ratelimit-remaining of the last response that carried it.
  std::optional<std::int64_t> rate_limit_remaining() const { return remaining_; }
  /// Until when no request is sent (rate limited or the window's budget used up).
  std::optional<TimePoint> blocked_until() const { return blocked_until_; }
  /// Remaining wait of the gate from now, nullopt when open.
  std::optional<Duration> gate_wait() const;

  /// Wait applied to a rate limit whose response names neither Retry-After nor a reset.
  void set_rate_limit_min_wait(Duration d) { rate_limit_min_wait_ = d; }

 private:
  /// What to send; kept for the one retry after a 401.
  struct Outgoing {
    std::string method;
    std::string url;
    std::string body;
    http::Headers extra;
    std::optional<std::size_t> max_bytes;
  };
  void start(Outgoing out, std::shared_ptr<RequestStats> stats, Callback done);
  void send(Outgoing out, std::shared_ptr<RequestStats> stats, Callback done, std::string token,
            bool retried);
  void on_response(http::HttpResult result, Outgoing out, std::shared_ptr<RequestStats> stats,
                   Callback done, std::string token, bool retried);
  void post_result(Callback done, GitHubApiResult result);

  boost::asio::io_context& ioc_;
  http::HttpClient& client_;
  const Clock& clock_;
  std::string api_url_;
  TokenSource tokens_;
  std::optional<std::int64_t> remaining_;
  std::optional<TimePoint> blocked_until_;
  Duration rate_limit_min_wait_{std::chrono::minutes{1}};
  LifetimeGuard guard_;
};

/// The URL marked rel="next" in an RFC 8288 Link header, or nullopt.
std::optional<std::string> link_next(std::string_view link_header);

}  // namespace deployguard::upstream
