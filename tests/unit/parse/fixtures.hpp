#pragma once
// Test helpers for the shared fixture tree (DEPLOYGUARD_FIXTURES_DIR).
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "core/time.hpp"

namespace deployguard::parse::test {

std::filesystem::path fixtures_dir();
/// Raw bytes of a fixture, path relative to the fixtures dir. Fails the test when missing.
std::string read_fixture(std::string_view relative);
/// For Azure spec examples ({"parameters", "responses": {"200": {"body": ...}}}): the body of
/// the given response, re-serialized.
std::string example_body(std::string_view relative, std::string_view status = "200");
/// Header lines of a *.headers.txt / *.http fixture, names lowercased.
std::map<std::string, std::string> read_headers(std::string_view relative);
/// Body after the blank line of a *.http fixture.
std::string http_body(std::string_view relative);
/// Timestamp literal for expectations; aborts the test on a typo.
TimePoint ts(std::string_view text);

}  // namespace deployguard::parse::test
