#include "upstream/azure_sources.hpp"

#include <utility>
#include <vector>

#include "parse/azure.hpp"
#include "upstream/url.hpp"

namespace deployguard::upstream {
namespace {

std::string resource_group_url(const AzureConfig& config, const std::string& rg) {
  std::string base = config.arm_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/subscriptions/" + encode_query_value(config.subscription_id) +
         "/resourceGroups/" + encode_query_value(rg);
}

}  // namespace

// ---- ContainerAppSource ---------------------------------------------------------------------

struct ContainerAppSource::PollRun {
  std::function<void(PollStatus)> done;
  ContainerAppSnapshot app;
  std::vector<RevisionSnapshot> revisions;
};

ContainerAppSource::ContainerAppSource(std::shared_ptr<ArmApi> arm, const AzureConfig& config,
                                       std::string environment, AzureResourceRef app,
                                       EventSink& sink, int max_revision_pages)
    : arm_(std::move(arm)), env_(std::move(environment)), app_(std::move(app)), sink_(sink),
      max_pages_(max_revision_pages), id_(std::string(kContainerAppSource)) {
  const std::string base = resource_group_url(config, app_.resource_group) +
                           "/providers/Microsoft.App/containerApps/" +
                           encode_query_value(app_.name);
  const std::string version = "?api-version=" + encode_query_value(config.api_versions.container_apps);
  app_url_ = base + version;
  revisions_url_ = base + "/revisions" + version;
}

void ContainerAppSource::poll(std::function<void(PollStatus)> done) {
  auto run = std::make_shared<PollRun>();
  run->done = std::move(done);
  arm_->get(app_url_, stats_, [this, alive = guard_.watch(), run](ArmResult r) {
    if (alive.expired()) return;
    if (!r.status.ok) return run->done(r.status);
    auto app = parse::parse_container_app(r.response->body);
    if (!app) return run->done(PollStatus::failure("container app: " + app.error_text()));
    run->app = std::move(app.value());
    if (run->app.name.empty()) run->app.name = app_.name;
    fetch_revisions(run, revisions_url_, 1);
  });
}

void ContainerAppSource::fetch_revisions(std::shared_ptr<PollRun> run, std::string url, int page) {
  arm_->get(std::move(url), stats_, [this, alive = guard_.watch(), run, page](ArmResult r) {
    if (alive.expired()) return;
    if (!r.status.ok) return run->done(r.status);
    auto parsed = parse::parse_revisions_page(r.response->body);
    if (!parsed) return run->done(PollStatus::failure("revisions: " + parsed.error_text()));
    for (auto& rev : parsed->revisions) run->revisions.push_back(std::move(rev));
    if (parsed->next_link && !parsed->next_link->empty()) {
      if (page >= max_pages_)
        return run->done(PollStatus::failure("revisions: more than " +
                                             std::to_string(max_pages_) + " pages"));
      // Permanent: the environment closes now rather than serve old data until it is stale.
      if (auto refused = refuse_foreign_origin("ARM nextLink", *parsed->next_link, arm_->arm_url(),
                                               "the ARM token"))
        return run->done(PollStatus::failure("revisions: " + *refused, FailureKind::permanent));
      return fetch_revisions(run, *parsed->next_link, page + 1);
    }
    sink_.apply(env_, ContainerAppPolled{std::move(run->app), std::move(run->revisions)});
    run->done(PollStatus::success());
  });
}

// ---- PostgresSource -------------------------------------------------------------------------

PostgresSource::PostgresSource(std::shared_ptr<ArmApi> arm, const AzureConfig& config,
                               std::string environment, AzureResourceRef server, EventSink& sink)
    : arm_(std::move(arm)), env_(std::move(environment)), server_(std::move(server)), sink_(sink),
      id_(postgres_source(server_.name)) {
  url_ = resource_group_url(config, server_.resource_group) +
         "/providers/Microsoft.DBforPostgreSQL/flexibleServers/" + encode_query_value(server_.name) +
         "?api-version=" + encode_query_value(config.api_versions.postgres);
}

void PostgresSource::poll(std::function<void(PollStatus)> done) {
  arm_->get(url_, stats_, [this, alive = guard_.watch(), done = std::move(done)](ArmResult r) {
    if (alive.expired()) return;
    if (!r.status.ok) return done(r.status);
    auto server = parse::parse_postgres_server(r.response->body);
    if (!server) return done(PollStatus::failure("postgres server: " + server.error_text()));
    // The policy keys servers by their configured name; ARM may echo another casing.
    server->name = server_.name;
    sink_.apply(env_, PostgresPolled{std::move(server.value())});
    done(PollStatus::success());
  });
}

}  // namespace deployguard::upstream
