#pragma once
#include <memory>

#include <spdlog/logger.h>

namespace deployguard::upstream {

/// The "upstream" logger (a clone of the default logger, created on first use).
std::shared_ptr<spdlog::logger> upstream_logger();

}  // namespace deployguard::upstream
