// Leases, freezes, busy reports, long-poll, auth and durable state through the real binary.
// Tests that need a *safe* environment start the fake upstream (tests/fake_upstream) as a second
// process and point the daemon's GitHub poller at it; the others use an unreachable upstream.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <functional>
#include <future>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/daemon_config.hpp"
#include "common/daemon_process.hpp"
#include "common/test_http_client.hpp"

extern char** environ;

namespace deployguard::testing {
namespace {

const std::string kBinary = DEPLOYGUARD_BINARY;
const std::string kFakeUpstream = FAKE_UPSTREAM_BINARY;
using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

/// One old successful deploy: nothing blocks once GitHub was polled.
Json quiet_github() {
  return Json::parse(R"({"github": {"repos": {"acme/shop": {
      "workflows": [{"id": 4242, "name": "Deploy", "path": ".github/workflows/deploy.yml", "state": "active"}],
      "runs": [{"id": 9000000001, "workflow_id": 4242, "status": "completed", "conclusion": "success",
                "head_branch": "main", "created_at": "now-2h", "run_started_at": "now-2h",
                "updated_at": "now-119m"}]}}}})");
}

std::string env_yaml(const std::string& name) {
  return "  " + name +
         ":\n"
         "    github: { repo: acme/shop, workflows: [deploy.yml], branch: main }\n"
         "    min_interval: 14m\n    cooldown: 2m\n    stale_after: 2h\n";
}

class LeaseTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && daemon_) ADD_FAILURE() << "daemon stderr:\n" << daemon_->stderr_text();
    if (HasFailure() && fake_) ADD_FAILURE() << "fake stderr:\n" << fake_->stderr_text();
  }

  void start_fake() {
    fake_ = DaemonProcess::spawn_ready(kFakeUpstream, dir_, {"--listen", "127.0.0.1:0"}, "fake");
    TestHttpClient fake(fake_->host(), fake_->port());
    const auto res = fake.request("PUT", "/_fake/state", "Content-Type: application/json\r\n",
                                  quiet_github().dump());
    ASSERT_TRUE(res && res->result_int() == 200) << (res ? res->body() : fake.last_error());
  }

  /// `server_extra`: more YAML lines under server: (indented by 2). `environments_yaml`, when
  /// set, replaces the environments built from `envs` with env_yaml().
  std::string config(const std::vector<std::string>& envs, const std::string& server_extra = "",
                     const std::string& environments_yaml = "") {
    const std::string api_url =
        fake_ ? "http://127.0.0.1:" + std::to_string(fake_->port()) : "http://127.0.0.1:9";
    std::string environments = environments_yaml;
    if (environments.empty())
      for (const auto& env : envs) environments += env_yaml(env);
    return daemon_config(dir_, {.server_extra = server_extra,
                                .github_api_url = api_url,
                                .github_token = "gh-test-token",
                                .github_extra = "  poll_interval: 1h\n",
                                .environments = environments});
  }
  std::filesystem::path state_path() const { return dir_.path() / "state.json"; }

  void start(const std::vector<std::string>& envs, const std::string& server_extra = "",
             const std::vector<std::string>& args = {}) {
    daemon_ = DaemonProcess::start(kBinary, dir_, config(envs, server_extra), args);
  }

  TestHttpClient client() { return TestHttpClient{daemon_->host(), daemon_->port()}; }

  /// Long-polls until the environment is safe (the first GitHub poll makes it so).
  void wait_safe(const std::string& env) {
    auto c = client();
    auto res = c.request("GET", "/can-deploy?env=" + env + "&wait=20");
    ASSERT_TRUE(res) << c.last_error();
    ASSERT_EQ(res->result_int(), 200) << res->body();
  }

  std::optional<HttpResponse> call(const std::string& method, const std::string& target,
                                   const std::string& body = "", const std::string& headers = "") {
    auto c = client();
    return c.request(method, target,
                     headers + (body.empty() ? "" : "Content-Type: application/json\r\n"), body);
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> fake_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(LeaseTest, FiftySimultaneousLeaseRequestsGrantExactlyOne) {
  start_fake();
  start({"staging"});
  wait_safe("staging");

  constexpr int kClients = 50;
  std::vector<TestHttpClient> clients;
  clients.reserve(kClients);
  for (int i = 0; i < kClients; ++i) clients.push_back(client());  // all connected first
  for (int i = 0; i < kClients; ++i) {
    const std::string body =
        R"({"holder":"run-)" + std::to_string(i) + R"(","ttl":"10m","run_id":)" +
        std::to_string(1000 + i) + "}";
    ASSERT_TRUE(clients[static_cast<std::size_t>(i)].send_request(
        "POST", "/v1/environments/staging/lease", "Content-Type: application/json\r\n", body));
  }
  int granted = 0;
  int locked = 0;
  std::string holder;
  for (auto& c : clients) {
    auto res = c.read_response(10s);
    ASSERT_TRUE(res) << c.last_error();
    if (res->result_int() == 201) {
      ++granted;
      holder = Json::parse(res->body())["holder"];
    } else {
      EXPECT_EQ(res->result_int(), 423) << res->body();
      EXPECT_EQ(Json::parse(res->body())["reasons"][0]["code"], "leased");
      ++locked;
    }
  }
  EXPECT_EQ(granted, 1);
  EXPECT_EQ(locked, kClients - 1);
  auto status = call("GET", "/v1/environments/staging");
  ASSERT_TRUE(status);
  EXPECT_EQ(Json::parse(status->body())["lease"]["holder"], holder);
}

TEST_F(LeaseTest, FreezeLeaseAndCooldownSurviveKill9) {
  start_fake();
  start({"production", "staging"});
  wait_safe("staging");
  wait_safe("production");

  // staging: a held lease, then a freeze on top.
  auto lease = call("POST", "/v1/environments/staging/lease", R"({"holder":"ci","ttl":"1h"})");
  ASSERT_TRUE(lease);
  ASSERT_EQ(lease->result_int(), 201) << lease->body();
  const auto lease_id = Json::parse(lease->body())["lease_id"].get<std::string>();
  auto freeze = call("POST", "/v1/environments/staging/freeze",
                     R"({"reason":"incident 42","by":"alice"})");
  ASSERT_TRUE(freeze);
  ASSERT_EQ(freeze->result_int(), 200) << freeze->body();
  // production: a leased deploy that ended now, so min_interval/cooldown block it.
  auto p_lease = call("POST", "/v1/environments/production/lease", R"({"holder":"ci","ttl":"1h"})");
  ASSERT_TRUE(p_lease);
  ASSERT_EQ(p_lease->result_int(), 201);
  const auto p_id = Json::parse(p_lease->body())["lease_id"].get<std::string>();
  ASSERT_EQ(call("DELETE", "/v1/environments/production/lease/" + p_id)->result_int(), 204);
  auto before = call("GET", "/can-deploy?env=production");
  ASSERT_TRUE(before);
  ASSERT_EQ(before->result_int(), 423);
  const auto before_body = Json::parse(before->body());

  ASSERT_EQ(daemon_->stop(SIGKILL), 128 + SIGKILL);
  daemon_.reset();
  start({"production", "staging"});

  auto staging = Json::parse(call("GET", "/v1/environments/staging")->body());
  EXPECT_EQ(staging["lease"]["id"], lease_id);
  EXPECT_EQ(staging["lease"]["holder"], "ci");
  EXPECT_EQ(staging["freeze"]["reason"], "incident 42");
  EXPECT_EQ(staging["freeze"]["by"], "alice");
  std::vector<std::string> codes;
  for (const auto& r : staging["reasons"]) codes.push_back(r["code"]);
  EXPECT_NE(std::find(codes.begin(), codes.end(), "frozen"), codes.end());
  EXPECT_NE(std::find(codes.begin(), codes.end(), "leased"), codes.end());

  auto production = Json::parse(call("GET", "/v1/environments/production")->body());
  ASSERT_FALSE(production["deploys"].empty());
  EXPECT_EQ(production["deploys"][0]["key"], "lease:" + p_id);
  // The same cooldown reasons, with the same `until`, as before the kill.
  std::map<std::string, Json> until_before;
  for (const auto& r : before_body["reasons"]) until_before[r["code"]] = r.value("until", Json());
  for (const auto& code : {"cooldown"}) {
    ASSERT_TRUE(until_before.count(code)) << before_body.dump();
    bool found = false;
    for (const auto& r : production["reasons"]) {
      if (r["code"] == code) {
        found = true;
        EXPECT_EQ(r.value("until", Json()), until_before[code]);
      }
    }
    EXPECT_TRUE(found) << production["reasons"].dump();
  }
  // The lease from before the restart can still be released.
  EXPECT_EQ(call("DELETE", "/v1/environments/staging/lease/" + lease_id)->result_int(), 204);
}

TEST_F(LeaseTest, CorruptStateFileStopsStartupUnlessMovedAside) {
  for (const std::string& content : {std::string("{\n  \"version\": 1,\n  \"environm"),
                                    std::string("\x01\x02 garbage \xff not json")}) {
    std::filesystem::remove_all(state_path());
    dir_.write("state.json", content);
    const auto config_path = dir_.write("config.yaml", config({"staging"}));
    auto result = run_command(kBinary, {"serve", "--config", config_path.string()}, 10s);
    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_NE(result.err.find(state_path().string()), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("corrupt"), std::string::npos) << result.err;
    EXPECT_EQ(read_file(state_path()), content) << "the file is left alone";

    start({"staging"}, "", {"--move-corrupt-state"});
    auto res = call("GET", "/v1/environments/staging");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
    EXPECT_TRUE(Json::parse(res->body())["freeze"].is_null());
    std::string moved;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path()))
      if (entry.path().filename().string().starts_with("state.json.corrupt-"))
        moved = entry.path().string();
    ASSERT_FALSE(moved.empty());
    EXPECT_EQ(read_file(moved), content);
    EXPECT_NE(daemon_->stderr_text().find(moved), std::string::npos) << "the new name is logged";
    ASSERT_EQ(daemon_->stop(SIGTERM), 0);
    daemon_.reset();
    std::filesystem::remove(moved);
  }
}

TEST_F(LeaseTest, MutatingRoutesRequireAConfiguredBearerToken) {
  const auto tokens = dir_.write("api-tokens", "old-token\n\nnew-token\n");
  start({"staging"}, "  api_token_file: " + tokens.string() + "\n");
  struct Route {
    std::string method, target, body;
    int ok_status;
  };
  const Route routes[] = {
      {"POST", "/v1/environments/staging/freeze", R"({"reason":"r","by":"b"})", 200},
      {"DELETE", "/v1/environments/staging/freeze", "", 204},
      {"POST", "/v1/environments/staging/events", R"({"type":"server_busy"})", 202},
      {"POST", "/v1/environments/staging/lease", R"({"holder":"h","ttl":"1m"})", 423},  // starting
      {"DELETE", "/v1/environments/staging/lease/0123", "", 404},
  };
  for (const auto& r : routes) {
    for (const std::string auth : {"", "Authorization: Bearer wrong\r\n",
                                   "Authorization: Basic b2xkLXRva2Vu\r\n"}) {
      auto res = call(r.method, r.target, r.body, auth);
      ASSERT_TRUE(res);
      EXPECT_EQ(res->result_int(), 401) << r.method << " " << r.target << " " << auth;
      EXPECT_EQ((*res)[boost::beast::http::field::www_authenticate], "Bearer realm=\"deployguard\"");
    }
    for (const std::string token : {"old-token", "new-token"}) {
      auto res = call(r.method, r.target, r.body, "Authorization: Bearer " + token + "\r\n");
      ASSERT_TRUE(res);
      // DELETE freeze after a freeze set with the other token: alternate freeze before it.
      if (r.target.ends_with("/freeze") && r.method == "DELETE" && token == "new-token") {
        EXPECT_EQ(res->result_int(), 404);  // already lifted with old-token
        continue;
      }
      if (r.target.ends_with("/freeze") && r.method == "POST") {
        EXPECT_EQ(res->result_int(), r.ok_status) << res->body();
        continue;
      }
      EXPECT_EQ(res->result_int(), r.ok_status) << r.method << " " << r.target << res->body();
    }
  }
  // Reads stay open; tokens never reach the log.
  EXPECT_EQ(call("GET", "/v1/status")->result_int(), 200);
  EXPECT_EQ(daemon_->stderr_text().find("old-token"), std::string::npos);
  EXPECT_EQ(daemon_->stderr_text().find("new-token"), std::string::npos);
  const auto audit = read_file(dir_.path() / "audit.jsonl");
  EXPECT_NE(audit.find("\"actor\":\"token#1\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"actor\":\"token#2\""), std::string::npos) << audit;
  EXPECT_EQ(audit.find("old-token"), std::string::npos);
}

TEST_F(LeaseTest, MissingTokenFileIsAStartupError) {
  const auto config_path = dir_.write(
      "config.yaml",
      config({"staging"}, "  api_token_file: " + (dir_.path() / "nope").string() + "\n"));
  auto result = run_command(kBinary, {"serve", "--config", config_path.string()}, 10s);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("api_token_file"), std::string::npos) << result.err;
}

TEST_F(LeaseTest, LongPollWakesOnUnfreezeAndTimesOutWith423) {
  start_fake();
  start({"staging"}, "  max_waiters: 1\n");
  wait_safe("staging");
  ASSERT_EQ(call("POST", "/v1/environments/staging/freeze", R"({"reason":"r","by":"b"})")
                ->result_int(),
            200);

  // A waiter with a 1 s wait gets 423 at its deadline.
  auto short_waiter = client();
  auto sent = SteadyClock::now();
  auto res = short_waiter.request("GET", "/can-deploy?env=staging&wait=1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 423);
  EXPECT_GE(SteadyClock::now() - sent, 950ms);
  EXPECT_LT(SteadyClock::now() - sent, 5s);

  // A waiter with a long wait is answered 200 right after the freeze is lifted. With
  // max_waiters 1, a second long-poll answered 503 proves the first one holds the slot, i.e. it
  // is registered before the freeze is lifted (no sleeping). The waiter's request is written
  // before the probe even connects, so the daemon reads it first.
  auto waiter = client();
  ASSERT_TRUE(waiter.send_request("GET", "/can-deploy?env=staging&wait=600"));
  auto probe = client();
  auto refused = probe.request("GET", "/can-deploy?env=staging&wait=600");
  ASSERT_TRUE(refused) << "the probe became the waiter: " << probe.last_error();
  ASSERT_EQ(refused->result_int(), 503) << refused->body();
  const auto lifted = SteadyClock::now();
  ASSERT_EQ(call("DELETE", "/v1/environments/staging/freeze")->result_int(), 204);
  res = waiter.read_response(10s);
  ASSERT_TRUE(res) << waiter.last_error();
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_LT(SteadyClock::now() - lifted, 2s) << "woken by the change, not by its 600 s deadline";
}

TEST_F(LeaseTest, WaitersBeyondMaxWaitersGet503AndDisconnectedOnesFreeTheirSlot) {
  start({"staging"}, "  max_waiters: 2\n");
  auto w1 = client();
  auto w2 = client();
  ASSERT_TRUE(w1.send_request("GET", "/can-deploy?env=staging&wait=600"));
  ASSERT_TRUE(w2.send_request("GET", "/can-deploy?env=staging&wait=600"));
  // Each waiter's registration is confirmed by the daemon not answering it; the third is
  // refused only once both hold their slot, so retry the probe until the refusal (each try is
  // an immediate round trip, bounded).
  auto probe = client();
  std::optional<HttpResponse> refused;
  for (int i = 0; i < 100 && !(refused && refused->result_int() == 503); ++i) {
    refused = probe.request("GET", "/can-deploy?env=staging&wait=600");
    if (refused && refused->result_int() != 503) break;  // it became a waiter: test fails below
  }
  ASSERT_TRUE(refused);
  ASSERT_EQ(refused->result_int(), 503) << refused->body();
  EXPECT_EQ(Json::parse(refused->body())["error"]["code"], "too_many_waiters");

  // A waiter that disconnects frees its slot: a new waiter is accepted (not 503).
  w1.close();
  std::optional<HttpResponse> accepted;
  auto next = client();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(next.send_request("GET", "/can-deploy?env=staging&wait=1"));
    accepted = next.read_response(5s);
    ASSERT_TRUE(accepted);
    if (accepted->result_int() != 503) break;
  }
  EXPECT_EQ(accepted->result_int(), 423) << "held for its 1 s wait, then answered";
  EXPECT_FALSE(w2.readable_within(0ms));
}


// ---- the command-line client (same binary) against the running daemon -------------------------

/// The CLI under a pseudo-terminal (as a person at a terminal runs it): stdout and stderr are the
/// terminal. Output is read as it comes, so a test can wait for a redraw (event-driven, with an
/// overall timeout) instead of sleeping. The destructor kills and reaps a child still running.
class PtySession {
 public:
  explicit PtySession(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kBinary.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    winsize size{};
    size.ws_row = 40;
    size.ws_col = 160;
    pid_ = ::forkpty(&master_, nullptr, nullptr, &size);
    if (pid_ == 0) {
      ::execv(kBinary.c_str(), argv.data());
      ::_exit(127);
    }
    if (pid_ < 0) throw std::runtime_error("forkpty failed");
  }
  ~PtySession() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      wait_for_exit(pid_, 5s);
    }
    if (master_ >= 0) ::close(master_);
  }
  PtySession(const PtySession&) = delete;
  PtySession& operator=(const PtySession&) = delete;

  /// Reads until `done(output())` holds (true), or EOF / `timeout` (false).
  bool read_until(const std::function<bool(const std::string&)>& done, std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (!done(out_)) {
      if (eof_) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      if (left <= 0ms) return false;
      pollfd p{master_, POLLIN, 0};
      const int rc = ::poll(&p, 1, static_cast<int>(left.count()));
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) return false;
      char buf[4096];
      const auto n = ::read(master_, buf, sizeof buf);
      if (n <= 0) {
        eof_ = true;  // EIO once the child closed the terminal
        continue;
      }
      out_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  bool read_until_contains(const std::string& text, std::chrono::milliseconds timeout = 20s) {
    return read_until([&](const std::string& out) { return out.find(text) != std::string::npos; }, timeout);
  }
  /// Reads to EOF and returns the exit code (-1: still running after `timeout`, then killed).
  int finish(std::chrono::milliseconds timeout = 20s) {
    read_until([](const std::string&) { return false; }, timeout);
    reaped_ = true;
    return wait_for_exit(pid_, eof_ ? 5s : 0ms).value_or(-1);
  }
  void signal(int sig) const { ::kill(pid_, sig); }
  const std::string& output() const { return out_; }

 private:
  pid_t pid_ = -1;
  int master_ = -1;
  bool eof_ = false;
  bool reaped_ = false;
  std::string out_;
};

/// Runs the CLI to completion with the given DEPLOYGUARD_* variables (every other DEPLOYGUARD_*
/// variable of this process removed), stdin from /dev/null, stdout/stderr captured.
CommandResult run_with_env(const std::vector<std::string>& args,
                           const std::vector<std::string>& deployguard_vars) {
  TempDir dir;
  std::vector<std::string> vars;
  for (char** e = environ; *e; ++e)
    if (!std::string_view(*e).starts_with("DEPLOYGUARD_")) vars.emplace_back(*e);
  vars.insert(vars.end(), deployguard_vars.begin(), deployguard_vars.end());
  std::vector<char*> envp;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  std::vector<char*> argv{const_cast<char*>(kBinary.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const auto out_path = dir.path() / "stdout";
  const auto err_path = dir.path() / "stderr";
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, kBinary.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn failed");
  CommandResult result;
  result.exit_code = wait_for_exit(pid, 30s).value_or(-1);
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  return result;
}

/// RFC 3339 UTC, second precision, `from_now` from now.
std::string timestamp_in(std::chrono::seconds from_now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + from_now);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// The distinct "[Ns left]" values of the progress lines "waiting for ENV [Ns left]..." in `out`.
std::set<std::string> countdowns(const std::string& out, const std::string& env) {
  std::set<std::string> seen;
  const std::regex line("waiting for " + env + R"( \[(\d+)s left\])");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), line); it != std::sregex_iterator(); ++it)
    seen.insert((*it)[1].str());
  return seen;
}

/// Number of lines in `text`.
long lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

class CliTest : public LeaseTest {
 protected:
  /// Requests the daemon has answered on /can-deploy so far (its /metrics), any status.
  long can_deploy_requests() {
    auto res = call("GET", "/metrics");
    if (!res || res->result_int() != 200) return -1;
    long total = 0;
    const std::regex counter(R"(deployguard_http_requests_total\{route="/can-deploy",status="\d+"\} (\d+))");
    const std::string body = res->body();
    for (auto it = std::sregex_iterator(body.begin(), body.end(), counter); it != std::sregex_iterator(); ++it)
      total += std::stol((*it)[1].str());
    return total;
  }
  void SetUp() override {
    // The CLI asks for $GITHUB_RUN_ID's run by default: a test run inside GitHub Actions must not
    // send the runner's own run (every child inherits this process's environment).
    ::unsetenv("GITHUB_RUN_ID");
    ::unsetenv("GITHUB_RUN_ATTEMPT");
    start_fake();
    start({"staging"});
    wait_safe("staging");
    server_ = "http://127.0.0.1:" + std::to_string(daemon_->port());
  }
  CommandResult cli(std::vector<std::string> args) {
    args.insert(args.end(), {"--server", server_});
    return run_command(kBinary, args, 30s);
  }
  std::string server_;
};

TEST_F(CliTest, CanDeployLeaseFreezeAndReportWithExitCodes) {
  auto r = cli({"can-deploy", "--env", "staging"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "staging: safe to deploy\n");

  r = cli({"lease", "acquire", "--env", "staging", "--holder", "cli-test", "--ttl", "10m"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string lease = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(lease.size(), 32u) << "stdout is only the lease id: " << r.out;

  r = cli({"can-deploy", "--env", "staging"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("leased"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());

  r = cli({"lease", "release", "--env", "staging", "--lease", lease});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = cli({"lease", "release", "--env", "staging", "--lease", lease});
  EXPECT_EQ(r.exit_code, 2) << "already released";
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;

  // The released lease counts as a deploy: cooldown now.
  r = cli({"can-deploy", "--env", "staging"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cooldown"), std::string::npos) << r.err;

  r = cli({"freeze", "--env", "staging", "--reason", "incident 42", "--by", "alice"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = cli({"status", "--env", "staging"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("staging: BLOCKED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("incident 42"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\033["), std::string::npos) << "no colors when not on a terminal";
  r = cli({"status", "--json"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(Json::parse(r.out)["environments"]["staging"]["freeze"]["by"], "alice");

  r = cli({"unfreeze", "--env", "staging"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = cli({"report", "busy", "--env", "staging", "--detail", "ServerIsBusy", "--run-id", "77"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto status = Json::parse(call("GET", "/v1/environments/staging")->body());
  EXPECT_EQ(status["busy_backoff"]["consecutive_failures"], 1);
}

TEST_F(CliTest, ErrorsAreOneLineWithExitCode2) {
  auto r = cli({"can-deploy", "--env", "nope"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;

  r = run_command(kBinary, {"can-deploy", "--env", "staging", "--server", "http://127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << r.err;

  // Usage errors (CLI11): one line naming the subcommand's --help, exit 2.
  r = run_command(kBinary, {"can-deploy", "--server", server_});  // --env missing
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "deployguard: --env is required (see deployguard can-deploy --help)\n");
  EXPECT_TRUE(r.out.empty()) << r.out;
  r = cli({"lease", "acquire", "--env", "staging", "--holder", "h", "--run-id", "abc"});  // bad value
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("--run-id"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(see deployguard lease acquire --help)"), std::string::npos) << r.err;
  r = run_command(kBinary, {"serve", "--config", "/dev/null", "--log-level", "loud"});  // bad value
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("loud"), std::string::npos) << r.err;
  r = cli({"can-deploy", "--env", "staging", "--wait", "soon"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--wait"), std::string::npos) << r.err;
}

TEST_F(CliTest, WaitReturnsOnceTheFreezeIsLifted) {
  ASSERT_EQ(cli({"freeze", "--env", "staging", "--reason", "r", "--by", "b"}).exit_code, 0);
  auto waiting = std::async(std::launch::async, [this] {
    return cli({"can-deploy", "--env", "staging", "--wait", "25s"});
  });
  // The CLI blocks in the daemon's long-poll; lift the freeze.
  ASSERT_EQ(waiting.wait_for(0s), std::future_status::timeout);
  ASSERT_EQ(call("DELETE", "/v1/environments/staging/freeze")->result_int(), 204);
  ASSERT_EQ(waiting.wait_for(20s), std::future_status::ready) << "woken by the change";
  const auto r = waiting.get();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "staging: safe to deploy\n");
  EXPECT_EQ(r.err, "") << "no progress line when stderr is not a terminal";
}

TEST_F(CliTest, WaitOnATerminalCountsDownEverySecondWithTheReasons) {
  ASSERT_EQ(cli({"freeze", "--env", "staging", "--reason", "r", "--by", "b", "--until",
                 timestamp_in(std::chrono::hours{2})})
                .exit_code,
            0);
  const long requests_before = can_deploy_requests();
  PtySession waiting({"can-deploy", "--env", "staging", "--wait", "40s", "--server", server_});
  // Redraws with three different seconds left, while the CLI sits in one long-poll (chunks are
  // 30 s): the redraws cost no requests, only the first check and the long-poll.
  ASSERT_TRUE(waiting.read_until([](const std::string& out) { return countdowns(out, "staging").size() >= 3; },
                                 10s))
      << waiting.output();
  EXPECT_LE(can_deploy_requests() - requests_before, 2);
  // The wait left, then the reason with its own time left (the freeze lapses in ~2h).
  EXPECT_TRUE(std::regex_search(waiting.output(), std::regex(R"(waiting for staging \[\d+s left\]: frozen (1h59m|2h))")))
      << waiting.output();
  ASSERT_EQ(call("DELETE", "/v1/environments/staging/freeze")->result_int(), 204);
  EXPECT_EQ(waiting.finish(), 0) << waiting.output();
  // The progress line is cleared before the result (the terminal turns \n into \r\n).
  const std::string clear_then_result = "\r\033[Kstaging: safe to deploy\r\n";
  ASSERT_GE(waiting.output().size(), clear_then_result.size());
  EXPECT_TRUE(waiting.output().ends_with(clear_then_result)) << waiting.output();
}

TEST_F(CliTest, WaitWhenStderrIsNotATerminalPrintsOnlyTheResult) {
  ASSERT_EQ(cli({"freeze", "--env", "staging", "--reason", "quiet please", "--by", "b"}).exit_code, 0);
  const long requests_before = can_deploy_requests();
  const auto r = cli({"can-deploy", "--env", "staging", "--wait", "2s"});  // times out blocked
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(can_deploy_requests() - requests_before, 1) << "one long-poll, no other request";
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(r.err.rfind("staging: not safe to deploy\n  frozen", 0), 0u) << r.err;
  EXPECT_EQ(lines(r.err), 2) << "the verdict and the one reason: " << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("waiting"), std::string::npos) << r.err;
}

// Conflict highlighting (revisions splitting traffic, a running deploy, a database not Ready)
// needs Azure state; it is covered on the daemon's JSON shape in tests/unit/cli (cli_tests).
TEST_F(CliTest, StatusOnATerminalIsColored) {
  ASSERT_EQ(cli({"freeze", "--env", "staging", "--reason", "release freeze", "--by", "b"}).exit_code, 0);
  PtySession status({"status", "--server", server_});
  EXPECT_EQ(status.finish(), 0) << status.output();
  const std::string& out = status.output();
  EXPECT_NE(out.find("\033[31m"), std::string::npos) << "red for blocked/reasons: " << out;
  EXPECT_NE(out.find("BLOCKED"), std::string::npos) << out;
  EXPECT_NE(out.find("release freeze"), std::string::npos) << out;
}

TEST_F(CliTest, StatusWatchRedrawsWhenTheStateChanges) {
  PtySession watch({"status", "--env", "staging", "--watch", "--server", server_});
  ASSERT_TRUE(watch.read_until_contains("SAFE to deploy")) << watch.output();
  const auto first_view_end = watch.output().size();
  ASSERT_EQ(call("POST", "/v1/environments/staging/freeze", R"({"reason":"watch-freeze-marker","by":"b"})")
                ->result_int(),
            200);
  // Redrawn (screen cleared, then the new view) within a few of its 2 s refreshes.
  ASSERT_TRUE(watch.read_until_contains("watch-freeze-marker", 30s)) << watch.output();
  const std::string after = watch.output().substr(first_view_end);
  const auto marker = after.find("watch-freeze-marker");
  const auto clear = after.rfind("\033[H\033[2J", marker);
  ASSERT_NE(clear, std::string::npos) << after;
  EXPECT_NE(after.substr(clear, marker - clear).find("BLOCKED"), std::string::npos) << after;
  watch.signal(SIGINT);
  EXPECT_EQ(watch.finish(), 128 + SIGINT) << "runs until interrupted";
}

TEST_F(CliTest, ServerAndTokenComeFromTheEnvironment) {
  // Restart the daemon with API tokens so the token matters.
  const auto tokens = dir_.write("api-tokens", "right-token\n");
  const auto wrong_file = dir_.write("wrong-token", "wrong-token\n");
  const auto right_file = dir_.write("right-token", "right-token\n");
  ASSERT_EQ(daemon_->stop(SIGTERM), 0);
  daemon_.reset();
  start({"staging"}, "  api_token_file: " + tokens.string() + "\n");
  wait_safe("staging");
  server_ = "http://127.0.0.1:" + std::to_string(daemon_->port());
  const std::vector<std::string> freeze{"freeze", "--env", "staging", "--reason", "env vars", "--by", "b"};

  // DEPLOYGUARD_URL instead of --server; reads need no token.
  auto r = run_with_env({"can-deploy", "--env", "staging"}, {"DEPLOYGUARD_URL=" + server_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "staging: safe to deploy\n");
  // --server wins over DEPLOYGUARD_URL.
  r = run_with_env({"can-deploy", "--env", "staging", "--server", server_}, {"DEPLOYGUARD_URL=http://127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_with_env({"can-deploy", "--env", "staging"}, {"DEPLOYGUARD_URL=http://127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << r.err;

  // Mutations: no token -> 401 as one line; DEPLOYGUARD_TOKEN; --token-file wins over it.
  r = run_with_env(freeze, {"DEPLOYGUARD_URL=" + server_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("401"), std::string::npos) << r.err;
  r = run_with_env(freeze, {"DEPLOYGUARD_URL=" + server_, "DEPLOYGUARD_TOKEN=wrong-token"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  r = run_with_env(freeze, {"DEPLOYGUARD_URL=" + server_, "DEPLOYGUARD_TOKEN=right-token"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "staging: frozen\n");
  auto unfreeze = std::vector<std::string>{"unfreeze", "--env", "staging", "--token-file", wrong_file.string()};
  r = run_with_env(unfreeze, {"DEPLOYGUARD_URL=" + server_, "DEPLOYGUARD_TOKEN=right-token"});
  EXPECT_EQ(r.exit_code, 2) << "the --token-file is used, not the variable";
  unfreeze.back() = right_file.string();
  r = run_with_env(unfreeze, {"DEPLOYGUARD_URL=" + server_, "DEPLOYGUARD_TOKEN=wrong-token"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "staging: unfrozen\n");
}

TEST_F(CliTest, LeaseAcquireWithRunIdLinksTheLeaseToTheRun) {
  auto r = cli({"lease", "acquire", "--env", "staging", "--holder", "github-run-9000000002", "--ttl", "10m",
                "--run-id", "9000000002"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string lease = r.out.substr(0, r.out.find('\n'));
  auto status = Json::parse(call("GET", "/v1/environments/staging")->body());
  EXPECT_EQ(status["lease"]["id"], lease);
  EXPECT_EQ(status["lease"]["run_id"], 9000000002);
  EXPECT_EQ(status["lease"]["holder"], "github-run-9000000002");
  r = cli({"status", "--env", "staging"});
  EXPECT_NE(r.out.find("held by github-run-9000000002 for run 9000000002"), std::string::npos) << r.out;
}

TEST_F(CliTest, LeaseAcquireWaitsUntilSafeThenPrintsTheLeaseId) {
  ASSERT_EQ(cli({"freeze", "--env", "staging", "--reason", "r", "--by", "b"}).exit_code, 0);
  // Not a terminal, not safe within the wait: exit 1, reasons on stderr, nothing else.
  auto r = cli({"lease", "acquire", "--env", "staging", "--holder", "ci", "--wait", "1s"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("frozen"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;

  // On a terminal: the progress line proves it was refused and is waiting; lifting the freeze
  // lets it take the lease.
  PtySession acquire({"lease", "acquire", "--env", "staging", "--holder", "ci", "--wait", "40s", "--server", server_});
  ASSERT_TRUE(acquire.read_until_contains("waiting for staging [")) << acquire.output();
  ASSERT_TRUE(acquire.read_until_contains("frozen")) << acquire.output();
  ASSERT_EQ(call("DELETE", "/v1/environments/staging/freeze")->result_int(), 204);
  EXPECT_EQ(acquire.finish(), 0) << acquire.output();
  std::smatch id;
  const std::string out = acquire.output();
  ASSERT_TRUE(std::regex_search(out, id, std::regex("\r\033\\[K([0-9a-f]{32})\r\n$"))) << out;
  auto status = Json::parse(call("GET", "/v1/environments/staging")->body());
  EXPECT_EQ(status["lease"]["id"], id[1].str());
  EXPECT_EQ(status["lease"]["holder"], "ci");
}

TEST_F(CliTest, FreezeUntilIsSentAndTheFreezeLapsesByItself) {
  auto r = cli({"freeze", "--env", "staging", "--reason", "r", "--until", "tomorrow"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("--until"), std::string::npos) << r.err;
  r = cli({"freeze", "--env", "staging", "--reason", "r", "--until", timestamp_in(-std::chrono::hours{1})});
  EXPECT_EQ(r.exit_code, 2) << "the daemon refuses a time in the past";
  EXPECT_EQ(lines(r.err), 1) << r.err;

  const std::string until = timestamp_in(std::chrono::seconds{4});
  r = cli({"freeze", "--env", "staging", "--reason", "short freeze", "--by", "b", "--until", until});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto status = Json::parse(call("GET", "/v1/environments/staging")->body());
  EXPECT_EQ(status["freeze"]["until"], until);
  EXPECT_EQ(status["reasons"][0]["code"], "frozen");
  EXPECT_EQ(status["reasons"][0]["until"], until);
  // The daemon answers the long-poll when the freeze lapses; nobody lifts it.
  r = cli({"can-deploy", "--env", "staging", "--wait", "25s"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "staging: safe to deploy\n");
}

// ---- the deploy queue ---------------------------------------------------------------------------

/// staging with a 2 s cooldown and no min_interval, so queued deploys follow each other quickly;
/// `queue` adds keys under queue:.
std::string queue_env_yaml(const std::string& queue = "") {
  return "  staging:\n"
         "    github: { repo: acme/shop, workflows: [deploy.yml], branch: main }\n"
         "    min_interval: 0s\n    cooldown: 2s\n    stale_after: 2h\n" +
         (queue.empty() ? std::string() : "    queue: { " + queue + " }\n");
}

class QueueTest : public LeaseTest {
 protected:
  void SetUp() override {
    ::unsetenv("GITHUB_RUN_ID");
    ::unsetenv("GITHUB_RUN_ATTEMPT");
    ::unsetenv("GITHUB_SHA");
    ::unsetenv("GITHUB_REF_NAME");
    start_fake();
  }
  void start_queue(const std::string& queue = "") {
    daemon_ = DaemonProcess::start(kBinary, dir_, config({}, "", queue_env_yaml(queue)));
    wait_safe("staging");
  }
  /// POST .../queue for `holder`: the status and body.
  std::pair<int, Json> join(const std::string& holder, const std::string& extra = "") {
    auto res = call("POST", "/v1/environments/staging/queue",
                    R"({"holder":")" + holder + R"(","ttl":"10m")" + extra + "}");
    if (!res) return {0, Json()};
    return {res->result_int(), Json::parse(res->body())};
  }
  std::pair<int, Json> poll(const std::string& ticket, int wait_s = 0) {
    auto res = call("GET", "/v1/environments/staging/queue/" + ticket +
                               (wait_s ? "?wait=" + std::to_string(wait_s) : ""));
    if (!res) return {0, Json()};
    return {res->result_int(), Json::parse(res->body())};
  }
};

TEST_F(QueueTest, ThreeWaitingPipelinesAreGrantedInOrderWithTheCooldownBetween) {
  start_queue();
  auto [first_status, first] = join("pipeline-0");
  ASSERT_EQ(first_status, 201) << first.dump();
  // Two pipelines join 0.1 s apart and long-poll their tickets, each on its own connection.
  std::vector<std::string> tickets;
  for (int i = 1; i <= 2; ++i) {
    auto [status, body] = join("pipeline-" + std::to_string(i));
    ASSERT_EQ(status, 202) << body.dump();
    EXPECT_EQ(body["position"], i);
    tickets.push_back(body["ticket"]);
  }
  // A bare lease call (no ticket) is refused while they wait: nobody skips the line.
  auto bare = call("POST", "/v1/environments/staging/lease", R"({"holder":"sneaky","ttl":"5m"})");
  ASSERT_TRUE(bare);
  ASSERT_EQ(bare->result_int(), 423) << bare->body();
  EXPECT_NE(bare->body().find("\"queued\""), std::string::npos) << bare->body();

  std::string lease = first["lease_id"];
  for (std::size_t i = 0; i < tickets.size(); ++i) {
    // Every waiting ticket long-polls; only the head's answer comes before its wait ends.
    std::vector<TestHttpClient> pollers;
    for (std::size_t j = i; j < tickets.size(); ++j) {
      pollers.push_back(client());
      ASSERT_TRUE(pollers.back().send_request("GET", "/v1/environments/staging/queue/" + tickets[j] + "?wait=30", "", ""));
    }
    const auto released = SteadyClock::now();
    ASSERT_EQ(call("DELETE", "/v1/environments/staging/lease/" + lease)->result_int(), 204);
    auto granted = pollers.front().read_response(20s);
    ASSERT_TRUE(granted) << pollers.front().last_error();
    const auto waited = SteadyClock::now() - released;
    ASSERT_EQ(granted->result_int(), 201) << granted->body();
    const auto body = Json::parse(granted->body());
    EXPECT_EQ(body["holder"], "pipeline-" + std::to_string(i + 1));
    // The cooldown (2 s after the previous lease ended) lies between two queued deploys; the
    // daemon's clock counts whole milliseconds, so allow a little below.
    EXPECT_GE(waited, 1900ms);
    EXPECT_LT(waited, 10s);
    lease = body["lease_id"];
    // The others still wait (their long-polls have not been answered).
    for (std::size_t j = 1; j < pollers.size(); ++j)
      EXPECT_FALSE(pollers[j].read_response(100ms)) << "ticket " << j << " was answered early";
  }
  auto status = Json::parse(call("GET", "/v1/environments/staging")->body());
  EXPECT_EQ(status["queue"]["waiting"], 0);
  EXPECT_EQ(status["lease"]["holder"], "pipeline-2");
  // The audit log has the whole story.
  const std::string audit = read_file(dir_.path() / "audit.jsonl");
  EXPECT_NE(audit.find("\"queue.granted\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"queue.join\""), std::string::npos) << audit;
}

TEST_F(QueueTest, APipelineThatStopsPollingLosesItsPlace) {
  start_queue("ticket_ttl: 2s");
  ASSERT_EQ(join("holder").first, 201);
  auto [s1, quiet] = join("quiet");
  auto [s2, polling] = join("polling");
  ASSERT_EQ(s1, 202);
  ASSERT_EQ(s2, 202);
  EXPECT_EQ(polling["position"], 2);
  // `polling` keeps polling (each long-poll is capped at ticket_ttl / 2 = 1 s); `quiet` does not.
  // Its ticket leaves the queue 2 s after its join, and `polling` moves up.
  Json last;
  for (int i = 0; i < 20; ++i) {
    auto [status, body] = poll(polling["ticket"], 30);
    ASSERT_EQ(status, 202) << body.dump();
    last = body;
    if (body["position"] == 1) break;
  }
  EXPECT_EQ(last["position"], 1) << last.dump();
  auto [gone, error] = poll(quiet["ticket"]);
  EXPECT_EQ(gone, 404) << error.dump();
  const std::string audit = read_file(dir_.path() / "audit.jsonl");
  EXPECT_NE(audit.find("\"queue.expired\""), std::string::npos) << audit;
}

TEST_F(QueueTest, ARestartKeepsTheOrder) {
  start_queue();
  auto [s0, first] = join("pipeline-0");
  ASSERT_EQ(s0, 201);
  std::vector<std::string> tickets;
  for (int i = 1; i <= 3; ++i) tickets.push_back(join("pipeline-" + std::to_string(i)).second["ticket"]);
  ASSERT_EQ(daemon_->stop(SIGTERM), 0);
  daemon_ = DaemonProcess::start(kBinary, dir_, config({}, "", queue_env_yaml()));
  // Polled again within ticket_ttl after the restart: the same places.
  for (std::size_t i = 0; i < tickets.size(); ++i) {
    auto [status, body] = poll(tickets[i]);
    ASSERT_EQ(status, 202) << body.dump();
    EXPECT_EQ(body["position"], i + 1);
  }
  TestHttpClient head = client();
  ASSERT_TRUE(head.send_request("GET", "/v1/environments/staging/queue/" + tickets[0] + "?wait=30", "", ""));
  ASSERT_EQ(call("DELETE", "/v1/environments/staging/lease/" + first["lease_id"].get<std::string>())->result_int(), 204);
  auto granted = head.read_response(20s);
  ASSERT_TRUE(granted) << head.last_error();
  ASSERT_EQ(granted->result_int(), 201) << granted->body();
  EXPECT_EQ(Json::parse(granted->body())["holder"], "pipeline-1");
}

TEST_F(QueueTest, TheCliWaitsInTheQueueAndLeavesItOnSigterm) {
  start_queue();
  const std::string server = "http://127.0.0.1:" + std::to_string(daemon_->port());
  ASSERT_EQ(join("holder").first, 201);
  PtySession acquire({"lease", "acquire", "--env", "staging", "--holder", "cli", "--wait", "60s",
                      "--server", server});
  ASSERT_TRUE(acquire.read_until_contains("place 1 in the queue")) << acquire.output();
  auto status = Json::parse(call("GET", "/v1/environments/staging")->body());
  ASSERT_EQ(status["queue"]["waiting"], 1) << status.dump();
  EXPECT_EQ(status["queue"]["tickets"][0]["holder"], "cli");
  acquire.signal(SIGTERM);
  EXPECT_EQ(acquire.finish(), 128 + SIGTERM) << acquire.output();
  EXPECT_NE(acquire.output().find("leaving the deploy queue"), std::string::npos) << acquire.output();
  status = Json::parse(call("GET", "/v1/environments/staging")->body());
  EXPECT_EQ(status["queue"]["waiting"], 0) << status.dump();
}

}  // namespace
}  // namespace deployguard::testing
