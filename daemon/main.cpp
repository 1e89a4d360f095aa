// deployguard: answers "is it safe to deploy to this environment right now?"
//
//   deployguard serve --config FILE [--log-level LEVEL] [--ready-fd N] [--move-corrupt-state]
//   deployguard check-config FILE
//   deployguard version
//   deployguard status | can-deploy | lease acquire|release | freeze | unfreeze | report busy
//     (client subcommands talking to a running daemon; see lib/cli/commands.hpp)
//
// Exceptions are expected only while starting (bad config, port in use); they end up here with a
// clear message and exit code 1.
#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "app/daemon_app.hpp"
#include "cli/commands.hpp"
#include "config/loader.hpp"

#ifndef DEPLOYGUARD_VERSION
#define DEPLOYGUARD_VERSION "0.0.0"
#endif

namespace {

using deployguard::config::LoadResult;

void print_errors(const std::string& file, const LoadResult& result) {
  for (const auto& error : result.errors) std::cerr << error.to_string() << '\n';
  std::cerr << file << ": " << result.errors.size() << " error"
            << (result.errors.size() == 1 ? "" : "s") << '\n';
}

int check_config(const std::string& file) {
  const auto result = deployguard::config::load_config_file(file);
  if (!result.ok()) {
    print_errors(file, result);
    return 1;
  }
  std::cout << file << ": OK\n";
  return 0;
}

int serve(const std::string& file, const std::optional<std::string>& log_level,
          std::optional<int> ready_fd, bool move_corrupt_state) {
  auto result = deployguard::config::load_config_file(file);
  if (!result.ok()) {
    print_errors(file, result);
    return 1;
  }
  deployguard::app::DaemonOptions options;
  options.log_level = log_level;
  options.move_corrupt_state = move_corrupt_state;
  options.config_path = file;  // SIGHUP re-reads it
  deployguard::app::DaemonApp app{std::move(*result.config), std::move(options)};
  app.start();
  if (ready_fd && !deployguard::app::write_ready_line(*ready_fd, app.listen_endpoint(),
                                                     app.webhook_endpoint()))
    throw std::runtime_error("cannot write to --ready-fd " + std::to_string(*ready_fd));
  return app.run();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"deployguard: is it safe to deploy to this environment right now?"};
  cli.require_subcommand(1);
  // Usage errors are one line, not CLI11's message plus "Run with --help ...".
  cli.failure_message(deployguard::cli::one_line_usage_error);

  std::string config_file;
  std::optional<std::string> log_level;
  std::optional<int> ready_fd;
  auto* serve_cmd = cli.add_subcommand("serve", "Run the daemon");
  serve_cmd->add_option("--config,-c", config_file, "Configuration file (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  serve_cmd->add_option("--log-level", log_level, "Override log.level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  serve_cmd->add_option("--ready-fd", ready_fd,
                        "Once listening, write {\"listen\":\"HOST:PORT\"} to this fd and close it")
      ->check(CLI::NonNegativeNumber);
  bool move_corrupt_state = false;
  serve_cmd->add_flag("--move-corrupt-state", move_corrupt_state,
                      "If the state file is corrupt, rename it aside (logged) and start empty "
                      "instead of refusing to start");

  std::string check_file;
  auto* check_cmd = cli.add_subcommand("check-config", "Validate a configuration file");
  check_cmd->add_option("FILE", check_file, "Configuration file (YAML)")->required();

  auto* version_cmd = cli.add_subcommand("version", "Print the version");

  // Client subcommands (status, can-deploy, lease, freeze, unfreeze, report) run from their
  // CLI11 callbacks during parse and leave their exit code here.
  int client_exit = -1;
  deployguard::cli::add_client_commands(cli, client_exit);

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; a usage error exits 2 (the CLI's "error" code).
    return cli.exit(e) == 0 ? 0 : 2;
  }
  if (client_exit >= 0) return client_exit;

  try {
    if (*serve_cmd) return serve(config_file, log_level, ready_fd, move_corrupt_state);
    if (*check_cmd) return check_config(check_file);
    if (*version_cmd) {
      std::cout << "deployguard " << DEPLOYGUARD_VERSION << '\n';
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "deployguard: error: " << e.what() << '\n';
    return 1;
  }
  return 1;
}
