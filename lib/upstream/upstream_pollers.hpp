#pragma once
// The façade the daemon builds: one SourcePoller per source per environment ("github",
// "container_app", "postgres/<name>"), one shared GitHubApi (one token and rate-limit budget)
// and one shared ArmApi/TokenProvider.
//
// Wiring (daemon): build after the HttpClient and the GuardService, on the same io_context:
//   UpstreamPollers pollers(ioc, config, http_client, sink, system_clock);
//   pollers.start();                         // first polls right away
//   webhook handler: pollers.refresh_now(env, "github");
//   shutdown: pollers.stop() before the HttpClient is shut down.
// `sink` adapts GuardService: apply() -> policy.apply(event, now) (+ persistence/metrics),
// runs_to_classify()/mark_classification_started() -> the env's EnvironmentPolicy.
//
// Threading: single event loop; construct, call and destroy on the io_context thread.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "core/config.hpp"
#include "core/time.hpp"
#include "http/client/http_client.hpp"
#include "upstream/arm_api.hpp"
#include "upstream/azure_credentials.hpp"
#include "upstream/event_sink.hpp"
#include "upstream/github_source.hpp"
#include "upstream/source_poller.hpp"

namespace deployguard::upstream {

/// Everything a GitHub source's ETags and resolved workflow ids depend on. A rebuilt set of
/// pollers keeps a source's GitHubPollCache only when its key is unchanged: another API, token
/// or target starts fresh.
struct GitHubSourceKey {
  std::string api_url;
  std::optional<std::string> token_file;
  std::optional<std::string> token_env;
  GitHubTarget target;

  bool operator==(const GitHubSourceKey&) const = default;
};

struct GitHubSourceState {
  GitHubSourceKey key;
  GitHubPollCache cache;
};
/// By environment name.
using GitHubSourceStates = std::map<std::string, GitHubSourceState>;

struct UpstreamOptions {
  CredentialEnvironment credentials = CredentialEnvironment::from_process_environment();
  /// Replaces the provider built from azure.auth (tests, or a daemon sharing one provider).
  std::shared_ptr<TokenProvider> azure_tokens;
  /// Replaces the GitHub token read from github.token_file/token_env.
  GitHubApi::TokenSource github_tokens;
  GitHubSourceOptions github;
  int max_revision_pages = 20;
  Duration min_refresh_spacing = std::chrono::seconds{1};
  double jitter = 0.1;
  Duration rate_limit_min_wait = std::chrono::minutes{1};
  /// Uniform draws in [0, 1) for jitter; default: a std::mt19937_64 seeded from random_device.
  SourcePoller::Random random;
  /// The GitHub sources' state from the pollers this set replaces (config reload, see
  /// UpstreamPollers::github_states()): an environment whose GitHubSourceKey is unchanged
  /// starts with it, so its first poll is conditional.
  GitHubSourceStates github_states;
};

class UpstreamPollers {
 public:
  /// Throws std::runtime_error for unusable configuration (an environment with a github section
  /// but no top-level github, Azure resources without azure, incomplete azure.auth).
  /// `client`, `sink` and `wall_clock` must outlive this object.
  UpstreamPollers(boost::asio::io_context& ioc, const Config& config, http::HttpClient& client,
                  EventSink& sink, const Clock& wall_clock, UpstreamOptions options = {});
  ~UpstreamPollers();
  UpstreamPollers(const UpstreamPollers&) = delete;
  UpstreamPollers& operator=(const UpstreamPollers&) = delete;

  /// Starts every poller; each polls right away, then on its own schedule.
  void start();
  /// Stops every poller; in-flight polls finish silently.
  void stop();
  /// Immediate poll of one source ("github", "container_app", "postgres/<name>"), or of all the
  /// environment's sources when `source` is empty. False when there is no such source or the
  /// poller declined (stopped, or failing and backing off). See SourcePoller::refresh_now.
  bool refresh_now(const std::string& environment, std::string_view source = {});

  std::vector<SourceStats> stats() const;
  /// The poller of one source, or nullptr (tests, metrics).
  SourcePoller* poller(const std::string& environment, std::string_view source);
  /// The conditional-request state of every GitHub source, to pass to the set that replaces
  /// this one (UpstreamOptions::github_states).
  GitHubSourceStates github_states() const;

  /// The shared adapters (null when github / azure is not configured), for remediation's
  /// mutating calls: one token and one rate-limit budget with the pollers.
  std::shared_ptr<GitHubApi> github_api() const { return github_api_; }
  std::shared_ptr<ArmApi> arm_api() const { return arm_api_; }
  /// What arm_api() refers to; hold it as long as the ArmApi is used.
  std::shared_ptr<TokenProvider> azure_tokens() const { return azure_tokens_; }

 private:
  std::shared_ptr<GitHubApi> github_api_;
  std::shared_ptr<TokenProvider> azure_tokens_;
  std::shared_ptr<ArmApi> arm_api_;
  std::vector<std::unique_ptr<SourcePoller>> pollers_;
  struct GitHubEntry {
    GitHubSourceKey key;
    const GitHubSource* source;  // owned by pollers_
  };
  std::map<std::string, GitHubEntry> github_sources_;  // by environment
};

}  // namespace deployguard::upstream
