#include "cli/commands.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/api_client.hpp"
#include "cli/render.hpp"
#include "core/time.hpp"

namespace deployguard::cli {
namespace {

using json = nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitBlocked = 1;
constexpr int kExitError = 2;

struct Common {
  std::string server;
  std::string token_file;
};

struct UsageError {
  std::string message;
};

TimePoint now() {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

bool is_tty(int fd) { return ::isatty(fd) == 1; }

bool use_color() {
  const char* term = std::getenv("TERM");
  return is_tty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr &&
         !(term && std::string(term) == "dumb");
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

ApiClient make_client(const Common& c) {
  std::string server = c.server;
  if (server.empty()) {
    const char* env = std::getenv("DEPLOYGUARD_URL");
    server = env && *env ? env : "http://127.0.0.1:8080";
  }
  std::optional<std::string> token;
  if (!c.token_file.empty()) {
    std::ifstream in(c.token_file);
    if (!in) throw UsageError{"cannot read token file " + c.token_file};
    std::string line;
    std::getline(in, line);
    token = trim(line);
  } else if (const char* env = std::getenv("DEPLOYGUARD_TOKEN"); env && *env) {
    token = trim(env);
  }
  return ApiClient(server, token);
}

/// One line out of the daemon's error envelope (or the raw body if it is not one).
std::string describe_error(const ApiResponse& r) {
  try {
    const auto j = json::parse(r.body);
    if (j.contains("error") && j["error"].is_object()) {
      return j["error"].value("message", std::string("error")) + " (HTTP " +
             std::to_string(r.status) + ")";
    }
  } catch (const json::exception&) {
  }
  std::string body = r.body.substr(0, 200);
  for (char& ch : body)
    if (ch == '\n') ch = ' ';
  return "unexpected answer HTTP " + std::to_string(r.status) + (body.empty() ? "" : ": " + body);
}

json parse_body(const ApiResponse& r) {
  try {
    return json::parse(r.body);
  } catch (const json::exception&) {
    throw ApiError{"the daemon answered HTTP " + std::to_string(r.status) + " with a body that is not JSON"};
  }
}

std::chrono::seconds parse_wait(const std::string& text, const char* flag) {
  if (text.empty()) return std::chrono::seconds{0};
  const auto d = parse_duration(text);
  if (!d) throw UsageError{std::string(flag) + ": expected a duration like 20m, got \"" + text + "\""};
  return std::chrono::duration_cast<std::chrono::seconds>(*d);
}

void print_blocked(const std::string& env, const json& decision) {
  std::cerr << env << ": not safe to deploy\n"
            << render_reasons(decision, RenderOptions{false, now()});
}

/// The countdown line on stderr while a command waits for an environment to become safe, redrawn
/// about once a second (and at once when a new decision arrives) so a person at a terminal sees
/// the wait and every blocking reason count down. Disabled (no thread, no output) when stderr is
/// not a terminal, so CI logs get only the final result.
///
/// Threads: while shown, the line and stderr belong to the ticker thread. The waiting thread only
/// hands it decisions through update() (under mu_) and calls stop() (joins the ticker and clears
/// the line) before it writes anything itself; the destructor stops it on every path, exceptions
/// included. The ticker never talks to the daemon: redraws use the last decision and the clock.
class ProgressLine {
 public:
  ProgressLine(std::string env, TimePoint deadline, bool enabled)
      : env_(std::move(env)), deadline_(deadline), enabled_(enabled) {}
  ~ProgressLine() { stop(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool enabled() const { return enabled_; }

  /// The latest decision from the daemon; the first call shows the line.
  void update(json decision) {
    if (!enabled_) return;
    {
      std::lock_guard lock(mu_);
      decision_ = std::move(decision);
      redraw_ = true;
    }
    if (!ticker_.joinable()) {
      ticker_ = std::thread([this] { run(); });
    } else {
      cv_.notify_one();
    }
  }

  /// Stops redrawing and clears the line; idempotent.
  void stop() {
    if (!ticker_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
    }
    cv_.notify_one();
    ticker_.join();
    std::cerr << "\r\033[K" << std::flush;
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (!stopped_) {
      const TimePoint t = now();
      std::string line = progress_text(env_, decision_, deadline_, t);
      if (line.size() > width_) line.resize(width_);  // a wrapped line could not be cleared by \r
      std::cerr << "\r\033[K" << line << std::flush;
      redraw_ = false;
      // Wake just after the remaining wait crosses a whole second, so each redraw shows one
      // second less (time_left rounds up).
      auto next = (deadline_ - t) % std::chrono::milliseconds{1000};
      if (next <= std::chrono::milliseconds::zero()) next += std::chrono::milliseconds{1000};
      cv_.wait_for(lock, next + std::chrono::milliseconds{5}, [this] { return stopped_ || redraw_; });
    }
  }

  static std::size_t terminal_width() {
    winsize ws{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1) return ws.ws_col - 1u;
    return 79;
  }

  const std::string env_;
  const TimePoint deadline_;
  const bool enabled_;
  const std::size_t width_ = enabled_ ? terminal_width() : 0;
  std::mutex mu_;
  std::condition_variable cv_;
  json decision_;         // guarded by mu_
  bool redraw_ = false;   // guarded by mu_
  bool stopped_ = false;  // guarded by mu_
  std::thread ticker_;
};

/// The run a pipeline asks for (--run-id/--run-attempt, default $GITHUB_RUN_ID and
/// $GITHUB_RUN_ATTEMPT): the guard judges for it, so its own run never blocks it.
struct AskingRun {
  std::optional<std::int64_t> id;
  std::optional<int> attempt;

  /// "&run_id=N[&run_attempt=M]" for /can-deploy, "" without a run.
  std::string query() const {
    if (!id) return {};
    std::string q = "&run_id=" + std::to_string(*id);
    if (attempt) q += "&run_attempt=" + std::to_string(*attempt);
    return q;
  }
  void add_to(json& body) const {
    if (!id) return;
    body["run_id"] = *id;
    if (attempt) body["run_attempt"] = *attempt;
  }
};

/// A positive integer from the environment variable `name`, nullopt when unset or empty;
/// anything else is a usage error (a pipeline must not silently ask for the wrong run).
std::optional<std::int64_t> positive_from_env(const char* name) {
  const char* text = std::getenv(name);
  if (!text || !*text) return std::nullopt;
  std::int64_t value = 0;
  const std::string_view s(text);
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || ptr != s.data() + s.size() || value <= 0)
    throw UsageError{std::string("$") + name + ": expected a positive integer, got \"" + text + "\""};
  return value;
}

/// The asking run from the flags (given: `id_given`/`attempt_given`), else from GitHub Actions'
/// environment. An attempt without a run id is a usage error.
AskingRun asking_run(bool id_given, std::int64_t id, bool attempt_given, std::int64_t attempt) {
  AskingRun run;
  if (id_given) {
    if (id <= 0) throw UsageError{"--run-id: expected a positive integer"};
    run.id = id;
  } else {
    run.id = positive_from_env("GITHUB_RUN_ID");
  }
  std::optional<std::int64_t> n;
  if (attempt_given) {
    if (attempt <= 0 || attempt > std::numeric_limits<int>::max())
      throw UsageError{"--run-attempt: expected a positive integer"};
    n = attempt;
  } else if (!id_given) {
    n = positive_from_env("GITHUB_RUN_ATTEMPT");  // only with the environment's run id
  }
  if (n && !run.id) throw UsageError{"--run-attempt needs --run-id (or $GITHUB_RUN_ID)"};
  if (n) run.attempt = static_cast<int>(std::min<std::int64_t>(*n, std::numeric_limits<int>::max()));
  return run;
}

/// Long-polls /can-deploy until safe or the deadline. Returns the final decision and status.
/// `known`: a 423 decision the caller already has (lease acquire), so the progress line can show
/// its reasons at once. On a terminal without one, one immediate check comes first for the same
/// purpose (and answers at once when it is already safe); elsewhere the requests are only the
/// long-polls, in chunks of at most 30 s. Judged for `run` (its own run does not block it).
std::pair<unsigned, json> wait_until_safe(const ApiClient& client, const std::string& env,
                                          std::chrono::seconds wait, const AskingRun& run,
                                          const json* known = nullptr) {
  const TimePoint deadline = now() + wait;
  ProgressLine line(env, deadline, is_tty(STDERR_FILENO) && wait.count() > 0);
  const std::string base = "/can-deploy?env=" + url_encode(env) + run.query();
  if (line.enabled()) {
    if (known) {
      line.update(*known);
    } else {
      const auto r = client.request("GET", base);
      if (r.status != 200 && r.status != 423) throw ApiError{describe_error(r)};
      json decision = parse_body(r);
      if (r.status == 200) return {r.status, decision};
      line.update(std::move(decision));
    }
  }
  for (;;) {
    // Rounded up: a truncated 0 in the last second would send wait-less requests in a busy loop
    // until the deadline.
    const auto remaining = std::chrono::ceil<std::chrono::seconds>(deadline - now());
    const auto chunk = std::clamp(remaining, std::chrono::seconds{0}, std::chrono::seconds{30});
    std::string target = base;
    if (chunk.count() > 0) target += "&wait=" + std::to_string(chunk.count());
    const auto r = client.request("GET", target, {}, chunk + std::chrono::seconds{15});
    if (r.status != 200 && r.status != 423) throw ApiError{describe_error(r)};
    json decision = parse_body(r);
    if (r.status == 200 || now() >= deadline) {
      line.stop();
      return {r.status, decision};
    }
    line.update(std::move(decision));
  }
}

int cmd_can_deploy(const Common& c, const std::string& env, const std::string& wait_text,
                   const AskingRun& run) {
  const auto wait = parse_wait(wait_text, "--wait");
  const auto client = make_client(c);
  const auto [status, decision] = wait_until_safe(client, env, wait, run);
  if (status == 200) {
    std::cout << env << ": safe to deploy\n";
    return kExitOk;
  }
  print_blocked(env, decision);
  return kExitBlocked;
}

int cmd_status(const Common& c, const std::string& env, bool as_json, bool watch) {
  const auto client = make_client(c);
  const std::string target = env.empty() ? "/v1/status" : "/v1/environments/" + url_encode(env);
  std::string last;
  for (;;) {
    const auto r = client.request("GET", target);
    if (r.status != 200) throw ApiError{describe_error(r)};
    std::string out;
    if (as_json) {
      out = parse_body(r).dump(2) + "\n";
    } else {
      const RenderOptions opts{use_color(), now()};
      out = env.empty() ? render_status(parse_body(r), opts) : render_environment(parse_body(r), opts);
    }
    if (!watch) {
      std::cout << out;
      return kExitOk;
    }
    if (out != last) {
      if (is_tty(STDOUT_FILENO)) std::cout << "\033[H\033[2J";
      std::cout << out << std::flush;
      last = out;
    }
    // A terminal view for people: refreshing every two seconds is plenty, and the countdowns
    // in the rendering change every second anyway.
    std::this_thread::sleep_for(std::chrono::seconds{2});
  }
}

/// While a pipeline waits in the queue, Ctrl-C or SIGTERM (a cancelled CI job) must give its
/// place back rather than leave it until ticket_ttl. SIGINT, SIGTERM and SIGUSR1 are blocked in
/// every thread while this lives; a watcher thread takes them with sigwait: on SIGINT/SIGTERM it
/// sends DELETE for the current ticket (its own connection, a short deadline) and ends the
/// process with 128+signal; SIGUSR1 (sent by the destructor) only ends the watcher.
class LeaveOnSignal {
 public:
  LeaveOnSignal(const ApiClient& client, std::string env) : client_(client), env_(std::move(env)) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    watcher_ = std::thread([this] { watch(); });
  }
  ~LeaveOnSignal() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    pthread_kill(watcher_.native_handle(), SIGUSR1);
    watcher_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  LeaveOnSignal(const LeaveOnSignal&) = delete;
  LeaveOnSignal& operator=(const LeaveOnSignal&) = delete;

  void set_ticket(std::string ticket) {
    std::lock_guard lock(mu_);
    ticket_ = std::move(ticket);
  }

 private:
  void watch() {
    for (;;) {
      int sig = 0;
      if (sigwait(&set_, &sig) != 0) continue;
      std::unique_lock lock(mu_);
      if (done_) return;
      if (sig == SIGUSR1) continue;
      if (!ticket_.empty()) {
        std::cerr << "\r\033[K" << env_ << ": interrupted; leaving the deploy queue\n";
        try {
          client_.request("DELETE", "/v1/environments/" + url_encode(env_) + "/queue/" + ticket_,
                          {}, std::chrono::seconds{5});
        } catch (const ApiError& e) {
          std::cerr << "could not leave the queue: " << e.message << "\n";
        }
      }
      std::_Exit(128 + sig);
    }
  }

  const ApiClient& client_;
  const std::string env_;
  sigset_t set_{};
  sigset_t old_{};
  std::mutex mu_;
  std::string ticket_;  // guarded by mu_
  bool done_ = false;   // guarded by mu_
  std::thread watcher_;
};

/// A value of the environment, "" when unset.
std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

int cmd_lease_acquire(const Common& c, const std::string& env, const std::string& holder,
                      const std::string& ttl, const AskingRun& run,
                      const std::string& wait_text) {
  if (holder.empty()) throw UsageError{"--holder is required"};
  const auto wait = parse_wait(wait_text, "--wait");
  (void)parse_wait(ttl, "--ttl");
  const auto client = make_client(c);
  json body = {{"holder", holder}, {"ttl", ttl}};
  run.add_to(body);
  const std::string env_path = "/v1/environments/" + url_encode(env);
  auto granted = [](const ApiResponse& r) {
    std::cout << parse_body(r).value("lease_id", std::string()) << "\n";
    return kExitOk;
  };
  if (wait.count() == 0) {  // no waiting: the lease now, or the reasons why not
    const auto r = client.request("POST", env_path + "/lease", body.dump());
    if (r.status == 201) return granted(r);
    if (r.status != 423) throw ApiError{describe_error(r)};
    print_blocked(env, parse_body(r));
    return kExitBlocked;
  }

  // Waiting: a place in the deploy queue, served in order.
  if (const auto sha = env_or_empty("GITHUB_SHA"); !sha.empty()) body["sha"] = sha;
  if (const auto ref = env_or_empty("GITHUB_REF_NAME"); !ref.empty()) body["ref"] = ref;
  const TimePoint deadline = now() + wait;
  LeaveOnSignal leave_on_signal(client, env);
  auto r = client.request("POST", env_path + "/queue", body.dump());
  if (r.status == 201) return granted(r);
  if (r.status != 202) throw ApiError{describe_error(r)};
  json ticket = parse_body(r);
  const std::string id = ticket.value("ticket", std::string());
  if (id.empty()) throw ApiError{"the daemon answered 202 without a ticket"};
  leave_on_signal.set_ticket(id);
  const std::string ticket_path = env_path + "/queue/" + id;
  const bool tty = is_tty(STDERR_FILENO);
  ProgressLine line(env, deadline, tty);
  std::int64_t shown_position = 0;
  for (;;) {
    const auto position = ticket.value("position", std::int64_t{0});
    if (tty) {
      line.update(ticket);
    } else if (position != shown_position) {  // CI logs: one line per new place, no redraws
      std::cerr << env << ": place " << position << " in the deploy queue (ticket " << id << ")\n";
    }
    shown_position = position;
    const auto remaining = std::chrono::ceil<std::chrono::seconds>(deadline - now());
    if (remaining.count() <= 0) {
      line.stop();
      client.request("DELETE", ticket_path, {}, std::chrono::seconds{5});
      std::cerr << env << ": not granted within " << wait_text << " (place " << position
                << "); left the queue\n"
                << render_reasons(ticket, RenderOptions{false, now()});
      return kExitBlocked;
    }
    // The daemon caps the wait below the ticket's ttl, so each answer is also the next poll.
    const auto chunk = std::min(remaining, std::chrono::seconds{30});
    r = client.request("GET", ticket_path + "?wait=" + std::to_string(chunk.count()), {},
                       chunk + std::chrono::seconds{15});
    if (r.status == 201) {
      line.stop();
      return granted(r);
    }
    if (r.status != 202) {
      line.stop();
      std::cerr << env << ": " << describe_error(r) << "\n";
      return r.status == 404 || r.status == 409 ? kExitBlocked : kExitError;
    }
    ticket = parse_body(r);
  }
}

int cmd_simple(const Common& c, const std::string& method, const std::string& target,
               const json& body, unsigned expected, const std::string& done_message) {
  const auto client = make_client(c);
  const auto r = client.request(method, target, body.is_null() ? std::string() : body.dump());
  if (r.status != expected) throw ApiError{describe_error(r)};
  if (!done_message.empty()) std::cout << done_message << "\n";
  return kExitOk;
}

std::string traffic_text(const json& traffic) {
  std::string out;
  for (const auto& t : traffic) {
    if (!out.empty()) out += ", ";
    out += t.value("revision", std::string("?")) + " " + std::to_string(t.value("weight", 0)) + "%";
  }
  return out.empty() ? "(none)" : out;
}

std::string join_names(const json& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n.get<std::string>();
  return out.empty() ? "(none)" : out;
}

/// The plan, one fact per line.
void print_plan(std::ostream& out, const json& plan) {
  out << "  target:     " << plan.value("target", std::string()) << (plan.value("proposed", false) ? " (proposed: the healthy revision with the most traffic)" : "") << "\n";
  if (plan.value("traffic_change", true))
    out << "  traffic:    " << traffic_text(plan["traffic_before"]) << "  ->  " << traffic_text(plan["traffic_after"]) << "\n";
  else
    out << "  traffic:    already " << traffic_text(plan["traffic_after"]) << " (unchanged)\n";
  out << "  deactivate: " << join_names(plan.value("deactivate", json::array())) << "\n";
}

void print_steps(std::ostream& out, const json& report) {
  for (const auto& s : report.value("steps", json::array())) {
    out << "  " << (s.value("ok", false) ? "ok    " : "FAILED") << " " << s.value("action", std::string()) << " "
        << s.value("target", std::string());
    if (s.value("attempts", 1) > 1) out << " (" << s.value("attempts", 1) << " attempts)";
    if (s.contains("error")) out << ": " << s["error"].get<std::string>();
    out << "\n";
  }
  if (report.contains("after")) {
    out << "  now:        traffic " << traffic_text(report["after"]["traffic"]) << "; active "
        << join_names(report["after"]["active_revisions"]) << "\n";
  }
}

/// Dry run (the default) prints the plan; --yes applies it. Exit 0 done or planned, 1 refused,
/// 2 error or (partial) failure.
int cmd_stabilize(const Common& c, const std::string& env, const std::string& revision, bool yes) {
  if (yes && revision.empty())
    throw UsageError{"--yes needs --revision (run without --yes to see the proposed revision)"};
  const auto client = make_client(c);
  json body{{"dry_run", !yes}};
  if (!revision.empty()) body["revision"] = revision;
  // Applying waits for Azure's long-running operation and the deactivations (with retries).
  const auto timeout = yes ? std::chrono::seconds{15 * 60} : std::chrono::seconds{30};
  const auto r = client.request("POST", "/v1/environments/" + url_encode(env) + "/stabilize", body.dump(), timeout);
  if (r.status == 409 || r.status == 502 || r.status == 200) {
    const json report = parse_body(r);
    if (r.status == 409) {
      std::cerr << env << ": stabilize refused: " << describe_error(r) << "\n";
      return kExitBlocked;
    }
    if (!yes) {
      std::cout << env << ": plan (dry run, nothing changed)\n";
      print_plan(std::cout, report["plan"]);
      const std::string target = report["plan"].value("target", std::string());
      std::cout << "apply with: deployguard stabilize --env " << env << " --revision " << target << " --yes\n";
      return kExitOk;
    }
    std::ostream& out = r.status == 200 ? std::cout : std::cerr;
    out << env << ": stabilize " << report.value("outcome", std::string("?")) << "\n";
    if (report.contains("plan")) print_plan(out, report["plan"]);
    print_steps(out, report);
    if (r.status != 200) {
      std::cerr << "deployguard: " << describe_error(r) << "\n";
      return kExitError;
    }
    return kExitOk;
  }
  throw ApiError{describe_error(r)};
}

/// Freezes the environment and cancels its running deploys. Exit 0 when every run was
/// cancelled (or could no longer be), 2 otherwise.
int cmd_stop(const Common& c, const std::string& env, const std::string& reason, const std::string& by) {
  const auto client = make_client(c);
  const json body{{"reason", reason}, {"by", by}};
  const auto r = client.request("POST", "/v1/environments/" + url_encode(env) + "/stop", body.dump(),
                                std::chrono::seconds{5 * 60});
  if (r.status != 200 && r.status != 502) throw ApiError{describe_error(r)};
  const json report = parse_body(r);
  std::ostream& out = r.status == 200 ? std::cout : std::cerr;
  out << env << ": frozen (" << reason << ")\n";
  for (const auto& run : report.value("cancelled", json::array()))
    out << "  cancelled     run " << run.value("id", std::int64_t{0}) << " " << run.value("workflow", std::string())
        << " (" << run.value("status", std::string()) << ")\n";
  for (const auto& run : report.value("not_cancelled", json::array()))
    out << "  not cancelled run " << run.value("id", std::int64_t{0}) << " " << run.value("workflow", std::string())
        << ": " << run.value("error", std::string()) << "\n";
  for (const auto& l : report.value("listing_errors", json::array()))
    out << "  listing " << l.value("target", std::string()) << " runs failed: " << l.value("error", std::string()) << "\n";
  if (report.value("cancelled", json::array()).empty() && report.value("not_cancelled", json::array()).empty())
    out << "  no queued or running deploy to cancel\n";
  if (r.status != 200) {
    std::cerr << "deployguard: " << describe_error(r) << "\n";
    return kExitError;
  }
  return kExitOk;
}

std::string default_user() {
  for (const char* var : {"DEPLOYGUARD_USER", "USER", "LOGNAME"})
    if (const char* v = std::getenv(var); v && *v) return v;
  return "cli";
}

/// Runs a command body, turning every failure into one line on stderr and an exit code.
template <typename F>
void guarded(int& exit_code, F&& body) {
  try {
    exit_code = body();
  } catch (const UsageError& e) {
    std::cerr << "deployguard: " << e.message << "\n";
    exit_code = kExitError;
  } catch (const ApiError& e) {
    std::cerr << "deployguard: " << e.message << "\n";
    exit_code = kExitError;
  } catch (const std::exception& e) {
    std::cerr << "deployguard: " << e.what() << "\n";
    exit_code = kExitError;
  }
}

void add_common(CLI::App* cmd, Common& c) {
  cmd->add_option("--server", c.server, "daemon URL (default $DEPLOYGUARD_URL or http://127.0.0.1:8080)");
  cmd->add_option("--token-file", c.token_file, "file holding the API token (default $DEPLOYGUARD_TOKEN)");
}

template <class Args>
void add_run_options(CLI::App* cmd, Args& a, const std::string& purpose = "") {
  cmd->add_option("--run-id", a.run_id,
                  "GitHub run id of the asking pipeline (default $GITHUB_RUN_ID): its own run does "
                  "not block it" + purpose);
  cmd->add_option("--run-attempt", a.run_attempt,
                  "its attempt (default $GITHUB_RUN_ATTEMPT with $GITHUB_RUN_ID, else the run's "
                  "latest)");
}

int cmd_report_busy(const Common& c, const std::string& env, const json& body) {
  const auto client = make_client(c);
  const auto r = client.request("POST", "/v1/environments/" + url_encode(env) + "/events", body.dump());
  if (r.status != 202) throw ApiError{describe_error(r)};
  const auto j = parse_body(r);
  if (j.value("counted", true)) {
    std::cout << env << ": busy failure recorded\n";
  } else {
    std::cout << env << ": already counted for this run attempt (not counted again)\n";
  }
  return kExitOk;
}

int cmd_windows(const Common& c, const std::string& env, int days, bool as_json) {
  if (days < 1 || days > 366) throw UsageError{"--days: expected 1 to 366"};
  const auto client = make_client(c);
  const auto r = client.request("GET", "/v1/environments/" + url_encode(env) + "/windows?days=" + std::to_string(days), "");
  if (r.status != 200) throw ApiError{describe_error(r)};
  const auto j = parse_body(r);
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  const auto& current = j.value("current", json(nullptr));
  if (current.is_object()) {
    std::string names;
    for (const auto& w : current.value("windows", json::array()))
      names += (names.empty() ? "" : ", ") + w.value("name", std::string("?"));
    std::cout << env << ": in freeze window " << names << " until " << current.value("until", std::string("?")) << "\n";
  } else {
    std::cout << env << ": no freeze window in force\n";
  }
  const auto& windows = j.value("windows", json::array());
  if (windows.empty()) {
    std::cout << "no freeze window in the next " << days << (days == 1 ? " day" : " days") << "\n";
    return kExitOk;
  }
  std::cout << "freeze windows in the next " << days << (days == 1 ? " day" : " days") << " (UTC):\n";
  for (const auto& w : windows)
    std::cout << "  " << w.value("start", std::string("?")) << "  " << w.value("end", std::string("?")) << "  "
              << w.value("name", std::string("?")) << "  (" << w.value("schedule", std::string()) << ")\n";
  return kExitOk;
}

int cmd_override(const Common& c, const std::string& env, const json& body) {
  const auto client = make_client(c);
  const auto r = client.request("POST", "/v1/environments/" + url_encode(env) + "/override", body.dump());
  if (r.status != 201) throw ApiError{describe_error(r)};
  const auto j = parse_body(r);
  std::string skip;
  for (const auto& rule : j.value("skip", json::array())) skip += (skip.empty() ? "" : ", ") + rule.get<std::string>();
  std::cout << env << ": override " << j.value("id", std::string("?")) << " lets the next lease or queue grant before "
            << j.value("expires_at", std::string("?")) << " skip " << skip << "\n";
  return kExitOk;
}

}  // namespace

void add_client_commands(CLI::App& app, int& exit_code) {
  // Options live as long as the app: CLI11 keeps pointers to them.
  auto c = std::make_shared<Common>();
  struct Args {
    std::string env, wait, holder, ttl = "30m", lease_id, reason, by, until, detail, revision;
    std::int64_t run_id = 0, run_attempt = 0;
    bool json = false, watch = false, yes = false;
    int days = 14;
    std::vector<std::string> skip;
  };
  auto a = std::make_shared<Args>();

  auto* status = app.add_subcommand("status", "Show the verdict, reasons, revisions, runs and state of environments");
  add_common(status, *c);
  status->add_option("--env", a->env, "only this environment");
  status->add_flag("--json", a->json, "print the daemon's JSON");
  status->add_flag("--watch", a->watch,
                   "fetch again every 2 s and redraw when the view changed (its countdowns change "
                   "every time); not on a terminal, each new view is appended. Ctrl-C to stop");
  status->callback([&exit_code, c, a] {
    guarded(exit_code, [&] { return cmd_status(*c, a->env, a->json, a->watch); });
  });

  auto* can = app.add_subcommand("can-deploy", "Exit 0 if it is safe to deploy now, 1 if not (reasons on stderr), 2 on error");
  add_common(can, *c);
  can->add_option("--env", a->env, "environment")->required();
  can->add_option("--wait", a->wait, "wait up to this long (e.g. 20m) for it to become safe");
  add_run_options(can, *a);
  can->callback([&exit_code, c, a, can] {
    guarded(exit_code, [&] {
      return cmd_can_deploy(*c, a->env, a->wait, asking_run(can->count("--run-id") > 0, a->run_id,
                                                             can->count("--run-attempt") > 0,
                                                             a->run_attempt));
    });
  });

  auto* lease = app.add_subcommand("lease", "Take or give back the deploy lease of an environment");
  lease->require_subcommand(1);
  auto* acquire = lease->add_subcommand("acquire", "Acquire the lease; prints the lease id (LEASE=$(deployguard lease acquire ...))");
  add_common(acquire, *c);
  acquire->add_option("--env", a->env, "environment")->required();
  acquire->add_option("--holder", a->holder, "who holds it, e.g. github-run-123")->required();
  acquire->add_option("--ttl", a->ttl, "lease lifetime (default 30m)");
  acquire->add_option("--wait", a->wait, "wait up to this long for the environment to become safe");
  add_run_options(acquire, *a, " (the lease ends when that run attempt completes)");
  acquire->callback([&exit_code, c, a, acquire] {
    guarded(exit_code, [&] {
      return cmd_lease_acquire(*c, a->env, a->holder, a->ttl,
                               asking_run(acquire->count("--run-id") > 0, a->run_id,
                                          acquire->count("--run-attempt") > 0, a->run_attempt),
                               a->wait);
    });
  });
  auto* release = lease->add_subcommand("release", "Release a lease");
  add_common(release, *c);
  release->add_option("--env", a->env, "environment")->required();
  release->add_option("--lease", a->lease_id, "lease id printed by acquire")->required();
  release->callback([&exit_code, c, a] {
    guarded(exit_code, [&] {
      return cmd_simple(*c, "DELETE", "/v1/environments/" + url_encode(a->env) + "/lease/" + url_encode(a->lease_id),
                        nullptr, 204, "released lease " + a->lease_id);
    });
  });

  auto* freeze = app.add_subcommand("freeze", "Freeze an environment: no deploys until unfrozen (or --until)");
  add_common(freeze, *c);
  freeze->add_option("--env", a->env, "environment")->required();
  freeze->add_option("--reason", a->reason, "why (shown to everyone who asks)")->required();
  freeze->add_option("--by", a->by, "who (default $USER)");
  freeze->add_option("--until", a->until, "RFC 3339 time when the freeze lapses by itself");
  freeze->callback([&exit_code, c, a] {
    guarded(exit_code, [&] {
      json body = {{"reason", a->reason}, {"by", a->by.empty() ? default_user() : a->by}};
      if (!a->until.empty()) {
        if (!parse_timestamp(a->until)) throw UsageError{"--until: expected an RFC 3339 time like 2025-12-31T19:00:00Z"};
        body["until"] = a->until;
      }
      return cmd_simple(*c, "POST", "/v1/environments/" + url_encode(a->env) + "/freeze", body, 200,
                        a->env + ": frozen");
    });
  });

  auto* unfreeze = app.add_subcommand("unfreeze", "Lift the freeze of an environment");
  add_common(unfreeze, *c);
  unfreeze->add_option("--env", a->env, "environment")->required();
  unfreeze->callback([&exit_code, c, a] {
    guarded(exit_code, [&] {
      return cmd_simple(*c, "DELETE", "/v1/environments/" + url_encode(a->env) + "/freeze", nullptr, 204,
                        a->env + ": unfrozen");
    });
  });

  auto* windows = app.add_subcommand("windows", "List the freeze windows in force and coming up");
  add_common(windows, *c);
  windows->add_option("--env", a->env, "environment")->required();
  windows->add_option("--days", a->days, "how far ahead (default 14, at most 366)");
  windows->add_flag("--json", a->json, "print the daemon's JSON");
  windows->callback([&exit_code, c, a] {
    guarded(exit_code, [&] { return cmd_windows(*c, a->env, a->days, a->json); });
  });

  auto* override_cmd = app.add_subcommand(
      "override", "Break-glass: let the next lease or queue grant skip some rules (audited)");
  add_common(override_cmd, *c);
  override_cmd->add_option("--env", a->env, "environment")->required();
  override_cmd->add_option("--reason", a->reason, "why (in the audit log and status)")->required();
  override_cmd->add_option("--skip", a->skip,
                           "a rule to skip: cooldown, min_interval, freeze_window or frozen (repeat for more)")
      ->required();
  override_cmd->add_option("--by", a->by, "who (default $USER)");
  override_cmd->add_option("--ttl", a->ttl, "how long it waits to be used (default 30m, at most 24h)");
  override_cmd->callback([&exit_code, c, a] {
    guarded(exit_code, [&] {
      (void)parse_wait(a->ttl, "--ttl");
      json body = {{"reason", a->reason}, {"by", a->by.empty() ? default_user() : a->by},
                   {"ttl", a->ttl}, {"skip", a->skip}};
      return cmd_override(*c, a->env, body);
    });
  });

  auto* report = app.add_subcommand("report", "Report what a pipeline saw");
  report->require_subcommand(1);
  auto* busy = report->add_subcommand("busy", "Report a ServerIsBusy failure (counts for the busy backoff)");
  add_common(busy, *c);
  busy->add_option("--env", a->env, "environment")->required();
  busy->add_option("--detail", a->detail, "what failed")->required();
  add_run_options(busy, *a, " (the same failure found in that attempt's logs is not counted twice)");
  busy->callback([&exit_code, c, a, busy] {
    guarded(exit_code, [&] {
      json body{{"type", "server_busy"}, {"detail", a->detail}};
      asking_run(busy->count("--run-id") > 0, a->run_id, busy->count("--run-attempt") > 0,
                 a->run_attempt)
          .add_to(body);
      return cmd_report_busy(*c, a->env, body);
    });
  });

  auto* stabilize = app.add_subcommand(
      "stabilize", "Put all traffic on one healthy revision and deactivate the others (dry run unless --yes)");
  add_common(stabilize, *c);
  stabilize->add_option("--env", a->env, "environment")->required();
  stabilize->add_option("--revision", a->revision,
                        "revision to keep (default: propose the healthy revision with the most traffic)");
  stabilize->add_flag("--yes", a->yes, "apply the plan (needs --revision); without it only the plan is printed");
  stabilize->callback([&exit_code, c, a] {
    guarded(exit_code, [&] { return cmd_stabilize(*c, a->env, a->revision, a->yes); });
  });

  auto* stop = app.add_subcommand("stop", "Emergency stop: freeze the environment and cancel its queued and running deploys");
  add_common(stop, *c);
  stop->add_option("--env", a->env, "environment")->required();
  stop->add_option("--reason", a->reason, "why (becomes the freeze reason)")->required();
  stop->add_option("--by", a->by, "who (default $USER)");
  stop->callback([&exit_code, c, a] {
    guarded(exit_code, [&] { return cmd_stop(*c, a->env, a->reason, a->by.empty() ? default_user() : a->by); });
  });
}

std::string one_line_usage_error(const CLI::App* app, const CLI::Error& error) {
  std::string command = "deployguard";  // not app->get_name(): parse() sets that to argv[0]
  for (const CLI::App* sub = app;;) {
    const auto parsed = sub->get_subcommands();
    if (parsed.empty()) break;
    sub = parsed.back();
    command += " " + sub->get_name();
  }
  std::string message = error.what();
  for (char& ch : message)
    if (ch == '\n' || ch == '\r') ch = ' ';
  while (!message.empty() && message.back() == ' ') message.pop_back();
  return "deployguard: " + message + " (see " + command + " --help)\n";
}

}  // namespace deployguard::cli
