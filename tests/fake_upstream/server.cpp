#include "server.hpp"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <list>
#include <sstream>
#include <thread>

namespace deployguard::fake {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t kBodyLimit = 1 << 20;
constexpr std::uint32_t kHeaderLimit = 64 * 1024;
constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr auto kWriteTimeout = std::chrono::seconds(30);

std::shared_ptr<spdlog::logger> logger() {
  if (auto existing = spdlog::get("fake_upstream")) return existing;
  try {
    return spdlog::stderr_logger_mt("fake_upstream");
  } catch (const spdlog::spdlog_ex&) {  // created concurrently by another server instance
    return spdlog::get("fake_upstream");
  }
}

}  // namespace

class FakeUpstreamServer::Impl {
 public:
  explicit Impl(Options options)
      : options_(std::move(options)),
        core_(std::chrono::system_clock::now()),
        acceptor_(ioc_),
        step_timer_(ioc_),
        signals_(ioc_),
        log_(logger()) {
    tcp::endpoint ep{net::ip::make_address(options_.address), options_.port};
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(net::socket_base::max_listen_connections);
    if (options_.scenario) core_.replace_state(options_.scenario->state, std::chrono::system_clock::now());
  }

  ~Impl() {
    stop();
    if (thread_.joinable()) thread_.join();
    waiters_.clear();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string address() const { return acceptor_.local_endpoint().address().to_string(); }

  void begin() {
    do_accept();
    if (options_.scenario) {
      scenario_epoch_ = std::chrono::steady_clock::now();
      next_step_ = 0;
      schedule_step();
    }
  }

  void run() {
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.async_wait([this](const beast::error_code& ec, int) {
      if (!ec) stop();
    });
    begin();
    ioc_.run();
  }

  void start() {
    begin();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  void stop() { ioc_.stop(); }

  // Everything below runs on the io_context thread.

  Outcome handle(const Request& req) {
    Outcome out;
    try {
      out = core_.handle(req, std::chrono::system_clock::now());
    } catch (const std::exception& e) {
      // A scripted state the renderer cannot handle is the test's mistake: say so, keep serving.
      log_->error("method={} target={} failed: {}", std::string(req.method_string()),
                  std::string(req.target()), e.what());
      out.response = Response{boost::beast::http::status::internal_server_error, req.version()};
      out.response.set(boost::beast::http::field::content_type, "application/json");
      out.response.body() = nlohmann::json{{"message", std::string("fake_upstream: ") + e.what()}}.dump();
      out.response.prepare_payload();
    }
    if (options_.log_requests && !starts_with(req.target(), "/_fake/"))
      log_->info("method={} target={} status={} delay_ms={} wire={}", std::string(req.method_string()),
                 std::string(req.target()), out.wire == WireAction::reset ? 0u : out.response.result_int(),
                 out.delay.count(),
                 out.wire == WireAction::normal ? "normal" : out.wire == WireAction::reset ? "reset" : "truncate");
    notify_waiters();
    return out;
  }

  void add_waiter(const WaitSpec& spec, std::function<void(Response)> reply) {
    if (core_.wait_satisfied(spec)) {
      reply(make_wait_response(http::status::ok, spec));
      return;
    }
    const std::uint64_t id = next_waiter_++;
    auto timer = std::make_shared<net::steady_timer>(ioc_);
    timer->expires_after(spec.timeout);
    waiters_.push_back(Waiter{id, spec, timer, std::move(reply)});
    timer->async_wait([this, id](const beast::error_code& ec) {
      if (ec) return;
      for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
        if (it->id != id) continue;
        Waiter w = std::move(*it);
        waiters_.erase(it);
        w.reply(make_wait_response(http::status::request_timeout, w.spec));
        return;
      }
    });
  }

 private:
  struct Waiter {
    std::uint64_t id;
    WaitSpec spec;
    std::shared_ptr<net::steady_timer> timer;
    std::function<void(Response)> reply;
  };

  Response make_wait_response(http::status status, const WaitSpec& spec) const {
    Response res{status, 11};
    res.set(http::field::content_type, "application/json; charset=utf-8");
    res.body() = core_.wait_result(spec).dump();
    return res;
  }

  void notify_waiters() {
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (!core_.wait_satisfied(it->spec)) {
        ++it;
        continue;
      }
      Waiter w = std::move(*it);
      it = waiters_.erase(it);
      w.timer->cancel();
      w.reply(make_wait_response(http::status::ok, w.spec));
    }
  }

  void schedule_step() {
    const Scenario& sc = *options_.scenario;
    if (next_step_ < sc.timeline.size()) {
      step_timer_.expires_at(scenario_epoch_ + sc.timeline[next_step_].at);
      step_timer_.async_wait([this](const beast::error_code& ec) {
        if (ec) return;
        const ScenarioStep& step = options_.scenario->timeline[next_step_];
        try {
          core_.apply_set(step.set, std::chrono::system_clock::now());
          log_->info("scenario_step={} at_ms={} note=\"{}\"", next_step_, step.at.count(), step.note);
        } catch (const ControlError& e) {
          log_->error("scenario_step={} failed: {}", next_step_, e.what());
        }
        core_.note_scenario_step();
        ++next_step_;
        notify_waiters();
        schedule_step();
      });
    } else if (sc.loop) {
      step_timer_.expires_at(scenario_epoch_ + sc.loop_after);
      step_timer_.async_wait([this](const beast::error_code& ec) {
        if (ec) return;
        try {
          core_.replace_state(options_.scenario->state, std::chrono::system_clock::now());
        } catch (const ControlError& e) {
          log_->error("scenario loop restart failed: {}", e.what());
        }
        log_->info("scenario loop restart");
        scenario_epoch_ = step_timer_.expiry();
        next_step_ = 0;
        schedule_step();
      });
    }
  }

  void do_accept();

  Options options_;
  net::io_context ioc_{1};
  FakeUpstream core_;
  tcp::acceptor acceptor_;
  net::steady_timer step_timer_;
  net::signal_set signals_;
  std::shared_ptr<spdlog::logger> log_;
  std::chrono::steady_clock::time_point scenario_epoch_;
  std::size_t next_step_ = 0;
  std::list<Waiter> waiters_;
  std::uint64_t next_waiter_ = 1;
  std::thread thread_;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, FakeUpstreamServer::Impl& server)
      : stream_(std::move(socket)), server_(server), delay_timer_(stream_.get_executor()) {}

  void start() { do_read(); }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    parser_->header_limit(kHeaderLimit);
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return shutdown();
    if (ec) return;  // timeout, reset by peer, over-limit request: drop the connection
    const Request req = parser_->release();
    keep_alive_ = req.keep_alive();
    Outcome out = server_.handle(req);
    if (out.wait) {
      stream_.expires_never();  // the waiter's own timer bounds the long-poll
      server_.add_waiter(*out.wait, [self = shared_from_this()](Response res) {
        self->send(std::move(res), WireAction::normal);
      });
      return;
    }
    if (out.delay.count() > 0) {
      stream_.expires_never();
      delay_timer_.expires_after(out.delay);
      delay_timer_.async_wait([self = shared_from_this(), res = std::move(out.response),
                               wire = out.wire](const beast::error_code& wait_ec) mutable {
        if (!wait_ec) self->send(std::move(res), wire);
      });
      return;
    }
    send(std::move(out.response), out.wire);
  }

  void send(Response res, WireAction wire) {
    beast::error_code ignored;
    if (wire == WireAction::reset) {
      stream_.socket().set_option(net::socket_base::linger(true, 0), ignored);
      stream_.socket().close(ignored);
      return;
    }
    res.keep_alive(keep_alive_ && wire == WireAction::normal);
    res.prepare_payload();
    stream_.expires_after(kWriteTimeout);
    if (wire == WireAction::truncate) {
      // Full headers (Content-Length of the whole body) but only half the body, then close.
      std::ostringstream os;
      os << res;
      auto raw = std::make_shared<std::string>(os.str());
      raw->resize(raw->size() - res.body().size() + res.body().size() / 2);
      net::async_write(stream_, net::buffer(*raw),
                       [self = shared_from_this(), raw](const beast::error_code&, std::size_t) { self->shutdown(); });
      return;
    }
    res_ = std::move(res);
    http::async_write(stream_, res_, [self = shared_from_this()](const beast::error_code& write_ec, std::size_t) {
      if (write_ec) return;
      if (!self->res_.keep_alive()) return self->shutdown();
      self->do_read();
    });
  }

  void shutdown() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  FakeUpstreamServer::Impl& server_;
  net::steady_timer delay_timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Response res_;
  bool keep_alive_ = true;
};

}  // namespace

void FakeUpstreamServer::Impl::do_accept() {
  acceptor_.async_accept(ioc_, [this](const beast::error_code& ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) std::make_shared<Session>(std::move(socket), *this)->start();
    do_accept();
  });
}

FakeUpstreamServer::FakeUpstreamServer(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
FakeUpstreamServer::~FakeUpstreamServer() = default;
std::uint16_t FakeUpstreamServer::port() const { return impl_->port(); }
std::string FakeUpstreamServer::listen_address() const {
  return impl_->address() + ":" + std::to_string(port());
}
void FakeUpstreamServer::run() { impl_->run(); }
void FakeUpstreamServer::start() { impl_->start(); }
void FakeUpstreamServer::stop() { impl_->stop(); }

}  // namespace deployguard::fake
