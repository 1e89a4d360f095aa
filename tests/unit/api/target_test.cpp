// The /can-deploy fast path splits targets without boost::urls; for every target it accepts it
// must agree with boost::urls (path and every parameter lookup), and it must refuse every
// target that needs decoding or that boost::urls rejects.
#include "api/target.hpp"

#include <string>
#include <vector>

#include <boost/url/parse.hpp>
#include <gtest/gtest.h>

namespace deployguard::api {
namespace {

std::optional<std::string> boost_param(const boost::urls::url_view& url, std::string_view key) {
  auto params = url.params();
  auto it = params.find(key);
  if (it == params.end()) return std::nullopt;
  return std::string((*it).value);
}

const std::vector<std::string> kTargets = {
    "/can-deploy",
    "/can-deploy?",
    "/can-deploy?env=staging",
    "/can-deploy?env=staging&wait=600",
    "/can-deploy?wait=600&env=staging",
    "/can-deploy?env=",
    "/can-deploy?env",
    "/can-deploy?env&env=second",
    "/can-deploy?env=first&env=second",
    "/can-deploy?&&env=a&&",
    "/can-deploy?environment=x&env=y",
    "/can-deploy?ENV=upper",
    "/can-deploy?env=a=b",
    "/can-deploy?env=a?b/c:d@e",
    "/can-deploy?env=it's(ok)*,;!$~",
    "/can-deploy?env=a+b",
    "/can-deploy?env=a%20b",
    "/can-deploy?%65nv=encoded-key",
    "/can-deploy?env=a#fragment",
    "/can-deploy?env=a b",
    "/can-deploy?env=a\"b",
    "/can-deploy?env=<x>",
    "/can-deploy?env={x}",
    "/can-deploy?env=a|b",
    "/can-deploy?env=a\\b",
    "/can-deploy?env=caf\xc3\xa9",
    "/can-deploy/",
    "/can-deploy/?env=a",
    "//can-deploy?env=a",
    "/can%2Ddeploy?env=a",
    "/CAN-DEPLOY?env=a",
    "can-deploy?env=a",
    "*",
    "",
    "/v1/status",
    "/healthz?x=1",
};

TEST(PlainTarget, AgreesWithBoostUrlsOnEveryTargetItAccepts) {
  int accepted = 0;
  for (const auto& target : kTargets) {
    SCOPED_TRACE(target);
    const auto plain = plain_target(target);
    const auto parsed = boost::urls::parse_origin_form(target);
    if (!plain) continue;
    ++accepted;
    ASSERT_TRUE(parsed) << "accepted a target that boost::urls rejects";
    EXPECT_EQ(plain->path, parsed->path());
    for (std::string_view key : {"env", "wait", "ENV", "environment", "", "x"}) {
      const auto mine = plain_query_param(*plain, key);
      const auto theirs = boost_param(*parsed, key);
      ASSERT_EQ(mine.has_value(), theirs.has_value()) << "key " << key;
      if (mine) {
        EXPECT_EQ(std::string(*mine), *theirs) << "key " << key;
      }
    }
  }
  EXPECT_GE(accepted, 20);
}

TEST(PlainTarget, RefusesWhatNeedsDecodingOrIsNotAUrl) {
  for (const char* target :
       {"/can-deploy?env=a+b", "/can-deploy?env=a%20b", "/can-deploy?%65nv=x",
        "/can%2Ddeploy?env=a", "/can-deploy?env=a#f", "/can-deploy?env=a b",
        "/can-deploy?env=<x>", "/can-deploy?env=caf\xc3\xa9", "can-deploy", "*", ""}) {
    EXPECT_FALSE(plain_target(target)) << target;
  }
}

TEST(PlainTarget, FirstMatchingParameterWins) {
  auto plain = plain_target("/can-deploy?env&env=second");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->path, "/can-deploy");
  auto env = plain_query_param(*plain, "env");
  ASSERT_TRUE(env);
  EXPECT_EQ(*env, "");
  EXPECT_FALSE(plain_query_param(*plain, "wait"));
  auto twice = plain_target("/can-deploy?env=first&env=second");
  ASSERT_TRUE(twice);
  EXPECT_EQ(plain_query_param(*twice, "env"), "first");
  auto bare = plain_target("/can-deploy");
  ASSERT_TRUE(bare);
  EXPECT_FALSE(bare->has_query);
  EXPECT_FALSE(plain_query_param(*bare, ""));
}

}  // namespace
}  // namespace deployguard::api
