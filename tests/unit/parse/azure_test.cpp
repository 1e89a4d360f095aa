// Azure fixtures (spec examples, constructed and recorded) with concrete field expectations.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fixtures.hpp"
#include "parse/azure.hpp"

namespace deployguard::parse {
namespace {

using namespace std::chrono_literals;
using test::example_body;
using test::read_fixture;
using test::ts;

// ---- Container apps -------------------------------------------------------------------------

TEST(AzureContainerApp, SpecExamplesDefaultToSingleMode) {
  for (const char* f : {"azure/containerapps-2025-07-01/ContainerApps_Get.json",
                        "azure/containerapps-2025-07-01/ContainerApps_Patch.json"}) {
    SCOPED_TRACE(f);
    auto app = parse_container_app(example_body(f));
    ASSERT_TRUE(app.ok()) << app.error_text();
    EXPECT_EQ(app->name, "testcontainerapp0");
    EXPECT_EQ(app->provisioning_state, "Succeeded");
    EXPECT_EQ(app->running_status, "Running");
    EXPECT_EQ(app->active_revisions_mode, "Single");  // absent in the example
    EXPECT_EQ(app->latest_revision_name, "");         // absent in the example
    EXPECT_EQ(app->latest_ready_revision_name, "testcontainerapp0-pjxhsye");
    ASSERT_EQ(app->traffic.size(), 2u);
    EXPECT_EQ(app->traffic[0].revision_name, "testcontainerapp0-ab1234");
    EXPECT_EQ(app->traffic[0].weight, 80);
    EXPECT_FALSE(app->traffic[0].latest_revision);
    EXPECT_EQ(app->traffic[1].revision_name, "testcontainerapp0-ab4321");
    EXPECT_EQ(app->traffic[1].weight, 20);
    EXPECT_EQ(app->traffic[1].label, "staging");
  }
}

TEST(AzureContainerApp, RecordedLabelsMode) {
  auto app = parse_container_app(read_fixture("recorded/azure/containerapp.get.labels-mode.label-traffic-75-25.json"));
  ASSERT_TRUE(app.ok()) << app.error_text();
  EXPECT_EQ(app->name, "containerapp000002");
  EXPECT_EQ(app->active_revisions_mode, "Labels");
  ASSERT_EQ(app->traffic.size(), 2u);
  EXPECT_EQ(app->traffic[0].revision_name, "containerapp000002--0000001");
  EXPECT_EQ(app->traffic[0].weight, 75);
  EXPECT_EQ(app->traffic[0].label, "label1");
  EXPECT_EQ(app->traffic[1].revision_name, "containerapp000002--65an1zn");
  EXPECT_EQ(app->traffic[1].weight, 25);
  EXPECT_EQ(app->traffic[1].label, "label0");
}

TEST(AzureContainerApp, RecordedMultipleModeResolvesLatestRevisionEntry) {
  auto app = parse_container_app(read_fixture("recorded/azure/containerapp.get.multiple-mode.traffic-50-50.json"));
  ASSERT_TRUE(app.ok()) << app.error_text();
  EXPECT_EQ(app->active_revisions_mode, "Multiple");
  EXPECT_EQ(app->latest_revision_name, "containerapp000002--0000001");
  ASSERT_EQ(app->traffic.size(), 2u);
  EXPECT_TRUE(app->traffic[0].latest_revision);
  EXPECT_EQ(app->traffic[0].revision_name, "containerapp000002--0000001");  // resolved
  EXPECT_EQ(app->traffic[0].weight, 50);
  EXPECT_FALSE(app->traffic[1].latest_revision);
  EXPECT_EQ(app->traffic[1].revision_name, "containerapp000002--0jfo06b");
  EXPECT_EQ(app->traffic[1].weight, 50);
}

TEST(AzureContainerApp, RecordedProvisioningStates) {
  auto failed = parse_container_app(read_fixture("recorded/azure/containerapp.get.provisioning-Failed.deploymentErrors.json"));
  ASSERT_TRUE(failed.ok()) << failed.error_text();
  EXPECT_EQ(failed->name, "app000002");
  EXPECT_EQ(failed->provisioning_state, "Failed");
  EXPECT_EQ(failed->running_status, "Running");
  EXPECT_EQ(failed->active_revisions_mode, "Single");
  ASSERT_EQ(failed->traffic.size(), 1u);
  EXPECT_EQ(failed->traffic[0].revision_name, "app000002--lvdn4sl");
  EXPECT_EQ(failed->traffic[0].weight, 100);

  auto in_progress = parse_container_app(read_fixture("recorded/azure/containerapp.get.provisioning-InProgress.json"));
  ASSERT_TRUE(in_progress.ok()) << in_progress.error_text();
  EXPECT_EQ(in_progress->provisioning_state, "InProgress");
  EXPECT_EQ(in_progress->latest_ready_revision_name, "app000002--lvdn4sl");
}

TEST(AzureContainerApp, ShapeRulesAndLeniency) {
  // No properties: an error envelope handed to the wrong parser must not look like an app.
  EXPECT_EQ(parse_container_app(R"({"error":{"code":"ResourceNotFound"}})").error_text(), "properties: missing");
  EXPECT_EQ(parse_container_app(R"({"properties":{}})").error_text(), "properties.provisioningState: missing");
  auto app = parse_container_app(R"({"properties":{"provisioningState":"SomethingNew",
      "latestRevisionName":"a--1","configuration":{"activeRevisionsMode":"multiple","ingress":{
      "traffic":[{"latestRevision":"true","weight":"60"},{"revisionName":"a--0","weight":40}]}}}})");
  ASSERT_TRUE(app.ok()) << app.error_text();
  EXPECT_EQ(app->provisioning_state, "SomethingNew");  // extensible enum kept verbatim
  EXPECT_EQ(app->active_revisions_mode, "multiple");   // kept; compare with iequals
  EXPECT_EQ(app->traffic.at(0).revision_name, "a--1");
  EXPECT_EQ(app->traffic.at(0).weight, 60);
  EXPECT_EQ(app->traffic.at(1).weight, 40);
  // Without ingress there is no traffic list.
  auto no_ingress = parse_container_app(R"({"properties":{"provisioningState":"Succeeded","configuration":{"ingress":null}}})");
  ASSERT_TRUE(no_ingress.ok());
  EXPECT_TRUE(no_ingress->traffic.empty());
  // Bad weights are errors for the app (traffic drives decisions).
  EXPECT_EQ(parse_container_app(R"({"properties":{"provisioningState":"Succeeded","configuration":{
      "ingress":{"traffic":[{"revisionName":"a","weight":101}]}}}})").error_text(),
            "properties.configuration.ingress.traffic[0].weight: expected a weight between 0 and 100");
  EXPECT_EQ(parse_container_app(R"({"properties":{"provisioningState":"Succeeded","configuration":{
      "ingress":{"traffic":[{"revisionName":"a","weight":"fifty"}]}}}})").error_text(),
            "properties.configuration.ingress.traffic[0].weight: expected integer, got string that is not a 64-bit integer");
}

TEST(AzureContainerApp, RecordedTrafficPatchRequestHasStringWeight) {
  auto traffic = parse_traffic_patch(read_fixture("recorded/azure/containerapp.patch-traffic.request.json"));
  ASSERT_TRUE(traffic.ok()) << traffic.error_text();
  ASSERT_EQ(traffic->size(), 2u);
  EXPECT_TRUE((*traffic)[0].latest_revision);
  EXPECT_EQ((*traffic)[0].revision_name, "");  // nothing to resolve against in a request
  EXPECT_EQ((*traffic)[0].weight, 50);         // sent as "50"
  EXPECT_EQ((*traffic)[1].revision_name, "containerapp000002--0jfo06b");
  EXPECT_EQ((*traffic)[1].weight, 50);
  EXPECT_FALSE((*traffic)[1].latest_revision);
  EXPECT_EQ(parse_traffic_patch(R"({"properties":{}})").error_text(),
            "properties.configuration.ingress.traffic: missing");
}

// ---- Revisions ------------------------------------------------------------------------------

void expect_spec_revision(const RevisionSnapshot& rev) {
  EXPECT_EQ(rev.name, "testcontainerApp0-pjxhsye");
  EXPECT_TRUE(rev.active);
  EXPECT_EQ(rev.replicas, 1);
  EXPECT_EQ(rev.traffic_weight, 80);
  EXPECT_EQ(rev.created_time, ts("2021-05-24T21:24:22Z"));
  EXPECT_EQ(rev.image, "repo/testcontainerApp0:v2");
  EXPECT_EQ(rev.health_state, "");  // absent in the examples
  EXPECT_EQ(rev.provisioning_state, "");
}

TEST(AzureRevisions, SpecExampleLists) {
  for (const char* f : {"azure/containerapps-2025-07-01/Revisions_List.json",
                        "azure/containerapps-2026-07-01/Revisions_List.json"}) {
    SCOPED_TRACE(f);
    auto page = parse_revisions_page(example_body(f));
    ASSERT_TRUE(page.ok()) << page.error_text();
    EXPECT_EQ(page->next_link, std::nullopt);  // "nextLink": null
    ASSERT_EQ(page->revisions.size(), 1u);
    expect_spec_revision(page->revisions[0]);
    EXPECT_EQ(page->revisions[0].running_state, "");
  }
}

TEST(AzureRevisions, SpecExampleGet) {
  auto rev = parse_revision_body(example_body("azure/containerapps-2025-07-01/Revisions_Get.json"));
  ASSERT_TRUE(rev.ok()) << rev.error_text();
  expect_spec_revision(*rev);
  EXPECT_EQ(rev->running_state, "Running");
}

TEST(AzureRevisions, RecordedInactiveStoppedRevisionStillShowsWeight) {
  auto rev = parse_revision_body(read_fixture("recorded/azure/containerapp-revision.get.inactive-Stopped-trafficWeight-75.json"));
  ASSERT_TRUE(rev.ok()) << rev.error_text();
  EXPECT_EQ(rev->name, "containerapp000002--0000001");
  EXPECT_FALSE(rev->active);
  EXPECT_EQ(rev->replicas, 0);
  EXPECT_EQ(rev->traffic_weight, 75);
  EXPECT_EQ(rev->health_state, "Healthy");
  EXPECT_EQ(rev->provisioning_state, "Provisioned");
  EXPECT_EQ(rev->running_state, "Stopped");
  EXPECT_EQ(rev->created_time, ts("2025-05-13T03:15:28Z"));
  EXPECT_EQ(rev->image, "mcr.microsoft.com/azuredocs/containerapps-helloworld:latest");
}

TEST(AzureRevisions, RecordedFailedAndActivating) {
  auto page = parse_revisions_page(read_fixture("recorded/azure/containerapp-revisions.list.Failed-and-Activating.json"));
  ASSERT_TRUE(page.ok()) << page.error_text();
  ASSERT_EQ(page->revisions.size(), 2u);
  EXPECT_EQ(page->next_link, std::nullopt);  // absent
  const auto& bad = page->revisions[0];
  EXPECT_EQ(bad.name, "app1000004--gns4pue");
  EXPECT_TRUE(bad.active);
  EXPECT_EQ(bad.traffic_weight, 0);
  EXPECT_EQ(bad.health_state, "Unhealthy");
  EXPECT_EQ(bad.provisioning_state, "Failed");
  EXPECT_EQ(bad.running_state, "Failed");
  const auto& next = page->revisions[1];
  EXPECT_EQ(next.name, "app1000004--0000001");
  EXPECT_EQ(next.running_state, "Activating");
  EXPECT_EQ(next.health_state, "None");
  EXPECT_EQ(next.traffic_weight, 100);
  EXPECT_EQ(next.image, "mcr.microsoft.com/k8se/quickstart:latest");
}

TEST(AzureRevisions, RecordedMultipleActive) {
  auto page = parse_revisions_page(read_fixture("recorded/azure/containerapp-revisions.list.multiple-active.traffic-50-50.json"));
  ASSERT_TRUE(page.ok()) << page.error_text();
  ASSERT_EQ(page->revisions.size(), 2u);
  for (const auto& rev : page->revisions) {
    EXPECT_TRUE(rev.active);
    EXPECT_EQ(rev.traffic_weight, 50);
    EXPECT_EQ(rev.running_state, "Running");
  }
  EXPECT_EQ(page->revisions[0].name, "containerapp000002--0jfo06b");
  EXPECT_EQ(page->revisions[1].created_time, ts("2025-05-24T16:46:41Z"));
}

TEST(AzureRevisions, RecordedOldRevisionDeprovisioning) {
  auto page = parse_revisions_page(read_fixture("recorded/azure/containerapp-revisions.list.old-revision-Deprovisioning.json"));
  ASSERT_TRUE(page.ok()) << page.error_text();
  ASSERT_EQ(page->revisions.size(), 2u);
  EXPECT_EQ(page->revisions[0].name, "containerapp000002--5a0pvqy");
  EXPECT_EQ(page->revisions[0].running_state, "Deprovisioning");
  EXPECT_EQ(page->revisions[0].traffic_weight, 0);
  EXPECT_EQ(page->revisions[1].running_state, "Running");
  EXPECT_EQ(page->revisions[1].image, "nginx");
  EXPECT_EQ(page->revisions[1].traffic_weight, 100);
}

TEST(AzureRevisions, RecordedSingleModeProvisioningProcessing) {
  auto page = parse_revisions_page(read_fixture("recorded/azure/containerapp-revisions.list.single-mode.Provisioning-Processing.json"));
  ASSERT_TRUE(page.ok()) << page.error_text();
  ASSERT_EQ(page->revisions.size(), 2u);
  EXPECT_EQ(page->revisions[0].name, "aca000002--5lgswe2");
  EXPECT_EQ(page->revisions[0].running_state, "Running");
  EXPECT_EQ(page->revisions[1].name, "aca000002--ayplt1u");
  EXPECT_EQ(page->revisions[1].provisioning_state, "Provisioning");
  EXPECT_EQ(page->revisions[1].running_state, "Processing");
  EXPECT_EQ(page->revisions[1].created_time, ts("2023-10-25T06:17:19Z"));
}

TEST(AzureRevisions, PagingAndItemErrors) {
  auto page = parse_revisions_page(R"({"value":[{"properties":{"active":true}},{"name":"b","properties":{"replicas":"2"}},
      {"name":"c","properties":{"active":"yes"}}],"nextLink":"https://management.azure.com/next?page=2"})");
  ASSERT_TRUE(page.ok()) << page.error_text();
  EXPECT_EQ(page->next_link, "https://management.azure.com/next?page=2");
  ASSERT_EQ(page->revisions.size(), 1u);
  EXPECT_EQ(page->revisions[0].name, "b");
  EXPECT_EQ(page->revisions[0].replicas, 2);
  ASSERT_EQ(page->item_errors.size(), 2u);
  EXPECT_EQ(page->item_errors[0].to_string(), "value[0].name: missing");
  EXPECT_EQ(page->item_errors[1].to_string(), "value[2].properties.active: expected boolean, got string");
  EXPECT_EQ(parse_revisions_page(R"({"value":[],"nextLink":""})")->next_link, std::nullopt);
  EXPECT_EQ(parse_revisions_page(R"({"nextLink":null})").error_text(), "value: missing");
  EXPECT_EQ(parse_revision(nlohmann::json{{"name", ""}}).error_text(), "name: expected a non-empty revision name");
  auto bare = parse_revision(nlohmann::json{{"name", "x"}});  // every property optional
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->active);
  EXPECT_EQ(bare->created_time, std::nullopt);
}

TEST(AzureRevisions, ActionResults) {
  auto recorded = parse_revision_action_result(read_fixture("recorded/azure/containerapp-revision.deactivate.200.json"));
  ASSERT_TRUE(recorded.ok()) << recorded.error_text();
  EXPECT_EQ(*recorded, "Deactivate succeeded");
  // The spec example documents 200 with no body at all.
  const auto example = nlohmann::json::parse(read_fixture("azure/containerapps-2026-07-01/Revisions_Deactivate.json"));
  ASSERT_FALSE(example.at("responses").at("200").contains("body"));
  EXPECT_EQ(*parse_revision_action_result(""), "");
  EXPECT_EQ(*parse_revision_action_result("{}"), "");
  EXPECT_EQ(*parse_revision_action_result(" \r\n"), "");
  EXPECT_EQ(parse_revision_action_result(R"({"error":{"code":"X"}})").error_text(), "error: service returned an error");
  EXPECT_EQ(parse_revision_action_result("42").error_text(), "expected object, got number");
}

// ---- PostgreSQL -----------------------------------------------------------------------------

TEST(AzurePostgres, SpecExample) {
  auto server = parse_postgres_server(example_body("azure/postgresql-flexible-2024-08-01/ServerGet.json"));
  ASSERT_TRUE(server.ok()) << server.error_text();
  EXPECT_EQ(server->name, "exampleserver");
  EXPECT_EQ(server->state, "Ready");
  EXPECT_EQ(server->ha_state, "NotEnabled");
  EXPECT_EQ(server->version, "16");
}

TEST(AzurePostgres, RecordedReadyWithHa) {
  auto server = parse_postgres_server(read_fixture("recorded/azure/postgres-flexible.get.Ready-ha-Healthy.json"));
  ASSERT_TRUE(server.ok()) << server.error_text();
  EXPECT_EQ(server->name, "azuredbclitest-000002");
  EXPECT_EQ(server->state, "Ready");
  EXPECT_EQ(server->ha_state, "Healthy");
  EXPECT_EQ(server->version, "12");
}

TEST(AzurePostgres, OperationResultBodyIsNotAServerSnapshot) {
  // The Location poll answer after a PATCH: 200 with an empty properties bag. It must not be
  // mistaken for a server in some state, nor for an operation status.
  const auto body = read_fixture("recorded/azure/postgres-operation-results.200.json");
  EXPECT_EQ(parse_postgres_server(body).error_text(), "properties.state: missing");
  EXPECT_EQ(parse_operation_status(body).error_text(), "status: missing");
}

TEST(AzurePostgres, VersionAsNumberAndUnknownState) {
  auto server = parse_postgres_server(R"({"name":"s","properties":{"state":"Migrating","version":17}})");
  ASSERT_TRUE(server.ok()) << server.error_text();
  EXPECT_EQ(server->state, "Migrating");
  EXPECT_EQ(server->version, "17");
  EXPECT_EQ(server->ha_state, "");
}

TEST(AzurePostgres, Recorded202Bodies) {
  auto patch = parse_accepted_operation(read_fixture("recorded/azure/postgres-flexible.patch.202.json"));
  ASSERT_TRUE(patch.ok()) << patch.error_text();
  EXPECT_EQ(patch->operation, "UpsertServerManagementOperationV2");
  EXPECT_EQ(patch->start_time, ts("2023-11-22T04:13:35.213Z"));
  auto stop = parse_accepted_operation(read_fixture("recorded/azure/postgres-flexible.stop.202.json"));
  ASSERT_TRUE(stop.ok()) << stop.error_text();
  EXPECT_EQ(stop->operation, "StopServerManagementOperation");
  EXPECT_EQ(stop->start_time, ts("2023-11-22T04:16:43.947Z"));
}

// ---- ARM errors and operations ----------------------------------------------------------------

TEST(AzureArmError, NestedServerBusy) {
  auto err = parse_arm_error(read_fixture("azure/constructed/arm-error-ServerBusy.nested-deployment.json"));
  ASSERT_TRUE(err.ok()) << err.error_text();
  EXPECT_EQ(err->code, "ResourceDeploymentFailure");
  EXPECT_NE(err->target.find("psqltest00502"), std::string::npos);
  ASSERT_EQ(err->details.size(), 1u);
  EXPECT_EQ(err->details[0].code, "ServerBusy");
  EXPECT_EQ(err->details[0].depth, 1);
  EXPECT_TRUE(arm_error_mentions(*err, "ServerBusy"));
  EXPECT_TRUE(arm_error_mentions(*err, "serverbusy"));
  EXPECT_FALSE(arm_error_mentions(*err, "ServerIsBusy"));
}

TEST(AzureArmError, TopLevelServerIsBusy) {
  auto err = parse_arm_error(read_fixture("azure/constructed/arm-error-ServerIsBusy.postgresql.json"));
  ASSERT_TRUE(err.ok()) << err.error_text();
  EXPECT_EQ(err->code, "ServerIsBusy");
  EXPECT_TRUE(err->details.empty());
  EXPECT_TRUE(arm_error_mentions(*err, "SERVERISBUSY"));
  EXPECT_NE(err->message.find("somePgServerName"), std::string::npos);
}

TEST(AzureArmError, RecordedErrors) {
  auto put = parse_arm_error(read_fixture("recorded/azure/containerapp.put.400-RegistriesPasswordSecretRefNotFound.json"));
  ASSERT_TRUE(put.ok()) << put.error_text();
  EXPECT_EQ(put->code, "ContainerAppRegistriesPasswordSecretRefNotFound");
  EXPECT_EQ(put->message.rfind("PasswordSecretRef 'containerapp000003azurecrio", 0), 0u);
  auto internal = parse_arm_error(read_fixture("recorded/azure/postgres-async-operation.500-InternalServerError.json"));
  ASSERT_TRUE(internal.ok()) << internal.error_text();
  EXPECT_EQ(internal->code, "InternalServerError");
}

TEST(AzureArmError, DeepNestingIsFlattenedAndBounded) {
  auto err = parse_arm_error(R"({"error":{"code":"Outer","details":[{"code":"Mid","details":[
      {"code":"Inner","message":"the real cause"}]},{"code":"Sibling"}]}})");
  ASSERT_TRUE(err.ok()) << err.error_text();
  ASSERT_EQ(err->details.size(), 3u);
  EXPECT_EQ(err->details[1].code, "Inner");
  EXPECT_EQ(err->details[1].depth, 2);
  EXPECT_EQ(err->details[2].code, "Sibling");
  EXPECT_TRUE(arm_error_mentions(*err, "inner"));

  nlohmann::json deep = {{"code", "Bottom"}};
  for (int i = 0; i < 200; ++i) deep = {{"code", "L" + std::to_string(i)}, {"details", {deep}}};
  auto bounded = parse_arm_error(nlohmann::json{{"error", deep}}.dump());
  ASSERT_TRUE(bounded.ok());
  EXPECT_EQ(bounded->details.size(), static_cast<std::size_t>(kMaxArmErrorDepth));
  EXPECT_FALSE(arm_error_mentions(*bounded, "Bottom"));  // cut off, documented
}

TEST(AzureArmError, MalformedDetailsDoNotHideTheTopLevelCode) {
  auto err = parse_arm_error(R"({"error":{"code":"ServerIsBusy","details":[7,{"code":{}},{"code":"Inner"}]}})");
  ASSERT_TRUE(err.ok()) << err.error_text();
  EXPECT_EQ(err->code, "ServerIsBusy");
  ASSERT_EQ(err->details.size(), 2u);
  EXPECT_EQ(err->details[0].code, "");
  EXPECT_EQ(err->details[1].code, "Inner");
  EXPECT_TRUE(parse_arm_error(R"({"error":{"code":"X","details":"oops"}})").ok());
  EXPECT_EQ(parse_arm_error(R"({"error":{"code":5}})").error_text(),
            "error.code: expected string, got number; error: expected an error code or message");
}

TEST(AzureArmError, ShapeRules) {
  auto bare = parse_arm_error(R"({"code":"Conflict","message":"m"})");  // un-enveloped
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->code, "Conflict");
  EXPECT_EQ(parse_arm_error(R"({"status":"x"})").error_text(), "error: missing");
  EXPECT_EQ(parse_arm_error(R"({"error":{}})").error_text(), "error: expected an error code or message");
  EXPECT_EQ(parse_arm_error(R"({"error":"invalid_client"})").error_text(), "error: expected object, got string");
  EXPECT_EQ(parse_arm_error(R"("Deactivate succeeded")").error_text(), "expected object, got string");
}

TEST(AzureOperation, ConstructedStatuses) {
  auto failed = parse_operation_status(read_fixture("azure/constructed/arm-lro-status-failed.json"));
  ASSERT_TRUE(failed.ok()) << failed.error_text();
  EXPECT_EQ(failed->status, "Failed");
  EXPECT_TRUE(failed->is_terminal());
  EXPECT_FALSE(failed->succeeded());
  EXPECT_EQ(failed->name, "62e4d893-d233-4005-988e-a428d9f77076");
  EXPECT_EQ(failed->start_time, ts("2017-01-06T20:56:36.002Z"));
  EXPECT_EQ(failed->end_time, ts("2017-01-06T20:56:56.002Z"));
  ASSERT_TRUE(failed->error.has_value());
  EXPECT_TRUE(arm_error_mentions(*failed->error, "ServerIsBusy"));

  auto running = parse_operation_status(read_fixture("azure/constructed/arm-lro-status-inprogress.json"));
  ASSERT_TRUE(running.ok()) << running.error_text();
  EXPECT_EQ(running->status, "InProgress");
  EXPECT_FALSE(running->is_terminal());
  EXPECT_EQ(running->start_time, ts("2017-01-06T18:58:24.759Z"));  // 7 fractional digits
  EXPECT_FALSE(running->error.has_value());
}

TEST(AzureOperation, RecordedStatuses) {
  auto in_progress = parse_operation_status(read_fixture("recorded/azure/containerapp-operation-status.InProgress.json"));
  ASSERT_TRUE(in_progress.ok()) << in_progress.error_text();
  EXPECT_EQ(in_progress->status, "InProgress");
  EXPECT_EQ(in_progress->name, "890e562c-8dcc-4f3f-ad2e-2d2ec70082fe");
  EXPECT_EQ(in_progress->start_time, ts("2025-05-24T16:46:56.634Z"));  // no offset: UTC
  EXPECT_FALSE(in_progress->is_terminal());

  auto succeeded = parse_operation_status(read_fixture("recorded/azure/containerapp-operation-status.Succeeded.json"));
  ASSERT_TRUE(succeeded.ok()) << succeeded.error_text();
  EXPECT_TRUE(succeeded->is_terminal());
  EXPECT_TRUE(succeeded->succeeded());
  EXPECT_NE(succeeded->id.find("containerappOperationStatuses"), std::string::npos);

  auto pg = parse_operation_status(read_fixture("recorded/azure/postgres-async-operation.InProgress.json"));
  ASSERT_TRUE(pg.ok()) << pg.error_text();
  EXPECT_EQ(pg->status, "InProgress");
  EXPECT_EQ(pg->name, "9238b54a-04d9-426e-af5f-f320e3b57ffe");
  EXPECT_EQ(pg->start_time, ts("2023-11-22T04:16:43.947Z"));
}

TEST(AzureOperation, TerminalStatusesAreCaseInsensitive) {
  EXPECT_TRUE(parse_operation_status(R"({"status":"canceled"})")->is_terminal());
  EXPECT_TRUE(parse_operation_status(R"({"status":"SUCCEEDED"})")->succeeded());
  EXPECT_FALSE(parse_operation_status(R"({"status":"Accepted"})")->is_terminal());
  EXPECT_EQ(parse_operation_status(R"({"status":""})").error_text(), "status: expected a non-empty status");
  EXPECT_EQ(parse_operation_status(R"({"status":"Running","percentComplete":"42.5"})")->percent_complete, 42.5);
}

// ---- Tokens ---------------------------------------------------------------------------------

TEST(AzureToken, AadClientCredentialsNumberExpiresIn) {
  const TimePoint now = ts("2025-01-01T00:00:00Z");
  auto token = parse_token_response(R"({"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0eXAi"})", now);
  ASSERT_TRUE(token.ok()) << token.error_text();
  EXPECT_EQ(token->access_token, "eyJ0eXAi");
  EXPECT_EQ(token->token_type, "Bearer");
  EXPECT_EQ(token->expires_in, Duration{3599s});
  EXPECT_EQ(token->expires_at, now + 3599s);
}

TEST(AzureToken, ImdsStringsPreferExpiresIn) {
  const TimePoint now = TimePoint{std::chrono::seconds{1506480273}};
  auto token = parse_token_response(R"({"access_token":"tok","refresh_token":"","expires_in":"3599",
      "expires_on":"1506484173","not_before":"1506480273","resource":"https://management.azure.com/",
      "token_type":"Bearer"})", now);
  ASSERT_TRUE(token.ok()) << token.error_text();
  EXPECT_EQ(token->expires_in, Duration{3599s});
}

TEST(AzureToken, AppServiceExpiresOnOnly) {
  const TimePoint now = TimePoint{std::chrono::seconds{1586984735 - 600}};
  auto token = parse_token_response(R"({"access_token":"tok","expires_on":"1586984735",
      "resource":"https://management.azure.com/","token_type":"Bearer","client_id":"c"})", now);
  ASSERT_TRUE(token.ok()) << token.error_text();
  EXPECT_EQ(token->expires_in, Duration{600s});
  EXPECT_EQ(token->expires_at, TimePoint{std::chrono::seconds{1586984735}});
  // Already expired: zero lifetime, not negative.
  auto stale = parse_token_response(R"({"access_token":"t","expires_on":100})", now);
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->expires_in, Duration{0});
}

TEST(AzureToken, Errors) {
  const TimePoint now{};
  auto aad = parse_token_response(R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]})", now);
  ASSERT_FALSE(aad.ok());
  EXPECT_EQ(aad.error_text(), "error: token endpoint error 'invalid_client': AADSTS7000215: Invalid client secret provided.");
  EXPECT_EQ(parse_token_response(R"({"access_token":"secret-value"})", now).error_text(),
            "expires_in: missing (and no expires_on)");
  EXPECT_EQ(parse_token_response(R"({"access_token":"","expires_in":1})", now).error_text(),
            "access_token: expected a non-empty token");
  EXPECT_EQ(parse_token_response(R"({"access_token":"t","expires_in":-1})", now).error_text(),
            "expires_in: expected a lifetime between 0 and 366 days");
  EXPECT_EQ(parse_token_response(R"({"access_token":"t","expires_in":"9223372036854775807"})", now).error_text(),
            "expires_in: expected a lifetime between 0 and 366 days");
  EXPECT_EQ(parse_token_response(R"({"access_token":"t","expires_in":"soon"})", now).error_text(),
            "expires_in: expected integer, got string that is not a 64-bit integer");
  // A truncated token body must not echo the token in the error.
  auto truncated = parse_token_response(R"({"token_type":"Bearer","access_token":"eyJSECRETPART)", now);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error_text().find("SECRET"), std::string::npos) << truncated.error_text();
}

TEST(AzureToken, AadErrorBody) {
  auto err = parse_aad_error(R"({"error":"invalid_scope","error_description":"AADSTS70011: The provided value for the input parameter 'scope' is not valid.","error_codes":[70011],"timestamp":"2016-01-09 02:02:12Z","trace_id":"255d1aef-8c98-452f-ac51-23d051240864","correlation_id":"fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7"})");
  ASSERT_TRUE(err.ok()) << err.error_text();
  EXPECT_EQ(err->error, "invalid_scope");
  EXPECT_EQ(err->error_codes, std::vector<std::int64_t>{70011});
  EXPECT_EQ(err->trace_id, "255d1aef-8c98-452f-ac51-23d051240864");
  EXPECT_EQ(err->correlation_id, "fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7");
  EXPECT_EQ(parse_aad_error(R"({"error":{"code":"x"}})").error_text(), "error: expected string, got object");
  EXPECT_EQ(parse_aad_error(R"({"error":"e","error_codes":["x"]})").error_text(),
            "error_codes[0]: expected integer, got string that is not a 64-bit integer");
}

}  // namespace
}  // namespace deployguard::parse
