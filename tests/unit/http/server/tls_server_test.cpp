// http::Server in TLS mode against real sockets on 127.0.0.1:0, with a throw-away CA and server
// certificates generated per test (tests/common/test_pki.*). The server runs on its own
// io thread; the test thread is the client. Every wait is bounded; nothing sleeps.
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <gtest/gtest.h>

#include "common/run_on_io.hpp"
#include "common/temp_dir.hpp"
#include "common/test_http_client.hpp"
#include "common/test_pki.hpp"
#include "http/server/server.hpp"

namespace deployguard::http {
namespace {

using namespace std::chrono_literals;
using deployguard::testing::TestHttpClient;
using deployguard::testing::KeyAndCert;
using deployguard::testing::make_ca;
using deployguard::testing::make_leaf;
using deployguard::testing::write_file;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using error_code = boost::system::error_code;

void echo(Request&& req, Responder respond) {
  Response res{Status::ok, 11};
  res.body() = std::string(req.method_string()) + " " + std::string(req.target());
  respond(std::move(res));
}

/// Blocking HTTPS client for one connection: every step runs on a private io_context with a
/// bounded run_for, so a misbehaving server fails the test instead of hanging it.
class TlsClient {
 public:
  TlsClient(std::uint16_t port, const std::string& ca_pem,
            std::optional<int> max_version = std::nullopt)
      : context_(ssl::context::tls_client) {
    context_.set_verify_mode(ssl::verify_peer);
    context_.add_certificate_authority(boost::asio::buffer(ca_pem));
    if (max_version) SSL_CTX_set_max_proto_version(context_.native_handle(), *max_version);
    stream_ = std::make_unique<Stream>(io_, context_);
    stream_->set_verify_callback(ssl::host_name_verification("localhost"));
    error_ = run([&](auto done) {
      boost::beast::get_lowest_layer(*stream_).async_connect(
          boost::asio::ip::tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), port},
          [this, done](error_code ec) {
            if (ec) return done(ec);
            stream_->async_handshake(ssl::stream_base::client, done);
          });
    });
  }

  /// Empty if connected and the handshake succeeded.
  const error_code& error() const { return error_; }

  std::optional<bhttp::response<bhttp::string_body>> get(const std::string& target) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "localhost");
    bhttp::response<bhttp::string_body> res;
    boost::beast::flat_buffer buffer;
    error_ = run([&](auto done) {
      bhttp::async_write(*stream_, req, [&, done](error_code ec, std::size_t) {
        if (ec) return done(ec);
        bhttp::async_read(*stream_, buffer, res, [done](error_code rec, std::size_t) { done(rec); });
      });
    });
    if (error_) return std::nullopt;
    return res;
  }

  /// Common name of the certificate the server presented.
  std::string peer_common_name() {
    X509* cert = SSL_get1_peer_certificate(stream_->native_handle());
    if (cert == nullptr) return "";
    char name[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
    X509_free(cert);
    return name;
  }

 private:
  using Stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  template <class Start>
  error_code run(Start start) {
    std::optional<error_code> result;
    io_.restart();
    start([&result](error_code ec) { result = ec; });
    io_.run_for(5s);
    if (!result) {
      boost::beast::get_lowest_layer(*stream_).close();
      return boost::asio::error::timed_out;
    }
    return *result;
  }

  boost::asio::io_context io_;
  ssl::context context_;
  std::unique_ptr<Stream> stream_;
  error_code error_;
};

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = make_ca("deployguard test CA");
    install_leaf("server-1");
  }

  void TearDown() override {
    io_.stop();
    if (io_thread_.joinable()) io_thread_.join();
    server_.reset();
  }

  /// Writes a new server certificate (signed by ca_) and key over cert.pem / key.pem.
  void install_leaf(const std::string& common_name) {
    const auto leaf = make_leaf(ca_, common_name, "DNS:localhost,IP:127.0.0.1");
    write_file(cert_path(), leaf.cert_pem);
    write_file(key_path(), leaf.key_pem);
  }

  std::filesystem::path cert_path() const { return dir_.path() / "cert.pem"; }
  std::filesystem::path key_path() const { return dir_.path() / "key.pem"; }

  ServerOptions tls_options() {
    ServerOptions options;
    options.tls = TlsFiles{cert_path().string(), key_path().string()};
    return options;
  }

  void start(ServerOptions options) {
    server_ = std::make_unique<Server>(io_.get_executor(), std::move(options), echo);
    server_->start();
    port_ = server_->local_endpoint().port();
    io_thread_ = std::thread([this] { io_.run(); });
  }

  /// Runs `fn` on the io thread and waits for it.
  template <class F>
  auto on_io(F fn) {
    return deployguard::testing::run_on_io(io_, std::move(fn));
  }

  std::unique_ptr<TlsClient> connect() { return std::make_unique<TlsClient>(port_, ca_.cert_pem); }

  deployguard::testing::TempDir dir_;
  KeyAndCert ca_;
  boost::asio::io_context io_;
  std::unique_ptr<Server> server_;
  std::thread io_thread_;
  std::uint16_t port_ = 0;
};

TEST_F(TlsServerTest, HandshakeVerifiesAgainstTheCaAndServesRequests) {
  start(tls_options());
  EXPECT_TRUE(server_->tls());
  auto client = connect();
  ASSERT_FALSE(client->error()) << client->error().message();
  EXPECT_EQ(client->peer_common_name(), "server-1");
  auto first = client->get("/hello");
  ASSERT_TRUE(first) << client->error().message();
  EXPECT_EQ(first->result_int(), 200);
  EXPECT_EQ(first->body(), "GET /hello");
  // Keep-alive works over TLS as over plain HTTP.
  auto second = client->get("/again");
  ASSERT_TRUE(second) << client->error().message();
  EXPECT_EQ(second->body(), "GET /again");
  EXPECT_EQ(on_io([&] { return server_->connection_count(); }), 1u);
}

TEST_F(TlsServerTest, RefusesTlsBelow1_2) {
  start(tls_options());
  TlsClient old_client(port_, ca_.cert_pem, TLS1_1_VERSION);
  EXPECT_TRUE(old_client.error());
  auto client = connect();
  EXPECT_FALSE(client->error()) << client->error().message();
}

TEST_F(TlsServerTest, SilentClientIsCutOffAtTheHandshakeDeadline) {
  auto options = tls_options();
  options.read_timeout = 200ms;
  start(options);
  auto silent = TestHttpClient{"127.0.0.1", port_};  // connects, never says hello
  EXPECT_TRUE(silent.wait_closed(5s));
  EXPECT_EQ(on_io([&] { return server_->connection_count(); }), 0u);
}

TEST_F(TlsServerTest, PlainHttpClientIsClosedWithoutHurtingOtherConnections) {
  start(tls_options());
  auto good = connect();
  ASSERT_FALSE(good->error()) << good->error().message();

  auto garbage = TestHttpClient{"127.0.0.1", port_};
  ASSERT_TRUE(garbage.send_raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(garbage.wait_closed(5s));

  auto res = good->get("/still-fine");
  ASSERT_TRUE(res) << good->error().message();
  EXPECT_EQ(res->body(), "GET /still-fine");
  auto fresh = connect();
  ASSERT_FALSE(fresh->error()) << fresh->error().message();
  EXPECT_TRUE(fresh->get("/new"));
}

TEST_F(TlsServerTest, UnreadableOrMismatchedFilesAreFatalAtStartup) {
  auto missing = tls_options();
  missing.tls->cert_file = dir_.file("nope.pem");
  try {
    Server server(io_.get_executor(), missing, echo);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.pem"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }

  write_file(dir_.path() / "garbage.pem", "not a certificate\n");
  auto garbage = tls_options();
  garbage.tls->cert_file = dir_.file("garbage.pem");
  try {
    Server server(io_.get_executor(), garbage, echo);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("garbage.pem"), std::string::npos) << e.what();
  }

  // A key from another certificate.
  const auto other = make_leaf(ca_, "other", "DNS:localhost");
  write_file(dir_.path() / "other-key.pem", other.key_pem);
  auto mismatch = tls_options();
  mismatch.tls->key_file = dir_.file("other-key.pem");
  try {
    Server server(io_.get_executor(), mismatch, echo);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("mismatch"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("other-key.pem"), std::string::npos) << e.what();
  }
}

TEST_F(TlsServerTest, FailedReloadKeepsTheOldCertificate) {
  start(tls_options());
  write_file(cert_path(), "-----BEGIN CERTIFICATE-----\ntruncated\n");
  const auto error = on_io([&] { return server_->reload_tls(); });
  ASSERT_TRUE(error);
  EXPECT_NE(error->find(cert_path().string()), std::string::npos) << *error;

  auto client = connect();
  ASSERT_FALSE(client->error()) << client->error().message();
  EXPECT_EQ(client->peer_common_name(), "server-1");
  EXPECT_TRUE(client->get("/x"));
}

TEST_F(TlsServerTest, ReloadServesTheNewCertificateToNewConnectionsOnly) {
  start(tls_options());
  auto before = connect();
  ASSERT_FALSE(before->error()) << before->error().message();
  EXPECT_EQ(before->peer_common_name(), "server-1");

  install_leaf("server-2");
  EXPECT_EQ(on_io([&] { return server_->reload_tls(); }), std::nullopt);

  auto after = connect();
  ASSERT_FALSE(after->error()) << after->error().message();
  EXPECT_EQ(after->peer_common_name(), "server-2");
  EXPECT_TRUE(after->get("/new"));
  // The connection accepted before the reload carries on.
  auto res = before->get("/old");
  ASSERT_TRUE(res) << before->error().message();
  EXPECT_EQ(res->body(), "GET /old");
}

TEST_F(TlsServerTest, PlainServerHasNothingToReload) {
  start({});
  EXPECT_FALSE(server_->tls());
  EXPECT_EQ(on_io([&] { return server_->reload_tls(); }), std::nullopt);
}

TEST_F(TlsServerTest, GracefulStopClosesIdleTlsConnections) {
  start(tls_options());
  auto client = connect();
  ASSERT_FALSE(client->error()) << client->error().message();
  ASSERT_TRUE(client->get("/x"));
  std::promise<void> stopped;
  on_io([&] {
    server_->stop(5s, [&] { stopped.set_value(); });
    return 0;
  });
  EXPECT_EQ(stopped.get_future().wait_for(5s), std::future_status::ready);
}

}  // namespace
}  // namespace deployguard::http
