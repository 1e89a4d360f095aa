#include "config/secrets.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace deployguard::config {
namespace {

// Tokens, PEM-free secrets and short token lists are far below this; anything bigger is the
// wrong file.
constexpr std::size_t kMaxSecretFileBytes = 64 * 1024;

void strip_trailing_newlines(std::string& s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::optional<std::string> read_whole(const std::string& path, std::string& error) {
  const std::string resolved = resolve_secret_path(path);
  const std::string shown =
      resolved == path ? "\"" + path + "\"" : "\"" + path + "\" (" + resolved + ")";
  std::error_code ec;
  if (std::filesystem::is_directory(resolved, ec)) {
    error = "cannot read secret file " + shown + ": is a directory";
    return std::nullopt;
  }
  std::ifstream in(resolved, std::ios::binary);
  if (!in) {
    error = "cannot read secret file " + shown + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxSecretFileBytes) {
      error = "secret file " + shown + " is larger than 64KiB";
      return std::nullopt;
    }
  }
  if (in.bad()) {
    error = "cannot read secret file " + shown + ": " + std::strerror(errno);
    return std::nullopt;
  }
  return text;
}

}  // namespace

std::string resolve_secret_path(const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (dir == nullptr || *dir == '\0') return path;
  std::string out(dir);
  if (out.back() != '/') out += '/';
  return out + path;
}

std::optional<std::string> read_secret_file(const std::string& path, std::string& error) {
  auto text = read_whole(path, error);
  if (!text) return std::nullopt;
  strip_trailing_newlines(*text);
  if (text->empty()) {
    error = "secret file \"" + path + "\" is empty";
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> read_secret_env(const std::string& name, std::string& error) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    error = "environment variable " + name + " is not set";
    return std::nullopt;
  }
  std::string text(value);
  strip_trailing_newlines(text);
  if (text.empty()) {
    error = "environment variable " + name + " is empty";
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> read_secret(const std::optional<std::string>& file,
                                       const std::optional<std::string>& env, std::string& error) {
  if (file) return read_secret_file(*file, error);
  if (env) return read_secret_env(*env, error);
  error = "no secret source configured (neither a *_file nor a *_env key is set)";
  return std::nullopt;
}

std::vector<std::string> read_secret_lines(const std::string& path, std::string& error) {
  const auto text = read_whole(path, error);
  if (!text) return {};
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text->size()) {
    auto end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    std::size_t b = start;
    std::size_t e = end;
    while (b < e && is_space((*text)[b])) ++b;
    while (e > b && is_space((*text)[e - 1])) --e;
    if (e > b) lines.push_back(text->substr(b, e - b));
    start = end + 1;
  }
  if (lines.empty()) error = "secret file \"" + path + "\" holds no non-blank line";
  return lines;
}

}  // namespace deployguard::config
