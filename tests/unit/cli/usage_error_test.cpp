// Usage errors are one line that names the subcommand's --help; the real binary's exit code is checked in tests/integration (CliTest).
#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/commands.hpp"

namespace deployguard::cli {
namespace {

/// Parses `args` with the client subcommands and returns the failure message (empty: none).
std::string usage_error(std::vector<std::string> args) {
  CLI::App app{"test"};
  app.require_subcommand(1);
  app.failure_message(one_line_usage_error);
  int exit_code = -1;
  add_client_commands(app, exit_code);
  std::reverse(args.begin(), args.end());  // CLI11 takes the vector form back to front
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    EXPECT_NE(app.exit(e, out, err), 0);
    EXPECT_TRUE(out.str().empty());
    return err.str();
  }
  return "";
}

TEST(UsageError, MissingRequiredOptionIsOneLineNamingTheSubcommand) {
  EXPECT_EQ(usage_error({"can-deploy"}), "deployguard: --env is required (see deployguard can-deploy --help)\n");
  EXPECT_EQ(usage_error({"lease", "acquire", "--env", "staging"}),
            "deployguard: --holder is required (see deployguard lease acquire --help)\n");
}

TEST(UsageError, BadValueAndUnknownArgumentAreOneLine) {
  for (const auto& args : {std::vector<std::string>{"lease", "acquire", "--env", "s", "--holder", "h", "--run-id", "abc"},
                           std::vector<std::string>{"status", "--bogus"},
                           std::vector<std::string>{"nonsense"},
                           std::vector<std::string>{}}) {
    const std::string err = usage_error(args);
    EXPECT_EQ(err.rfind("deployguard: ", 0), 0u) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_EQ(err.find("Run with --help"), std::string::npos) << err;
  }
  EXPECT_NE(usage_error({"lease", "acquire", "--env", "s", "--holder", "h", "--run-id", "abc"}).find("--run-id"),
            std::string::npos);
}

}  // namespace
}  // namespace deployguard::cli
