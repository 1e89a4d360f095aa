#include "common/daemon_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <future>
#include <stdexcept>

#include <nlohmann/json.hpp>

extern char** environ;

namespace deployguard::testing {

namespace {

constexpr int kReadyFd = 3;

class SpawnActions {
 public:
  SpawnActions() { posix_spawn_file_actions_init(&actions_); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions_); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

pid_t spawn(const std::string& binary, const std::vector<std::string>& args,
            SpawnActions& actions) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, binary.c_str(), actions.get(), nullptr, argv.data(), environ);
  if (rc != 0) throw std::runtime_error("posix_spawn " + binary + ": " + std::strerror(rc));
  return pid;
}

void redirect_std_streams(SpawnActions& actions, const std::filesystem::path& out,
                          const std::filesystem::path& err) {
  posix_spawn_file_actions_addopen(actions.get(), 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(actions.get(), 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(actions.get(), 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
}

}  // namespace

// ---- processes ---------------------------------------------------------------------------------

int decode_wait_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto exited = std::async(std::launch::async, [pid] {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) return -1;
    }
    return decode_wait_status(status);
  });
  if (exited.wait_for(timeout) == std::future_status::ready) return exited.get();
  ::kill(pid, SIGKILL);
  exited.get();  // reaped by the helper thread
  return std::nullopt;
}

CommandResult run_command(const std::string& binary, const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout) {
  TempDir dir;
  SpawnActions actions;
  redirect_std_streams(actions, dir.path() / "stdout", dir.path() / "stderr");
  const pid_t pid = spawn(binary, args, actions);
  CommandResult result;
  result.exit_code = wait_for_exit(pid, timeout).value_or(-1);
  result.out = read_file(dir.path() / "stdout");
  result.err = read_file(dir.path() / "stderr");
  return result;
}

// ---- DaemonProcess -----------------------------------------------------------------------------

std::unique_ptr<DaemonProcess> DaemonProcess::start(const std::string& binary, const TempDir& dir,
                                                    const std::string& config_yaml,
                                                    const std::vector<std::string>& extra_args,
                                                    std::chrono::milliseconds timeout) {
  const auto config = dir.write("config.yaml", config_yaml);
  std::vector<std::string> args{"serve", "--config", config.string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  return spawn_ready(binary, dir, args, "daemon", timeout);
}

std::unique_ptr<DaemonProcess> DaemonProcess::spawn_ready(const std::string& binary,
                                                          const TempDir& dir,
                                                          const std::vector<std::string>& args_in,
                                                          const std::string& name,
                                                          std::chrono::milliseconds timeout) {
  std::unique_ptr<DaemonProcess> daemon{new DaemonProcess};
  daemon->stderr_path_ = dir.path() / (name + ".stderr");

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  int read_end = fds[0];
  int write_end = fds[1];
  if (write_end == kReadyFd) {  // dup2(3, 3) would keep FD_CLOEXEC: move it out of the way
    write_end = ::fcntl(fds[1], F_DUPFD_CLOEXEC, 10);
    ::close(fds[1]);
  }

  SpawnActions actions;
  redirect_std_streams(actions, dir.path() / (name + ".stdout"), daemon->stderr_path_);
  posix_spawn_file_actions_adddup2(actions.get(), write_end, kReadyFd);  // clears FD_CLOEXEC
  std::vector<std::string> args = args_in;
  args.insert(args.end(), {"--ready-fd", std::to_string(kReadyFd)});
  try {
    daemon->pid_ = spawn(binary, args, actions);
  } catch (...) {
    ::close(read_end);
    ::close(write_end);
    throw;
  }
  ::close(write_end);  // only the child holds it now: EOF here means the child closed or died

  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{read_end, POLLIN, 0};
    const int ready = ::poll(&p, 1, left.count() > 0 ? static_cast<int>(left.count()) : 0);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;  // timeout
    char buf[256];
    const auto n = ::read(read_end, buf, sizeof buf);
    if (n <= 0) break;  // EOF: the daemon exited (or closed the fd) without a ready line
    line.append(buf, static_cast<std::size_t>(n));
  }
  ::close(read_end);

  auto fail = [&](const std::string& why) {
    const auto code = wait_for_exit(daemon->pid_, 2s);
    daemon->reaped_ = true;
    throw std::runtime_error(name + " did not start (" + why + ", exit " +
                             (code ? std::to_string(*code) : std::string("killed")) +
                             "); stderr:\n" + daemon->stderr_text());
  };
  if (line.find('\n') == std::string::npos) fail("no ready line");
  daemon->ready_line_ = line.substr(0, line.find('\n'));
  const auto json = nlohmann::json::parse(daemon->ready_line_, nullptr, false);
  if (!json.is_object() || !json.contains("listen") || !json["listen"].is_string())
    fail("bad ready line: " + daemon->ready_line_);
  const auto listen = json["listen"].get<std::string>();
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) fail("bad listen address: " + listen);
  daemon->host_ = listen.substr(0, colon);
  daemon->port_ = static_cast<std::uint16_t>(std::stoi(listen.substr(colon + 1)));
  return daemon;
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

std::optional<int> DaemonProcess::stop(int signal, std::chrono::milliseconds timeout) {
  if (reaped_) return std::nullopt;
  ::kill(pid_, signal);
  auto code = wait_for_exit(pid_, timeout);
  reaped_ = true;
  return code;
}

}  // namespace deployguard::testing
