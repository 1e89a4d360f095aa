#pragma once
// The daemon config YAML most tests start from: listen on 127.0.0.1:0, state in the test's
// directory, GitHub behind a token file written there; the rest is the test's own YAML.
//
//   dir.write("config.yaml", daemon_config(dir, {.environments = "  staging:\n    github: ..."}));
#include <string>

#include "common/temp_dir.hpp"

namespace deployguard::testing {

// Every member has an initializer, so designated initializers may leave any of them out (no
// -Wmissing-field-initializers).
struct DaemonConfig {
  std::string listen = "127.0.0.1:0";
  /// More lines under `server:`, indented by 2.
  std::string server_extra{};
  /// Writes `allow_anonymous_mutations: true`: most tests are not about who may mutate and use
  /// no token; the tests of authorization set it false (the daemon's default).
  bool anonymous_mutations = true;
  /// Port 9 (discard) by default: nothing answers, and these tests must not reach out.
  std::string github_api_url = "http://127.0.0.1:9";
  /// Written to dir/github-token (with a newline) and named by github.token_file.
  std::string github_token = "test-token";
  /// More lines under `github:`, indented by 2.
  std::string github_extra{};
  /// The body of `azure:`, indented by 2; empty leaves the section out.
  std::string azure{};
  /// The body of `environments:`, indented by 2. Written last, so a test can append to it.
  std::string environments{};
  /// Top-level YAML before `server:` (e.g. a log section).
  std::string top_extra{};
};

/// The YAML for `config`, with state.path dir/state.json. Writes dir/github-token.
std::string daemon_config(const TempDir& dir, const DaemonConfig& config);

}  // namespace deployguard::testing
