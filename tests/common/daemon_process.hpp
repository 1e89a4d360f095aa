#pragma once
// Runs the real deployguard binary for integration tests.
//
//   TempDir dir;
//   auto daemon = DaemonProcess::start(kBinary, dir, config_yaml);   // waits for --ready-fd
//   auto res = http_get(daemon->host(), daemon->port(), "/healthz");
//
// Start-up is signalled through the --ready-fd pipe (no polling, no sleeps); the daemon's stderr
// goes to a file in the temp dir and is included in every failure message. The destructor kills
// (SIGKILL) and reaps a daemon that is still running.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/temp_dir.hpp"

namespace deployguard::testing {

using namespace std::chrono_literals;

/// Exit code of a finished child: its exit status, or 128 + signal number.
int decode_wait_status(int status);
/// Waits for `pid` to exit (a helper thread blocks in waitpid; this thread waits on it with a
/// timeout). On timeout the child is SIGKILLed and reaped and nullopt is returned.
std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout);

struct CommandResult {
  int exit_code = -1;  // -1: timed out (and killed)
  std::string out;
  std::string err;
};
/// Runs `binary args...` to completion with stdin from /dev/null, capturing stdout and stderr.
CommandResult run_command(const std::string& binary, const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout = 10s);

class DaemonProcess {
 public:
  /// Writes `config_yaml` to dir/config.yaml, spawns `binary serve --config ... --ready-fd 3
  /// extra_args...` and waits (up to `timeout`) for the ready line. Throws std::runtime_error,
  /// with the daemon's stderr, if it exits or stays silent instead.
  static std::unique_ptr<DaemonProcess> start(const std::string& binary, const TempDir& dir,
                                              const std::string& config_yaml,
                                              const std::vector<std::string>& extra_args = {},
                                              std::chrono::milliseconds timeout = 10s);
  /// Spawns any program that speaks the --ready-fd protocol (deployguard, fake_upstream):
  /// `binary args... --ready-fd 3`, stdout/stderr to dir/NAME.stdout|stderr, waits for the line.
  static std::unique_ptr<DaemonProcess> spawn_ready(const std::string& binary, const TempDir& dir,
                                                    const std::vector<std::string>& args,
                                                    const std::string& name,
                                                    std::chrono::milliseconds timeout = 10s);
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }
  /// The raw ready line, e.g. {"listen":"127.0.0.1:40123"}.
  const std::string& ready_line() const { return ready_line_; }
  std::string stderr_text() const { return read_file(stderr_path_); }

  /// Sends `signal` and waits for the exit. Returns the exit code, nullopt on timeout (the
  /// daemon is then killed).
  std::optional<int> stop(int signal, std::chrono::milliseconds timeout = 5s);

 private:
  DaemonProcess() = default;

  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string host_;
  std::uint16_t port_ = 0;
  std::string ready_line_;
  std::filesystem::path stderr_path_;
};

}  // namespace deployguard::testing
