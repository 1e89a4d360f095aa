#pragma once
// Scalar syntaxes used by the configuration file (sizes, listen addresses, repos, URLs, ...).
// Pure functions, no I/O; exposed so that other layers (logs, check-config) print values the way
// the loader reads them.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.hpp"

namespace deployguard::config {

/// "1024", "1024B", "16KiB", "5MiB", "1GiB" (binary) and "16KB", "5MB", "1GB" (decimal); one
/// optional space before the unit. nullopt on anything else or on overflow.
std::optional<std::size_t> parse_size(std::string_view text);
/// Inverse of parse_size for display: the largest binary unit that divides exactly ("5MiB").
std::string format_size(std::size_t bytes);

/// "127.0.0.1:8080", "0.0.0.0:0", "[::1]:8080". The host must be an IP literal (the listeners
/// bind, they do not resolve); IPv6 literals are stored without brackets. On failure returns
/// nullopt and sets `why` to a message fit for a ConfigError.
std::optional<ListenAddress> parse_listen(std::string_view text, std::string& why);
/// "127.0.0.1:8080" or "[::1]:8080".
std::string format_listen(const ListenAddress& address);

/// GitHub "owner/name": owner of letters, digits and '-', name of letters, digits, '.', '_', '-'.
bool is_valid_repo(std::string_view text);
/// http:// or https:// with a host, no whitespace, query or fragment. Returns the URL with
/// trailing slashes removed (clients append "/repos/...").
std::optional<std::string> normalize_url(std::string_view text);
/// Conventional environment variable name: [A-Z_][A-Z0-9_]*.
bool is_valid_env_var_name(std::string_view text);
/// Environment (deploy target) names: [A-Za-z0-9_.-]+.
bool is_valid_environment_name(std::string_view text);
/// Azure api-version: YYYY-MM-DD with an optional "-preview"-style suffix.
bool is_valid_api_version(std::string_view text);

/// Edit distance counting insertions, deletions, substitutions and adjacent transpositions,
/// for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace deployguard::config
