#include "fixtures.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace deployguard::parse::test {

std::filesystem::path fixtures_dir() { return DEPLOYGUARD_FIXTURES_DIR; }

std::string read_fixture(std::string_view relative) {
  const auto path = fixtures_dir() / std::filesystem::path(relative);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open fixture " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string example_body(std::string_view relative, std::string_view status) {
  const auto doc = nlohmann::json::parse(read_fixture(relative));
  return doc.at("responses").at(std::string(status)).at("body").dump();
}

namespace {
std::pair<std::string, std::string> split_http(std::string_view relative) {
  std::string text = read_fixture(relative);
  text.erase(std::remove(text.begin(), text.end(), '\r'), text.end());
  const auto blank = text.find("\n\n");
  if (blank == std::string::npos) return {text, ""};
  return {text.substr(0, blank), text.substr(blank + 2)};
}
}  // namespace

std::map<std::string, std::string> read_headers(std::string_view relative) {
  std::map<std::string, std::string> headers;
  std::istringstream lines(split_http(relative).first);
  std::string line;
  std::getline(lines, line);  // status line
  while (std::getline(lines, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    headers[name] = value;
  }
  return headers;
}

std::string http_body(std::string_view relative) { return split_http(relative).second; }

TimePoint ts(std::string_view text) {
  const auto t = parse_timestamp(text);
  if (!t) throw std::runtime_error("bad timestamp literal in test: " + std::string(text));
  return *t;
}

}  // namespace deployguard::parse::test
