#include "state/state_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "state/file_io.hpp"
#include "state/timestamp.hpp"

namespace deployguard::state {
namespace {

using detail::errno_text;
using detail::UniqueFd;

/// Joins problems into one line; a badly broken file should not produce a wall of text.
std::string join_errors(const std::vector<std::string>& errors) {
  constexpr std::size_t kShown = 10;
  std::string out;
  for (std::size_t i = 0; i < errors.size() && i < kShown; ++i) {
    if (i > 0) out += "; ";
    out += errors[i];
  }
  if (errors.size() > kShown) {
    out += "; ... and " + std::to_string(errors.size() - kShown) + " more";
  }
  return out;
}

SaveResult save_error(const std::string& path, const std::string& what) {
  return SaveResult{"cannot save state file " + path + ": " + what};
}

}  // namespace

const char* to_string(SaveStep step) {
  switch (step) {
    case SaveStep::TempWritten: return "temp file written";
    case SaveStep::TempSynced: return "temp file synced";
    case SaveStep::Renamed: return "renamed";
    case SaveStep::DirectorySynced: return "directory synced";
  }
  return "unknown step";
}

std::string temp_path_for(const std::string& path) { return path + ".tmp"; }

LoadResult load_state(const std::string& path) {
  LoadResult out;
  auto read = detail::read_whole_file(path, kMaxStateFileBytes);
  if (read.missing) return out;  // first start
  out.file_existed = true;
  if (read.error == EFBIG) {
    out.failure = LoadFailure::Unreadable;
    out.error = "state file " + path + " cannot be read: larger than " +
                std::to_string(kMaxStateFileBytes) + " bytes";
    return out;
  }
  if (read.error != 0) {
    out.failure = LoadFailure::Unreadable;
    out.error = "state file " + path + " cannot be read: " + errno_text(read.error);
    return out;
  }
  auto parsed = parse_state(read.content);
  if (!parsed.ok()) {
    out.failure = LoadFailure::Corrupt;
    out.error = "state file " + path + " is corrupt: " + join_errors(parsed.errors);
    return out;
  }
  out.states = std::move(parsed.states);
  out.webhook_deliveries = std::move(parsed.webhook_deliveries);
  return out;
}

SaveResult save_state(const std::string& path, const EnvironmentStates& states,
                      const SaveCrashHook& crash_hook) {
  return save_state(path, states, DeliveryIds{}, crash_hook);
}

SaveResult save_state(const std::string& path, const EnvironmentStates& states,
                      const DeliveryIds& deliveries, const SaveCrashHook& crash_hook) {
  const auto serialized = serialize_state(states, deliveries);
  if (!serialized.ok()) return save_error(path, join_errors(serialized.errors));

  const auto crashed_after = [&](SaveStep step) { return crash_hook && !crash_hook(step); };
  const auto simulated_crash = [&](SaveStep step) {
    return save_error(path, std::string{"simulated crash after step: "} + to_string(step));
  };

  const std::string tmp = temp_path_for(path);
  // A fixed temp name (not mkstemp) so a crash leaves at most one stale file, which the next
  // save truncates and reuses. O_NOFOLLOW: never write through a planted symlink.
  UniqueFd fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)};
  if (!fd.valid()) {
    return save_error(path, "cannot create temp file " + tmp + ": " + errno_text(errno));
  }
  const auto fail_and_remove_temp = [&](const std::string& what, int err) {
    fd.close_checked();
    ::unlink(tmp.c_str());
    return save_error(path, what + ": " + errno_text(err));
  };
  // A stale temp file keeps its old mode through O_TRUNC; the state must stay private.
  if (::fchmod(fd.get(), 0600) != 0) return fail_and_remove_temp("cannot chmod " + tmp, errno);
  if (const int err = detail::write_all(fd.get(), serialized.text)) {
    return fail_and_remove_temp("cannot write " + tmp, err);
  }
  if (crashed_after(SaveStep::TempWritten)) return simulated_crash(SaveStep::TempWritten);
  if (const int err = detail::fsync_fd(fd.get())) {
    return fail_and_remove_temp("cannot fsync " + tmp, err);
  }
  if (const int err = fd.close_checked()) {
    return fail_and_remove_temp("cannot close " + tmp, err);
  }
  if (crashed_after(SaveStep::TempSynced)) return simulated_crash(SaveStep::TempSynced);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail_and_remove_temp("cannot rename " + tmp + " over it", errno);
  }
  if (crashed_after(SaveStep::Renamed)) return simulated_crash(SaveStep::Renamed);
  // Without this the rename itself may not survive a power loss: the old file could reappear.
  if (const int err = detail::fsync_directory(detail::parent_directory(path))) {
    return save_error(path, "replaced, but fsync of its directory failed (the new content may "
                            "not survive a power loss): " + errno_text(err));
  }
  if (crashed_after(SaveStep::DirectorySynced)) return simulated_crash(SaveStep::DirectorySynced);
  return {};
}

MoveAsideResult move_aside(const std::string& path, TimePoint now) {
  const std::string base = path + ".corrupt-" + format_timestamp_compact(now);
  constexpr int kMaxAttempts = 100;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    const std::string candidate = attempt == 0 ? base : base + "-" + std::to_string(attempt);
    int rc = ::renameat2(AT_FDCWD, path.c_str(), AT_FDCWD, candidate.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
      // The filesystem lacks RENAME_NOREPLACE: link() also refuses to replace, then drop the
      // old name.
      rc = ::link(path.c_str(), candidate.c_str());
      if (rc == 0 && ::unlink(path.c_str()) != 0) {
        const int err = errno;
        ::unlink(candidate.c_str());
        return {{}, "cannot move state file " + path + " aside: " + errno_text(err)};
      }
    }
    if (rc != 0) {
      if (errno == EEXIST) continue;
      return {{}, "cannot move state file " + path + " aside to " + candidate + ": " +
                      errno_text(errno)};
    }
    // Best effort: the file has moved either way, and the next successful save fsyncs the
    // directory again. Failing start-up over it would help nobody.
    static_cast<void>(detail::fsync_directory(detail::parent_directory(path)));
    return {candidate, ""};
  }
  return {{}, "cannot move state file " + path + " aside: " + base + " and " +
                  std::to_string(kMaxAttempts - 1) + " numbered variants already exist"};
}

LoadResult StateStore::load() {
  auto result = load_state(path_);
  if (result.ok()) {
    states_ = result.states;
    deliveries_ = result.webhook_deliveries;
  }
  return result;
}

SaveResult StateStore::save(const SaveCrashHook& crash_hook) const {
  return save_state(path_, states_, deliveries_, crash_hook);
}

}  // namespace deployguard::state
