// The Notifier on a real io_context against the scripted HttpClient. Intervals and backoffs are
// a few milliseconds; the tests wait on the loop (run_until), never sleep.
#include "notify/notifier.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "common/scripted_http_client.hpp"
#include "common/temp_dir.hpp"

namespace deployguard::notify {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using deployguard::testing::header;
using deployguard::testing::response;
using deployguard::testing::run_until;
using deployguard::testing::ScriptedHttpClient;
using deployguard::testing::TempDir;
using deployguard::testing::transport_error;

class WallClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  }
};

const std::string kUrl = "https://hooks.example.test/services/T000/B000/XXXXSECRETPATH";

SinkSettings sink(std::string name, Format format = Format::Json) {
  SinkSettings s;
  s.name = std::move(name);
  s.format = format;
  s.events.insert(std::begin(kAllCategories), std::end(kAllCategories));
  s.min_interval_between = 200ms;
  s.url = kUrl + "/" + s.name;
  s.origin = http::origin_of(s.url).value();
  return s;
}

class NotifierTest : public ::testing::Test {
 protected:
  void make(std::vector<SinkSettings> sinks, NotifierOptions options = fast()) {
    notifier = std::make_unique<Notifier>(
        ioc.get_executor(), http, clock,
        [this](const std::string& env) -> std::optional<Decision> {
          if (env == "gone") return std::nullopt;
          Decision d;
          d.safe = safe;
          if (!safe) d.reasons.push_back(Reason{ReasonCode::Frozen, "frozen by alice", std::nullopt});
          d.evaluated_at = clock.now();
          return d;
        },
        std::move(options));
    notifier->configure(std::move(sinks));
  }

  static NotifierOptions fast() {
    NotifierOptions o;
    o.retry.initial_backoff = 5ms;
    o.retry.max_backoff = 20ms;
    o.retry.max_retry_after = 30ms;
    o.retry.max_attempts = 3;
    o.jitter = [] { return 0.0; };
    return o;
  }

  state::AuditRecord record(std::string action, std::string env = "prod",
                            Json new_value = nullptr) {
    return state::AuditRecord{clock.now(), std::move(env), "alice", std::move(action), nullptr,
                              std::move(new_value), nullptr};
  }

  SinkStats stats(const std::string& name) { return notifier->stats().at(name); }
  Json body(std::size_t i) { return Json::parse(http.requests().at(i).body); }

  boost::asio::io_context ioc;
  ScriptedHttpClient http{ioc};
  WallClock clock;
  bool safe = false;
  std::unique_ptr<Notifier> notifier;
};

TEST_F(NotifierTest, TheFirstEventIsPostedAtOnceSignedInItsFormat) {
  auto settings = sink("audit");
  settings.secret = "s3cret-key";
  make({settings});
  http.always("hooks.example.test", response(200, "ok"));
  notifier->observe(record("freeze.set", "prod", {{"reason", "incident"}}));
  ASSERT_TRUE(run_until(ioc, [&] { return stats("audit").sent == 1; }));
  ASSERT_EQ(http.requests().size(), 1u);
  const auto& request = http.requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, settings.url);
  EXPECT_FALSE(request.follow_redirects);
  EXPECT_EQ(header(request, "Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(header(request, "X-Deployguard-Signature"), signature("s3cret-key", request.body));
  EXPECT_EQ(body(0)["event"], "freeze");
  EXPECT_EQ(body(0)["decision"]["safe"], false);
  EXPECT_EQ(body(0)["detail"]["new"]["reason"], "incident");
  EXPECT_EQ(request.body.find("s3cret-key"), std::string::npos);
  EXPECT_EQ(request.body.find("SECRETPATH"), std::string::npos);
  EXPECT_EQ(stats("audit").queued, 0u);
}

TEST_F(NotifierTest, UnsignedSinksSendNoSignatureAndEachFormatItsShape) {
  make({sink("slack", Format::Slack), sink("teams", Format::Teams)});
  http.always("hooks.example.test", response(200, "ok"));
  notifier->observe(record("stop"));
  ASSERT_TRUE(run_until(ioc, [&] { return stats("slack").sent == 1 && stats("teams").sent == 1; }));
  ASSERT_EQ(http.requests().size(), 2u);
  for (const auto& r : http.requests()) {
    EXPECT_EQ(header(r, "X-Deployguard-Signature"), "");
    const Json b = Json::parse(r.body);
    if (r.url.ends_with("/slack")) EXPECT_TRUE(b.contains("blocks") && b.contains("text"));
    else EXPECT_EQ(b["type"], "message");
  }
}

TEST_F(NotifierTest, A503IsRetriedAfterABackoff) {
  make({sink("team")});
  http.once("hooks.example.test", response(503, "busy"));
  http.always("hooks.example.test", response(200, "ok"));
  notifier->observe(record("stop"));
  ASSERT_TRUE(run_until(ioc, [&] { return stats("team").sent == 1; }));
  EXPECT_EQ(http.requests().size(), 2u);
  EXPECT_EQ(http.requests()[0].body, http.requests()[1].body);
  EXPECT_EQ(stats("team").retried, 1u);
  EXPECT_EQ(stats("team").failed, 0u);
}

TEST_F(NotifierTest, RetryAfterIsHonouredUpToItsCap) {
  make({sink("team")});
  http.once("hooks.example.test", response(429, "", {{"Retry-After", "3600"}}));
  http.always("hooks.example.test", response(200, "ok"));
  const auto started = std::chrono::steady_clock::now();
  notifier->observe(record("stop"));
  ASSERT_TRUE(run_until(ioc, [&] { return stats("team").sent == 1; }));
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, 30ms);  // max_retry_after, not the 5 ms backoff
  EXPECT_LT(waited, 5s);
}

TEST_F(NotifierTest, AfterItsLastAttemptAMessageFailsAndTheNextOneIsSent) {
  make({sink("team")});
  http.always("/team", [](const http::HttpRequest& r) -> http::HttpResult {
    if (r.body.find("\"stop\"") != std::string::npos) return transport_error(http::HttpErrorKind::connect);
    return response(200, "ok");
  });
  notifier->observe(record("stop"));
  notifier->observe(record("freeze.set"));
  ASSERT_TRUE(run_until(ioc, [&] { return stats("team").sent == 1; }));
  EXPECT_EQ(stats("team").failed, 1u);
  EXPECT_EQ(stats("team").retried, 2u);
  EXPECT_EQ(http.requests().size(), 4u);  // 3 attempts, then the freeze
}

TEST_F(NotifierTest, AClientErrorIsNotRetried) {
  make({sink("team")});
  http.always("hooks.example.test", response(404, "no such hook"));
  notifier->observe(record("stop"));
  ASSERT_TRUE(run_until(ioc, [&] { return stats("team").failed == 1; }));
  EXPECT_EQ(http.requests().size(), 1u);
  EXPECT_EQ(stats("team").retried, 0u);
}

TEST_F(NotifierTest, AFlappingVerdictIsOneMessageAtOnceAndOneWithTheLatestStateLater) {
  make({sink("team")});
  http.always("hooks.example.test", response(200, "ok"));
  const Json unsafe = {{"safe", false}, {"reasons", {"frozen"}}};
  const Json ok = {{"safe", true}, {"reasons", Json::array()}};
  for (int i = 0; i < 5; ++i) {
    safe = i % 2 == 1;
    notifier->observe(record("decision.change", "prod", safe ? ok : unsafe));
  }
  ASSERT_TRUE(run_until(ioc, [&] { return stats("team").sent == 1; }));
  EXPECT_EQ(http.requests().size(), 1u);
  EXPECT_EQ(body(0)["detail"]["changes"], 1);
  EXPECT_EQ(stats("team").queued, 1u);  // held for the window's end
  ASSERT_TRUE(run_until(ioc, [&] { return stats("team").sent == 2; }));
  EXPECT_EQ(http.requests().size(), 2u);
  EXPECT_EQ(body(1)["event"], "verdict");
  EXPECT_EQ(body(1)["detail"]["changes"], 4);
  EXPECT_EQ(body(1)["decision"]["safe"], false);  // the fifth change: frozen
  EXPECT_EQ(body(1)["detail"]["new"], unsafe);
}

TEST_F(NotifierTest, AFullQueueDropsItsOldestMessage) {
  auto options = fast();
  options.queue_limit = 2;
  make({sink("team")}, options);
  // No rule yet: the first post stays in flight.
  for (const char* env : {"e1", "e2", "e3", "e4"}) notifier->observe(record("stop", env));
  EXPECT_EQ(stats("team").dropped, 1u);
  EXPECT_EQ(stats("team").queued, 3u);
  http.always("hooks.example.test", response(200, "ok"));
  ASSERT_TRUE(run_until(ioc, [&] { return http.pending() == 1; }));
  http.reply_pending(response(200, "ok"));
  ASSERT_TRUE(run_until(ioc, [&] { return stats("team").sent == 3; }));
  std::vector<std::string> envs;
  for (std::size_t i = 0; i < http.requests().size(); ++i)
    envs.push_back(body(i)["environment"].get<std::string>());
  EXPECT_EQ(envs, (std::vector<std::string>{"e1", "e3", "e4"}));
}

TEST_F(NotifierTest, SinksGetOnlyTheirCategoriesAndEnvironments) {
  auto freezes = sink("freezes");
  freezes.events = {Category::Freeze};
  auto staging = sink("staging");
  staging.environments = {"staging"};
  make({freezes, staging});
  http.always("hooks.example.test", response(200, "ok"));
  notifier->observe(record("freeze.set", "prod"));
  notifier->observe(record("stop", "prod"));
  notifier->observe(record("stop", "staging"));
  notifier->observe(record("lease.acquire", "staging"));
  ASSERT_TRUE(run_until(ioc, [&] { return stats("freezes").sent + stats("staging").sent == 2; }));
  ASSERT_EQ(http.requests().size(), 2u);
  EXPECT_TRUE(http.requests()[0].url.ends_with("/freezes"));
  EXPECT_EQ(body(0)["event"], "freeze");
  EXPECT_TRUE(http.requests()[1].url.ends_with("/staging"));
  EXPECT_EQ(body(1)["environment"], "staging");
}

TEST_F(NotifierTest, StopDropsWhatIsPendingAndCountsIt) {
  make({sink("team")});
  notifier->observe(record("stop", "e1"));  // in flight (no rule answers)
  notifier->observe(record("stop", "e2"));  // queued
  notifier->observe(record("decision.change", "e1"));
  notifier->observe(record("decision.change", "e1"));  // held by coalescing
  EXPECT_EQ(stats("team").queued, 4u);
  notifier->stop();
  EXPECT_EQ(stats("team").dropped, 4u);
  EXPECT_EQ(stats("team").queued, 0u);
  notifier->observe(record("stop", "e3"));
  http.reply_pending(response(200, "ok"));
  deployguard::testing::drain(ioc);  // the answer arrives and is ignored
  EXPECT_EQ(http.requests().size(), 1u);
  EXPECT_EQ(stats("team").sent, 0u);
}

TEST_F(NotifierTest, ConfigureKeepsAnUnchangedSinkAndReplacesAChangedOne) {
  make({sink("kept"), sink("changed")});
  notifier->observe(record("stop", "e1"));  // one in flight per sink
  EXPECT_EQ(http.pending(), 2u);
  auto changed = sink("changed");
  changed.min_interval_between = 1s;
  notifier->configure({sink("kept"), changed});
  EXPECT_EQ(stats("kept").dropped, 0u);
  EXPECT_EQ(stats("changed").dropped, 1u);
  http.reply_pending(response(200, "ok"));
  http.reply_pending(response(200, "ok"));
  ASSERT_TRUE(run_until(ioc, [&] { return stats("kept").sent == 1; }));
  EXPECT_EQ(stats("changed").sent, 0u);
  notifier->configure({});
  EXPECT_EQ(notifier->sinks(), 0u);
  EXPECT_EQ(stats("kept").sent, 1u);  // counters outlive the sink
}

TEST_F(NotifierTest, AnUnknownEnvironmentsVerdictCarriesTheRecordsOwnDecision) {
  make({sink("team")});
  http.always("hooks.example.test", response(200, "ok"));
  notifier->observe(record("decision.change", "gone", {{"safe", true}, {"reasons", Json::array()}}));
  ASSERT_TRUE(run_until(ioc, [&] { return stats("team").sent == 1; }));
  EXPECT_EQ(body(0)["decision"]["safe"], true);
}

TEST(LoadSinks, ReadsTheUrlAndSecretFilesAndNeverQuotesThem) {
  TempDir dir;
  const auto url = dir.write("url", "https://hooks.slack.com/services/T0/B0/SECRET\n");
  const auto secret = dir.write("secret", "signing-key\n");
  const auto junk = dir.write("junk", "not-a-url-SECRET\n");
  NotifyConfig team;
  team.name = "team";
  team.url_file = url.string();
  team.format = "slack";
  team.events = {"verdict", "freeze"};
  team.environments = {"prod"};
  NotifyConfig audit;
  audit.name = "audit";
  audit.url_file = url.string();
  audit.secret_file = secret.string();
  const auto sinks = load_sinks({team, audit});
  ASSERT_EQ(sinks.size(), 2u);
  EXPECT_EQ(sinks[0].url, "https://hooks.slack.com/services/T0/B0/SECRET");
  EXPECT_EQ(sinks[0].origin.to_string(), "https://hooks.slack.com:443");
  EXPECT_EQ(sinks[0].format, Format::Slack);
  EXPECT_EQ(sinks[0].events, (std::set<Category>{Category::Verdict, Category::Freeze}));
  EXPECT_EQ(sinks[0].environments, (std::set<std::string>{"prod"}));
  EXPECT_FALSE(sinks[0].secret);
  EXPECT_EQ(sinks[1].events.size(), std::size(kAllCategories));
  EXPECT_EQ(sinks[1].secret, "signing-key");

  NotifyConfig bad = team;
  bad.url_file = junk.string();
  try {
    load_sinks({team, bad});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("notify[1].url_file: ", 0), 0u) << e.what();
    EXPECT_EQ(std::string(e.what()).find("SECRET"), std::string::npos) << e.what();
  }
  bad.url_file = (dir.path() / "missing").string();
  EXPECT_THROW(load_sinks({bad}), std::runtime_error);
}

}  // namespace
}  // namespace deployguard::notify
