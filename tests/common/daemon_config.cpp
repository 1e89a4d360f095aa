#include "common/daemon_config.hpp"

namespace deployguard::testing {

std::string daemon_config(const TempDir& dir, const DaemonConfig& config) {
  const auto token = dir.write("github-token", config.github_token + "\n");
  std::string yaml = config.top_extra;
  yaml += "server:\n  listen: " + config.listen + "\n" + config.server_extra;
  if (config.anonymous_mutations) yaml += "  allow_anonymous_mutations: true\n";
  yaml += "state:\n  path: " + dir.file("state.json") + "\n";
  yaml += "github:\n  api_url: " + config.github_api_url + "\n  token_file: " + token.string() +
          "\n" + config.github_extra;
  if (!config.azure.empty()) yaml += "azure:\n" + config.azure;
  yaml += "environments:\n" + config.environments;
  return yaml;
}

}  // namespace deployguard::testing
