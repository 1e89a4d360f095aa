#pragma once
// A fresh directory per test, removed (with everything in it) afterwards.
#include <string>

namespace deployguard::state::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content);
bool exists(const std::string& path);
/// Permission bits (st_mode & 07777).
unsigned mode_of(const std::string& path);
/// Permission checks do not apply to root (tests run as root in CI containers).
bool running_as_root();

}  // namespace deployguard::state::testing
