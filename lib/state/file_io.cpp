#include "state/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace deployguard::state::detail {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

int UniqueFd::close_checked() {
  if (fd_ < 0) return 0;
  // Linux always releases the descriptor, even when close() reports EINTR; never retry.
  const int rc = ::close(release());
  return rc == 0 ? 0 : errno;
}

std::string errno_text(int err) {
  const char* name = strerrorname_np(err);
  std::string out = std::strerror(err);
  if (name != nullptr) {
    out += " (";
    out += name;
    out += ")";
  }
  return out;
}

int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;  // cannot happen for regular files; avoid spinning if it does
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

int fsync_fd(int fd) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

namespace {
std::atomic<std::uint64_t> directory_fsyncs{0};
}  // namespace

int fsync_directory(const std::string& dir) {
  UniqueFd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!fd.valid()) return errno;
  if (const int err = fsync_fd(fd.get())) return err;
  directory_fsyncs.fetch_add(1, std::memory_order_relaxed);
  return fd.close_checked();
}

std::uint64_t directory_fsync_count() { return directory_fsyncs.load(std::memory_order_relaxed); }

std::string parent_directory(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

ReadOutcome read_whole_file(const std::string& path, std::size_t max_bytes) {
  ReadOutcome out;
  UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd.valid()) {
    if (errno == ENOENT) {
      out.missing = true;
    } else {
      out.error = errno;
    }
    return out;
  }
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      out.error = errno;
      out.content.clear();
      return out;
    }
    if (n == 0) break;
    if (out.content.size() + static_cast<std::size_t>(n) > max_bytes) {
      out.error = EFBIG;
      out.content.clear();
      return out;
    }
    out.content.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace deployguard::state::detail
