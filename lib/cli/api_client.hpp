#pragma once
// Blocking HTTP/1.1 client for the command-line front end talking to a local deployguard
// daemon. The CLI is a short-lived process with nothing else to do while it waits, so blocking
// I/O (with deadlines) is the simple, correct choice here; the daemon itself never uses this.
#include <chrono>
#include <optional>
#include <string>

namespace deployguard::cli {

struct ApiResponse {
  unsigned status = 0;
  std::string body;
  std::optional<std::string> retry_after;  // Retry-After header, when present
};

struct ApiError {
  std::string message;  // one line, e.g. "cannot connect to http://127.0.0.1:8080: Connection refused"
};

class ApiClient {
 public:
  /// `server_url`: "http://host:port" (a trailing slash is fine). `token`: sent as Bearer when set.
  ApiClient(std::string server_url, std::optional<std::string> token,
            std::chrono::seconds timeout = std::chrono::seconds{30});

  /// Throws ApiError on connection, timeout or protocol failure; any HTTP status is a response.
  ApiResponse request(const std::string& method, const std::string& target,
                      const std::string& body = {},
                      std::optional<std::chrono::seconds> timeout = std::nullopt) const;

  const std::string& server_url() const { return server_url_; }

 private:
  std::string server_url_;
  std::string host_;
  std::string port_;
  std::optional<std::string> token_;
  std::chrono::seconds timeout_;
};

/// Percent-encodes a query or path component.
std::string url_encode(std::string_view text);

}  // namespace deployguard::cli
