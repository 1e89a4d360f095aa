#include "upstream/request_stats.hpp"

namespace deployguard::upstream {

void RequestStats::record(const http::HttpResult& result) {
  if (result.ok()) {
    last_status = result.response().status;
    last_transport_error.clear();
    ++by_status[last_status];
  } else {
    last_status = 0;
    last_transport_error = std::string(http::to_string(result.error().kind));
    ++transport_errors;
  }
}

std::uint64_t RequestStats::total() const {
  std::uint64_t n = transport_errors;
  for (const auto& [status, count] : by_status) n += count;
  return n;
}

}  // namespace deployguard::upstream
