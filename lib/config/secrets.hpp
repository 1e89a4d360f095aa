#pragma once
// Reading secrets named by the configuration (*_file and *_env keys). Values are returned to the
// caller only: nothing here logs, and error messages name the file or variable, never the value.
// Thread-safe as long as nobody modifies the process environment concurrently.
#include <optional>
#include <string>
#include <vector>

namespace deployguard::config {

/// Where a secret file is read from: an absolute path as is; a relative path inside
/// $CREDENTIALS_DIRECTORY when that variable is set (systemd LoadCredential=), otherwise relative
/// to the working directory.
std::string resolve_secret_path(const std::string& path);

/// Reads a secret file (through resolve_secret_path) and strips trailing CR/LF. Returns nullopt
/// and sets `error` when the file cannot be read, is larger than 64KiB, or is empty after
/// stripping.
std::optional<std::string> read_secret_file(const std::string& path, std::string& error);

/// Reads the environment variable `name` and strips trailing CR/LF. nullopt and `error` when it
/// is unset or empty.
std::optional<std::string> read_secret_env(const std::string& name, std::string& error);

/// For the config's `x_file` / `x_env` pairs: reads whichever is set (the loader guarantees at
/// most one). nullopt and `error` when neither is set or reading fails.
std::optional<std::string> read_secret(const std::optional<std::string>& file,
                                       const std::optional<std::string>& env, std::string& error);

/// For files that hold several tokens or secrets, one per line (API tokens, webhook secrets
/// during rotation). Surrounding whitespace is trimmed from each line and blank lines are
/// ignored. Returns an empty vector and sets `error` on read failure or when no line is left.
std::vector<std::string> read_secret_lines(const std::string& path, std::string& error);

}  // namespace deployguard::config
