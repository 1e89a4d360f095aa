// reference_markdown(): docs/configuration.md, generated from the schema table.
#include <sstream>

#include "config/loader.hpp"
#include "config/schema.hpp"
#include "config/values.hpp"

namespace deployguard::config {
namespace {

using schema::Key;
using schema::Kind;

std::string escape_cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string code(std::string_view text) { return "`" + std::string(text) + "`"; }

// "environments.*.postgres_servers[]" -> "environments.<name>.postgres_servers[]"
std::string display_path(std::string_view pattern) {
  std::string out;
  std::size_t start = 0;
  while (true) {
    const auto star = pattern.find('*', start);
    out += pattern.substr(start, star - start);
    if (star == std::string_view::npos) break;
    out += "<name>";
    start = star + 1;
  }
  return out;
}

std::string type_cell(const Key& key) {
  std::string type = schema::type_name(key);
  switch (key.kind) {
    case Kind::Duration:
      if (key.maximum > 0)
        return type + " (" + format_duration(Duration{key.minimum}) + " to " +
               format_duration(Duration{key.maximum}) + ")";
      if (key.minimum == 1) return type + " (> 0)";
      if (key.minimum > 1) return type + " (>= " + format_duration(Duration{key.minimum}) + ")";
      return type;
    case Kind::Size:
      if (key.minimum == 1) return type + " (> 0)";
      if (key.minimum > 1)
        return type + " (>= " + format_size(static_cast<std::size_t>(key.minimum)) + ")";
      return type;
    case Kind::Count:
      if (key.maximum > 0)
        return type + " (" + std::to_string(key.minimum) + " to " + std::to_string(key.maximum) +
               ")";
      if (key.minimum > 0) return type + " (>= " + std::to_string(key.minimum) + ")";
      return type;
    case Kind::StringList:
      if (key.minimum > 0) return type + " (non-empty)";
      return type;
    default: return type;
  }
}

std::string default_cell(const Key& key, Config& sample) {
  if (key.required) return "**required**";
  if (!key.default_text.empty()) return std::string(key.default_text);
  if (!key.inherits.empty()) return "top-level " + code(key.inherits);
  if (key.kind == Kind::OptionalSection || key.kind == Kind::SectionList) return "absent";
  if (schema::is_container(key.kind)) return "";
  // Read the default through the row's slot from a default-constructed Config, so the reference
  // cannot drift from core/config.hpp.
  const schema::Slot slot = key.slot(sample, schema::Scope{"*", 0});
  if (auto* s = std::get_if<std::string*>(&slot)) return (*s)->empty() ? "" : code(**s);
  if (auto* o = std::get_if<std::optional<std::string>*>(&slot))
    return **o ? code(***o) : "unset";
  if (auto* d = std::get_if<Duration*>(&slot)) return code(format_duration(**d));
  if (auto* z = std::get_if<std::size_t*>(&slot))
    return code(key.kind == Kind::Size ? format_size(**z) : std::to_string(**z));
  if (auto* i = std::get_if<int*>(&slot)) return code(std::to_string(**i));
  if (auto* b = std::get_if<bool*>(&slot)) return code(**b ? "true" : "false");
  if (auto* q = std::get_if<QueueOrder*>(&slot)) return code(to_string(**q));
  if (auto* l = std::get_if<ListenAddress*>(&slot)) return code(format_listen(**l));
  if (auto* ol = std::get_if<std::optional<ListenAddress>*>(&slot))
    return **ol ? code(format_listen(***ol)) : "unset";
  if (auto* v = std::get_if<std::vector<std::string>*>(&slot)) {
    if ((*v)->empty()) return "`[]`";
    std::string out;
    for (const auto& item : **v) out += (out.empty() ? "" : ", ") + code("\"" + item + "\"");
    return out;
  }
  return "";
}

// A Config with every optional section and one environment/list element created, as the loader
// would create them, holding only defaults.
Config sample_config() {
  Config sample;
  for (const Key& key : schema::keys()) {
    if (key.enter != nullptr) key.enter(sample, schema::Scope{"*", 0});
  }
  return sample;
}

// Section rows repeat only the first sentence; the section's own heading has the rest.
std::string_view first_sentence(std::string_view text) {
  const auto end = text.find(". ");
  return end == std::string_view::npos ? text : text.substr(0, end + 1);
}

void table(std::ostringstream& out, const std::vector<const Key*>& rows, Config& sample) {
  out << "| Key | Type | Default | Description |\n";
  out << "|-----|------|---------|-------------|\n";
  for (const Key* key : rows) {
    std::string name = code(schema::key_name(*key));
    if (schema::is_container(key->kind)) {
      // Point at the section's own table when its heading is not just this key.
      std::string anchor = display_path(key->path);
      if (key->kind == Kind::SectionList) anchor += "[]";
      if (key->kind == Kind::NamedSections) anchor += ".<name>";
      if (anchor != schema::key_name(*key)) name += " (see " + code(anchor) + ")";
    }
    out << "| " << escape_cell(name) << " | " << escape_cell(type_cell(*key)) << " | "
        << escape_cell(default_cell(*key, sample)) << " | "
        << escape_cell(schema::is_container(key->kind) ? first_sentence(key->description)
                                                       : key->description)
        << " |\n";
  }
}

}  // namespace

std::string reference_markdown() {
  Config sample = sample_config();
  std::ostringstream out;
  out << "# Configuration reference\n\n"
      << "<!-- Generated from the schema table in lib/config/schema.cpp; do not edit by hand.\n"
      << "     Regenerate: cmake --build build --target deployguard_config_docgen &&\n"
      << "                 build/lib/config/deployguard_config_docgen docs/configuration.md -->\n\n"
      << "deployguard reads one YAML file. Every error is reported with its path (for example\n"
      << "`environments.staging.cooldown: expected a duration like 14m, got \"soon\"`), all errors\n"
      << "are reported in one run, and unknown keys are errors.\n\n"
      << "- **Durations**: groups of `<integer><unit>` with units `ms`, `s`, `m`, `h`, `d`: "
      << "`500ms`, `90s`, `14m`, `1h30m`.\n"
      << "- **Sizes**: bytes (`1024`), or `KiB`/`MiB`/`GiB` (binary) and `KB`/`MB`/`GB` "
      << "(decimal): `16KiB`, `5MiB`.\n"
      << "- **Secrets are never written in this file.** Keys such as `token`, `client_secret` or\n"
      << "  `webhook_secret` are rejected; use the `*_file` key (a relative path is looked up in\n"
      << "  `$CREDENTIALS_DIRECTORY` first, for systemd `LoadCredential=`) or the `*_env` key\n"
      << "  naming an environment variable. A trailing newline in a secret file is ignored.\n"
      << "- Identifiers (tenant, client and subscription IDs, resource names) are passed through\n"
      << "  as written.\n\n";

  out << "## Top level\n\n";
  table(out, schema::children(""), sample);
  for (const Key& key : schema::keys()) {
    if (key.kind != Kind::Section && key.kind != Kind::OptionalSection &&
        key.kind != Kind::SectionList)
      continue;
    std::string pattern(key.path);
    if (key.kind == Kind::SectionList) pattern += "[]";
    out << "\n## " << code(display_path(pattern)) << "\n\n" << key.description << "\n\n";
    table(out, schema::children(pattern), sample);
  }
  return out.str();
}

}  // namespace deployguard::config
