// logging::escape: what an untrusted value looks like in a log line.
#include "log/escape.hpp"

#include <gtest/gtest.h>

namespace deployguard::logging {
namespace {

TEST(Escape, OrdinaryValuesReadAsThemselves) {
  EXPECT_EQ(escape(""), "");
  EXPECT_EQ(escape("acme/shop main .github/workflows/deploy.yml"),
            "acme/shop main .github/workflows/deploy.yml");
  EXPECT_EQ(escape("Déploiement ✓ 部署"), "Déploiement ✓ 部署") << "valid UTF-8 passes through";
}

TEST(Escape, LineBreaksCannotStartAForgedLine) {
  const auto out = escape("main\n2025-12-31T19:03:58.123Z info [guard] event=decision safe=true\r");
  EXPECT_EQ(out, "main\\n2025-12-31T19:03:58.123Z info [guard] event=decision safe=true\\r");
  EXPECT_EQ(out.find_first_of("\r\n"), std::string::npos);
  EXPECT_EQ(escape("a\tb"), "a\\tb");
}

TEST(Escape, QuotesAndBackslashesCannotCloseAQuotedValue) {
  EXPECT_EQ(escape(R"(x" outcome="applied)"), R"(x\" outcome=\"applied)");
  EXPECT_EQ(escape(R"(C:\temp\)"), R"(C:\\temp\\)");
}

TEST(Escape, OtherControlCharactersBecomeHex) {
  EXPECT_EQ(escape("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m") << "no terminal escape survives";
  EXPECT_EQ(escape(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(escape("\x07\x08\x0b\x0c\x7f"), "\\x07\\x08\\x0b\\x0c\\x7f");
}

TEST(Escape, UnicodeLineSeparatorsAndC1ControlsAreEscaped) {
  EXPECT_EQ(escape("a\u2028b\u2029c"), "a\\u2028b\\u2029c");
  EXPECT_EQ(escape("\xc2\x85"), "\\u0085") << "NEL";
  EXPECT_EQ(escape("\xc2\x9b" "31m"), "\\u009b31m") << "the one-byte CSI";
}

TEST(Escape, InvalidUtf8BytesBecomeHex) {
  EXPECT_EQ(escape("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(escape("\xc3"), "\\xc3") << "a truncated sequence";
  EXPECT_EQ(escape("\xc0\xaf"), "\\xc0\\xaf") << "an overlong '/'";
  EXPECT_EQ(escape("\xed\xa0\x80"), "\\xed\\xa0\\x80") << "a surrogate";
  EXPECT_EQ(escape("ok\xe2\x82"), "ok\\xe2\\x82");
}

TEST(Escape, EveryByteValueGivesPrintableOutput) {
  for (int b = 0; b < 256; ++b) {
    const std::string in(1, static_cast<char>(b));
    const auto out = escape(in);
    for (unsigned char c : out) EXPECT_TRUE(c >= 0x20 && c < 0x7F) << "byte " << b << " -> " << out;
  }
}

}  // namespace
}  // namespace deployguard::logging
