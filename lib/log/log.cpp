#include "log/log.hpp"

#include <cstdlib>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace deployguard::logging {
namespace {

/// %* in the JSON pattern: the message as a JSON string (quotes and escapes included).
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string text(msg.payload.data(), msg.payload.size());
    const auto quoted = nlohmann::json(text).dump(-1, ' ', false,
                                                  nlohmann::json::error_handler_t::replace);
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

}  // namespace

std::string text_log_pattern(bool under_journald) {
  // journald stamps every line itself: a second timestamp would only be noise.
  return under_journald ? "%l [%n] %v" : "%Y-%m-%dT%H:%M:%S.%eZ %l [%n] %v";
}

namespace {

std::unique_ptr<spdlog::formatter> make_formatter(std::string_view format) {
  if (format == "text") {
    // systemd sets JOURNAL_STREAM when stderr is connected to the journal.
    return std::make_unique<spdlog::pattern_formatter>(
        text_log_pattern(std::getenv("JOURNAL_STREAM") != nullptr), spdlog::pattern_time_type::utc);
  }
  if (format == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","msg":%*})");
    return formatter;
  }
  throw std::invalid_argument("unknown log format \"" + std::string(format) +
                              "\" (expected text or json)");
}

spdlog::level::level_enum parse_level(std::string_view text) {
  for (auto level : {spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
                     spdlog::level::warn, spdlog::level::err, spdlog::level::critical,
                     spdlog::level::off}) {
    if (text == spdlog::level::to_string_view(level)) return level;
  }
  if (text == "error") return spdlog::level::err;
  if (text == "warning") return spdlog::level::warn;
  throw std::invalid_argument("unknown log level \"" + std::string(text) + "\"");
}

}  // namespace

void configure_logging(std::string_view level_name, std::string_view format) {
  const auto level = parse_level(level_name);
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_formatter(make_formatter(format));
  auto root = std::make_shared<spdlog::logger>("deployguard", sink);
  root->set_level(level);
  root->flush_on(spdlog::level::info);  // operators tail stderr; tests read it after a failure
  spdlog::set_default_logger(root);
  // Loggers created before (e.g. by a library at static init) switch to the new sink too.
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& logger) {
    if (logger == root) return;
    logger->sinks() = root->sinks();
    logger->set_level(level);
    logger->flush_on(spdlog::level::info);
  });
}

std::shared_ptr<spdlog::logger> subsystem_logger(const std::string& name) {
  if (auto existing = spdlog::get(name)) return existing;
  auto created = spdlog::default_logger()->clone(name);
  try {
    spdlog::register_logger(created);
  } catch (const spdlog::spdlog_ex&) {
    if (auto existing = spdlog::get(name)) return existing;  // registered concurrently
  }
  return created;
}

}  // namespace deployguard::logging
