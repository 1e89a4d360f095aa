#pragma once
// Client subcommands of the `deployguard` executable: status, can-deploy, lease, freeze,
// unfreeze, report, stabilize, stop. They talk to a running daemon over its HTTP API.
//
// Threads: with --wait on a terminal, a ticker thread redraws the progress line while the main
// thread blocks in the long-poll (ProgressLine in commands.cpp says who owns what).
//
// Exit codes: 0 = success (safe / done), 1 = blocked (can-deploy, lease acquire), 2 = error
// (daemon unreachable, bad arguments, unexpected answer). Errors are one line on stderr.
#include <CLI/CLI.hpp>

namespace deployguard::cli {

/// Registers the client subcommands on `app`. After app.parse(), the selected subcommand has
/// run and `exit_code` holds its result.
void add_client_commands(CLI::App& app, int& exit_code);

/// CLI11 failure message for usage errors (missing option, bad value, unknown argument): one line,
/// "deployguard: --env is required (see deployguard can-deploy --help)", instead of CLI11's
/// default second line. `app` is the top-level app; the hint names the deepest subcommand given.
/// Install with app.failure_message(one_line_usage_error).
std::string one_line_usage_error(const CLI::App* app, const CLI::Error& error);

}  // namespace deployguard::cli
