#include "upstream/log.hpp"

#include <spdlog/spdlog.h>

namespace deployguard::upstream {

std::shared_ptr<spdlog::logger> upstream_logger() {
  if (auto existing = spdlog::get("upstream")) return existing;
  auto created = spdlog::default_logger()->clone("upstream");
  try {
    spdlog::register_logger(created);
  } catch (const spdlog::spdlog_ex&) {
    // Registered concurrently by someone else: use theirs.
    if (auto existing = spdlog::get("upstream")) return existing;
  }
  return created;
}

}  // namespace deployguard::upstream
