#pragma once
// Per-source HTTP request counters for metrics and status pages.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "http/client/http_client.hpp"

namespace deployguard::upstream {

struct RequestStats {
  unsigned last_status = 0;          // HTTP status of the last request; 0 after a transport error
  std::string last_transport_error;  // "timeout", "connect", ... ("" after a response)
  std::map<unsigned, std::uint64_t> by_status;  // responses by HTTP status
  std::uint64_t transport_errors = 0;           // requests that got no response
  std::uint64_t skipped_rate_limited = 0;       // requests not sent because of a rate limit

  void record(const http::HttpResult& result);
  std::uint64_t total() const;
};

}  // namespace deployguard::upstream
