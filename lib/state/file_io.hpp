#pragma once
// POSIX file helpers shared by the state store and the audit log. Internal to lib/state: they
// report errno values rather than throwing, and retry EINTR and short writes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace deployguard::state::detail {

/// Owns a file descriptor; closes it on destruction (ignoring the result: callers that care
/// about close() errors call close_checked()).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();
  /// Closes the descriptor; returns 0 or the errno of close().
  int close_checked();

 private:
  int fd_ = -1;
};

/// "No such file" and friends, with the errno name for grep-ability: "Permission denied (EACCES)".
std::string errno_text(int err);

/// Writes every byte; returns 0 or an errno.
int write_all(int fd, std::string_view data);

/// fsync with EINTR retry; returns 0 or an errno.
int fsync_fd(int fd);

/// Opens the directory and fsyncs it, making a rename/create in it durable. Returns 0 or errno.
int fsync_directory(const std::string& dir);
/// How many fsync_directory() calls succeeded in this process. A test seam: it lets the state
/// store tests prove that a save really fsyncs the directory, which no file content can show.
std::uint64_t directory_fsync_count();

/// The directory part of a path: "a/b/c" -> "a/b", "c" -> ".", "/c" -> "/".
std::string parent_directory(const std::string& path);

struct ReadOutcome {
  bool missing = false;  // the file does not exist (ENOENT)
  int error = 0;         // errno of a failed open/read, or EFBIG when over max_bytes
  std::string content;
};
/// Reads the whole file, refusing files larger than max_bytes.
ReadOutcome read_whole_file(const std::string& path, std::size_t max_bytes);

}  // namespace deployguard::state::detail
