// The internal JSON reader's conventions, which every parser relies on.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "parse/detail/json_reader.hpp"

namespace deployguard::parse::detail {
namespace {

TEST(Int64Text, StrictDecimal) {
  EXPECT_EQ(parse_int64_text("0"), 0);
  EXPECT_EQ(parse_int64_text("-12"), -12);
  EXPECT_EQ(parse_int64_text("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(parse_int64_text("9223372036854775808"), std::nullopt);
  EXPECT_EQ(parse_int64_text("+1"), std::nullopt);
  EXPECT_EQ(parse_int64_text(" 1"), std::nullopt);
  EXPECT_EQ(parse_int64_text("1 "), std::nullopt);
  EXPECT_EQ(parse_int64_text("1e3"), std::nullopt);
  EXPECT_EQ(parse_int64_text(""), std::nullopt);
}

TEST(ParseDocument, ErrorsGiveOffsetNotContent) {
  auto bad = parse_document(R"({"access_token":"abcSECRET)");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().path, "");
  EXPECT_EQ(bad.error_text().find("SECRET"), std::string::npos) << bad.error_text();
  EXPECT_NE(bad.error_text().find("invalid JSON at byte"), std::string::npos);
  EXPECT_FALSE(parse_document("").ok());
  EXPECT_FALSE(parse_document("{} trailing").ok());
  EXPECT_FALSE(parse_document("\"\xff\"").ok());  // invalid UTF-8
  EXPECT_TRUE(parse_document(" {\"a\":1} \n").ok());
}

TEST(Reader, OptionalRequiredAndPaths) {
  const auto doc = nlohmann::json::parse(R"({"a":{"b":[null,{"c":"7"}]},"n":null,"f":2.5,"u":18446744073709551615})");
  ErrorSink sink;
  Reader root(&doc, "", sink);
  EXPECT_EQ(root["a"]["b"][1]["c"].opt_int64(), 7);
  EXPECT_EQ(root["a"]["b"][1]["c"].path(), "a.b[1].c");
  EXPECT_EQ(root["a"]["b"][0]["c"].opt_int64(), std::nullopt);  // through null: absent
  EXPECT_EQ(root["n"].opt_str(), std::nullopt);
  EXPECT_EQ(root["zz"].str(), "");
  EXPECT_TRUE(sink.empty());
  EXPECT_EQ(root["n"].req_str(), std::nullopt);
  EXPECT_EQ(root["zz"].req_int64(), std::nullopt);
  EXPECT_EQ(root["f"].opt_int64(), std::nullopt);
  EXPECT_EQ(root["u"].opt_int64(), std::nullopt);
  EXPECT_EQ(root["a"].opt_array(), std::nullopt);
  EXPECT_EQ(root["f"].opt_number(), 2.5);
  const auto errors = sink.take();
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0].to_string(), "n: missing (null)");
  EXPECT_EQ(errors[1].to_string(), "zz: missing");
  EXPECT_EQ(errors[2].to_string(), "f: expected integer, got fractional number");
  EXPECT_EQ(errors[3].to_string(), "u: integer out of range");
  EXPECT_EQ(errors[4].to_string(), "a: expected array, got object");
}

TEST(Reader, ErrorCountIsBounded) {
  nlohmann::json doc = nlohmann::json::array();
  for (int i = 0; i < 1000; ++i) doc.push_back("x");
  ErrorSink sink;
  Reader root(&doc, "", sink);
  for (std::size_t i = 0; i < doc.size(); ++i) (void)root[i].opt_int64();
  EXPECT_EQ(sink.size(), 32u);
}

}  // namespace
}  // namespace deployguard::parse::detail
