#include "http/client/proxy.hpp"

#include <gtest/gtest.h>

#include "http/client/http_client.hpp"

namespace deployguard::http {
namespace {

TEST(NoProxyTest, EmptyListMatchesNothing) {
  EXPECT_FALSE(no_proxy_matches("", "example.com", 443));
  EXPECT_FALSE(no_proxy_matches(" , ,", "example.com", 443));
}

TEST(NoProxyTest, StarMatchesEverything) {
  EXPECT_TRUE(no_proxy_matches("*", "example.com", 443));
  EXPECT_TRUE(no_proxy_matches("foo.com, *", "127.0.0.1", 80));
}

TEST(NoProxyTest, DomainMatchesItselfAndSubdomainsOnLabelBoundary) {
  for (const char* entry : {"example.com", ".example.com", "*.example.com"}) {
    SCOPED_TRACE(entry);
    EXPECT_TRUE(no_proxy_matches(entry, "example.com", 443));
    EXPECT_TRUE(no_proxy_matches(entry, "api.example.com", 443));
    EXPECT_TRUE(no_proxy_matches(entry, "a.b.example.com", 443));
    EXPECT_FALSE(no_proxy_matches(entry, "notexample.com", 443));
    EXPECT_FALSE(no_proxy_matches(entry, "example.com.evil.net", 443));
  }
}

TEST(NoProxyTest, CaseWhitespaceAndTrailingDotsAreIgnored) {
  EXPECT_TRUE(no_proxy_matches("  foo.org ,  Example.COM  ", "API.example.com", 443));
  EXPECT_TRUE(no_proxy_matches("example.com.", "example.com", 443));
  EXPECT_TRUE(no_proxy_matches("example.com", "example.com.", 443));
}

TEST(NoProxyTest, HostPortEntryMatchesOnlyThatPort) {
  EXPECT_TRUE(no_proxy_matches("example.com:8443", "example.com", 8443));
  EXPECT_FALSE(no_proxy_matches("example.com:8443", "example.com", 443));
  EXPECT_TRUE(no_proxy_matches("10.0.0.1:80", "10.0.0.1", 80));
  EXPECT_FALSE(no_proxy_matches("10.0.0.1:80", "10.0.0.1", 81));
}

TEST(NoProxyTest, IpLiteralsMatchExactly) {
  EXPECT_TRUE(no_proxy_matches("10.1.2.3", "10.1.2.3", 443));
  EXPECT_FALSE(no_proxy_matches("10.1.2.3", "10.1.2.30", 443));
  EXPECT_TRUE(no_proxy_matches("::1", "::1", 443));
  EXPECT_TRUE(no_proxy_matches("::1", "[::1]", 443));
  EXPECT_TRUE(no_proxy_matches("[::1]:8080", "::1", 8080));
  EXPECT_FALSE(no_proxy_matches("[::1]:8080", "::1", 8081));
  EXPECT_TRUE(no_proxy_matches("2001:db8::1", "2001:DB8:0::1", 443));  // same address
}

TEST(NoProxyTest, CidrRangesMatchIpHostsOnly) {
  EXPECT_TRUE(no_proxy_matches("10.0.0.0/8", "10.200.3.4", 443));
  EXPECT_FALSE(no_proxy_matches("10.0.0.0/8", "11.0.0.1", 443));
  EXPECT_TRUE(no_proxy_matches("192.168.1.0/24", "192.168.1.77", 443));
  EXPECT_FALSE(no_proxy_matches("192.168.1.0/24", "192.168.2.1", 443));
  EXPECT_TRUE(no_proxy_matches("192.168.1.128/25", "192.168.1.200", 443));
  EXPECT_FALSE(no_proxy_matches("192.168.1.128/25", "192.168.1.100", 443));
  EXPECT_TRUE(no_proxy_matches("fd00::/8", "fd12::1", 443));
  EXPECT_FALSE(no_proxy_matches("fd00::/8", "fe80::1", 443));
  EXPECT_FALSE(no_proxy_matches("10.0.0.0/8", "ten.example.com", 443));
  EXPECT_FALSE(no_proxy_matches("10.0.0.0/8", "::1", 443));
}

TEST(NoProxyTest, LoopbackIsNotImplicitlyExcluded) {
  EXPECT_FALSE(no_proxy_matches("example.com", "127.0.0.1", 80));
  EXPECT_FALSE(no_proxy_matches("example.com", "localhost", 80));
  EXPECT_TRUE(no_proxy_matches("localhost,127.0.0.1", "127.0.0.1", 80));
}

TEST(ProxyUrlTest, ParsesHostPortAndDefaults) {
  auto with_scheme = parse_proxy_url("http://proxy.corp:3128");
  ASSERT_TRUE(std::holds_alternative<ProxyEndpoint>(with_scheme));
  EXPECT_EQ(std::get<ProxyEndpoint>(with_scheme).host, "proxy.corp");
  EXPECT_EQ(std::get<ProxyEndpoint>(with_scheme).port, 3128);
  EXPECT_FALSE(std::get<ProxyEndpoint>(with_scheme).authorization.has_value());

  auto bare = parse_proxy_url(" Proxy.Corp ");
  ASSERT_TRUE(std::holds_alternative<ProxyEndpoint>(bare));
  EXPECT_EQ(std::get<ProxyEndpoint>(bare).host, "proxy.corp");
  EXPECT_EQ(std::get<ProxyEndpoint>(bare).port, 80);

  auto v6 = parse_proxy_url("http://[::1]:8080/");
  ASSERT_TRUE(std::holds_alternative<ProxyEndpoint>(v6));
  EXPECT_EQ(std::get<ProxyEndpoint>(v6).host, "::1");
}

TEST(ProxyUrlTest, UserinfoBecomesBasicAuthorizationPercentDecoded) {
  auto parsed = parse_proxy_url("http://alice:p%40ss@10.0.0.1:8080");
  ASSERT_TRUE(std::holds_alternative<ProxyEndpoint>(parsed));
  const auto& proxy = std::get<ProxyEndpoint>(parsed);
  EXPECT_EQ(proxy.authorization, "Basic " + base64_encode("alice:p@ss"));
  EXPECT_EQ(proxy.key().find("p@ss"), std::string::npos);
}

TEST(ProxyUrlTest, RejectsUnsupportedOrBrokenUrlsWithoutEchoingSecrets) {
  auto https = parse_proxy_url("https://user:topsecret@proxy:443");
  ASSERT_TRUE(std::holds_alternative<ProxyParseError>(https));
  EXPECT_EQ(std::get<ProxyParseError>(https).message.find("topsecret"), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<ProxyParseError>(parse_proxy_url("http://proxy:99999")));
  EXPECT_TRUE(std::holds_alternative<ProxyParseError>(parse_proxy_url("http://")));
}

TEST(SelectProxyTest, PicksVariableBySchemeAndHonoursNoProxy) {
  ProxyEnvironment env{.http_proxy = "http://plain:3128",
                       .https_proxy = "http://secure:3129",
                       .no_proxy = ".internal,localhost"};
  auto https = select_proxy(env, "https", "api.github.com", 443);
  ASSERT_TRUE(std::holds_alternative<ProxyEndpoint>(https));
  EXPECT_EQ(std::get<ProxyEndpoint>(https).host, "secure");
  auto plain = select_proxy(env, "http", "api.github.com", 80);
  ASSERT_TRUE(std::holds_alternative<ProxyEndpoint>(plain));
  EXPECT_EQ(std::get<ProxyEndpoint>(plain).host, "plain");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(select_proxy(env, "https", "db.internal", 443)));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(select_proxy(env, "http", "localhost", 80)));
}

TEST(SelectProxyTest, UnsetVariableMeansDirectAndBrokenVariableIsAnError) {
  ProxyEnvironment only_http{.http_proxy = "http://plain:3128", .https_proxy = "", .no_proxy = ""};
  EXPECT_TRUE(std::holds_alternative<std::monostate>(select_proxy(only_http, "https", "x.com", 443)));
  ProxyEnvironment broken{.http_proxy = "", .https_proxy = "socks5://p:1080", .no_proxy = ""};
  EXPECT_TRUE(std::holds_alternative<ProxyParseError>(select_proxy(broken, "https", "x.com", 443)));
}

TEST(Base64Test, MatchesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(HttpResponseTest, HeaderLookupIsCaseInsensitiveAndReturnsFirst) {
  HttpResponse res;
  res.headers = {{"Content-Type", "application/json"}, {"X-Multi", "1"}, {"x-multi", "2"}};
  EXPECT_EQ(res.header("content-type"), "application/json");
  EXPECT_EQ(res.header("X-MULTI"), "1");
  EXPECT_FALSE(res.header("Location").has_value());
}

}  // namespace
}  // namespace deployguard::http
