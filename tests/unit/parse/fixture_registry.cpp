#include "fixture_registry.hpp"

#include <nlohmann/json.hpp>

#include "fixtures.hpp"
#include "parse/azure.hpp"
#include "parse/github.hpp"

namespace deployguard::parse::test {

namespace {

constexpr FixtureCase kJson[] = {
    // GitHub REST (documentation example and recorded traffic)
    {"github/rest/list-workflow-runs-for-a-repository.example.json", Parser::WorkflowRunsPage},
    {"recorded/github/workflow-runs.list.head_sha-filter.2-completed.json", Parser::WorkflowRunsPage},
    {"recorded/github/workflow-run.completed-failure.json", Parser::WorkflowRunBody},
    {"recorded/github/workflow-run.in_progress.json", Parser::WorkflowRunBody},
    {"recorded/github/workflow-run.jobs-list.5-completed.json", Parser::JobsList},
    {"recorded/github/workflow-job.single.2025.json", Parser::WorkflowJobBody},
    {"recorded/github/workflows.list.2020.json", Parser::WorkflowsList},
    {"recorded/github/rate-limit.403.primary-exhausted.2013.json", Parser::GitHubError},
    {"recorded/github/rate-limit.403.secondary-abuse.retry-after.2018.json", Parser::GitHubError},
    {"recorded/github/workflow-disable.403.status-as-string.2024.json", Parser::GitHubError},
    {"recorded/github/workflow-run.cancel.403-admin-rights.json", Parser::GitHubError},
    // GitHub webhooks
    {"github/deployment/payload.json", Parser::Webhook, "deployment"},
    {"github/deployment/with-installation.payload.json", Parser::Webhook, "deployment"},
    {"github/deployment_protection_rule/requested.payload.json", Parser::Webhook, "deployment_protection_rule"},
    {"github/deployment_review/requested.payload.json", Parser::Webhook, "deployment_review"},
    {"github/deployment_status/payload.json", Parser::Webhook, "deployment_status"},
    {"github/deployment_status/with-installation.payload.json", Parser::Webhook, "deployment_status"},
    {"github/ping/payload.json", Parser::Webhook, "ping"},
    {"github/ping/with-app_id.payload.json", Parser::Webhook, "ping"},
    {"github/ping/with-organization.payload.json", Parser::Webhook, "ping"},
    {"github/workflow_job/completed.success.with-organization.payload.json", Parser::Webhook, "workflow_job"},
    {"github/workflow_job/in_progress.payload.json", Parser::Webhook, "workflow_job"},
    {"github/workflow_job/queued.payload.json", Parser::Webhook, "workflow_job"},
    {"github/workflow_job/queued.with-deployment.payload.json", Parser::Webhook, "workflow_job"},
    {"github/workflow_job/waiting.payload.json", Parser::Webhook, "workflow_job"},
    {"github/workflow_run/completed.payload.json", Parser::Webhook, "workflow_run"},
    {"github/workflow_run/completed.with-pull-requests.payload.json", Parser::Webhook, "workflow_run"},
    {"github/workflow_run/in_progress.payload.json", Parser::Webhook, "workflow_run"},
    {"github/workflow_run/requested.payload.json", Parser::Webhook, "workflow_run"},
    {"github/workflow_run/requested.with-conclusion.payload.json", Parser::Webhook, "workflow_run"},
    // Azure spec examples
    {"azure/containerapps-2025-07-01/ContainerApps_Get.json", Parser::ContainerApp, "", true},
    {"azure/containerapps-2025-07-01/ContainerApps_Patch.json", Parser::ContainerApp, "", true},
    {"azure/containerapps-2025-07-01/Revisions_Get.json", Parser::RevisionBody, "", true},
    {"azure/containerapps-2025-07-01/Revisions_List.json", Parser::RevisionsPage, "", true},
    {"azure/containerapps-2026-07-01/Revisions_Deactivate.json", Parser::RevisionActionResult, "", true},
    {"azure/containerapps-2026-07-01/Revisions_List.json", Parser::RevisionsPage, "", true},
    {"azure/postgresql-flexible-2024-08-01/ServerGet.json", Parser::PostgresServer, "", true},
    // Azure constructed
    {"azure/constructed/arm-error-ServerBusy.nested-deployment.json", Parser::ArmError},
    {"azure/constructed/arm-error-ServerIsBusy.postgresql.json", Parser::ArmError},
    {"azure/constructed/arm-lro-status-failed.json", Parser::OperationStatus},
    {"azure/constructed/arm-lro-status-inprogress.json", Parser::OperationStatus},
    // Azure recorded
    {"recorded/azure/containerapp-operation-status.InProgress.json", Parser::OperationStatus},
    {"recorded/azure/containerapp-operation-status.Succeeded.json", Parser::OperationStatus},
    {"recorded/azure/containerapp-revision.deactivate.200.json", Parser::RevisionActionResult},
    {"recorded/azure/containerapp-revision.get.inactive-Stopped-trafficWeight-75.json", Parser::RevisionBody},
    {"recorded/azure/containerapp-revisions.list.Failed-and-Activating.json", Parser::RevisionsPage},
    {"recorded/azure/containerapp-revisions.list.multiple-active.traffic-50-50.json", Parser::RevisionsPage},
    {"recorded/azure/containerapp-revisions.list.old-revision-Deprovisioning.json", Parser::RevisionsPage},
    {"recorded/azure/containerapp-revisions.list.single-mode.Provisioning-Processing.json", Parser::RevisionsPage},
    {"recorded/azure/containerapp.get.labels-mode.label-traffic-75-25.json", Parser::ContainerApp},
    {"recorded/azure/containerapp.get.multiple-mode.traffic-50-50.json", Parser::ContainerApp},
    {"recorded/azure/containerapp.get.provisioning-Failed.deploymentErrors.json", Parser::ContainerApp},
    {"recorded/azure/containerapp.get.provisioning-InProgress.json", Parser::ContainerApp},
    {"recorded/azure/containerapp.patch-traffic.request.json", Parser::TrafficPatch},
    {"recorded/azure/containerapp.put.400-RegistriesPasswordSecretRefNotFound.json", Parser::ArmError},
    {"recorded/azure/postgres-async-operation.500-InternalServerError.json", Parser::ArmError},
    {"recorded/azure/postgres-async-operation.InProgress.json", Parser::OperationStatus},
    {"recorded/azure/postgres-flexible.get.Ready-ha-Healthy.json", Parser::PostgresServer},
    {"recorded/azure/postgres-flexible.patch.202.json", Parser::AcceptedOperation},
    {"recorded/azure/postgres-flexible.stop.202.json", Parser::AcceptedOperation},
    // A Location-poll 200 with an empty property bag: deliberately rejected as a server snapshot.
    {"recorded/azure/postgres-operation-results.200.json", Parser::PostgresServer, "", false, false},
};

constexpr const char* kHeaders[] = {
    "azure/constructed/arm-429-throttled.http",
    "azure/constructed/arm-lro-202-azure-asyncoperation.http",
    "recorded/azure/containerapp-operation-results.202.headers.txt",
    "recorded/azure/containerapp-revision.deactivate.200.headers.txt",
    "recorded/azure/containerapp-revisions.list.multiple-active.traffic-50-50.headers.txt",
    "recorded/azure/containerapp.patch-traffic.headers.txt",
    "recorded/azure/postgres-async-operation.500-InternalServerError.headers.txt",
    "recorded/azure/postgres-flexible.get.Ready-ha-Healthy.headers.txt",
    "recorded/azure/postgres-flexible.patch.202.headers.txt",
    "recorded/github/conditional-get.304.headers.txt",
    "recorded/github/rate-limit.403.primary-exhausted.2013.headers.txt",
    "recorded/github/rate-limit.403.secondary-abuse.retry-after.2018.headers.txt",
    "recorded/github/workflow-job.logs.302.headers.txt",
    "recorded/github/workflow-run.cancel.403-admin-rights.headers.txt",
    "recorded/github/workflow-run.in_progress.headers.txt",
    "recorded/github/workflow-runs.list.head_sha-filter.2-completed.headers.txt",
    "recorded/github/workflow-runs.list.paginated-page1.headers.txt",
};

constexpr const char* kExcluded[] = {
    "SHA256SUMS", "SOURCES.md", "recorded/README.md", "azure/constructed/README.md",
};

template <class T>
Outcome outcome(const Parsed<T>& p) {
  return {p.ok(), p.error_text()};
}

}  // namespace

std::span<const FixtureCase> json_fixtures() { return kJson; }
std::span<const char* const> header_fixtures() { return kHeaders; }
std::span<const char* const> excluded_files() { return kExcluded; }

std::string body_for(const FixtureCase& c) {
  if (!c.spec_example) return read_fixture(c.path);
  const auto doc = nlohmann::json::parse(read_fixture(c.path));
  const auto& response = doc.at("responses").at("200");
  return response.contains("body") ? response.at("body").dump() : std::string{};
}

Outcome run_parser(const FixtureCase& c, std::string_view body) {
  switch (c.parser) {
    case Parser::WorkflowRunsPage: return outcome(parse_workflow_runs_page(body));
    case Parser::WorkflowRunBody: return outcome(parse_workflow_run_body(body));
    case Parser::JobsList: return outcome(parse_jobs_list(body));
    case Parser::WorkflowJobBody: return outcome(parse_workflow_job_body(body));
    case Parser::WorkflowsList: return outcome(parse_workflows_list(body));
    case Parser::GitHubError: return outcome(parse_github_error(body));
    case Parser::Webhook: return outcome(parse_webhook(c.webhook_type, body));
    case Parser::ContainerApp: return outcome(parse_container_app(body));
    case Parser::TrafficPatch: return outcome(parse_traffic_patch(body));
    case Parser::RevisionsPage: return outcome(parse_revisions_page(body));
    case Parser::RevisionBody: return outcome(parse_revision_body(body));
    case Parser::RevisionActionResult: return outcome(parse_revision_action_result(body));
    case Parser::PostgresServer: return outcome(parse_postgres_server(body));
    case Parser::ArmError: return outcome(parse_arm_error(body));
    case Parser::OperationStatus: return outcome(parse_operation_status(body));
    case Parser::AcceptedOperation: return outcome(parse_accepted_operation(body));
  }
  return {false, "unknown parser"};
}

}  // namespace deployguard::parse::test
