#include "http/server/server.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "http/server/request_reader.hpp"
#include "log/escape.hpp"
#include "log/log.hpp"

namespace deployguard::http {

namespace bhttp = beast::http;
using error_code = boost::system::error_code;

namespace {

// Canned answer for connections over max_connections; written without any per-connection state.
constexpr std::string_view kOverloadedResponse =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: application/json\r\n"
    "Connection: close\r\n"
    "Retry-After: 1\r\n"
    "Content-Length: 70\r\n"
    "\r\n"
    "{\"error\":{\"code\":\"overloaded\",\"message\":\"too many open connections\"}}\n";
static_assert(kOverloadedResponse.size() - kOverloadedResponse.find("\r\n\r\n") - 4 == 70);

// The same for a client address over max_connections_per_client.
constexpr std::string_view kPerClientResponse =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: application/json\r\n"
    "Connection: close\r\n"
    "Retry-After: 5\r\n"
    "Content-Length: 98\r\n"
    "\r\n"
    "{\"error\":{\"code\":\"too_many_connections\",\"message\":\"too many open connections from "
    "this address\"}}\n";
static_assert(kPerClientResponse.size() - kPerClientResponse.find("\r\n\r\n") - 4 == 98);

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// After an error response, unread request bytes are drained (bounded) before closing: closing a
// socket with unread input sends RST, which can destroy the response before the client reads it.
constexpr std::size_t kMaxDrainBytes = 256 * 1024;
constexpr auto kDrainTimeout = std::chrono::milliseconds{500};
constexpr std::size_t kReadChunk = 4096;

namespace ssl = net::ssl;
// Raw sockets, not beast::tcp_stream: a tcp_stream arms and cancels a timer around every read and
// write (two timer-queue updates and two extra completions per request). Sessions keep one lazy
// deadline timer instead (see BasicSession::set_deadline).
using PlainStream = tcp::socket;
using TlsStream = beast::ssl_stream<tcp::socket>;
using SteadyClock = std::chrono::steady_clock;

/// The first queued OpenSSL error as text (and clears the queue), or `fallback`.
std::string openssl_reason(const std::string& fallback) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

/// Fails with the errno text if `path` cannot be opened: clearer than OpenSSL's "system lib".
void check_readable(const std::string& what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw std::runtime_error("cannot read TLS " + what + " " + path + ": " +
                             (err != 0 ? std::strerror(err) : "open failed"));
  }
}

/// A server context with `files` loaded, TLS 1.2 minimum. Throws std::runtime_error naming the
/// file and the OpenSSL reason.
std::shared_ptr<ssl::context> load_tls_context(const TlsFiles& files) {
  check_readable("certificate file", files.cert_file);
  check_readable("key file", files.key_file);
  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                       ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1)
    throw std::runtime_error("TLS: cannot set the minimum protocol version: " +
                             openssl_reason("unknown error"));
  error_code ec;
  context->use_certificate_chain_file(files.cert_file, ec);
  if (ec)
    throw std::runtime_error("cannot load TLS certificate chain " + files.cert_file + ": " +
                             openssl_reason(ec.message()));
  context->use_private_key_file(files.key_file, ssl::context::pem, ec);
  if (ec)
    throw std::runtime_error("cannot load TLS private key " + files.key_file + ": " +
                             openssl_reason(ec.message()));
  if (SSL_CTX_check_private_key(context->native_handle()) != 1)
    throw std::runtime_error("TLS private key " + files.key_file +
                             " does not match the certificate in " + files.cert_file + ": " +
                             openssl_reason("key mismatch"));
  return context;
}

}  // namespace

Response make_error_response(Status status, std::string_view code, std::string_view message) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  nlohmann::ordered_json body;
  body["error"]["code"] = code;
  body["error"]["message"] = message;
  // A message may quote the client (a target, a JSON parser's complaint about the body): bytes
  // that are not UTF-8 become U+FFFD instead of making dump() throw.
  res.body() = body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  res.body() += '\n';
  return res;
}

struct Server::State {
  State(net::any_io_executor ex, ServerOptions opts, Handler h)
      : executor(ex), options(std::move(opts)), handler(std::move(h)), acceptor(ex),
        grace_timer(ex), log(logging::subsystem_logger("http")) {
    if (options.tls) tls_context = load_tls_context(*options.tls);
  }

  void maybe_finish_stop() {
    if (!stopping || !sessions.empty() || !on_stopped) return;
    grace_timer.cancel();
    auto done = std::move(on_stopped);
    on_stopped = nullptr;
    net::post(executor, std::move(done));
  }

  net::any_io_executor executor;
  ServerOptions options;
  Handler handler;
  tcp::acceptor acceptor;
  tcp::endpoint bound;
  // Sessions holding a connection slot. Raw pointers: a session erases itself when it gives up
  // its slot (always before its destructor finishes).
  std::unordered_set<detail::Session*> sessions;
  // Open connections per peer address (max_connections_per_client), exempt peers not counted.
  std::map<net::ip::address, std::size_t> per_client;
  void release_client(const net::ip::address& address) {
    auto it = per_client.find(address);
    if (it == per_client.end()) return;
    if (--it->second == 0) per_client.erase(it);
  }
  bool stopping = false;
  std::function<void()> on_stopped;
  net::steady_timer grace_timer;
  std::shared_ptr<spdlog::logger> log;
  // Context for NEW TLS connections (null: plain HTTP). Each session holds the context it was
  // accepted with, so reload_tls() can swap this one while older connections continue.
  std::shared_ptr<ssl::context> tls_context;
};

namespace detail {

/// What the server, the grace timer and Responders need of a connection, whatever its stream.
class Session : public std::enable_shared_from_this<Session> {
 public:
  virtual ~Session() = default;
  virtual bool idle() const = 0;
  /// Closes at once (stop() on idle connections, or the grace period ran out).
  virtual void force_close() = 0;
  // ---- used by Responder -------------------------------------------------------------------
  virtual bool pending(std::uint64_t request_id) const = 0;
  virtual void set_on_disconnect(std::uint64_t request_id, std::function<void()> callback) = 0;
  virtual void respond(std::uint64_t request_id, Response response) = 0;
  virtual std::optional<net::ip::address> peer() const = 0;
};

/// One connection. Stream is PlainStream or TlsStream; the HTTP logic is the same for both,
/// only the start (TLS handshake) differs. Deadlines and socket calls go to the TCP layer.
template <class Stream>
class BasicSession final : public Session {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  BasicSession(tcp::socket socket, std::shared_ptr<Server::State> server,
               std::optional<net::ip::address> counted_peer)
    requires(!kTls)
      : stream_(std::move(socket)), deadline_timer_(stream_.get_executor()),
        server_(std::move(server)), counted_peer_(std::move(counted_peer)) {}

  BasicSession(tcp::socket socket, std::shared_ptr<Server::State> server,
               std::shared_ptr<ssl::context> context, std::optional<net::ip::address> counted_peer)
    requires kTls
      : tls_context_(std::move(context)), stream_(std::move(socket), *tls_context_),
        deadline_timer_(stream_.get_executor()), server_(std::move(server)),
        counted_peer_(std::move(counted_peer)) {}

  ~BasicSession() override {
    server_->sessions.erase(this);
    release_client();
  }

  std::optional<net::ip::address> peer() const override { return peer_; }

  void start() {
    server_->sessions.insert(this);
    remote_ = remote_text();  // kept: a timed-out stream has no peer address any more
    error_code peer_error;
    if (auto ep = socket().remote_endpoint(peer_error); !peer_error) peer_ = ep.address();
    // The first request (after the TLS handshake, if any) must arrive completely within
    // read_timeout of the accept.
    expires_after(server_->options.read_timeout);
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server,
                              [self = self()](error_code ec) { self->on_handshake(ec); });
    } else {
      wait_for_request();
    }
  }

  bool idle() const override { return phase_ == Phase::Idle; }

  void force_close() override { close_now(); }

  bool pending(std::uint64_t request_id) const override {
    return phase_ == Phase::Handling && request_id == request_id_;
  }
  void set_on_disconnect(std::uint64_t request_id, std::function<void()> callback) override {
    if (pending(request_id)) on_disconnect_ = std::move(callback);
  }
  void respond(std::uint64_t request_id, Response response) override {
    if (!pending(request_id)) return;
    on_disconnect_ = nullptr;
    send(std::move(response), /*close_after=*/false);
  }

 private:
  std::shared_ptr<BasicSession> self() {
    return std::static_pointer_cast<BasicSession>(shared_from_this());
  }
  tcp::socket& socket() { return beast::get_lowest_layer(stream_); }
  const tcp::socket& socket() const { return beast::get_lowest_layer(stream_); }

  // ---- deadlines ---------------------------------------------------------------------------
  // One timer per connection, armed lazily: moving the deadline later (the common case: each
  // request pushes it forward) only stores it; the timer, when it fires early, re-arms itself
  // for the stored deadline. Only an earlier deadline re-arms at once. When the deadline
  // passes, the socket is closed, so whatever operation is pending completes with an error and
  // timed_out_ tells the handlers why.
  void expires_after(Duration d) { set_deadline(SteadyClock::now() + d); }
  void expires_never() { deadline_ = SteadyClock::time_point::max(); }
  void set_deadline(SteadyClock::time_point at) {
    deadline_ = at;
    if (!timer_armed_ || at < timer_armed_for_) arm_timer(at);
  }
  void arm_timer(SteadyClock::time_point at) {
    timer_armed_ = true;
    timer_armed_for_ = at;
    deadline_timer_.expires_at(at);  // a wait still pending completes as aborted
    // Weak: a pending deadline must not keep a finished connection alive.
    deadline_timer_.async_wait([weak = weak_from_this(), generation = ++timer_generation_](
                                   error_code) {
      auto session = weak.lock();
      if (!session) return;
      auto* self = static_cast<BasicSession*>(session.get());
      if (generation == self->timer_generation_) self->on_deadline_timer();
    });
  }
  void on_deadline_timer() {
    timer_armed_ = false;
    if (deadline_ == SteadyClock::time_point::max() || closed_socket_) return;
    if (SteadyClock::now() < deadline_) return arm_timer(deadline_);
    timed_out_ = true;
    close_socket();
  }
  void close_socket() {
    closed_socket_ = true;
    error_code ignored;
    socket().close(ignored);
    deadline_timer_.cancel();
  }

  void on_handshake(error_code ec) {
    if (phase_ == Phase::Closed) return;
    if (ec) {
      // Scanners, plain-HTTP clients, expired client trust stores, silent peers (timeout):
      // this connection ends, nothing else is affected.
      server_->log->info("event=tls_handshake_failed remote={} error=\"{}\"", remote(),
                         timed_out_ ? "timeout" : ec.message());
      close_now();
      return;
    }
    wait_for_request();
  }

  enum class Phase {
    Idle,      // waiting for the first byte of a request
    Reading,   // a request is arriving
    Handling,  // the handler owns the request; a Responder may answer later
    Writing,   // a response is being written
    Closed,    // slot released; only draining or teardown remain
  };

  const ServerOptions& opts() const { return server_->options; }

  void wait_for_request() {
    if (buffer_.size() > 0) {  // pipelined bytes already buffered
      begin_request();
      return;
    }
    phase_ = Phase::Idle;
    if (server_->stopping) {
      close_now();
      return;
    }
    read_more();
  }

  // The request is parsed here, from buffer_, with the parser's put(): no composed read
  // operation, so a request that arrives in one segment costs one read and no extra completion.
  void begin_request() {
    phase_ = Phase::Reading;
    if (!first_request_) expires_after(opts().read_timeout);
    reader_.start(opts());
    parse_buffered();
  }

  void read_more() {
    // Like Beast's reads: at least 4 KiB, at most 64 KiB, more when the buffer already grew.
    const std::size_t room = buffer_.capacity() - buffer_.size();
    const std::size_t size = std::clamp<std::size_t>(room, kReadChunk, 64 * 1024);
    stream_.async_read_some(buffer_.prepare(size), [self = self()](error_code ec, std::size_t n) {
      self->on_read(ec, n);
    });
  }

  void on_read(error_code ec, std::size_t n) {
    if (phase_ == Phase::Closed) return;
    if (ec) {
      // Idle: the deadline, EOF or a reset between requests; nothing to answer. Reading: the
      // client went away or the read deadline cut off a slow client mid-request; nobody to
      // answer either (a request without a length has no body, so EOF never completes one).
      if (phase_ == Phase::Reading && timed_out_)
        server_->log->debug("event=request_timeout remote={}", remote());
      close_now();
      return;
    }
    buffer_.commit(n);
    if (phase_ == Phase::Idle) {
      begin_request();
      return;
    }
    parse_buffered();
  }

  void parse_buffered() {
    for (;;) {
      switch (reader_.parse(buffer_)) {
        case RequestReader::Step::need_more:
          return read_more();
        case RequestReader::Step::header:
          // Only when nothing of the body is buffered yet: a client that sent it anyway does not
          // need the 100 Continue.
          if (reader_.wants_continue() && buffer_.size() == 0) return send_continue();
          continue;
        case RequestReader::Step::done:
          return dispatch_request();
        case RequestReader::Step::rejected: {
          const auto& rejection = reader_.rejection();
          return reject(rejection.status, rejection.code, rejection.message);
        }
        case RequestReader::Step::broken:
          return close_now();
      }
    }
  }

  void send_continue() {
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = self()](error_code wec, std::size_t) {
                       if (self->phase_ == Phase::Closed) return;
                       if (wec) return self->close_now();
                       self->parse_buffered();
                     });
  }

  void dispatch_request() {
    phase_ = Phase::Handling;
    first_request_ = false;
    ++request_id_;
    // The handler decides how long it takes (long-poll); the client's disconnect is watched.
    expires_never();
    Request request = reader_.release();
    head_request_ = request.method() == bhttp::verb::head;
    if (opts().on_response) target_.assign(request.target().data(), request.target().size());
    version_ = request.version();
    keep_alive_ = request.keep_alive();
    const auto id = request_id_;
    try {
      server_->handler(std::move(request), Responder{weak_from_this(), id});
    } catch (const std::exception& e) {
      // The message may quote request bytes (a JSON parser's complaint): escaped.
      server_->log->error("event=handler_exception error=\"{}\"", logging::escape(e.what()));
      respond(id, make_error_response(Status::internal_server_error, "internal",
                                      "internal error"));
    }
    if (phase_ == Phase::Handling) watch_for_disconnect();
  }

  // While the handler holds the request, a read detects a client that goes away. Bytes that
  // arrive (a pipelined request) are buffered, up to one header's worth.
  void watch_for_disconnect() {
    if (watching_ || buffer_.size() >= opts().max_header_bytes) return;
    watching_ = true;
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = self()](error_code ec, std::size_t n) {
                              self->on_watch(ec, n);
                            });
  }

  void on_watch(error_code ec, std::size_t n) {
    watching_ = false;
    if (!ec) buffer_.commit(n);
    if (draining_) {  // close_gracefully() cancelled this read; continue as a drain
      if (ec && ec != net::error::operation_aborted) return close_socket();
      return drain();
    }
    if (phase_ == Phase::Closed) return;
    if (resume_after_watch_) {  // the response was written meanwhile; this read was cancelled
      resume_after_watch_ = false;
      if (ec && ec != net::error::operation_aborted) return close_now();
      return after_response();
    }
    if (!ec) {
      if (phase_ == Phase::Handling) watch_for_disconnect();
      return;
    }
    peer_gone_ = true;
    if (phase_ == Phase::Handling) {
      server_->log->debug("event=client_disconnected_while_pending remote={}", remote());
      close_now();
    }
    // While Writing, the write fails or completes and on_write() closes.
  }

  void send(Response response, bool close_after) {
    phase_ = Phase::Writing;
    if (opts().on_response) {
      opts().on_response(target_, response.result_int());
      target_.clear();
    }
    response.version(version_);
    const bool keep = keep_alive_ && !close_after && !server_->stopping && !peer_gone_;
    response.keep_alive(keep);
    close_after_write_ = !keep;
    if (head_request_) {
      const auto length = response.body().size();
      response.body().clear();
      response.content_length(length);
    } else {
      response.prepare_payload();
    }
    response_.emplace(std::move(response));
    serialize_header(*response_, head_);
    std::array<net::const_buffer, 2> buffers{net::buffer(head_),
                                             net::buffer(response_->body())};
    expires_after(opts().write_timeout);
    // Header text and body as two buffers of one write: Beast's serializer walks its
    // buffers_cat_view one field at a time and was ~40% of a small response's cost.
    net::async_write(stream_, buffers, [self = self()](error_code ec, std::size_t) {
      self->on_write(ec);
    });
  }

  /// Status line and fields as HTTP/1.x sends them (what Beast's serializer writes for a
  /// string_body response whose Content-Length is set).
  static void serialize_header(const Response& response, std::string& out) {
    out.clear();
    const unsigned version = response.version();
    const unsigned code = response.result_int();
    const char start[] = {'H', 'T', 'T', 'P', '/',
                          static_cast<char>('0' + version / 10 % 10), '.',
                          static_cast<char>('0' + version % 10), ' ',
                          static_cast<char>('0' + code / 100 % 10),
                          static_cast<char>('0' + code / 10 % 10),
                          static_cast<char>('0' + code % 10), ' '};
    out.append(start, sizeof start);
    const auto reason = response.reason();
    out.append(reason.data(), reason.size());
    out += "\r\n";
    for (const auto& field : response) {
      const auto name = field.name_string();
      const auto value = field.value();
      out.append(name.data(), name.size());
      out += ": ";
      out.append(value.data(), value.size());
      out += "\r\n";
    }
    out += "\r\n";
  }

  void on_write(error_code ec) {
    response_.reset();
    if (phase_ == Phase::Closed) return;
    if (ec) return close_now();
    if (close_after_write_ || peer_gone_) return close_gracefully();
    if (watching_) {  // stop the disconnect watch before reading the next request
      resume_after_watch_ = true;
      error_code ignored;
      socket().cancel(ignored);
      return;
    }
    after_response();
  }

  void after_response() {
    if (peer_gone_ || server_->stopping) return close_gracefully();
    expires_after(opts().idle_timeout);
    wait_for_request();
  }

  /// Error answer for a request that cannot be read further; the connection closes after it.
  void reject(Status status, std::string_view code, std::string message) {
    reader_.reset();
    head_request_ = false;
    version_ = 11;
    keep_alive_ = false;
    send(make_error_response(status, code, message), /*close_after=*/true);
  }

  /// Gives up the slot first, so a client that sees EOF can count on the slot being free.
  void release_slot() {
    if (phase_ == Phase::Closed) return;
    const bool was_pending = phase_ == Phase::Handling;
    phase_ = Phase::Closed;
    server_->sessions.erase(this);
    release_client();
    if (was_pending && on_disconnect_) {
      auto callback = std::move(on_disconnect_);
      on_disconnect_ = nullptr;
      callback();
    }
    server_->maybe_finish_stop();
  }

  void close_now() {
    release_slot();
    error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    close_socket();
  }

  /// Half-closes, then discards what the client still sends (bounded in bytes and time) before
  /// closing. TLS: no close_notify is sent. Every response is length-delimited, so no client
  /// needs it to find the end of a response, and a close_notify exchange could not drain a
  /// client still sending a rejected body (the RST would destroy the response).
  void close_gracefully() {
    release_slot();
    error_code ignored;
    socket().shutdown(tcp::socket::shutdown_send, ignored);
    draining_ = true;
    drained_ = 0;
    drain_deadline_ = std::chrono::steady_clock::now() + kDrainTimeout;
    if (watching_) {  // only one read may be outstanding: on_watch() continues the drain
      socket().cancel(ignored);
      return;
    }
    drain();
  }

  void drain() {
    buffer_.clear();
    if (drained_ > kMaxDrainBytes || std::chrono::steady_clock::now() >= drain_deadline_) {
      close_socket();
      return;
    }
    set_deadline(drain_deadline_);
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = self()](error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec) return self->close_socket();
                              self->drain();
                            });
  }

  const std::string& remote() const { return remote_; }

  void release_client() {
    if (counted_peer_) server_->release_client(*counted_peer_);
    counted_peer_.reset();
  }

  std::string remote_text() const {
    error_code ec;
    auto ep = socket().remote_endpoint(ec);
    if (ec) return "?";
    return ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  std::shared_ptr<ssl::context> tls_context_;  // TLS only: must outlive stream_
  Stream stream_;
  net::steady_timer deadline_timer_;
  SteadyClock::time_point deadline_ = SteadyClock::time_point::max();
  SteadyClock::time_point timer_armed_for_{};
  bool timer_armed_ = false;
  std::uint64_t timer_generation_ = 0;
  bool timed_out_ = false;       // the deadline passed and closed the socket
  bool closed_socket_ = false;   // the socket is closed; only completions remain
  beast::flat_buffer buffer_;
  RequestReader reader_;  // the request being read
  std::optional<Response> response_;
  std::string head_;  // serialized status line and fields of response_ (reused per response)
  std::shared_ptr<Server::State> server_;
  Phase phase_ = Phase::Idle;
  bool first_request_ = true;
  bool watching_ = false;
  bool resume_after_watch_ = false;
  bool peer_gone_ = false;
  bool close_after_write_ = false;
  bool draining_ = false;
  std::chrono::steady_clock::time_point drain_deadline_{};
  bool head_request_ = false;
  std::string target_;  // of the request being answered, for on_response
  bool keep_alive_ = false;
  unsigned version_ = 11;
  std::uint64_t request_id_ = 0;
  std::size_t drained_ = 0;
  std::function<void()> on_disconnect_;
  std::string remote_;  // "address:port" of the peer, for logs
  std::optional<net::ip::address> peer_;
  std::optional<net::ip::address> counted_peer_;  // holds a per_client count until released
};

}  // namespace detail

// ---- Responder ---------------------------------------------------------------------------------

Responder::Responder(std::weak_ptr<detail::Session> session, std::uint64_t request_id)
    : session_(std::move(session)), request_id_(request_id) {}

Responder::Responder(Responder&& other) noexcept
    : session_(std::exchange(other.session_, {})), request_id_(other.request_id_) {}

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    answer_if_unused();
    session_ = std::exchange(other.session_, {});
    request_id_ = other.request_id_;
  }
  return *this;
}

Responder::~Responder() { answer_if_unused(); }

void Responder::answer_if_unused() {
  if (auto session = session_.lock(); session && session->pending(request_id_)) {
    session->respond(request_id_, make_error_response(Status::internal_server_error, "internal",
                                                      "request dropped without a response"));
  }
}

void Responder::operator()(Response response) {
  auto session = std::exchange(session_, {}).lock();
  if (session) session->respond(request_id_, std::move(response));
}

bool Responder::connected() const {
  auto session = session_.lock();
  return session && session->pending(request_id_);
}

std::optional<net::ip::address> Responder::peer() const {
  auto session = session_.lock();
  if (!session) return std::nullopt;
  return session->peer();
}

void Responder::on_disconnect(std::function<void()> callback) {
  if (auto session = session_.lock()) session->set_on_disconnect(request_id_, std::move(callback));
}

// ---- Server ------------------------------------------------------------------------------------

namespace {

void accept_next(const std::shared_ptr<Server::State>& state);

void reject_overloaded(tcp::socket socket, std::string_view answer = kOverloadedResponse) {
  // Best effort and non-blocking: the canned answer fits in any socket send buffer.
  error_code ec;
  socket.non_blocking(true, ec);
  socket.write_some(net::buffer(answer.data(), answer.size()), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

void on_accept(const std::shared_ptr<Server::State>& state, error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !state->acceptor.is_open()) return;
  if (ec) {
    // EMFILE and friends: back off briefly instead of spinning on the failing accept.
    state->log->warn("event=accept_failed error=\"{}\"", ec.message());
    auto timer = std::make_shared<net::steady_timer>(state->executor, std::chrono::milliseconds{100});
    timer->async_wait([state, timer](error_code) { accept_next(state); });
    return;
  }
  // Per client address, unless the peer is exempt (a trusted reverse proxy carries many).
  std::optional<net::ip::address> counted;
  bool over_client_limit = false;
  if (const auto limit = state->options.max_connections_per_client; limit > 0) {
    error_code peer_ec;
    const auto peer = socket.remote_endpoint(peer_ec);
    const bool exempt = !peer_ec && state->options.exempt_from_client_limit &&
                        state->options.exempt_from_client_limit(peer.address());
    if (!peer_ec && !exempt) {
      auto& open = state->per_client[peer.address()];
      if (open >= limit) {
        over_client_limit = true;
        state->log->warn("event=connection_rejected reason=max_connections_per_client limit={} "
                         "client={}",
                         limit, peer.address().to_string());
      } else {
        ++open;
        counted = peer.address();
      }
    }
  }
  const auto refuse = [&](std::string_view answer) {
    if (state->tls_context) {
      error_code ignored;
      socket.close(ignored);
    } else {
      reject_overloaded(std::move(socket), answer);
    }
  };
  if (over_client_limit) {
    refuse(kPerClientResponse);
  } else if (state->sessions.size() >= state->options.max_connections) {
    state->log->warn("event=connection_rejected reason=max_connections limit={}",
                     state->options.max_connections);
    if (counted) state->release_client(*counted);
    refuse(kOverloadedResponse);
  } else if (state->tls_context) {
    std::make_shared<detail::BasicSession<TlsStream>>(std::move(socket), state,
                                                      state->tls_context, std::move(counted))
        ->start();
  } else {
    std::make_shared<detail::BasicSession<PlainStream>>(std::move(socket), state,
                                                        std::move(counted))
        ->start();
  }
  accept_next(state);
}

void accept_next(const std::shared_ptr<Server::State>& state) {
  if (state->stopping || !state->acceptor.is_open()) return;
  state->acceptor.async_accept(state->executor, [state](error_code ec, tcp::socket socket) {
    on_accept(state, ec, std::move(socket));
  });
}

}  // namespace

Server::Server(net::any_io_executor executor, ServerOptions options, Handler handler)
    : state_(std::make_shared<State>(executor, std::move(options), std::move(handler))) {}

Server::~Server() {
  error_code ignored;
  state_->acceptor.close(ignored);
  state_->grace_timer.cancel();
}

void Server::start() {
  tcp::resolver resolver{state_->executor};
  auto results = resolver.resolve(state_->options.host, std::to_string(state_->options.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service);
  const tcp::endpoint endpoint = results.begin()->endpoint();
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol());
  acceptor.set_option(net::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(net::socket_base::max_listen_connections);
  state_->bound = acceptor.local_endpoint();
  accept_next(state_);
}

tcp::endpoint Server::local_endpoint() const { return state_->bound; }

std::size_t Server::connection_count() const { return state_->sessions.size(); }

bool Server::tls() const { return state_->options.tls.has_value(); }

std::optional<std::string> Server::reload_tls() {
  if (!state_->options.tls) return std::nullopt;
  try {
    state_->tls_context = load_tls_context(*state_->options.tls);
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

void Server::stop(Duration grace, std::function<void()> on_stopped) {
  auto& state = *state_;
  if (on_stopped) state.on_stopped = std::move(on_stopped);
  if (state.stopping) {
    state.maybe_finish_stop();
    return;
  }
  state.stopping = true;
  error_code ignored;
  state.acceptor.close(ignored);
  // Armed before anything can finish the stop, which cancels it again.
  state.grace_timer.expires_after(grace);
  state.grace_timer.async_wait([weak = std::weak_ptr<State>(state_)](error_code ec) {
    auto s = weak.lock();
    if (ec || !s) return;
    std::vector<std::shared_ptr<detail::Session>> remaining;
    for (auto* session : s->sessions) remaining.push_back(session->shared_from_this());
    if (!remaining.empty())
      s->log->warn("event=server_force_close connections={}", remaining.size());
    for (auto& session : remaining) session->force_close();
  });

  std::vector<std::shared_ptr<detail::Session>> idle;
  for (auto* session : state.sessions)
    if (session->idle()) idle.push_back(session->shared_from_this());
  for (auto& session : idle) session->force_close();
  state.log->info("event=server_stopping open_connections={} grace={}", state.sessions.size(),
                  format_duration(grace));

  state.maybe_finish_stop();
}

}  // namespace deployguard::http
