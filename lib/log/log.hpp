#pragma once
// Logging, one leaf library every subsystem uses: one spdlog logger per subsystem ("http",
// "guard", "api", "upstream", ...), all writing to stderr through the default logger's sink.
// Lines are `key=value` pairs; never log secrets.
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

namespace deployguard::logging {

/// Installs the stderr sink as the default logger with the given level ("trace" ... "off",
/// "error", "warning") and format ("text": `2025-12-31T19:03:58.123Z info [guard] event=...`,
/// "json": one JSON object per line). Loggers that already exist switch to it too. Throws
/// std::invalid_argument for an unknown level or format.
void configure_logging(std::string_view level, std::string_view format);

/// The spdlog pattern of the text format; without a timestamp under journald (JOURNAL_STREAM),
/// which adds its own.
std::string text_log_pattern(bool under_journald);

/// The logger of one subsystem, created on first use with the default logger's sinks and level.
/// Safe to call from any thread: a logger registered concurrently by another caller is returned.
std::shared_ptr<spdlog::logger> subsystem_logger(const std::string& name);

}  // namespace deployguard::logging
