#pragma once
// Append-only audit trail of operator actions and decision changes, one JSON object per line:
//
//   {"time":"2025-12-31T19:03:58.123Z","environment":"prod","actor":"alice","action":"freeze",
//    "old":null,"new":{...},"detail":"..."}
//
// Keys always appear in that order; "old", "new" and "detail" are any JSON (null when unused).
// Each record is one write(2) on an O_APPEND descriptor, so records from this process never
// interleave or overwrite one another. Strings that are not valid UTF-8 are written with U+FFFD
// replacements. Not thread-safe: call from the event loop thread. Nothing here throws.
#include <string>

#include <nlohmann/json.hpp>

#include "core/time.hpp"
#include "state/file_io.hpp"

namespace deployguard::state {

struct AuditRecord {
  TimePoint time{};
  std::string environment;
  std::string actor;   // "alice", "api-token:ci", "deployguard" for the daemon itself
  std::string action;  // "lease.acquire", "freeze.set", "decision.change", ...
  nlohmann::json old_value;  // serialized as "old"
  nlohmann::json new_value;  // serialized as "new"
  nlohmann::json detail;
};

/// Whether append() waits for the record to reach the disk.
enum class AuditSync {
  Fsync,    // mutations (leases, freezes): the record is durable before the caller answers
  NoFsync,  // high-volume decision changes: losing the last few on power loss is acceptable
};

struct AuditStatus {
  std::string error;  // empty on success; names the file
  bool ok() const { return error.empty(); }
};

class AuditLog {
 public:
  /// "<directory of state_path>/audit.jsonl".
  static std::string default_path(const std::string& state_path);

  /// One line (with trailing '\n') as append() writes it. Exposed for tests and tools.
  static std::string format_line(const AuditRecord& record);

  AuditLog() = default;

  /// Opens (creating with mode 0600 if needed) the file for appending. Replaces any file this
  /// log had open only on success.
  AuditStatus open(std::string path);
  /// Opens the configured path again, e.g. after logrotate renamed the file (SIGHUP). If that
  /// fails the log keeps writing to the file it had, so no record is lost.
  AuditStatus reopen();

  AuditStatus append(const AuditRecord& record, AuditSync sync = AuditSync::Fsync);

  bool is_open() const { return fd_.valid(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  detail::UniqueFd fd_;
};

}  // namespace deployguard::state
