#pragma once
// Client subcommands of the `deployguard` executable: status, can-deploy, lease, freeze,
// unfreeze, report, stabilize, stop. They talk to a running daemon over its HTTP API.
//
// Exit codes: 0 = success (safe / done), 1 = blocked (can-deploy, lease acquire), 2 = error
// (daemon unreachable, bad arguments, unexpected answer). Errors are one line on stderr.
#include <CLI/CLI.hpp>

namespace deployguard::cli {

/// Registers the client subcommands on `app`. After app.parse(), the selected subcommand has
/// run and `exit_code` holds its result.
void add_client_commands(CLI::App& app, int& exit_code);

}  // namespace deployguard::cli
