#include "upstream/github_api.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include <boost/asio/post.hpp>

#include "config/secrets.hpp"
#include "parse/github.hpp"

namespace deployguard::upstream {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string header_or_empty(const http::HttpResponse& r, std::string_view name) {
  auto v = r.header(name);
  return v ? std::string(*v) : std::string();
}

std::string github_message(const http::HttpResponse& r) {
  auto err = parse::parse_github_error(r.body);
  if (err.ok() && !err->message.empty()) return err->message;
  return r.body.empty() ? "empty body" : "unparsable error body";
}

std::string trim_trailing_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string seconds_text(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + "s";
}

}  // namespace

std::optional<std::string> link_next(std::string_view header) {
  // <url>; rel="next", <url>; rel="last"
  std::size_t pos = 0;
  while (pos < header.size()) {
    const auto open = header.find('<', pos);
    if (open == std::string_view::npos) return std::nullopt;
    const auto close = header.find('>', open);
    if (close == std::string_view::npos) return std::nullopt;
    const auto end = header.find(',', close);
    const auto params = header.substr(close + 1, end == std::string_view::npos
                                                     ? std::string_view::npos
                                                     : end - close - 1);
    const std::string p = lower(params);
    if (p.find("rel=\"next\"") != std::string::npos || p.find("rel=next") != std::string::npos)
      return std::string(header.substr(open + 1, close - open - 1));
    if (end == std::string_view::npos) return std::nullopt;
    pos = end + 1;
  }
  return std::nullopt;
}

GitHubApi::GitHubApi(boost::asio::io_context& ioc, http::HttpClient& client,
                     const GitHubConfig& config, const Clock& wall_clock, TokenSource tokens)
    : ioc_(ioc), client_(client), clock_(wall_clock), api_url_(trim_trailing_slash(config.api_url)),
      tokens_(std::move(tokens)) {
  if (!tokens_) {
    tokens_ = [file = config.token_file, env = config.token_env](std::string& error)
        -> std::optional<std::string> {
      if (!file && !env) return std::string();
      return config::read_secret(file, env, error);
    };
  }
}

std::optional<Duration> GitHubApi::gate_wait() const {
  if (!blocked_until_) return std::nullopt;
  const auto now = clock_.now();
  if (now >= *blocked_until_) return std::nullopt;
  return *blocked_until_ - now;
}

void GitHubApi::post_result(Callback done, GitHubApiResult result) {
  boost::asio::post(ioc_, [alive = guard_.watch(), done = std::move(done),
                           result = std::move(result)]() mutable {
    if (alive.expired()) return;
    done(std::move(result));
  });
}

void GitHubApi::get(std::string path_or_url, http::Headers extra,
                    std::shared_ptr<RequestStats> stats, Callback done,
                    std::optional<std::size_t> max_response_bytes) {
  std::string url = path_or_url.starts_with("/") ? api_url_ + path_or_url : std::move(path_or_url);
  start(Outgoing{"GET", std::move(url), {}, std::move(extra), max_response_bytes}, std::move(stats),
        std::move(done));
}

void GitHubApi::post(std::string path_or_url, std::string json_body,
                     std::shared_ptr<RequestStats> stats, Callback done) {
  std::string url = path_or_url.starts_with("/") ? api_url_ + path_or_url : std::move(path_or_url);
  start(Outgoing{"POST", std::move(url), std::move(json_body), {}, std::nullopt}, std::move(stats),
        std::move(done));
}

void GitHubApi::start(Outgoing out, std::shared_ptr<RequestStats> stats, Callback done) {
  // Callers check the links they follow and say which; this is the backstop for any other URL.
  if (auto refused = refuse_foreign_origin("GitHub request URL", out.url, api_url_,
                                           "the GitHub token"))
    return post_result(std::move(done),
                       {PollStatus::failure(std::move(*refused), FailureKind::permanent), std::nullopt});
  if (auto wait = gate_wait()) {
    if (stats) ++stats->skipped_rate_limited;
    return post_result(std::move(done),
                {PollStatus::failure("GitHub rate limited: next request allowed in " +
                                         seconds_text(*wait),
                                     FailureKind::rate_limited, *wait),
                 std::nullopt});
  }
  std::string error;
  auto token = tokens_(error);
  if (!token)
    return post_result(std::move(done), {PollStatus::failure("GitHub token: " + error), std::nullopt});
  send(std::move(out), std::move(stats), std::move(done), std::move(*token), false);
}

void GitHubApi::send(Outgoing out, std::shared_ptr<RequestStats> stats, Callback done,
                     std::string token, bool retried) {
  http::HttpRequest req;
  req.method = out.method;
  req.url = out.url;
  req.headers = {{"Accept", "application/vnd.github+json"},
                 {"X-GitHub-Api-Version", std::string(kGitHubApiVersion)}};
  if (!token.empty()) req.headers.push_back({"Authorization", "Bearer " + token});
  for (const auto& h : out.extra) req.headers.push_back(h);
  if (!out.body.empty()) {
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = out.body;
  }
  if (out.method != "GET") req.follow_redirects = false;
  req.max_response_bytes = out.max_bytes;
  client_.send(std::move(req), [this, alive = guard_.watch(), out = std::move(out),
                                stats = std::move(stats), done = std::move(done),
                                token = std::move(token), retried](http::HttpResult result) mutable {
    if (alive.expired()) return;
    on_response(std::move(result), std::move(out), std::move(stats), std::move(done),
                std::move(token), retried);
  });
}

void GitHubApi::on_response(http::HttpResult result, Outgoing out,
                            std::shared_ptr<RequestStats> stats, Callback done, std::string token,
                            bool retried) {
  if (stats) stats->record(result);
  if (!result.ok()) {
    const auto& e = result.error();
    return done({PollStatus::failure("GitHub request failed: " +
                                     std::string(http::to_string(e.kind)) + ": " + e.message),
                 std::nullopt});
  }
  http::HttpResponse& res = result.response();
  const auto now = clock_.now();
  const auto rate = parse::parse_rate_limit(header_or_empty(res, "x-ratelimit-remaining"),
                                            header_or_empty(res, "x-ratelimit-reset"),
                                            header_or_empty(res, "retry-after"), now);
  if (rate.remaining) remaining_ = rate.remaining;
  const unsigned status = res.status;

  if (status == 401 && !retried && !token.empty()) {
    // The token may have been rotated on disk: read it again and retry once with the new one.
    std::string error;
    auto fresh = tokens_(error);
    if (fresh && !fresh->empty() && *fresh != token)
      return send(std::move(out), std::move(stats), std::move(done), std::move(*fresh), true);
  }

  const bool limit_status = status == 403 || status == 429;
  if (limit_status) {
    const std::string message = github_message(res);
    const bool says_rate_limit = lower(message).find("rate limit") != std::string::npos;
    if (rate.exhausted() || rate.retry_after || says_rate_limit) {
      auto until = rate.retry_at(now);
      std::optional<Duration> wait;
      if (until) {
        wait = std::max(*until - now, Duration{std::chrono::seconds{1}});
        blocked_until_ = now + *wait;
      } else {
        // Neither Retry-After nor a usable reset: GitHub asks for at least a minute.
        blocked_until_ = now + rate_limit_min_wait_;
      }
      std::string text = "GitHub " + std::to_string(status) + " rate limited: " + message;
      if (wait) text += " (retry in " + seconds_text(*wait) + ")";
      return done({PollStatus::failure(std::move(text), FailureKind::rate_limited, wait),
                   std::move(res)});
    }
  }

  if ((status >= 200 && status < 300) || status == 304) {
    PollStatus ok = PollStatus::success();
    if (rate.exhausted() && rate.reset_at && *rate.reset_at > now) {
      // That was the window's last request: the next one waits for the reset.
      blocked_until_ = *rate.reset_at;
      ok.wait = *rate.reset_at - now;
    }
    return done({std::move(ok), std::move(res)});
  }
  std::string text = "GitHub " + std::to_string(status) + ": " + github_message(res);
  const bool permanent = status == 401 || status == 403 || status == 404;
  return done({PollStatus::failure(std::move(text),
                                   permanent ? FailureKind::permanent : FailureKind::transient),
               std::move(res)});
}

}  // namespace deployguard::upstream
