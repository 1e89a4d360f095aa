#include "upstream/upstream_pollers.hpp"

#include <random>
#include <stdexcept>
#include <utility>

#include "upstream/arm_api.hpp"
#include "upstream/azure_sources.hpp"

namespace deployguard::upstream {

UpstreamPollers::UpstreamPollers(boost::asio::io_context& ioc, const Config& config,
                                 http::HttpClient& client, EventSink& sink,
                                 const Clock& wall_clock, UpstreamOptions options) {
  SourcePoller::Random random = options.random;
  if (!random) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    random = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
  }
  const auto policy_for = [&](Duration interval) {
    SchedulePolicy p;
    p.interval = interval;
    p.max_backoff = config.http_client.max_backoff;
    p.rate_limit_min_wait = options.rate_limit_min_wait;
    p.jitter = options.jitter;
    return p;
  };
  const auto add = [&](const std::string& env, std::unique_ptr<PolledSource> source,
                       Duration interval) {
    pollers_.push_back(std::make_unique<SourcePoller>(ioc, env, std::move(source), sink,
                                                      policy_for(interval),
                                                      options.min_refresh_spacing, random));
  };

  for (const auto& [name, env] : config.environments) {
    if (env.github) {
      if (!config.github)
        throw std::runtime_error("environments." + name + ".github needs the top-level github section");
      if (!github_api_) {
        github_api_ = std::make_shared<GitHubApi>(ioc, client, *config.github, wall_clock,
                                                  options.github_tokens);
        github_api_->set_rate_limit_min_wait(options.rate_limit_min_wait);
      }
      GitHubSourceKey key{config.github->api_url, config.github->token_file,
                          config.github->token_env, *env.github};
      auto source = std::make_unique<GitHubSource>(github_api_, *config.github, name, *env.github,
                                                   sink, options.github);
      if (auto kept = options.github_states.find(name);
          kept != options.github_states.end() && kept->second.key == key)
        source->restore_poll_cache(std::move(kept->second.cache));
      github_sources_[name] = GitHubEntry{std::move(key), source.get()};
      add(name, std::move(source), config.github->poll_interval);
    }
    if (env.container_app || !env.postgres_servers.empty()) {
      if (!config.azure)
        throw std::runtime_error("environments." + name + " watches Azure resources but the "
                                 "top-level azure section is missing");
      if (!arm_api_) {
        azure_tokens_ = options.azure_tokens
                            ? options.azure_tokens
                            : std::shared_ptr<TokenProvider>(make_token_provider(
                                  ioc, client, *config.azure, wall_clock, options.credentials));
        arm_api_ = std::make_shared<ArmApi>(ioc, client, *azure_tokens_, wall_clock,
                                            config.azure->arm_url);
      }
      if (env.container_app)
        add(name,
            std::make_unique<ContainerAppSource>(arm_api_, *config.azure, name, *env.container_app,
                                                 sink, options.max_revision_pages),
            config.azure->poll_interval);
      for (const auto& server : env.postgres_servers)
        add(name, std::make_unique<PostgresSource>(arm_api_, *config.azure, name, server, sink),
            config.azure->poll_interval);
    }
  }
}

UpstreamPollers::~UpstreamPollers() { stop(); }

void UpstreamPollers::start() {
  for (auto& p : pollers_) p->start();
}

void UpstreamPollers::stop() {
  for (auto& p : pollers_) p->stop();
}

bool UpstreamPollers::refresh_now(const std::string& environment, std::string_view source) {
  bool any = false;
  for (auto& p : pollers_) {
    if (p->environment() != environment) continue;
    if (!source.empty() && p->source().id() != source) continue;
    any = p->refresh_now() || any;
  }
  return any;
}

std::vector<SourceStats> UpstreamPollers::stats() const {
  std::vector<SourceStats> out;
  out.reserve(pollers_.size());
  for (const auto& p : pollers_) out.push_back(p->stats());
  return out;
}

SourcePoller* UpstreamPollers::poller(const std::string& environment, std::string_view source) {
  for (auto& p : pollers_)
    if (p->environment() == environment && p->source().id() == source) return p.get();
  return nullptr;
}

GitHubSourceStates UpstreamPollers::github_states() const {
  GitHubSourceStates out;
  for (const auto& [env, entry] : github_sources_)
    out.emplace(env, GitHubSourceState{entry.key, entry.source->poll_cache()});
  return out;
}

}  // namespace deployguard::upstream
