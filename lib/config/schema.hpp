#pragma once
// The declared configuration schema: one row per key. The loader walks the YAML against these
// rows (types, constraints, required keys, unknown-key rejection) and reference_markdown() prints
// them. Defaults are not repeated here: they are read from a default-constructed core Config
// through each row's slot, so core/config.hpp stays the single source of default values.
// Internal to lib/config.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/config.hpp"
#include "core/queue.hpp"

namespace deployguard::config::schema {

enum class Kind {
  // Containers.
  Section,          // mapping with fixed keys; its fields exist whether or not it is written
  OptionalSection,  // mapping with fixed keys; a std::optional that is set only when written
  NamedSections,    // mapping from user-chosen names to sections (environments)
  SectionList,      // list of sections (postgres_servers)
  // Scalars and lists of scalars.
  String,      // any non-empty string
  Identifier,  // non-empty string without whitespace, passed through as written
  Path,        // file path; relative secret paths resolve in $CREDENTIALS_DIRECTORY first
  Url,         // http(s)://host[/path], trailing '/' removed
  EnvVar,      // environment variable name, [A-Z_][A-Z0-9_]*
  Repo,        // GitHub owner/name
  ApiVersion,  // Azure api-version, YYYY-MM-DD[-preview]
  Enum,        // one of `choices`
  Bool,        // true or false
  Duration,    // 90s, 14m, 1h30m, 500ms
  Size,        // 1024, 16KiB, 5MiB
  Count,       // non-negative integer
  StringList,  // list of non-empty strings
  Listen,      // host:port
};

/// Where a row stores its value. Every row of a scalar kind has exactly one of these.
/// An Enum row stores into a std::string, or into an enum whose to_string() names are its choices.
using Slot = std::variant<std::monostate, std::string*, std::optional<std::string>*, Duration*,
                          std::size_t*, int*, bool*, QueueOrder*, std::vector<std::string>*,
                          ListenAddress*, std::optional<ListenAddress>*>;

/// Which environment / list element a row is being applied to.
struct Scope {
  std::string environment;
  std::size_t index = 0;
};

struct Key {
  std::string_view path;  // "server.listen", "environments.*.cooldown",
                          // "environments.*.postgres_servers[].name"
  Kind kind;
  std::string_view description;
  bool required = false;
  // Lower bound: milliseconds for Duration, bytes for Size, value for Count, items for
  // StringList. Durations/sizes/counts below it are rejected.
  std::int64_t minimum = 0;
  // Upper bound, same units, for Duration and Count; 0 = none. Values above it are rejected.
  std::int64_t maximum = 0;
  std::string_view choices = {};       // Enum only: "text|json"
  // Environment rows only: the top-level row ("queue.order") whose value this key takes in an
  // environment that does not write it. Both rows have the same kind, bounds and choices.
  std::string_view inherits = {};
  std::string_view default_text = {};  // docs only, overrides the default read through the slot
  Slot (*slot)(Config&, const Scope&) = nullptr;    // scalar kinds
  void (*enter)(Config&, const Scope&) = nullptr;   // containers: create the optional/element
};

/// All rows, parents before children, in the order the reference documents them.
std::span<const Key> keys();
/// The row for a path pattern, or nullptr.
const Key* find(std::string_view pattern);
/// Rows whose parent pattern is `parent` ("" for top-level keys; "environments.*.postgres_servers[]"
/// for list elements), in table order.
std::vector<const Key*> children(std::string_view parent);
/// Last path component of a row ("cooldown").
std::string_view key_name(const Key& key);
/// "duration", "size", "one of `text`, `json`", ...
std::string type_name(const Key& key);

bool is_container(Kind kind);

}  // namespace deployguard::config::schema
