// The route table: matching (placeholders, HEAD, 405 Allow lists), the webhook-only listener,
// body limits, metrics labels, and docs/api.md's route list, which must be the table's.
#include "api/routes.hpp"

#include <set>

#include <gtest/gtest.h>

#include "common/temp_dir.hpp"

namespace deployguard::api {
namespace {

using boost::beast::http::verb;

/// The matched route and the Allow list; its name/id views die with the local target, so tests
/// that read them match a target of their own.
RouteMatch match(verb method, std::string_view target, Listener listener = Listener::api) {
  const RequestTarget parsed(target);
  EXPECT_TRUE(parsed.ok()) << target;
  return match_route(method, parsed.segments(), listener);
}

TEST(RoutesTest, EveryRouteIsListedOnceAndMatchesItsOwnPattern) {
  std::set<std::pair<verb, std::string_view>> seen;
  std::set<RouteId> ids;
  for (const auto& route : routes()) {
    EXPECT_TRUE(seen.insert({route.method, route.pattern}).second) << route.pattern;
    EXPECT_TRUE(ids.insert(route.id).second) << route.pattern;
    std::string concrete(route.pattern);
    for (auto [from, to] : {std::pair<std::string, std::string>{"{name}", "staging"},
                            {"{id}", "abc"}}) {
      if (auto at = concrete.find(from); at != std::string::npos) concrete.replace(at, from.size(), to);
    }
    const auto m = match(route.method, concrete);
    ASSERT_NE(m.route, nullptr) << concrete;
    EXPECT_EQ(m.route->id, route.id) << concrete;
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(RouteId::webhook) + 1);
}

TEST(RoutesTest, PlaceholdersCaptureDecodedSegmentsAndNeverEmpty) {
  // name and id view into the target's decoded segments: the target must outlive the match.
  const RequestTarget target("/v1/environments/prod%2Deu/lease/l-1");
  ASSERT_TRUE(target.ok());
  const auto m = match_route(verb::delete_, target.segments());
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->id, RouteId::lease_release);
  EXPECT_EQ(m.name, "prod-eu");
  EXPECT_EQ(m.id, "l-1");
  EXPECT_EQ(match(verb::delete_, "/v1/environments/prod/lease/").route, nullptr);
  EXPECT_EQ(match(verb::get, "/v1/environments/").route, nullptr);
  EXPECT_EQ(match(verb::get, "/v1/environments/a/b/c/d/e/f").route, nullptr);
}

TEST(RoutesTest, HeadIsGetAndAWrongMethodListsTheRightOnes) {
  auto head = match(verb::head, "/can-deploy?env=staging");
  ASSERT_NE(head.route, nullptr);
  EXPECT_EQ(head.route->id, RouteId::can_deploy);

  auto put = match(verb::put, "/v1/environments/staging/freeze");
  EXPECT_EQ(put.route, nullptr);
  EXPECT_EQ(put.allow, "POST, DELETE");
  EXPECT_EQ(match(verb::post, "/healthz").allow, "GET, HEAD");
  EXPECT_EQ(match(verb::get, "/webhooks/github").allow, "POST");
  EXPECT_EQ(match(verb::get, "/nowhere").allow, "");
}

TEST(RoutesTest, TheWebhookListenerServesOnlyTheWebhook) {
  auto hook = match(verb::post, "/webhooks/github", Listener::webhook);
  ASSERT_NE(hook.route, nullptr);
  EXPECT_EQ(hook.route->id, RouteId::webhook);
  EXPECT_EQ(match(verb::get, "/can-deploy", Listener::webhook).route, nullptr);
  EXPECT_EQ(match(verb::post, "/v1/environments/staging/stop", Listener::webhook).allow, "");
}

TEST(RoutesTest, BodyLimitComesFromTheRouteOfThePathAndMethod) {
  EXPECT_EQ(body_limit_of(verb::post, "/webhooks/github"), BodyLimit::webhook);
  EXPECT_EQ(body_limit_of(verb::post, "/webhooks/git%68ub?x=1"), BodyLimit::webhook);
  EXPECT_EQ(body_limit_of(verb::get, "/webhooks/github"), BodyLimit::api);
  EXPECT_EQ(body_limit_of(verb::post, "/v1/environments/s/lease"), BodyLimit::api);
  EXPECT_EQ(body_limit_of(verb::post, "http://x/webhooks/github"), BodyLimit::api);
}

TEST(RoutesTest, MetricsLabelsAreBoundedPatterns) {
  EXPECT_EQ(route_label("/can-deploy?env=a"), "/can-deploy");
  EXPECT_EQ(route_label("/v1/environments/prod"), "/v1/environments/{name}");
  EXPECT_EQ(route_label("/v1/environments/prod/lease/x1"), "/v1/environments/{name}/lease/{id}");
  EXPECT_EQ(route_label("/v1/environments/prod/stop"), "/v1/environments/{name}/stop");
  EXPECT_EQ(route_label("/v1/environments/prod/unknown"), "(other)");
  EXPECT_EQ(route_label("/wp-admin/x%41"), "(other)");
  EXPECT_EQ(route_label(""), "(none)");
}

TEST(RoutesTest, RequestTargetDecodesParamsOnEitherPath) {
  const RequestTarget plain("/can-deploy?env=staging&wait=5");
  EXPECT_EQ(plain.param("env"), "staging");
  EXPECT_EQ(plain.param("wait"), "5");
  EXPECT_EQ(plain.param("x"), std::nullopt);
  const RequestTarget encoded("/can-deploy?env=prod%20eu");
  EXPECT_EQ(encoded.param("env"), "prod eu");
  EXPECT_EQ(encoded.path(), "/can-deploy");
  EXPECT_FALSE(RequestTarget("/can-deploy?env=%zz").ok());
  EXPECT_FALSE(RequestTarget("http://example.com/can-deploy").ok());
}

TEST(RoutesTest, DocsApiListsExactlyTheTable) {
  EXPECT_EQ(deployguard::testing::generated_block(std::string(DEPLOYGUARD_SOURCE_DIR) + "/docs/api.md", "routes"),
            route_list_markdown())
      << "replace the route list in docs/api.md with:\n"
      << route_list_markdown();
}

}  // namespace
}  // namespace deployguard::api
