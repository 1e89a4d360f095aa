// FakeUpstreamServer: the HTTP/1.1 shell around FakeUpstream. One io_context, one thread,
// async Beast sessions with keep-alive. The FakeUpstream core, the scenario timers and the
// long-poll waiters are only touched from that thread.
#pragma once

#include "scenario.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace deployguard::fake {

class FakeUpstreamServer {
 public:
  struct Options {
    std::string address = "127.0.0.1";
    std::uint16_t port = 0;            // 0 = pick a free port
    std::optional<Scenario> scenario;  // initial state + timeline, started by run()/start()
    bool log_requests = true;          // one line per request on stderr
  };

  // Binds and listens immediately, so port() is valid on return. Throws
  // boost::system::system_error when the address cannot be bound.
  explicit FakeUpstreamServer(Options options);
  ~FakeUpstreamServer();
  FakeUpstreamServer(const FakeUpstreamServer&) = delete;
  FakeUpstreamServer& operator=(const FakeUpstreamServer&) = delete;

  std::uint16_t port() const;
  std::string listen_address() const;  // "127.0.0.1:PORT"

  // Serves on the calling thread until stop() or SIGINT/SIGTERM.
  void run();
  // Serves on a background thread (for tests embedding the server). Any thread may call stop().
  void start();
  void stop();

  class Impl;  // opaque; public only so the .cpp's session class can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace deployguard::fake
