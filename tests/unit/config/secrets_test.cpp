#include "config/secrets.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "common/temp_dir.hpp"

namespace deployguard::config {
namespace {

class ConfigSecrets : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* old = std::getenv("CREDENTIALS_DIRECTORY")) saved_credentials_ = old;
    ::unsetenv("CREDENTIALS_DIRECTORY");
  }
  void TearDown() override {
    if (saved_credentials_) {
      ::setenv("CREDENTIALS_DIRECTORY", saved_credentials_->c_str(), 1);
    } else {
      ::unsetenv("CREDENTIALS_DIRECTORY");
    }
  }
  std::string write(const std::string& name, const std::string& content) {
    return dir_.write(name, content).string();
  }

  deployguard::testing::TempDir dir_;
  std::optional<std::string> saved_credentials_;
};

TEST_F(ConfigSecrets, ReadsFileAndStripsTrailingNewline) {
  std::string error;
  EXPECT_EQ(read_secret_file(write("a", "s3cret\n"), error), "s3cret");
  EXPECT_EQ(read_secret_file(write("b", "s3cret\r\n"), error), "s3cret");
  EXPECT_EQ(read_secret_file(write("c", "s3cret"), error), "s3cret");
  // Only the trailing newline goes; other bytes are the secret's.
  EXPECT_EQ(read_secret_file(write("d", " with space \n"), error), " with space ");
  EXPECT_EQ(read_secret_file(write("e", "line1\nline2\n"), error), "line1\nline2");
}

TEST_F(ConfigSecrets, MissingEmptyOrOversizedFileIsAnErrorWithoutTheValue) {
  std::string error;
  const std::string missing = dir_.file("missing");
  EXPECT_FALSE(read_secret_file(missing, error));
  EXPECT_EQ(error, "cannot read secret file \"" + missing + "\": No such file or directory");

  EXPECT_FALSE(read_secret_file(write("empty", "\n"), error));
  EXPECT_NE(error.find("is empty"), std::string::npos) << error;

  const std::string big = write("big", std::string(64 * 1024 + 1, 'x'));
  EXPECT_FALSE(read_secret_file(big, error));
  EXPECT_NE(error.find("larger than 64KiB"), std::string::npos) << error;
  EXPECT_EQ(error.find("xxxx"), std::string::npos);

  EXPECT_FALSE(read_secret_file(dir_.path().string(), error));
  EXPECT_NE(error.find("is a directory"), std::string::npos) << error;
}

TEST_F(ConfigSecrets, RelativePathsResolveInCredentialsDirectory) {
  write("github-token", "from-credentials\n");
  EXPECT_EQ(resolve_secret_path("github-token"), "github-token");  // not set: as given
  ::setenv("CREDENTIALS_DIRECTORY", dir_.path().c_str(), 1);
  EXPECT_EQ(resolve_secret_path("github-token"), dir_.file("github-token"));
  EXPECT_EQ(resolve_secret_path("/etc/x"), "/etc/x");  // absolute paths are untouched
  std::string error;
  EXPECT_EQ(read_secret_file("github-token", error), "from-credentials") << error;

  EXPECT_FALSE(read_secret_file("absent", error));
  EXPECT_NE(error.find(dir_.file("absent")), std::string::npos) << error;
}

TEST_F(ConfigSecrets, EnvironmentVariables) {
  std::string error;
  ::setenv("DEPLOYGUARD_TEST_SECRET", "tok\n", 1);
  EXPECT_EQ(read_secret_env("DEPLOYGUARD_TEST_SECRET", error), "tok");
  ::setenv("DEPLOYGUARD_TEST_SECRET", "", 1);
  EXPECT_FALSE(read_secret_env("DEPLOYGUARD_TEST_SECRET", error));
  EXPECT_EQ(error, "environment variable DEPLOYGUARD_TEST_SECRET is empty");
  ::unsetenv("DEPLOYGUARD_TEST_SECRET");
  EXPECT_FALSE(read_secret_env("DEPLOYGUARD_TEST_SECRET", error));
  EXPECT_EQ(error, "environment variable DEPLOYGUARD_TEST_SECRET is not set");
}

TEST_F(ConfigSecrets, ReadSecretPicksTheConfiguredSource) {
  std::string error;
  ::setenv("DEPLOYGUARD_TEST_SECRET", "from-env", 1);
  EXPECT_EQ(read_secret(write("f", "from-file\n"), std::nullopt, error), "from-file");
  EXPECT_EQ(read_secret(std::nullopt, std::string("DEPLOYGUARD_TEST_SECRET"), error), "from-env");
  EXPECT_FALSE(read_secret(std::nullopt, std::nullopt, error));
  EXPECT_FALSE(error.empty());
  ::unsetenv("DEPLOYGUARD_TEST_SECRET");
}

TEST_F(ConfigSecrets, SecretLinesSkipBlankLinesAndTrim) {
  std::string error;
  const auto lines = read_secret_lines(write("tokens", "first\n\n  second \r\n\t\nthird"), error);
  EXPECT_EQ(lines, (std::vector<std::string>{"first", "second", "third"}));

  EXPECT_TRUE(read_secret_lines(write("blank", "\n \n"), error).empty());
  EXPECT_NE(error.find("no non-blank line"), std::string::npos) << error;

  EXPECT_TRUE(read_secret_lines(dir_.file("missing"), error).empty());
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
}

}  // namespace
}  // namespace deployguard::config
