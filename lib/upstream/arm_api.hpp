#pragma once
// Azure Resource Manager GETs shared by every Azure source: bearer token from the TokenProvider
// (a 401 drops the cached token and retries once with a fresh one), 429 + Retry-After as a rate
// limit, ARM error envelopes turned into "ARM 404 ResourceNotFound: <message>". The token is
// only ever sent to the origin of the configured arm_url: a request to any other URL fails
// (permanent) without being sent.
//
// Threading: single event loop; callbacks run on the io_context, never inside get().
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "core/time.hpp"
#include "http/client/http_client.hpp"
#include "upstream/azure_credentials.hpp"
#include "upstream/lifetime.hpp"
#include "upstream/request_stats.hpp"
#include "upstream/schedule.hpp"

namespace deployguard::upstream {

struct ArmResult {
  PollStatus status;                           // ok for 2xx
  std::optional<http::HttpResponse> response;  // set whenever a response arrived
};

class ArmApi {
 public:
  using Callback = std::function<void(ArmResult)>;
  /// `tokens` must outlive the ArmApi. `wall_clock` dates Retry-After HTTP-dates. `arm_url`
  /// (azure.arm_url) is the origin the token is for.
  ArmApi(boost::asio::io_context& ioc, http::HttpClient& client, TokenProvider& tokens,
         const Clock& wall_clock, std::string arm_url);

  /// The configured ARM endpoint; links to follow are checked against its origin.
  const std::string& arm_url() const { return arm_url_; }

  void get(std::string url, std::shared_ptr<RequestStats> stats, Callback done);
  /// Any method with an optional JSON body (PATCH of a container app, POST .../deactivate).
  /// Same token handling and status mapping as get(); `timeout` overrides the client's total
  /// deadline for this request.
  void send(std::string method, std::string url, std::string json_body,
            std::shared_ptr<RequestStats> stats, Callback done,
            std::optional<Duration> timeout = std::nullopt);

 private:
  struct Outgoing {
    std::string method;
    std::string url;
    std::string body;
    std::optional<Duration> timeout;
  };
  void send(Outgoing out, std::shared_ptr<RequestStats> stats, Callback done, bool retried);

  boost::asio::io_context& ioc_;
  http::HttpClient& client_;
  TokenProvider& tokens_;
  const Clock& clock_;
  std::string arm_url_;
  LifetimeGuard guard_;
};

/// "ARM 404 ResourceNotFound: The Resource '...' was not found." from an ARM error response;
/// the status alone when the body is not an error envelope.
std::string arm_error_text(const http::HttpResponse& response);

/// The ARM error code of a response ("Conflict", "ServerIsBusy", ...), "" when it has none.
/// A busy code (ServerIsBusy / ServerBusy) anywhere in details[] wins over the outer code.
std::string arm_error_code(const http::HttpResponse& response);

}  // namespace deployguard::upstream
