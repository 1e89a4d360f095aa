#include "webhook/signature.hpp"

#include <gtest/gtest.h>

#include "webhook/dedupe.hpp"

using namespace deployguard::webhook;

// The worked example from GitHub's "Validating webhook deliveries" documentation.
TEST(Signature, MatchesGitHubDocumentedExample) {
  EXPECT_EQ(hmac_sha256_hex("It's a Secret to Everybody", "Hello, World!"),
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  EXPECT_TRUE(verify_signature(
      "Hello, World!", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
      {"It's a Secret to Everybody"}));
}

TEST(Signature, RejectsWrongMissingAndMalformed) {
  const std::string body = R"({"zen":"x"})";
  const std::string good = "sha256=" + hmac_sha256_hex("s3cret", body);
  EXPECT_TRUE(verify_signature(body, good, {"s3cret"}));
  EXPECT_FALSE(verify_signature(body, good, {"other"}));
  EXPECT_FALSE(verify_signature(body + " ", good, {"s3cret"}));
  EXPECT_FALSE(verify_signature(body, "", {"s3cret"}));
  EXPECT_FALSE(verify_signature(body, "sha1=" + hmac_sha256_hex("s3cret", body), {"s3cret"}));
  EXPECT_FALSE(verify_signature(body, good.substr(0, good.size() - 1), {"s3cret"}));
  EXPECT_FALSE(verify_signature(body, good, {}));
  EXPECT_FALSE(verify_signature(body, good, {""}));
}

TEST(Signature, AnyOfSeveralSecretsDuringRotation) {
  const std::string body = "payload";
  const std::string sig = "sha256=" + hmac_sha256_hex("new", body);
  EXPECT_TRUE(verify_signature(body, sig, {"old", "new"}));
  EXPECT_TRUE(verify_signature(body, sig, {"new", "old"}));
  std::string upper = sig;
  for (std::size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  EXPECT_TRUE(verify_signature(body, upper, {"new"}));
}

TEST(Dedupe, RemembersBoundedNumberOfIds) {
  DeliveryDeduper d(3);
  EXPECT_TRUE(d.first_time("a"));
  EXPECT_FALSE(d.first_time("a"));
  EXPECT_TRUE(d.first_time("b"));
  EXPECT_TRUE(d.first_time("c"));
  EXPECT_TRUE(d.first_time("d"));  // forgets "a"
  EXPECT_EQ(d.size(), 3u);
  EXPECT_FALSE(d.first_time("d"));
  EXPECT_TRUE(d.first_time("a"));
}
