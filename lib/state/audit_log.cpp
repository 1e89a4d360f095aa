#include "state/audit_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <exception>

#include "state/timestamp.hpp"

namespace deployguard::state {
namespace {

using detail::errno_text;

std::string dump(const nlohmann::json& value) {
  // Compact dump: string escapes keep newlines out, so a record is always exactly one line.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string AuditLog::default_path(const std::string& state_path) {
  return detail::parent_directory(state_path) + "/audit.jsonl";
}

std::string AuditLog::format_line(const AuditRecord& r) {
  // Built by hand, not as a json object, to keep the documented key order.
  const auto time = format_timestamp_millis(r.time);
  std::string line = "{\"time\":";
  line += time ? dump(*time) : dump(format_timestamp(r.time));
  line += ",\"environment\":" + dump(r.environment);
  line += ",\"actor\":" + dump(r.actor);
  line += ",\"action\":" + dump(r.action);
  line += ",\"old\":" + dump(r.old_value);
  line += ",\"new\":" + dump(r.new_value);
  line += ",\"detail\":" + dump(r.detail);
  line += "}\n";
  return line;
}

AuditStatus AuditLog::open(std::string path) {
  detail::UniqueFd fd{
      ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)};
  if (!fd.valid()) return {"cannot open audit log " + path + ": " + errno_text(errno)};
  // Make a newly created file's directory entry durable too (best effort; rare, so cheap).
  static_cast<void>(detail::fsync_directory(detail::parent_directory(path)));
  fd_ = std::move(fd);
  path_ = std::move(path);
  return {};
}

AuditStatus AuditLog::reopen() {
  if (path_.empty()) return {"cannot reopen audit log: it was never opened"};
  return open(path_);
}

AuditStatus AuditLog::append(const AuditRecord& record, AuditSync sync) {
  if (!fd_.valid()) return {"cannot append to audit log: it is not open"};
  std::string line;
  try {
    line = format_line(record);
  } catch (const std::exception& e) {  // allocation failure only
    return {"cannot append to audit log " + path_ + ": " + e.what()};
  }
  if (const int err = detail::write_all(fd_.get(), line)) {
    return {"cannot append to audit log " + path_ + ": " + errno_text(err)};
  }
  if (sync == AuditSync::Fsync) {
    if (const int err = detail::fsync_fd(fd_.get())) {
      return {"cannot fsync audit log " + path_ + ": " + errno_text(err)};
    }
  }
  return {};
}

}  // namespace deployguard::state
