#include "config/values.hpp"

#include <gtest/gtest.h>

namespace deployguard::config {
namespace {

TEST(ConfigParseSize, AcceptsBytesAndBinaryAndDecimalUnits) {
  EXPECT_EQ(parse_size("1024"), 1024u);
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("1024B"), 1024u);
  EXPECT_EQ(parse_size("16KiB"), 16u * 1024);
  EXPECT_EQ(parse_size("5MiB"), 5u * 1024 * 1024);
  EXPECT_EQ(parse_size("5 MiB"), 5u * 1024 * 1024);
  EXPECT_EQ(parse_size("1GiB"), 1024u * 1024 * 1024);
  EXPECT_EQ(parse_size("16KB"), 16000u);
  EXPECT_EQ(parse_size("5MB"), 5000000u);
}

TEST(ConfigParseSize, RejectsOtherForms) {
  for (const char* bad : {"", "MiB", "5mib", "5 megs", "-1", "1.5MiB", "5MiB ", " 5", "16 ",
                          "5  MiB", "99999999999999999999", "18446744073709551615KiB"}) {
    EXPECT_FALSE(parse_size(bad).has_value()) << bad;
  }
}

TEST(ConfigFormatSize, UsesLargestExactBinaryUnit) {
  EXPECT_EQ(format_size(5 * 1024 * 1024), "5MiB");
  EXPECT_EQ(format_size(16 * 1024), "16KiB");
  EXPECT_EQ(format_size(1536), "1536");
  EXPECT_EQ(format_size(0), "0");
  EXPECT_EQ(format_size(std::size_t{3} * 1024 * 1024 * 1024), "3GiB");
}

TEST(ConfigParseListen, AcceptsIpv4AndBracketedIpv6) {
  std::string why;
  auto a = parse_listen("127.0.0.1:8080", why);
  ASSERT_TRUE(a) << why;
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);

  a = parse_listen("0.0.0.0:0", why);
  ASSERT_TRUE(a) << why;
  EXPECT_EQ(a->port, 0);

  a = parse_listen("[::1]:65535", why);
  ASSERT_TRUE(a) << why;
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 65535);
  EXPECT_EQ(format_listen(*a), "[::1]:65535");
}

TEST(ConfigParseListen, ExplainsWhatIsWrong) {
  std::string why;
  EXPECT_FALSE(parse_listen("8080", why));
  EXPECT_EQ(why, "expected host:port like 127.0.0.1:8080 or [::1]:8080");
  EXPECT_FALSE(parse_listen(":8080", why));
  EXPECT_FALSE(parse_listen("127.0.0.1:65536", why));
  EXPECT_EQ(why, "port must be a number from 0 to 65535 (0 picks a free port)");
  EXPECT_FALSE(parse_listen("127.0.0.1:", why));
  EXPECT_FALSE(parse_listen("127.0.0.1:-1", why));
  EXPECT_FALSE(parse_listen("::1:8080", why));
  EXPECT_EQ(why, "IPv6 addresses must be written in brackets, like [::1]:8080");
  EXPECT_FALSE(parse_listen("localhost:8080", why));
  EXPECT_FALSE(parse_listen("[]:80", why));
  EXPECT_FALSE(parse_listen("[127.0.0.1]:80", why));
  EXPECT_FALSE(parse_listen("256.0.0.1:80", why));
}

TEST(ConfigRepo, OwnerSlashName) {
  EXPECT_TRUE(is_valid_repo("zimaxnet/engram"));
  EXPECT_TRUE(is_valid_repo("octo-org/my.repo_name-2"));
  for (const char* bad : {"", "engram", "/engram", "zimaxnet/", "a/b/c", "zimax net/engram",
                          "zimaxnet/..", "owner_x/name", "https://github.com/a/b"}) {
    EXPECT_FALSE(is_valid_repo(bad)) << bad;
  }
}

TEST(ConfigUrl, HttpAndHttpsWithHostTrailingSlashRemoved) {
  EXPECT_EQ(normalize_url("https://api.github.com"), "https://api.github.com");
  EXPECT_EQ(normalize_url("https://ghe.example.com/api/v3/"), "https://ghe.example.com/api/v3");
  EXPECT_EQ(normalize_url("http://127.0.0.1:9000"), "http://127.0.0.1:9000");
  for (const char* bad : {"", "api.github.com", "ftp://x", "https://", "https:///path",
                          "https://a b", "https://x/?q=1", "https://x/#f"}) {
    EXPECT_FALSE(normalize_url(bad).has_value()) << bad;
  }
}

TEST(ConfigNames, EnvVarEnvironmentAndApiVersion) {
  EXPECT_TRUE(is_valid_env_var_name("GITHUB_TOKEN"));
  EXPECT_TRUE(is_valid_env_var_name("_X1"));
  EXPECT_FALSE(is_valid_env_var_name("1X"));
  EXPECT_FALSE(is_valid_env_var_name("ghp_abc123"));  // a token pasted instead of a name
  EXPECT_FALSE(is_valid_env_var_name(""));

  EXPECT_TRUE(is_valid_environment_name("staging"));
  EXPECT_TRUE(is_valid_environment_name("prod-eu.1_a"));
  EXPECT_FALSE(is_valid_environment_name("prod eu"));
  EXPECT_FALSE(is_valid_environment_name("prod/eu"));
  EXPECT_FALSE(is_valid_environment_name(""));

  EXPECT_TRUE(is_valid_api_version("2024-08-01"));
  EXPECT_TRUE(is_valid_api_version("2025-02-02-preview"));
  EXPECT_FALSE(is_valid_api_version("2024-8-01"));
  EXPECT_FALSE(is_valid_api_version("2024-08-01-"));
  EXPECT_FALSE(is_valid_api_version("latest"));
}

TEST(ConfigEditDistance, CountsEditsAndTranspositions) {
  EXPECT_EQ(edit_distance("nmae", "name"), 1u);
  EXPECT_EQ(edit_distance("colldown", "cooldown"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
}

}  // namespace
}  // namespace deployguard::config
