#pragma once
// Logging setup: one spdlog logger per subsystem ("http", "guard", "api", "app", ...), all
// writing to stderr through the same sink. Lines are `key=value` pairs; never log secrets.
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "core/config.hpp"

namespace deployguard::app {

/// Installs the stderr sink as the default logger with the configured level and format
/// ("text": `2025-12-31T19:03:58.123Z info [guard] event=... `, "json": one JSON object per
/// line). `level_override` (the --log-level flag) wins over config. Applies to loggers that
/// already exist too. Throws std::invalid_argument for an unknown level or format (startup).
void configure_logging(const LogConfig& config, const std::optional<std::string>& level_override);

/// The spdlog pattern of the text format; without a timestamp under journald (JOURNAL_STREAM),
/// which adds its own.
std::string text_log_pattern(bool under_journald);

/// The logger of one subsystem, created on first use with the default logger's sinks and level.
std::shared_ptr<spdlog::logger> subsystem_logger(const std::string& name);

}  // namespace deployguard::app
