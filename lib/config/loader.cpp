#include "config/loader.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include "config/schema.hpp"
#include "core/cidr.hpp"
#include "core/freeze_window.hpp"
#include "config/values.hpp"

namespace deployguard::config {
namespace {

using schema::Key;
using schema::Kind;
using schema::Scope;
using schema::Slot;

constexpr std::size_t kMaxConfigFileBytes = 1024 * 1024;

std::string join(std::string_view parent, std::string_view name) {
  if (parent.empty()) return std::string(name);
  std::string out(parent);
  out += '.';
  out += name;
  return out;
}

// `"soon"`, with quotes and control characters escaped and long values cut short.
std::string quote(std::string_view text) {
  constexpr std::size_t kMaxShown = 64;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const char c = text[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  if (text.size() > kMaxShown) out += "...";
  out += '"';
  return out;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return quote(node.Scalar());
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

// Key names in the schema are lower_snake_case; anything else is unknown without a lookup, which
// also keeps "github.repo" or "*" written as one key from matching a dotted schema pattern.
bool is_plain_key(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool looks_like_secret(std::string_view name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  return name == "token" || name == "secret" || name == "password" || ends_with("_token") ||
         ends_with("_secret") || ends_with("_password");
}

std::string expected(const Key& key) {
  switch (key.kind) {
    case Kind::String: return "a non-empty string";
    case Kind::Identifier: return "a string without spaces";
    case Kind::Path: return "a file path";
    case Kind::Url: return "an http:// or https:// URL";
    case Kind::EnvVar: return "an environment variable name like GITHUB_TOKEN";
    case Kind::Repo: return "owner/name like octo-org/api";
    case Kind::ApiVersion: return "an api-version like 2024-08-01";
    case Kind::Enum: {
      std::string out = "one of ";
      std::string_view rest = key.choices;
      for (auto bar = rest.find('|'); bar != std::string_view::npos; bar = rest.find('|')) {
        out += std::string(rest.substr(0, bar)) + ", ";
        rest.remove_prefix(bar + 1);
      }
      return out + std::string(rest);
    }
    case Kind::Bool: return "true or false";
    case Kind::Duration: return "a duration like 14m";
    case Kind::Size: return "a size like 5MiB, 16KiB or 1024";
    case Kind::Count: return "a whole number";
    case Kind::StringList: return "a list of strings";
    case Kind::Listen: return "host:port like 127.0.0.1:8080";
    case Kind::Section:
    case Kind::OptionalSection:
    case Kind::NamedSections: return "a mapping";
    case Kind::SectionList: return "a list of mappings";
  }
  return "?";
}

bool enum_contains(std::string_view choices, std::string_view value) {
  while (true) {
    const auto bar = choices.find('|');
    if (choices.substr(0, bar) == value) return true;
    if (bar == std::string_view::npos) return false;
    choices.remove_prefix(bar + 1);
  }
}

[[noreturn]] void table_bug(const Key& key) {
  throw std::logic_error("schema row " + std::string(key.path) + " has a slot of the wrong type");
}

void store(const Key& key, const Slot& slot, std::string value) {
  if (auto* s = std::get_if<std::string*>(&slot)) {
    **s = std::move(value);
  } else if (auto* o = std::get_if<std::optional<std::string>*>(&slot)) {
    **o = std::move(value);
  } else if (auto* q = std::get_if<QueueOrder*>(&slot)) {
    for (const QueueOrder order : {QueueOrder::Fifo, QueueOrder::NewestFirst}) {
      if (to_string(order) == value) {
        **q = order;
        return;
      }
    }
    table_bug(key);  // a choice that names no QueueOrder
  } else {
    table_bug(key);
  }
}

// YAML 1.2 core schema booleans; yes/no/on/off (YAML 1.1) are rejected rather than guessed.
std::optional<bool> parse_bool(std::string_view text) {
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  return std::nullopt;
}

// *to = *from for two slots of the same type (a row and the top-level row it inherits).
void copy_value(const Key& key, const Slot& from, const Slot& to) {
  std::visit(
      [&](const auto& source) {
        using Source = std::decay_t<decltype(source)>;
        if constexpr (std::is_same_v<Source, std::monostate>) {
          table_bug(key);
        } else {
          auto* target = std::get_if<Source>(&to);
          if (target == nullptr) table_bug(key);
          **target = *source;
        }
      },
      from);
}

/// Where each document of a YAML stream starts, found without building the documents.
/// yaml-cpp 0.7's LoadAll() never returns on some inputs (a lone ",", say): its parser reports
/// an empty document at the same position again and again. The walk stops there instead, and
/// `stuck` says so. Throws YAML::Exception on a syntax error, as LoadAll() does.
struct DocumentStarts {
  std::vector<YAML::Mark> marks;
  bool stuck = false;
};

DocumentStarts document_starts(const std::string& text) {
  class Handler final : public YAML::EventHandler {
   public:
    explicit Handler(std::vector<YAML::Mark>& marks) : marks_(marks) {}
    void OnDocumentStart(const YAML::Mark& mark) override { marks_.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}

   private:
    std::vector<YAML::Mark>& marks_;
  };
  DocumentStarts out;
  std::istringstream in(text);
  YAML::Parser parser(in);
  Handler handler(out.marks);
  while (parser.HandleNextDocument(handler)) {
    const auto n = out.marks.size();
    if (n >= 2 && out.marks[n - 1].pos == out.marks[n - 2].pos) {
      out.marks.pop_back();
      out.stuck = true;
      break;
    }
  }
  return out;
}

/// A character for a message: itself when printable ASCII, else its code.
std::string quoted_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0xF];
}

class Loader {
 public:
  LoadResult load(std::string_view text) {
    try {
      load_document(text);
    } catch (const std::exception& e) {
      // Only a bug in this file or the schema table gets here; report it instead of crashing.
      add(YAML::Mark::null_mark(), "", std::string("internal error while loading: ") + e.what());
    }
    std::stable_sort(issues_.begin(), issues_.end(), [](const Issue& a, const Issue& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    LoadResult result;
    for (auto& issue : issues_) result.errors.push_back(std::move(issue.error));
    if (result.errors.empty()) result.config = std::move(config_);
    return result;
  }

 private:
  struct Issue {
    int line;
    int column;
    ConfigError error;
  };

  void add(const YAML::Mark& mark, std::string path, std::string message) {
    const bool known = !mark.is_null();
    invalid_.insert(path);
    issues_.push_back({known ? mark.line : INT_MAX, known ? mark.column : INT_MAX,
                       ConfigError{std::move(path), std::move(message)}});
  }

  // Errors found after the walk are placed at the key they name, or its nearest written parent.
  void add_at(const std::string& path, std::string message) {
    std::string p = path;
    while (true) {
      if (const auto it = written_.find(p); it != written_.end()) {
        add(it->second, path, std::move(message));
        return;
      }
      const auto dot = p.rfind('.');
      if (dot == std::string::npos) break;
      p.resize(dot);
    }
    add(YAML::Mark::null_mark(), path, std::move(message));
  }

  bool written(const std::string& path) const { return written_.count(path) != 0; }
  bool valid(const std::string& path) const { return invalid_.count(path) == 0; }

  void load_document(std::string_view text) {
    const std::string yaml(text);
    DocumentStarts starts;
    YAML::Node document;
    try {
      starts = document_starts(yaml);
      if (!starts.stuck && !starts.marks.empty()) document = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
      std::ostringstream message;
      message << "YAML syntax error";
      if (!e.mark.is_null())
        message << " at line " << e.mark.line + 1 << ", column " << e.mark.column + 1;
      message << ": " << e.msg;
      add(e.mark, "", message.str());
      return;
    }
    if (starts.stuck) {
      const YAML::Mark& at = starts.marks.back();
      const auto pos = static_cast<std::size_t>(at.pos);
      add(at, "",
          "YAML syntax error at line " + std::to_string(at.line + 1) + ", column " +
              std::to_string(at.column + 1) + ": unexpected " +
              (pos < yaml.size() ? quoted_char(yaml[pos]) : std::string("end of input")));
      return;
    }
    if (starts.marks.size() > 1) {
      add(starts.marks[1], "",
          "expected one YAML document, found " + std::to_string(starts.marks.size()));
      return;
    }
    if (starts.marks.empty() || document.IsNull()) {
      add(YAML::Mark::null_mark(), "", "the configuration is empty");
      return;
    }
    if (!document.IsMap()) {
      add(document.Mark(), "", "expected a mapping at the top level, got " + describe(document));
      return;
    }
    walk_section(document, "", "", Scope{});
    inherit_top_level_values();
    cross_check();
    check_freeze_windows("freeze_windows", config_.freeze_windows);
    for (const auto& [name, env] : config_.environments)
      check_freeze_windows("environments." + name + ".freeze_windows", env.freeze_windows);
    merge_freeze_windows();
  }

  // Each window must make a FreezeWindow: a valid cron, zone and dates, not empty. Names are
  // unique within a list.
  void check_freeze_windows(const std::string& path, const std::vector<FreezeWindowConfig>& windows) {
    std::set<std::string> names;
    for (std::size_t i = 0; i < windows.size(); ++i) {
      const std::string item = path + "[" + std::to_string(i) + "]";
      if (!valid(item + ".name") || !valid(item + ".cron") || !valid(item + ".duration") ||
          !valid(item + ".from") || !valid(item + ".until") || !valid(item + ".time_zone"))
        continue;  // already reported
      const auto& w = windows[i];
      if (!w.name.empty() && !names.insert(w.name).second)
        add_at(item + ".name", "duplicate window name " + quote(w.name));
      std::string why;
      std::string key;
      if (FreezeWindow::make(w, &why, &key)) continue;
      if (!key.empty()) {
        add_at(item + "." + key, why);
      } else if (const auto it = written_.find(item + ".name"); it != written_.end()) {
        add(it->second, item, why);  // about the whole item: placed where it starts
      } else {
        add_at(item, why);
      }
    }
  }

  // An environment's windows: the top-level ones it does not redefine by name, then its own.
  void merge_freeze_windows() {
    if (config_.freeze_windows.empty()) return;
    for (auto& [name, env] : config_.environments) {
      std::vector<FreezeWindowConfig> merged;
      for (const auto& top : config_.freeze_windows) {
        const bool redefined = std::any_of(env.freeze_windows.begin(), env.freeze_windows.end(),
                                           [&](const FreezeWindowConfig& own) { return own.name == top.name; });
        if (!redefined) merged.push_back(top);
      }
      merged.insert(merged.end(), env.freeze_windows.begin(), env.freeze_windows.end());
      env.freeze_windows = std::move(merged);
    }
  }

  // Walks the keys of a mapping whose schema rows are the children of `pattern`.
  void walk_section(const YAML::Node& node, const std::string& pattern, const std::string& path,
                    const Scope& scope) {
    std::set<std::string> seen;
    for (const auto& entry : node) {
      // Copies: yaml-cpp's iterator hands out a temporary pair, so references into it dangle.
      const YAML::Node key_node = entry.first;
      const YAML::Node value = entry.second;
      if (!key_node.IsScalar()) {
        add(key_node.Mark(), path, "keys must be plain strings, got " + describe(key_node));
        continue;
      }
      const std::string& name = key_node.Scalar();
      const std::string child_path = join(path, name);
      if (!seen.insert(name).second) {
        add(key_node.Mark(), child_path, "duplicate key");
        continue;
      }
      const Key* key = is_plain_key(name) ? schema::find(join(pattern, name)) : nullptr;
      if (key == nullptr) {
        unknown_key(pattern, child_path, name, key_node.Mark());
        continue;
      }
      written_.emplace(child_path, key_node.Mark());
      walk_value(*key, value, child_path, scope, key_node.Mark());
    }
    for (const Key* child : schema::children(pattern)) {
      const std::string name(schema::key_name(*child));
      if (child->required && seen.count(name) == 0)
        add(node.Mark(), join(path, name), "required key is missing");
    }
  }

  void unknown_key(const std::string& pattern, const std::string& path, std::string_view name,
                   const YAML::Mark& mark) {
    const auto siblings = schema::children(pattern);
    if (looks_like_secret(name)) {
      // Point at the *_file / *_env variants of this very key when the section has them.
      std::vector<std::string> variants;
      const std::string prefix = std::string(name) + "_";
      for (const Key* s : siblings) {
        const auto sibling = schema::key_name(*s);
        if (sibling.substr(0, prefix.size()) == prefix) variants.emplace_back(sibling);
      }
      std::string message = "secrets must not be written in the configuration file; ";
      if (variants.empty()) {
        message += "put the secret in a file and reference it with a *_file key";
      } else {
        message += "use ";
        for (std::size_t i = 0; i < variants.size(); ++i)
          message += (i == 0 ? "" : " or ") + variants[i];
        message += " instead";
      }
      add(mark, path, message);
      return;
    }
    std::string best;
    std::size_t best_distance = std::max<std::size_t>(1, name.size() / 3) + 1;
    for (const Key* s : siblings) {
      const auto sibling = schema::key_name(*s);
      if (sibling == "*") continue;
      const std::size_t d = edit_distance(name, sibling);
      if (d < best_distance) {
        best_distance = d;
        best = sibling;
      }
    }
    add(mark, path, best.empty() ? "unknown key" : "unknown key (did you mean \"" + best + "\"?)");
  }

  void walk_value(const Key& key, const YAML::Node& value, const std::string& path,
                  const Scope& scope, const YAML::Mark& where) {
    switch (key.kind) {
      case Kind::Section:
      case Kind::OptionalSection:
        if (!value.IsMap()) {
          add(where, path, "expected a mapping, got " + describe(value));
          return;
        }
        if (key.enter != nullptr) key.enter(config_, scope);
        walk_section(value, std::string(key.path), path, scope);
        return;
      case Kind::NamedSections:
        walk_named(key, value, path, where);
        return;
      case Kind::SectionList:
        walk_list(key, value, path, scope, where);
        return;
      default:
        walk_scalar(key, value, path, scope, where);
        return;
    }
  }

  void walk_named(const Key& key, const YAML::Node& value, const std::string& path,
                  const YAML::Mark& where) {
    if (!value.IsMap()) {
      add(where, path, "expected a mapping of environment names, got " + describe(value));
      return;
    }
    if (value.size() == 0) {
      add(where, path, "at least one environment is required");
      return;
    }
    const Key* item = schema::find(std::string(key.path) + ".*");
    if (item == nullptr) throw std::logic_error("schema has no row " + std::string(key.path) + ".*");
    std::set<std::string> seen;
    for (const auto& entry : value) {
      const YAML::Node name_node = entry.first;
      const YAML::Node body = entry.second;
      if (!name_node.IsScalar()) {
        add(name_node.Mark(), path, "keys must be plain strings, got " + describe(name_node));
        continue;
      }
      const std::string& name = name_node.Scalar();
      const std::string item_path = join(path, name);
      if (!seen.insert(name).second) {
        add(name_node.Mark(), item_path, "duplicate key");
        continue;
      }
      if (!is_valid_environment_name(name)) {
        add(name_node.Mark(), item_path,
            "invalid environment name; use only letters, digits, '_', '.' and '-'");
        continue;
      }
      written_.emplace(item_path, name_node.Mark());
      walk_value(*item, body, item_path, Scope{name, 0}, name_node.Mark());
    }
  }

  void walk_list(const Key& key, const YAML::Node& value, const std::string& path,
                 const Scope& scope, const YAML::Mark& where) {
    if (!value.IsSequence()) {
      add(where, path, "expected a list of mappings, got " + describe(value));
      return;
    }
    const std::string item_pattern = std::string(key.path) + "[]";
    for (std::size_t i = 0; i < value.size(); ++i) {
      const YAML::Node item = value[i];
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      if (!item.IsMap()) {
        add(item.Mark(), item_path, "expected a mapping, got " + describe(item));
        continue;
      }
      const Scope item_scope{scope.environment, i};
      key.enter(config_, item_scope);
      walk_section(item, item_pattern, item_path, item_scope);
    }
  }

  void walk_scalar(const Key& key, const YAML::Node& value, const std::string& path,
                   const Scope& scope, const YAML::Mark& where) {
    const Slot slot = key.slot(config_, scope);
    if (key.kind == Kind::StringList) {
      auto* list = std::get_if<std::vector<std::string>*>(&slot);
      if (list == nullptr) table_bug(key);
      if (!value.IsSequence()) {
        add(where, path, "expected a list of strings, got " + describe(value));
        return;
      }
      if (value.size() < static_cast<std::size_t>(key.minimum)) {
        add(where, path, "must list at least " + std::to_string(key.minimum) + " item" +
                             (key.minimum == 1 ? "" : "s"));
        return;
      }
      std::vector<std::string> items;
      bool ok = true;
      for (std::size_t i = 0; i < value.size(); ++i) {
        const YAML::Node item = value[i];
        if (!item.IsScalar() || item.Scalar().empty()) {
          add(item.Mark().is_null() ? where : item.Mark(), path + "[" + std::to_string(i) + "]",
              "expected a non-empty string, got " + describe(item));
          ok = false;
          continue;
        }
        items.push_back(item.Scalar());
      }
      if (ok) **list = std::move(items);
      return;
    }

    if (!value.IsScalar()) {
      add(where, path, "expected " + expected(key) + ", got " + describe(value));
      return;
    }
    const std::string& text = value.Scalar();
    const YAML::Mark mark = value.Mark().is_null() ? where : value.Mark();
    auto reject = [&] { add(mark, path, "expected " + expected(key) + ", got " + quote(text)); };

    switch (key.kind) {
      case Kind::String:
        if (text.empty()) return reject();
        return store(key, slot, text);
      case Kind::Identifier:
        if (text.empty() || std::any_of(text.begin(), text.end(), [](char c) {
              return static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
            }))
          return reject();
        return store(key, slot, text);
      case Kind::Path:
        if (text.empty() || std::any_of(text.begin(), text.end(), [](char c) {
              return static_cast<unsigned char>(c) < ' ' || c == 0x7f;
            }))
          return reject();
        return store(key, slot, text);
      case Kind::Url: {
        auto url = normalize_url(text);
        if (!url) return reject();
        return store(key, slot, std::move(*url));
      }
      case Kind::EnvVar:
        if (!is_valid_env_var_name(text)) {
          // Never echo the value: a secret pasted here by mistake must not reach the logs.
          add(mark, path,
              "expected the name of an environment variable like GITHUB_TOKEN "
              "(A-Z, 0-9 and _), not its value");
          return;
        }
        return store(key, slot, text);
      case Kind::Repo:
        if (!is_valid_repo(text)) return reject();
        return store(key, slot, text);
      case Kind::ApiVersion:
        if (!is_valid_api_version(text)) return reject();
        return store(key, slot, text);
      case Kind::Enum:
        if (!enum_contains(key.choices, text)) return reject();
        return store(key, slot, text);
      case Kind::Bool: {
        auto* out = std::get_if<bool*>(&slot);
        if (out == nullptr) table_bug(key);
        const auto b = parse_bool(text);
        if (!b) return reject();
        **out = *b;
        return;
      }
      case Kind::Duration: {
        auto* out = std::get_if<Duration*>(&slot);
        if (out == nullptr) table_bug(key);
        const auto d = parse_duration(text);
        if (!d) return reject();
        if (d->count() < key.minimum) {
          add(mark, path,
              (key.minimum == 1 ? std::string("must be greater than 0")
                                : "must be at least " + format_duration(Duration{key.minimum})) +
                  ", got " + quote(text));
          return;
        }
        if (key.maximum > 0 && d->count() > key.maximum) {
          add(mark, path,
              "must be at most " + format_duration(Duration{key.maximum}) + ", got " + quote(text));
          return;
        }
        **out = *d;
        return;
      }
      case Kind::Size: {
        auto* out = std::get_if<std::size_t*>(&slot);
        if (out == nullptr) table_bug(key);
        const auto size = parse_size(text);
        if (!size) return reject();
        if (*size < static_cast<std::size_t>(key.minimum)) {
          add(mark, path,
              (key.minimum == 1 ? std::string("must be greater than 0")
                                : "must be at least " +
                                      format_size(static_cast<std::size_t>(key.minimum))) +
                  ", got " + quote(text));
          return;
        }
        **out = *size;
        return;
      }
      case Kind::Count: {
        // Sizes and counts share the digit parser; a unit is not allowed here.
        const bool digits_only = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
          return c >= '0' && c <= '9';
        });
        const auto n = digits_only ? parse_size(text) : std::nullopt;
        if (!digits_only) return reject();
        std::size_t limit = std::holds_alternative<int*>(slot)
                                ? static_cast<std::size_t>(std::numeric_limits<int>::max())
                                : std::numeric_limits<std::size_t>::max();
        if (key.maximum > 0) limit = std::min(limit, static_cast<std::size_t>(key.maximum));
        if (!n || *n > limit) {
          add(mark, path, "must be at most " + std::to_string(limit) + ", got " + quote(text));
          return;
        }
        if (*n < static_cast<std::size_t>(key.minimum)) {
          add(mark, path,
              "must be at least " + std::to_string(key.minimum) + ", got " + quote(text));
          return;
        }
        if (auto* i = std::get_if<int*>(&slot)) {
          **i = static_cast<int>(*n);
        } else if (auto* z = std::get_if<std::size_t*>(&slot)) {
          **z = *n;
        } else {
          table_bug(key);
        }
        return;
      }
      case Kind::Listen: {
        std::string why;
        auto address = parse_listen(text, why);
        if (!address) {
          add(mark, path, why + ", got " + quote(text));
          return;
        }
        if (auto* a = std::get_if<ListenAddress*>(&slot)) {
          **a = std::move(*address);
        } else if (auto* o = std::get_if<std::optional<ListenAddress>*>(&slot)) {
          **o = std::move(*address);
        } else {
          table_bug(key);
        }
        return;
      }
      case Kind::StringList:
      case Kind::Section:
      case Kind::OptionalSection:
      case Kind::NamedSections:
      case Kind::SectionList: break;
    }
    table_bug(key);
  }

  // An environment row with `inherits` that the environment does not write takes the value of
  // the top-level row, written or default. Runs after the walk: the top-level section may come
  // after `environments` in the file.
  void inherit_top_level_values() {
    constexpr std::string_view kEnvironmentRow = "environments.*.";
    for (const Key& key : schema::keys()) {
      if (key.inherits.empty()) continue;
      const Key* from = schema::find(key.inherits);
      if (from == nullptr || key.path.substr(0, kEnvironmentRow.size()) != kEnvironmentRow)
        throw std::logic_error("schema row " + std::string(key.path) + " inherits from " +
                               std::string(key.inherits) + ", which is not a top-level row");
      const std::string_view suffix = key.path.substr(kEnvironmentRow.size() - 1);  // ".queue.order"
      for (const auto& entry : config_.environments) {
        if (written("environments." + entry.first + std::string(suffix))) continue;
        copy_value(key, from->slot(config_, Scope{}), key.slot(config_, Scope{entry.first, 0}));
      }
    }
  }

  // Rules that involve more than one key. Presence is judged by what was written (written_), so
  // a key that already failed to parse does not also count as missing.
  void cross_check() {
    const Config& c = config_;

    if (written("server.cert_file") != written("server.key_file")) {
      const bool cert = written("server.cert_file");
      add_at(cert ? "server.key_file" : "server.cert_file",
             std::string("required when server.") + (cert ? "cert_file" : "key_file") +
                 " is set");
    }
    if (written("server.cert_file") && !written("server.webhook_listen"))
      add_at("server.cert_file", "TLS is only served on server.webhook_listen, which is not set");
    if (c.server.webhook_listen && valid("server.listen")) {
      const ListenAddress& a = c.server.listen;
      const ListenAddress& b = *c.server.webhook_listen;
      if (a.port != 0 && a.port == b.port && a.host == b.host)
        add_at("server.webhook_listen", "must differ from server.listen");
    }
    if (written("server.webhook_listen") && !written("github.webhook_secret_file"))
      add_at("server.webhook_listen",
             "requires github.webhook_secret_file to verify webhook deliveries");

    check_api_tokens(c.server);
    check_notify();
    for (std::size_t i = 0; i < c.server.trusted_proxies.size(); ++i) {
      std::string why;
      if (!Cidr::parse(c.server.trusted_proxies[i], &why))
        add_at("server.trusted_proxies",
               "item " + std::to_string(i) + " (" + quote(c.server.trusted_proxies[i]) +
                   "): expected a CIDR such as 10.0.0.0/8 or ::1/128; " + why);
    }
    if (written("github")) {
      const int sources = int{written("github.token_file")} + int{written("github.token_env")};
      if (sources == 0) add_at("github", "one of token_file or token_env is required");
      if (sources == 2) add_at("github.token_env", "set only one of token_file and token_env");
    }

    if (written("azure.auth") && valid("azure.auth.method") && c.azure) check_azure_auth(c.azure->auth);

    for (const auto& [name, env] : c.environments) {
      const std::string path = "environments." + name;
      const bool github = written(path + ".github");
      const bool container_app = written(path + ".container_app");
      const bool postgres = written(path + ".postgres_servers");
      if (!github && !container_app && (!postgres || env.postgres_servers.empty()))
        add_at(path, "watches nothing; set github, container_app or postgres_servers");
      if (github && !written("github"))
        add_at(path + ".github", "requires the top-level github section");
      if (container_app && !written("azure"))
        add_at(path + ".container_app", "requires the top-level azure section");
      if (postgres && !env.postgres_servers.empty() && !written("azure"))
        add_at(path + ".postgres_servers", "requires the top-level azure section");
      const std::string initial = path + ".busy_backoff.initial";
      const std::string max = path + ".busy_backoff.max";
      if (valid(initial) && valid(max) && env.busy_backoff.initial > env.busy_backoff.max)
        add_at(written(initial) ? initial : max,
               "busy_backoff.initial (" + format_duration(env.busy_backoff.initial) +
                   ") must not exceed busy_backoff.max (" +
                   format_duration(env.busy_backoff.max) + ")");
    }
  }

  void check_notify() {
    static const std::set<std::string> kEvents = {"verdict",  "queue",    "gate",        "freeze",
                                                  "stop",     "override", "source_error"};
    std::set<std::string> names;
    for (std::size_t i = 0; i < config_.notify.size(); ++i) {
      const auto& sink = config_.notify[i];
      const std::string path = "notify[" + std::to_string(i) + "]";
      if (!sink.name.empty() && !names.insert(sink.name).second)
        add_at(path + ".name", "duplicate sink name " + quote(sink.name));
      for (std::size_t j = 0; j < sink.events.size(); ++j)
        if (kEvents.count(sink.events[j]) == 0)
          add_at(path + ".events",
                 "item " + std::to_string(j) + ": expected one of verdict, queue, gate, freeze, "
                 "stop, override, source_error, got " + quote(sink.events[j]));
      for (const auto& environment : sink.environments)
        if (config_.environments.count(environment) == 0)
          add_at(path + ".environments", "no environment named " + quote(environment));
      if (written(path + ".secret_file") && valid(path + ".format") && sink.format != "json")
        add_at(path + ".secret_file", "only the json format is signed; remove it or use format json");
    }
  }

  void check_api_tokens(const ServerConfig& server) {
    static const std::set<std::string> kScopes = {"deploy", "operate", "read"};
    std::set<std::string> names;
    for (std::size_t i = 0; i < server.api_tokens.size(); ++i) {
      const auto& token = server.api_tokens[i];
      const std::string path = "server.api_tokens[" + std::to_string(i) + "]";
      if (!token.name.empty() && !names.insert(token.name).second)
        add_at(path + ".name", "duplicate token name " + quote(token.name));
      for (std::size_t j = 0; j < token.scopes.size(); ++j)
        if (kScopes.count(token.scopes[j]) == 0)
          add_at(path + ".scopes", "item " + std::to_string(j) + ": expected one of deploy, "
                                   "operate, read, got " + quote(token.scopes[j]));
      for (const auto& environment : token.environments)
        if (config_.environments.count(environment) == 0)
          add_at(path + ".environments", "no environment named " + quote(environment));
    }
    const bool any_token = written("server.api_token_file") || !server.api_tokens.empty();
    if (server.protect_reads && !any_token)
      add_at("server.protect_reads", "needs server.api_tokens or server.api_token_file");
    if (server.protect_reads) {
      bool reader = written("server.api_token_file");
      for (const auto& token : server.api_tokens)
        for (const auto& scope : token.scopes) reader = reader || scope == "read";
      if (any_token && !reader)
        add_at("server.protect_reads", "no token has scope read, so nobody could read status");
    }
  }

  void check_azure_auth(const AzureAuthConfig& auth) {
    // Keys each method reads; any other written key is a mistake (often a half-edited method).
    static const std::map<std::string, std::set<std::string>> kUses = {
        {"client_secret",
         {"tenant_id", "client_id", "client_secret_file", "client_secret_env", "authority_url"}},
        {"workload_identity", {"tenant_id", "client_id", "federated_token_file", "authority_url"}},
        {"managed_identity", {"client_id"}},
        {"token_file", {"token_file"}},
    };
    const auto uses = kUses.find(auth.method);
    if (uses == kUses.end()) return;
    for (const Key* key : schema::children("azure.auth")) {
      const std::string name(schema::key_name(*key));
      const std::string path = "azure.auth." + name;
      if (name != "method" && written(path) && uses->second.count(name) == 0)
        add_at(path, "not used by method " + auth.method);
    }
    if (auth.method == "client_secret") {
      for (const char* name : {"tenant_id", "client_id"}) {
        const std::string path = std::string("azure.auth.") + name;
        if (!written(path)) add_at(path, "required for method client_secret");
      }
      const int sources = int{written("azure.auth.client_secret_file")} +
                          int{written("azure.auth.client_secret_env")};
      if (sources == 0)
        add_at("azure.auth", "method client_secret needs client_secret_file or client_secret_env");
      if (sources == 2)
        add_at("azure.auth.client_secret_env",
               "set only one of client_secret_file and client_secret_env");
    } else if (auth.method == "token_file" && !written("azure.auth.token_file")) {
      add_at("azure.auth.token_file", "required for method token_file");
    }
  }

  Config config_;
  std::vector<Issue> issues_;
  std::map<std::string, YAML::Mark> written_;  // paths present in the YAML -> key position
  std::set<std::string> invalid_;              // paths that already have an error
};

}  // namespace

LoadResult parse_config(std::string_view yaml_text) { return Loader{}.load(yaml_text); }

LoadResult load_config_file(const std::string& path) {
  auto fail = [&](const std::string& why) {
    LoadResult result;
    result.errors.push_back({"", "cannot read configuration file \"" + path + "\": " + why});
    return result;
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return fail("is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(std::strerror(errno));
  std::string text;
  char buffer[8192];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigFileBytes) return fail("larger than 1MiB");
  }
  if (in.bad()) return fail(std::strerror(errno));
  return parse_config(text);
}

}  // namespace deployguard::config
