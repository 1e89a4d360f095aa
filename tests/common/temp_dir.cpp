#include "common/temp_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace deployguard::testing {

namespace {

// A mutable, NUL-terminated copy of $TMPDIR/deployguard-test-XXXXXX<suffix> for mkdtemp/mkstemps.
std::vector<char> name_template(const std::string& suffix) {
  const std::string tmpl =
      (std::filesystem::temp_directory_path() / ("deployguard-test-XXXXXX" + suffix)).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  return buf;
}

}  // namespace

TempDir::TempDir() {
  auto buf = name_template("");
  if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  // Tests may leave read-only directories behind; make them writable so removal works.
  for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
  }
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::add, ec);
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& content) const {
  const auto file = path_ / name;
  write_file(file, content);
  return file;
}

TempFile::TempFile(const std::string& content, const std::string& suffix) {
  auto buf = name_template(suffix);
  const int fd = ::mkstemps(buf.data(), static_cast<int>(suffix.size()));
  if (fd < 0) throw std::runtime_error("mkstemps failed");
  ::close(fd);
  path_ = buf.data();
  write(content);
}

TempFile::~TempFile() {
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

void TempFile::write(const std::string& content) const { write_file(path_, content); }

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string generated_block(const std::filesystem::path& path, const std::string& name) {
  const std::string doc = read_file(path);
  const std::string begin = "<!-- " + name + ": generated from ";
  const std::string end = "<!-- " + name + ": end -->";
  const auto from = doc.find(begin);
  const auto body = from == std::string::npos ? from : doc.find("-->\n", from);
  const auto to = doc.find(end);
  if (body == std::string::npos || to == std::string::npos || to < body)
    throw std::runtime_error(path.string() + " lacks the markers " + begin + "... --> / " + end);
  return doc.substr(body + 4, to - body - 4);
}

std::vector<nlohmann::json> read_json_lines(const std::filesystem::path& path) {
  std::istringstream in(read_file(path));
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path.string());
  out << content;
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error("cannot stat " + path);
  return st.st_mode & 07777u;
}

bool running_as_root() { return ::geteuid() == 0; }

}  // namespace deployguard::testing
