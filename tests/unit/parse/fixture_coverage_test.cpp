// Every file in the shared fixture tree is either parsed by a listed parser, read as headers, or
// explicitly excluded. Adding a fixture without deciding how it is parsed fails this test.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include "fixture_registry.hpp"
#include "fixtures.hpp"

namespace deployguard::parse::test {
namespace {

std::set<std::string> listed_files() {
  std::set<std::string> listed;
  for (const auto& c : json_fixtures()) listed.insert(c.path);
  for (const char* h : header_fixtures()) listed.insert(h);
  for (const char* e : excluded_files()) listed.insert(e);
  return listed;
}

TEST(FixtureCoverage, EveryFixtureFileIsListed) {
  const auto listed = listed_files();
  const auto root = fixtures_dir();
  ASSERT_TRUE(std::filesystem::is_directory(root)) << root;
  std::size_t seen = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    const std::string rel = std::filesystem::relative(entry.path(), root).generic_string();
    if (rel.rfind("github/_schemas/", 0) == 0) continue;  // JSON Schemas, not payloads
    ++seen;
    EXPECT_TRUE(listed.count(rel)) << "fixture not covered by any parser test: " << rel;
  }
  EXPECT_GE(seen, listed.size());
}

TEST(FixtureCoverage, EveryListedFileExists) {
  for (const auto& rel : listed_files()) {
    EXPECT_TRUE(std::filesystem::is_regular_file(fixtures_dir() / rel)) << "listed but missing: " << rel;
  }
}

TEST(FixtureCoverage, EveryJsonFixtureParsesWithItsParser) {
  for (const auto& c : json_fixtures()) {
    SCOPED_TRACE(c.path);
    const auto result = run_parser(c, body_for(c));
    EXPECT_EQ(result.ok, c.expect_ok) << result.error_text;
  }
}

TEST(FixtureCoverage, HeaderFixturesHaveAStatusLineAndHeaders) {
  for (const char* h : header_fixtures()) {
    SCOPED_TRACE(h);
    EXPECT_EQ(read_fixture(h).rfind("HTTP/1.1 ", 0), 0u);
    EXPECT_GE(read_headers(h).size(), 2u);
  }
}

}  // namespace
}  // namespace deployguard::parse::test
