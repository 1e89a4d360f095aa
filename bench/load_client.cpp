// Load client for the benchmarks wrk cannot express. Prints one JSON line per run.
//
//   deployguard_loadclient webhooks --port P --secret-file F --fixture FILE
//                                   [--connections 8] [--count 20000] [--distinct-bodies 256]
//       Floods POST /webhooks/github with signed workflow_run deliveries (distinct delivery ids,
//       bodies signed before the clock starts) over keep-alive connections; reports deliveries
//       answered 202 per second.
//   deployguard_loadclient reflect --port P --secret-file F --fixture FILE --env E [--count 500]
//       Alternates an in_progress / completed delivery of one run; after each, GETs /can-deploy
//       until the verdict reflects it (reason deploy_in_progress present / absent). Reports the
//       latency from sending the webhook to the reflecting answer.
//   deployguard_loadclient waiters --port P --env E --pid DAEMON_PID [--count 10000]
//       Opens COUNT connections, each with GET /can-deploy?env=E&wait=600 (E must be frozen and
//       otherwise safe), reads the daemon's VmRSS while they wait, lifts the freeze with
//       DELETE /v1/environments/E/freeze and counts the waiters answered 200.
//   deployguard_loadclient queue --port P --env E [--pid DAEMON_PID] [--count 1000] [--hold-ms 0]
//       Takes a plain lease on E (which must be safe, with queue.max_length >= COUNT and no
//       cooldown or min_interval), then joins COUNT tickets one after another, each over its own
//       connection, each long-polling its ticket (GET .../queue/T?wait=600, again after a 202)
//       from its join on. Releases the lease; each client that receives its 201 checks that it is
//       the next in join order, holds the lease HOLD_MS, then DELETEs its ticket. Reports the
//       grant latency: from sending the DELETE that ended the lease before (the first: the plain
//       lease's) to the next client reading its 201.
//
// Blocking Beast I/O on threads for the floods (simple, and the daemon is the thing measured);
// one io_context with async reads for the waiters and the queue.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

#include "webhook/signature.hpp"

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

namespace {

struct Args {
  std::string mode;
  std::map<std::string, std::string> kv;
  std::string get(const std::string& key, const std::string& fallback = "") const {
    auto it = kv.find(key);
    return it == kv.end() ? fallback : it->second;
  }
  long num(const std::string& key, long fallback) const {
    auto it = kv.find(key);
    return it == kv.end() ? fallback : std::stol(it->second);
  }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string first_line(std::string s) {
  auto nl = s.find_first_of("\r\n");
  return nl == std::string::npos ? s : s.substr(0, nl);
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

tcp::endpoint endpoint(const Args& a) {
  return {net::ip::make_address(a.get("host", "127.0.0.1")),
          static_cast<unsigned short>(a.num("port", 8080))};
}

/// A workflow_run delivery body, as GitHub would send it for this run state.
std::string make_run_body(const Json& fixture, std::int64_t run_id, bool completed,
                          std::chrono::system_clock::time_point created,
                          std::chrono::system_clock::time_point updated) {
  Json body = fixture;
  body["action"] = completed ? "completed" : "in_progress";
  auto& run = body["workflow_run"];
  run["id"] = run_id;
  run["status"] = completed ? "completed" : "in_progress";
  run["conclusion"] = completed ? Json("success") : Json(nullptr);
  run["created_at"] = rfc3339(created);
  run["run_started_at"] = rfc3339(created);
  run["updated_at"] = rfc3339(updated);
  return body.dump();
}

std::string webhook_request(const std::string& body, const std::string& signature,
                            const std::string& delivery) {
  std::string r;
  r.reserve(body.size() + 300);
  r += "POST /webhooks/github HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n";
  r += "X-GitHub-Event: workflow_run\r\nX-GitHub-Delivery: " + delivery + "\r\n";
  r += "X-Hub-Signature-256: sha256=" + signature + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  r += body;
  return r;
}

/// One blocking keep-alive connection.
class Connection {
 public:
  Connection(net::io_context& ioc, const tcp::endpoint& ep) : socket_(ioc) {
    socket_.connect(ep);
    socket_.set_option(tcp::no_delay(true));
  }
  bhttp::response<bhttp::string_body> exchange(const std::string& raw_request) {
    net::write(socket_, net::buffer(raw_request));
    bhttp::response<bhttp::string_body> res;
    bhttp::read(socket_, buffer_, res);
    return res;
  }

 private:
  tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto idx = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

// ---- webhooks: ingestion throughput ----------------------------------------------------------

int run_webhooks(const Args& a) {
  const auto secret = first_line(read_file(a.get("secret-file")));
  const auto fixture = Json::parse(read_file(a.get("fixture")));
  const long count = a.num("count", 20000);
  const long connections = a.num("connections", 8);
  const long distinct = a.num("distinct-bodies", 256);
  const std::int64_t run_base = a.num("run-base", 500000000);
  const auto delivery_prefix = a.get("delivery-prefix", "bench-wh");

  // Distinct runs (each one a completed deploy an hour ago), signed before the clock starts.
  // Delivery ids are distinct per request (de-dup would answer 200 "duplicate" otherwise).
  const auto base = std::chrono::system_clock::now() - std::chrono::hours{1};
  std::vector<std::pair<std::string, std::string>> bodies;  // body, signature
  for (long i = 0; i < distinct; ++i) {
    auto body = make_run_body(fixture, run_base + i, true, base + std::chrono::seconds{i},
                              base + std::chrono::seconds{i + 60});
    auto sig = deployguard::webhook::hmac_sha256_hex(secret, body);
    bodies.emplace_back(std::move(body), std::move(sig));
  }
  std::vector<std::string> requests;
  requests.reserve(static_cast<std::size_t>(count));
  for (long i = 0; i < count; ++i) {
    const auto& [body, sig] = bodies[static_cast<std::size_t>(i % distinct)];
    requests.push_back(webhook_request(body, sig, delivery_prefix + "-" + std::to_string(i)));
  }

  std::atomic<long> next{0};
  std::mutex mu;
  std::map<unsigned, long> statuses;
  long applied = 0;
  std::string error;
  net::io_context ioc;
  const auto ep = endpoint(a);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (long c = 0; c < connections; ++c) {
    threads.emplace_back([&] {
      std::map<unsigned, long> local;
      long local_applied = 0;
      try {
        Connection conn(ioc, ep);
        for (long i = next++; i < count; i = next++) {
          auto res = conn.exchange(requests[static_cast<std::size_t>(i)]);
          ++local[res.result_int()];
          if (res.body().find("\"applied\"") != std::string::npos) ++local_applied;
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mu);
        error = e.what();
      }
      std::lock_guard lock(mu);
      for (auto [s, n] : local) statuses[s] += n;
      applied += local_applied;
    });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  Json out{{"mode", "webhooks"}, {"count", count}, {"connections", connections},
           {"seconds", secs}, {"applied", applied},
           {"applied_per_s", static_cast<double>(applied) / secs}, {"error", error}};
  for (auto [s, n] : statuses) out["status"][std::to_string(s)] = n;
  std::cout << out.dump() << std::endl;
  return error.empty() ? 0 : 1;
}

// ---- reflect: webhook received -> /can-deploy reflects it ------------------------------------

int run_reflect(const Args& a) {
  const auto secret = first_line(read_file(a.get("secret-file")));
  const auto fixture = Json::parse(read_file(a.get("fixture")));
  const long count = a.num("count", 500);
  const std::int64_t run_id = a.num("run-id", 700000001);
  const auto env = a.get("env");
  const auto delivery_prefix = a.get("delivery-prefix", "bench-reflect");

  // Even i: in_progress (deploy_in_progress expected); odd i: completed (expected gone).
  // updated_at strictly increases so no update is older than the one before.
  // Created half an hour ago: newer than the flood's runs (an hour ago), so this run stays among
  // the kMaxRuns newest the policy keeps; min_interval and cooldown have lapsed.
  const auto base = std::chrono::system_clock::now() - std::chrono::minutes{30};
  std::vector<std::string> requests;
  for (long i = 0; i < count; ++i) {
    auto body = make_run_body(fixture, run_id, i % 2 == 1, base, base + std::chrono::seconds{i + 1});
    auto sig = deployguard::webhook::hmac_sha256_hex(secret, body);
    requests.push_back(webhook_request(body, sig, delivery_prefix + "-" + std::to_string(i)));
  }
  const std::string get =
      "GET /can-deploy?env=" + env + " HTTP/1.1\r\nHost: bench\r\n\r\n";

  net::io_context ioc;
  const auto ep = endpoint(a);
  Connection hooks(ioc, ep);
  Connection reader(ioc, ep);
  std::vector<double> latencies_ms;
  long not_reflected = 0, extra_gets = 0;
  std::map<unsigned, long> webhook_statuses;
  for (long i = 0; i < count; ++i) {
    const bool expect_in_progress = i % 2 == 0;
    const auto t0 = Clock::now();
    auto wres = hooks.exchange(requests[static_cast<std::size_t>(i)]);
    ++webhook_statuses[wres.result_int()];
    bool reflected = false;
    while (Clock::now() - t0 < std::chrono::seconds{1}) {
      auto res = reader.exchange(get);
      const bool in_progress = res.body().find("deploy_in_progress") != std::string::npos;
      if (in_progress == expect_in_progress) {
        reflected = true;
        break;
      }
      ++extra_gets;
    }
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (reflected)
      latencies_ms.push_back(ms);
    else
      ++not_reflected;
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  Json out{{"mode", "reflect"}, {"count", count}, {"reflected", latencies_ms.size()},
           {"not_reflected", not_reflected}, {"extra_gets", extra_gets},
           {"p50_ms", percentile(latencies_ms, 0.50)}, {"p99_ms", percentile(latencies_ms, 0.99)},
           {"max_ms", percentile(latencies_ms, 1.0)}};
  for (auto [s, n] : webhook_statuses) out["webhook_status"][std::to_string(s)] = n;
  std::cout << out.dump() << std::endl;
  return not_reflected == 0 ? 0 : 1;
}

// ---- waiters: 10,000 long-polls answered by one state change ---------------------------------

long vmrss_kib(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

struct Waiter {
  explicit Waiter(net::io_context& ioc) : socket(ioc) {}
  tcp::socket socket;
  boost::beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
};

void raise_open_files_limit() {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
}

int run_waiters(const Args& a) {
  raise_open_files_limit();

  const long count = a.num("count", 10000);
  const long pid = a.num("pid", 0);
  const auto env = a.get("env");
  const auto settle = std::chrono::milliseconds{a.num("settle-ms", 2000)};
  const std::string request =
      "GET /can-deploy?env=" + env + "&wait=600 HTTP/1.1\r\nHost: bench\r\n\r\n";

  net::io_context ioc;
  const auto ep = endpoint(a);
  const long rss_before = vmrss_kib(pid);
  std::vector<std::unique_ptr<Waiter>> waiters;
  long connect_errors = 0, answered = 0, answered_200 = 0, early = 0;
  bool triggered = false;
  Clock::time_point last_answer{};
  std::map<unsigned, long> statuses;
  std::string first_error;
  const auto start = Clock::now();
  for (long i = 0; i < count; ++i) {
    auto w = std::make_unique<Waiter>(ioc);
    boost::system::error_code ec;
    w->socket.connect(ep, ec);
    if (!ec) net::write(w->socket, net::buffer(request), ec);
    if (ec) {
      if (first_error.empty()) first_error = ec.message();
      ++connect_errors;
      continue;
    }
    bhttp::async_read(w->socket, w->buffer, w->res,
                      [&, raw = w.get()](boost::system::error_code rec, std::size_t) {
                        ++answered;
                        if (!triggered) ++early;
                        if (rec) {
                          ++statuses[0];
                          if (first_error.empty()) first_error = rec.message();
                          return;
                        }
                        ++statuses[raw->res.result_int()];
                        if (raw->res.result_int() == 200) ++answered_200;
                        last_answer = Clock::now();
                      });
    waiters.push_back(std::move(w));
    // Let the loop drain early answers (e.g. 503 too_many_waiters) now and then.
    if (i % 500 == 0) ioc.poll();
  }
  const double connect_s = std::chrono::duration<double>(Clock::now() - start).count();
  ioc.run_for(settle);
  const long rss_waiting = vmrss_kib(pid);

  // The state change: lift the freeze on a separate connection.
  triggered = true;
  const auto t_trigger = Clock::now();
  unsigned trigger_status = 0;
  try {
    Connection admin(ioc, ep);
    trigger_status = admin
                         .exchange("DELETE /v1/environments/" + env +
                                   "/freeze HTTP/1.1\r\nHost: bench\r\n\r\n")
                         .result_int();
  } catch (const std::exception& e) {
    first_error = std::string("trigger: ") + e.what();
  }
  const auto deadline = Clock::now() + std::chrono::seconds{a.num("timeout-s", 60)};
  while (answered < static_cast<long>(waiters.size()) && Clock::now() < deadline)
    ioc.run_for(std::chrono::milliseconds{50});
  const double answer_ms =
      answered_200 ? std::chrono::duration<double, std::milli>(last_answer - t_trigger).count() : -1;

  Json out{{"mode", "waiters"}, {"count", count}, {"connected", waiters.size()},
           {"connect_errors", connect_errors}, {"connect_s", connect_s},
           {"early_answers", early}, {"answered", answered}, {"answered_200", answered_200},
           {"trigger_status", trigger_status}, {"all_answered_ms", answer_ms},
           {"rss_before_kib", rss_before}, {"rss_waiting_kib", rss_waiting},
           {"first_error", first_error}};
  for (auto [s, n] : statuses) out["status"][std::to_string(s)] = n;
  std::cout << out.dump() << std::endl;
  return answered_200 == count ? 0 : 1;
}

// ---- queue: COUNT tickets on one environment, served one after another -----------------------

std::string api_request(const std::string& method, const std::string& target,
                        const std::string& body = "") {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: bench\r\n";
  if (!body.empty())
    r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  r += "\r\n";
  r += body;
  return r;
}

/// One waiting pipeline: its connection, its ticket, and its place in join order.
struct QueueClient {
  explicit QueueClient(net::io_context& ioc) : socket(ioc), hold(ioc) {}
  tcp::socket socket;
  net::steady_timer hold;
  boost::beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  std::size_t index = 0;
  std::string ticket;
  std::string poll_request, leave_request;
};

/// The serving phase, on one io_context thread: every callback below runs on it.
class QueueRun {
 public:
  explicit QueueRun(std::chrono::milliseconds hold) : hold_(hold) {}

  std::vector<std::unique_ptr<QueueClient>> clients;
  std::vector<double> grant_ms;
  std::map<std::string, long> statuses;  // "poll 201", "leave 204", "poll error", ...
  std::string first_error;
  long out_of_order = 0, overlapping = 0, repolls = 0, finished = 0;
  Clock::time_point lease_ended{}, last_grant{}, last_leave{};

  void poll(QueueClient& c) {
    net::async_write(c.socket, net::buffer(c.poll_request),
                     [this, &c](boost::system::error_code ec, std::size_t) {
                       if (ec) return fail(c, "poll write", ec);
                       c.res = {};
                       bhttp::async_read(c.socket, c.buffer, c.res,
                                         [this, &c](boost::system::error_code rec, std::size_t) {
                                           on_poll_answer(c, rec);
                                         });
                     });
  }

  /// The plain lease ends: its release starts the clock for the first grant.
  void release_blocker(QueueClient& admin, std::string release_request) {
    admin.leave_request = std::move(release_request);  // lives until the write completes
    lease_ended = Clock::now();
    exchange(admin, admin.leave_request, "blocker release");
  }

 private:
  void on_poll_answer(QueueClient& c, boost::system::error_code ec) {
    if (ec) return fail(c, "poll read", ec);
    const unsigned status = c.res.result_int();
    ++statuses["poll " + std::to_string(status)];
    if (status == 202) {  // the wait ran out (or the daemon's waiter table was full): ask again
      ++repolls;
      return poll(c);
    }
    if (status != 201) return fail(c, "poll answered " + std::to_string(status) + ": " + c.res.body());
    on_grant(c);
  }

  void on_grant(QueueClient& c) {
    const auto now = Clock::now();
    grant_ms.push_back(std::chrono::duration<double, std::milli>(now - lease_ended).count());
    last_grant = now;
    if (c.index != grant_ms.size() - 1) ++out_of_order;
    if (holding_) ++overlapping;  // a second lease while the previous holder still holds one
    holding_ = true;
    if (hold_.count() == 0) return leave(c);
    c.hold.expires_after(hold_);
    c.hold.async_wait([this, &c](boost::system::error_code) { leave(c); });
  }

  void leave(QueueClient& c) {
    holding_ = false;
    lease_ended = Clock::now();
    exchange(c, c.leave_request, "leave");
  }

  /// Sends one request on the client's connection; its answer finishes the client.
  void exchange(QueueClient& c, const std::string& request, std::string what) {
    net::async_write(c.socket, net::buffer(request),
                     [this, &c, what](boost::system::error_code ec, std::size_t) {
                       if (ec) return fail(c, what + " write", ec);
                       c.res = {};
                       bhttp::async_read(c.socket, c.buffer, c.res,
                                         [this, &c, what](boost::system::error_code rec, std::size_t) {
                                           if (rec) return fail(c, what + " read", rec);
                                           ++statuses[what + " " + std::to_string(c.res.result_int())];
                                           if (c.res.result_int() != 204)
                                             note_error(what + " answered " +
                                                        std::to_string(c.res.result_int()) + ": " +
                                                        c.res.body());
                                           last_leave = Clock::now();
                                           done(c);
                                         });
                     });
  }

  void fail(QueueClient& c, const std::string& what, boost::system::error_code ec) {
    fail(c, what + ": " + ec.message());
  }
  void fail(QueueClient& c, const std::string& what) {
    ++statuses["error"];
    note_error(what);
    done(c);
  }
  void note_error(const std::string& what) {
    if (first_error.empty()) first_error = what;
  }
  void done(QueueClient& c) {
    boost::system::error_code ignored;
    c.socket.close(ignored);
    ++finished;
  }

  std::chrono::milliseconds hold_;
  bool holding_ = false;
};

int run_queue(const Args& a) {
  raise_open_files_limit();
  const long count = a.num("count", 1000);
  const long pid = a.num("pid", 0);
  const auto env = a.get("env");
  const auto hold = std::chrono::milliseconds{a.num("hold-ms", 0)};
  const auto settle = std::chrono::milliseconds{a.num("settle-ms", 500)};
  const std::string queue_path = "/v1/environments/" + env + "/queue";

  net::io_context ioc;
  const auto ep = endpoint(a);
  QueueRun run(hold);
  Json out{{"mode", "queue"}, {"count", count}, {"hold_ms", hold.count()}};
  auto report = [&](int rc) {
    std::cout << out.dump() << std::endl;
    return rc;
  };

  // A plain lease holds the environment while the tickets join, so all COUNT of them wait.
  QueueClient admin(ioc);
  std::string lease_id;
  {
    Connection c(ioc, ep);
    auto res = c.exchange(api_request("POST", "/v1/environments/" + env + "/lease",
                                      R"({"holder":"bench-queue-blocker","ttl":"30m"})"));
    const auto body = Json::parse(res.body(), nullptr, false);
    if (res.result_int() != 201 || !body.is_object() || !body.contains("lease_id")) {
      out["error"] = "plain lease answered " + std::to_string(res.result_int()) + ": " + res.body();
      return report(1);
    }
    lease_id = body["lease_id"].get<std::string>();
  }

  // Joins, one after another; each client long-polls from its join on, as a pipeline would.
  long join_errors = 0, position_mismatch = 0;
  std::map<std::string, long> join_statuses;
  const auto start = Clock::now();
  for (long i = 0; i < count; ++i) {
    auto c = std::make_unique<QueueClient>(ioc);
    boost::system::error_code ec;
    c->socket.connect(ep, ec);
    if (!ec) c->socket.set_option(tcp::no_delay(true), ec);
    const std::string join = api_request(
        "POST", queue_path, R"({"holder":"bench-)" + std::to_string(i) + R"(","ttl":"30m"})");
    if (!ec) net::write(c->socket, net::buffer(join), ec);
    if (!ec) bhttp::read(c->socket, c->buffer, c->res, ec);
    if (ec) {
      ++join_errors;
      ++join_statuses["error"];
      if (run.first_error.empty()) run.first_error = "join: " + ec.message();
      continue;
    }
    ++join_statuses[std::to_string(c->res.result_int())];
    const auto body = Json::parse(c->res.body(), nullptr, false);
    if (c->res.result_int() != 202 || !body.is_object() || !body.contains("ticket")) {
      ++join_errors;
      if (run.first_error.empty())
        run.first_error = "join answered " + std::to_string(c->res.result_int()) + ": " + c->res.body();
      continue;
    }
    // Every earlier ticket is still waiting, so this one's place is its join order.
    if (body.value("position", 0L) != static_cast<long>(run.clients.size()) + 1) ++position_mismatch;
    c->index = run.clients.size();
    c->ticket = body["ticket"].get<std::string>();
    c->poll_request = api_request("GET", queue_path + "/" + c->ticket + "?wait=600");
    c->leave_request = api_request("DELETE", queue_path + "/" + c->ticket);
    run.poll(*c);
    run.clients.push_back(std::move(c));
    ioc.poll();  // the poll's write completes and its read is armed
  }
  const double join_s = std::chrono::duration<double>(Clock::now() - start).count();
  ioc.run_for(settle);  // every long-poll is registered as a waiter before the clock starts
  const long rss_waiting = pid ? vmrss_kib(pid) : -1;

  // Serve: the lease ends, then each grant's holder leaves in turn. The admin connection is
  // opened only now: the daemon closes a connection that sends no request within read_timeout.
  admin.socket.connect(ep);
  admin.socket.set_option(tcp::no_delay(true));
  const auto serve_start = Clock::now();
  run.release_blocker(admin, api_request("DELETE", "/v1/environments/" + env + "/lease/" + lease_id));
  const auto waiting = static_cast<long>(run.clients.size()) + 1;  // the clients and the admin
  // Bounded twice: the whole serving phase, and the time without any client finishing (a lost
  // grant stops the queue; waiting for the whole timeout would tell nothing more).
  const auto deadline = Clock::now() + std::chrono::seconds{a.num("timeout-s", 300)};
  const auto stall = std::chrono::seconds{a.num("stall-s", 10)};
  auto progress = std::make_pair(run.finished, Clock::now());
  if (ioc.stopped()) ioc.restart();  // ran out of work if every join or poll failed
  while (run.finished < waiting && Clock::now() < deadline && !ioc.stopped()) {
    ioc.run_for(std::chrono::milliseconds{50});
    if (run.finished != progress.first)
      progress = {run.finished, Clock::now()};
    else if (Clock::now() - progress.second > stall)
      break;
  }
  out["stalled"] = run.finished < waiting;

  // A failed round must not leave tickets or the lease behind for the next one.
  long cleaned_up = 0;
  if (run.finished < waiting) {
    try {
      Connection c(ioc, ep);
      c.exchange(api_request("DELETE", "/v1/environments/" + env + "/lease/" + lease_id));
      for (const auto& client : run.clients)
        if (c.exchange(client->leave_request).result_int() == 204) ++cleaned_up;
    } catch (const std::exception& e) {
      if (run.first_error.empty()) run.first_error = std::string("cleanup: ") + e.what();
    }
  }

  const auto granted = static_cast<long>(run.grant_ms.size());
  const auto secs = [](Clock::time_point from, Clock::time_point to) {
    return to > from ? std::chrono::duration<double>(to - from).count() : 0.0;
  };
  out["joined"] = run.clients.size();
  out["join_errors"] = join_errors;
  out["position_mismatch"] = position_mismatch;
  out["granted"] = granted;
  out["out_of_order"] = run.out_of_order;
  out["overlapping_grants"] = run.overlapping;
  out["repolls"] = run.repolls;
  out["p50_ms"] = percentile(run.grant_ms, 0.50);
  out["p99_ms"] = percentile(run.grant_ms, 0.99);
  out["max_ms"] = percentile(run.grant_ms, 1.0);
  out["join_s"] = join_s;
  out["serve_s"] = secs(serve_start, run.last_grant);
  out["seconds"] = secs(start, run.last_leave);
  out["rss_waiting_kib"] = rss_waiting;
  out["cleaned_up"] = cleaned_up;
  out["first_error"] = run.first_error;
  for (const auto& [s, n] : join_statuses) out["status"]["join " + s] = n;
  for (const auto& [s, n] : run.statuses) out["status"][s] = n;
  const bool ok = granted == count && run.out_of_order == 0 && position_mismatch == 0 &&
                  run.overlapping == 0 && run.first_error.empty();
  return report(ok ? 0 : 1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: deployguard_loadclient webhooks|reflect|waiters|queue --key value ...\n";
    return 2;
  }
  Args a;
  a.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string key = argv[i];
    if (key.rfind("--", 0) == 0) key = key.substr(2);
    a.kv[key] = argv[i + 1];
  }
  try {
    if (a.mode == "webhooks") return run_webhooks(a);
    if (a.mode == "reflect") return run_reflect(a);
    if (a.mode == "waiters") return run_waiters(a);
    if (a.mode == "queue") return run_queue(a);
  } catch (const std::exception& e) {
    std::cerr << "deployguard_loadclient: " << e.what() << "\n";
    return 2;
  }
  std::cerr << "unknown mode " << a.mode << "\n";
  return 2;
}
