#pragma once
// YAML configuration -> deployguard::Config. One schema table drives parsing, defaults,
// validation (every error collected, each with its path), check-config and docs/configuration.md.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"

namespace deployguard::config {

struct ConfigError {
  std::string path;     // "environments.staging.cooldown" ("" for document-level errors)
  std::string message;  // "expected a duration like 14m, got \"soon\""
  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
};

struct LoadResult {
  std::optional<Config> config;     // set iff errors is empty
  std::vector<ConfigError> errors;  // all of them, in document order
  bool ok() const { return config.has_value(); }
};

/// Parses and validates YAML text. Never throws.
LoadResult parse_config(std::string_view yaml_text);
/// Reads the file and parses it; an unreadable file is one error naming the file. Never throws.
LoadResult load_config_file(const std::string& path);

/// docs/configuration.md content, generated from the schema table.
std::string reference_markdown();

}  // namespace deployguard::config
