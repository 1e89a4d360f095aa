// The schema table is consistent and docs/configuration.md is what it generates.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "config/loader.hpp"
#include "config/schema.hpp"

namespace deployguard::config {
namespace {

using schema::Kind;

// When this fails after a schema change, regenerate the reference:
//   cmake --build build --target deployguard_config_docgen
//   build/lib/config/deployguard_config_docgen docs/configuration.md
TEST(ConfigReference, DocsFileIsUpToDate) {
  const std::string path = DEPLOYGUARD_SOURCE_DIR "/docs/configuration.md";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "cannot open " << path;
  std::ostringstream text;
  text << in.rdbuf();
  EXPECT_TRUE(text.str() == reference_markdown())
      << path << " is stale; regenerate it with deployguard_config_docgen (see this test)";
}

TEST(ConfigReference, EveryKeyIsDocumentedWithItsDefault) {
  const std::string md = reference_markdown();
  for (const schema::Key& key : schema::keys()) {
    if (key.kind == Kind::Section && schema::key_name(key) == "*") continue;
    EXPECT_NE(md.find("| `" + std::string(schema::key_name(key)) + "`"), std::string::npos)
        << key.path;
  }
  // Defaults are read from core/config.hpp through the slots.
  EXPECT_NE(md.find("| `cooldown` | duration | `2m` |"), std::string::npos);
  EXPECT_NE(md.find("| `listen` | host:port | `127.0.0.1:8080` |"), std::string::npos);
  EXPECT_NE(md.find("| `max_webhook_body_bytes` | size (> 0) | `5MiB` |"), std::string::npos);
  EXPECT_NE(md.find("| `poll_interval` | duration (>= 1s) | `30s` |"), std::string::npos);
  EXPECT_NE(md.find("| `repo` | owner/name | **required** |"), std::string::npos);
  EXPECT_NE(md.find("## `environments.<name>.postgres_servers[]`"), std::string::npos);
  EXPECT_NE(md.find("| `order` | one of `fifo`, `newest_first` | `fifo` |"), std::string::npos);
  EXPECT_NE(md.find("| `supersede` | boolean | `false` |"), std::string::npos);
  EXPECT_NE(md.find("| `ticket_ttl` | duration (1s to 1h) | `2m` |"), std::string::npos);
  EXPECT_NE(md.find("| `max_length` | integer (1 to 10000) | `100` |"), std::string::npos);
  // An environment's queue keys name the top-level key they default to.
  EXPECT_NE(md.find("| `ticket_ttl` | duration (1s to 1h) | top-level `queue.ticket_ttl` |"),
            std::string::npos);
}

// Catches table mistakes (a slot of the wrong type, an orphan row) without needing a YAML file
// that sets every key.
TEST(ConfigSchema, RowsAreConsistent) {
  Config sample;
  for (const schema::Key& key : schema::keys()) {
    if (key.enter != nullptr) key.enter(sample, schema::Scope{"x", 0});
  }
  for (const schema::Key& key : schema::keys()) {
    SCOPED_TRACE(std::string(key.path));
    EXPECT_FALSE(key.description.empty());
    const std::string path(key.path);
    const auto dot = path.rfind('.');
    if (dot != std::string::npos) {
      std::string parent = path.substr(0, dot);
      if (parent.size() > 2 && parent.substr(parent.size() - 2) == "[]") parent.resize(parent.size() - 2);
      const schema::Key* p = schema::find(parent);
      ASSERT_NE(p, nullptr) << "no parent row " << parent;
      EXPECT_TRUE(schema::is_container(p->kind));
    }
    EXPECT_EQ(schema::find(path), &key);
    if (schema::is_container(key.kind)) {
      EXPECT_EQ(key.slot, nullptr);
      if (key.kind == Kind::OptionalSection || key.kind == Kind::SectionList) {
        EXPECT_NE(key.enter, nullptr);
      }
      continue;
    }
    ASSERT_NE(key.slot, nullptr);
    EXPECT_EQ(key.enter, nullptr);
    const schema::Slot slot = key.slot(sample, schema::Scope{"x", 0});
    switch (key.kind) {
      case Kind::Duration: EXPECT_TRUE(std::holds_alternative<Duration*>(slot)); break;
      case Kind::Size: EXPECT_TRUE(std::holds_alternative<std::size_t*>(slot)); break;
      case Kind::Count:
        EXPECT_TRUE(std::holds_alternative<std::size_t*>(slot) ||
                    std::holds_alternative<int*>(slot));
        break;
      case Kind::StringList:
        EXPECT_TRUE(std::holds_alternative<std::vector<std::string>*>(slot));
        break;
      case Kind::Listen:
        EXPECT_TRUE(std::holds_alternative<ListenAddress*>(slot) ||
                    std::holds_alternative<std::optional<ListenAddress>*>(slot));
        break;
      case Kind::Bool: EXPECT_TRUE(std::holds_alternative<bool*>(slot)); break;
      case Kind::Enum:
        EXPECT_FALSE(key.choices.empty());
        if (std::holds_alternative<QueueOrder*>(slot)) break;
        [[fallthrough]];
      default:
        EXPECT_TRUE(std::holds_alternative<std::string*>(slot) ||
                    std::holds_alternative<std::optional<std::string>*>(slot));
    }
    if (key.required) {
      // A required key has no default to fall back on; an optional scalar must have one.
      EXPECT_TRUE(key.default_text.empty());
    }
    if (key.maximum != 0) {
      EXPECT_TRUE(key.kind == Kind::Duration || key.kind == Kind::Count);
      EXPECT_GE(key.maximum, key.minimum);
    }
    if (!key.inherits.empty()) {
      // Same value space as the top-level row it defaults to, and a slot of the same type.
      const schema::Key* from = schema::find(key.inherits);
      ASSERT_NE(from, nullptr) << key.inherits;
      EXPECT_EQ(path.rfind("environments.*.", 0), 0u);
      EXPECT_EQ(from->path.find('*'), std::string_view::npos);
      EXPECT_EQ(from->kind, key.kind);
      EXPECT_EQ(from->minimum, key.minimum);
      EXPECT_EQ(from->maximum, key.maximum);
      EXPECT_EQ(from->choices, key.choices);
      EXPECT_FALSE(key.required);
      EXPECT_EQ(from->slot(sample, schema::Scope{}).index(), slot.index());
    }
  }
}

// Every choice of the queue order names a QueueOrder (to_string), so none is accepted by the
// schema and then refused by the loader.
TEST(ConfigSchema, QueueOrderChoicesAreTheQueueOrders) {
  for (const char* path : {"queue.order", "environments.*.queue.order"}) {
    const schema::Key* key = schema::find(path);
    ASSERT_NE(key, nullptr) << path;
    EXPECT_EQ(key->choices, std::string(to_string(QueueOrder::Fifo)) + "|" +
                                std::string(to_string(QueueOrder::NewestFirst)));
  }
}

}  // namespace
}  // namespace deployguard::config
