#include "upstream/arm_api.hpp"

#include <utility>

#include <boost/asio/post.hpp>

#include "parse/azure.hpp"
#include "parse/headers.hpp"
#include "upstream/url.hpp"

namespace deployguard::upstream {

std::string arm_error_text(const http::HttpResponse& response) {
  std::string text = "ARM " + std::to_string(response.status);
  auto err = parse::parse_arm_error(response.body);
  if (err.ok()) {
    if (!err->code.empty()) text += " " + err->code;
    if (!err->message.empty()) text += ": " + err->message;
    // The real cause often sits in details[] (ServerBusy under ResourceDeploymentFailure).
    for (const auto& d : err->details) {
      if (d.code.empty() || d.code == err->code) continue;
      text += " [" + d.code + (d.message.empty() ? "" : ": " + d.message) + "]";
      break;
    }
  }
  return text;
}

std::string arm_error_code(const http::HttpResponse& response) {
  auto err = parse::parse_arm_error(response.body);
  if (!err.ok()) return {};
  for (std::string_view busy : {"ServerIsBusy", "ServerBusy"})
    if (parse::arm_error_mentions(*err, busy)) return std::string(busy);
  return err->code;
}

ArmApi::ArmApi(boost::asio::io_context& ioc, http::HttpClient& client, TokenProvider& tokens,
               const Clock& wall_clock, std::string arm_url)
    : ioc_(ioc), client_(client), tokens_(tokens), clock_(wall_clock), arm_url_(std::move(arm_url)) {}

void ArmApi::get(std::string url, std::shared_ptr<RequestStats> stats, Callback done) {
  send(Outgoing{"GET", std::move(url), {}, std::nullopt}, std::move(stats), std::move(done), false);
}

void ArmApi::send(std::string method, std::string url, std::string json_body,
                  std::shared_ptr<RequestStats> stats, Callback done,
                  std::optional<Duration> timeout) {
  send(Outgoing{std::move(method), std::move(url), std::move(json_body), timeout},
       std::move(stats), std::move(done), false);
}

void ArmApi::send(Outgoing out, std::shared_ptr<RequestStats> stats, Callback done,
                  bool retried) {
  // Callers check the links they follow and say which; this is the backstop for any other URL.
  if (auto refused = refuse_foreign_origin("ARM request URL", out.url, arm_url_, "the ARM token")) {
    return boost::asio::post(ioc_, [alive = guard_.watch(), done = std::move(done),
                                     refused = std::move(*refused)] {
      if (alive.expired()) return;
      done({PollStatus::failure(refused, FailureKind::permanent), std::nullopt});
    });
  }
  tokens_.get_token([this, alive = guard_.watch(), out = std::move(out), stats = std::move(stats),
                     done = std::move(done), retried](TokenResult token) mutable {
    if (alive.expired()) return;
    if (!token.token) return done({PollStatus::failure(token.error), std::nullopt});
    http::HttpRequest req;
    req.method = out.method;
    req.url = out.url;
    req.headers = {{"Authorization", "Bearer " + *token.token}, {"Accept", "application/json"}};
    if (!out.body.empty()) {
      req.headers.push_back({"Content-Type", "application/json"});
      req.body = out.body;
    }
    req.timeout = out.timeout;
    // A mutation is never replayed by following a redirect to somewhere else.
    if (out.method != "GET") req.follow_redirects = false;
    client_.send(std::move(req), [this, alive, out = std::move(out), stats = std::move(stats),
                                  done = std::move(done), retried](http::HttpResult result) mutable {
      if (alive.expired()) return;
      if (stats) stats->record(result);
      if (!result.ok()) {
        const auto& e = result.error();
        return done({PollStatus::failure("ARM request failed: " +
                                          std::string(http::to_string(e.kind)) + ": " + e.message),
                      std::nullopt});
      }
      auto& res = result.response();
      if (res.status == 401 && !retried) {
        // Expired or revoked before we expected: fetch a new token and try once more.
        tokens_.invalidate();
        return send(std::move(out), std::move(stats), std::move(done), true);
      }
      if (res.status >= 200 && res.status < 300) return done({PollStatus::success(), std::move(res)});
      if (res.status == 429) {
        auto retry_after = res.header("retry-after");
        std::optional<Duration> wait;
        if (retry_after) wait = parse::parse_retry_after(*retry_after, clock_.now());
        // Without Retry-After ARM gives no hint: the regular exponential backoff applies.
        return done({PollStatus::failure(arm_error_text(res),
                                         wait ? FailureKind::rate_limited : FailureKind::transient,
                                         wait),
                     std::move(res)});
      }
      const bool permanent = res.status == 401 || res.status == 403 || res.status == 404;
      return done({PollStatus::failure(arm_error_text(res),
                                       permanent ? FailureKind::permanent : FailureKind::transient),
                   std::move(res)});
    });
  });
}

}  // namespace deployguard::upstream
