// CIDR parsing and matching for server.trusted_proxies.
#include "core/cidr.hpp"

#include <gtest/gtest.h>

namespace deployguard {
namespace {

TEST(Cidr, MatchesAddressesInsideItsPrefixOnly) {
  const auto ten = Cidr::parse("10.0.0.0/8").value();
  EXPECT_TRUE(ten.contains("10.1.2.3"));
  EXPECT_TRUE(ten.contains("10.255.255.255"));
  EXPECT_FALSE(ten.contains("11.0.0.0"));
  EXPECT_FALSE(ten.contains("::1"));
  EXPECT_FALSE(ten.contains("not-an-ip"));
  // A dual-stack listener reports IPv4 peers mapped into IPv6.
  EXPECT_TRUE(ten.contains("::ffff:10.9.8.7"));
  const auto odd = Cidr::parse("192.168.4.0/22").value();
  EXPECT_TRUE(odd.contains("192.168.7.255"));
  EXPECT_FALSE(odd.contains("192.168.8.0"));
  const auto loopback6 = Cidr::parse("::1/128").value();
  EXPECT_TRUE(loopback6.contains("::1"));
  EXPECT_TRUE(loopback6.contains("[::1]"));
  EXPECT_FALSE(loopback6.contains("::2"));
  const auto single = Cidr::parse("203.0.113.5").value();
  EXPECT_EQ(single.to_string(), "203.0.113.5/32");
  EXPECT_TRUE(single.contains("203.0.113.5"));
  EXPECT_FALSE(single.contains("203.0.113.6"));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0").value().contains("8.8.8.8"));
  EXPECT_TRUE(Cidr::parse("fd00::/8").value().contains("fd12:3456::1"));
}

TEST(Cidr, RejectsMalformedNetworksWithAReason) {
  for (const char* bad : {"", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1", "10.0.0.0/33",
                          "::/129", "10.0.0.1/8", "host.example", "10.0.0.0/8/8", "1.2.3.4.5"}) {
    std::string why;
    EXPECT_FALSE(Cidr::parse(bad, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(Cidr, CanonicalIpFoldsMappedAddressesAndCompressesIpv6) {
  EXPECT_EQ(canonical_ip("::ffff:127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(canonical_ip("2001:0db8:0000::0001"), "2001:db8::1");
  EXPECT_EQ(canonical_ip("[::1]"), "::1");
  EXPECT_FALSE(canonical_ip("unknown"));
  EXPECT_FALSE(canonical_ip(""));
}

}  // namespace
}  // namespace deployguard
