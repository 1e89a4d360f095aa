#pragma once
// Temporary directories and files for tests, under $TMPDIR, removed with everything in them on
// destruction, plus small file helpers.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace deployguard::testing {

/// A fresh directory per test (mkdtemp), removed with everything in it on destruction, even
/// read-only subdirectories a test leaves behind.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// path()/name (nothing is created).
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  /// Writes `content` to path()/name and returns the full path.
  std::filesystem::path write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

/// A fresh file (mkstemps) holding `content`, deleted on destruction. `suffix` (e.g. ".pem")
/// ends the name.
class TempFile {
 public:
  explicit TempFile(const std::string& content, const std::string& suffix = "");
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// Replaces the content.
  void write(const std::string& content) const;

 private:
  std::filesystem::path path_;
};

/// The whole file; throws std::runtime_error when it cannot be opened.
std::string read_file(const std::filesystem::path& path);
/// The text between the markers "<!-- NAME: generated from ... -->\n" and "<!-- NAME: end -->"
/// of a document (docs/api.md keeps tables generated from code that way); std::runtime_error
/// naming the missing marker when there is none.
std::string generated_block(const std::filesystem::path& path, const std::string& name);
/// Each line of a JSON-lines file (the audit log) parsed; throws when it cannot be read or a
/// line is not JSON.
std::vector<nlohmann::json> read_json_lines(const std::filesystem::path& path);
/// Creates or truncates `path`; throws std::runtime_error when it cannot be written.
void write_file(const std::filesystem::path& path, const std::string& content);
/// True if something (even a dangling symlink) is at `path`.
bool exists(const std::string& path);
/// Permission bits (st_mode & 07777).
unsigned mode_of(const std::string& path);
/// Permission checks do not apply to root (tests run as root in CI containers).
bool running_as_root();

}  // namespace deployguard::testing
