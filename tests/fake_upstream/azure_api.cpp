// Azure Resource Manager handlers (Container Apps, PostgreSQL flexible servers, LRO status)
// of FakeUpstream. Shapes follow tests/fixtures/recorded/azure and docs/api-facts.md section C.
#include "internal.hpp"

#include <algorithm>

namespace deployguard::fake {

namespace {

bool ieq(const std::string& a, std::string_view b) { return to_lower(a) == to_lower(b); }

std::string arm_id(const std::string& sub, const std::string& rg, const std::string& provider,
                   const std::string& type, const std::string& name) {
  return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/" + provider + "/" + type + "/" + name;
}

// "2025-05-24T16:46:56.6344823": the recorded operation-status startTime shape (no zone).
std::string seven_digit_time(SystemTime t) {
  std::string s = format_iso8601_z(t);
  s.pop_back();
  return s + ".0000000";
}

}  // namespace

bool FakeUpstream::arm_authorized(const Request& req, Response& out) const {
  const Json& token = member_or_null(tokens_, "arm");
  if (!token.is_string()) return true;
  const std::string auth = header_value(req, "authorization");
  if (auth.empty()) {
    out = arm_error(http::status::unauthorized, "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is missing.");
  } else if (auth != "Bearer " + token.get<std::string>()) {
    out = arm_error(http::status::unauthorized, "InvalidAuthenticationToken",
                    "The access token is invalid.");
  } else {
    return true;
  }
  out.set(http::field::www_authenticate,
          "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\"");
  return false;
}

Json FakeUpstream::render_revision(const std::string& sub, const std::string& rg, const std::string& app_name,
                                   const Json& app, const Json& rev) const {
  const std::string name = rev["name"].get<std::string>();
  const std::string latest = app.value("latestRevisionName", Json(nullptr)).is_string()
                                 ? app["latestRevisionName"].get<std::string>()
                                 : (app["revisions"].empty() ? std::string{} : app["revisions"].back()["name"].get<std::string>());
  long weight = 0;
  for (const Json& t : app["traffic"]) {
    const bool mine = (t.contains("revisionName") && t["revisionName"] == name) ||
                      (t.value("latestRevision", false) && !t.contains("revisionName") && name == latest);
    if (mine) weight += t["weight"].get<long>();
  }
  const bool active = rev.value("active", true);
  Json props{{"createdTime", rev["createdTime"]},
             {"fqdn", name + ".agreeablesea-1b2c3d4e.eastus.azurecontainerapps.io"},
             {"template",
              {{"revisionSuffix", nullptr},
               {"containers", Json::array({{{"image", rev.value("image", "ghcr.io/zimaxnet/app:latest")},
                                             {"name", app_name},
                                             {"resources", {{"cpu", 0.5}, {"memory", "1Gi"}}},
                                             {"probes", Json::array()}}})},
               {"scale", {{"minReplicas", 1}, {"maxReplicas", 10}}}}},
             {"active", active},
             {"replicas", active ? 1 : 0},
             {"trafficWeight", weight},
             {"healthState", "Healthy"},
             {"provisioningState", "Provisioned"},
             {"runningState", active ? "Running" : "Stopped"}};
  for (const auto& [key, value] : rev.items())
    if (key != "name" && key != "image") props[key] = value;
  return Json{{"id", arm_id(sub, rg, "Microsoft.App", "containerApps", app_name) + "/revisions/" + name},
              {"name", name},
              {"type", "Microsoft.App/containerapps/revisions"},
              {"properties", props}};
}

Json FakeUpstream::render_container_app(const std::string& sub, const std::string& rg, const std::string& name,
                                        const Json& app) const {
  const Json& revs = app["revisions"];
  const std::string last = revs.empty() ? std::string{} : revs.back()["name"].get<std::string>();
  const std::string latest = app.value("latestRevisionName", last);
  const std::string fqdn_suffix = ".agreeablesea-1b2c3d4e.eastus.azurecontainerapps.io";
  Json props{{"provisioningState", app.value("provisioningState", "Succeeded")},
             {"runningStatus", app.value("runningStatus", "Running")},
             {"managedEnvironmentId", "/subscriptions/" + sub + "/resourceGroups/" + rg +
                                          "/providers/Microsoft.App/managedEnvironments/" + rg + "-env"},
             {"environmentId", "/subscriptions/" + sub + "/resourceGroups/" + rg +
                                   "/providers/Microsoft.App/managedEnvironments/" + rg + "-env"},
             {"workloadProfileName", "Consumption"},
             {"latestRevisionName", latest},
             {"latestReadyRevisionName", app.value("latestReadyRevisionName", latest)},
             {"latestRevisionFqdn", latest + fqdn_suffix},
             {"configuration",
              {{"secrets", nullptr},
               {"activeRevisionsMode", app.value("activeRevisionsMode", "Multiple")},
               {"ingress",
                {{"fqdn", name + fqdn_suffix},
                 {"external", true},
                 {"targetPort", 8080},
                 {"exposedPort", 0},
                 {"transport", "Auto"},
                 {"traffic", app["traffic"]},
                 {"allowInsecure", false}}},
               {"maxInactiveRevisions", 100}}},
             {"template",
              {{"containers", Json::array({{{"image", "ghcr.io/zimaxnet/app:latest"}, {"name", name},
                                            {"resources", {{"cpu", 0.5}, {"memory", "1Gi"}}}}})},
               {"scale", {{"minReplicas", 1}, {"maxReplicas", 10}}}}}};
  return Json{{"id", arm_id(sub, rg, "Microsoft.App", "containerapps", name)},
              {"name", name},
              {"type", "Microsoft.App/containerApps"},
              {"location", app.value("location", "East US")},
              {"systemData", {{"createdBy", "deploy-bot@example.com"}, {"createdByType", "User"},
                              {"createdAt", "2025-05-24T16:45:55.4906993"}}},
              {"properties", props}};
}

Response FakeUpstream::handle_arm(const Request& req, const Ctx& ctx) {
  Response res;
  if (!arm_authorized(req, res)) return res;
  const auto& s = ctx.t.segments;
  const auto method = req.method();
  const bool is_read = method == http::verb::get;
  auto finish = [&](Response r) {
    r.set(is_read ? "x-ms-ratelimit-remaining-subscription-reads" : "x-ms-ratelimit-remaining-subscription-writes",
          is_read ? "11999" : "1199");
    r.set("x-ms-request-id", "fake-" + std::to_string(next_seq_));
    r.set(http::field::cache_control, "no-cache");
    return r;
  };
  if (!ctx.t.query.count("api-version") || ctx.t.query.at("api-version").empty())
    return finish(arm_error(http::status::bad_request, "MissingApiVersionParameter",
                            "The api-version query parameter (?api-version=) is required for all requests."));
  const std::string api_version = ctx.t.query.at("api-version");
  if (s.size() < 8 || !ieq(s[2], "resourceGroups") || !ieq(s[4], "providers"))
    return finish(arm_error(http::status::not_found, "NotFound", "The requested resource was not found."));
  const std::string& sub = s[1];
  const std::string& rg = s[3];
  const std::string& name = s[7];
  const std::string key = rg + "/" + name;

  if (ieq(s[5], "Microsoft.DBforPostgreSQL") && ieq(s[6], "flexibleServers") && s.size() == 8 && is_read) {
    const Json& servers = azure_["postgres"];
    if (!servers.contains(key))
      return finish(arm_error(http::status::not_found, "ResourceNotFound",
                              "The Resource 'Microsoft.DBforPostgreSQL/flexibleServers/" + name +
                                  "' under resource group '" + rg + "' was not found. For more details please go to "
                                  "https://aka.ms/ARMResourceNotFoundFix"));
    Json props{{"fullyQualifiedDomainName", name + ".postgres.database.azure.com"},
               {"version", "16"},
               {"minorVersion", "4"},
               {"administratorLogin", "dbadmin"},
               {"state", "Ready"},
               {"availabilityZone", "1"},
               {"storage", {{"storageSizeGB", 128}, {"autoGrow", "Disabled"}, {"tier", "P10"}}},
               {"network", {{"publicNetworkAccess", "Disabled"}}},
               {"highAvailability", {{"mode", "Disabled"}, {"state", "NotEnabled"}}},
               {"replicationRole", "Primary"},
               {"replicaCapacity", 5}};
    for (const auto& [k, v] : servers[key].items()) props[k] = v;
    return finish(make_json(http::status::ok,
                            Json{{"sku", {{"name", "Standard_D2ds_v4"}, {"tier", "GeneralPurpose"}}},
                                 {"systemData", {{"createdAt", "2024-11-22T03:43:10.5465328Z"}}},
                                 {"properties", props},
                                 {"location", "East US"},
                                 {"id", arm_id(sub, rg, "Microsoft.DBforPostgreSQL", "flexibleServers", name)},
                                 {"name", name},
                                 {"type", "Microsoft.DBforPostgreSQL/flexibleServers"}}));
  }

  if (!ieq(s[5], "Microsoft.App") || !ieq(s[6], "containerApps"))
    return finish(arm_error(http::status::not_found, "NotFound", "The requested resource was not found."));
  Json& apps = azure_["container_apps"];
  if (!apps.contains(key))
    return finish(arm_error(http::status::not_found, "ResourceNotFound",
                            "The Resource 'Microsoft.App/containerApps/" + name + "' under resource group '" + rg +
                                "' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"));
  Json& app = apps[key];

  if (s.size() == 8 && is_read) return finish(make_json(http::status::ok, render_container_app(sub, rg, name, app)));

  if (s.size() == 8 && method == http::verb::patch) {
    Json body;
    try {
      body = Json::parse(req.body());
    } catch (const Json::parse_error&) {
      return finish(arm_error(http::status::bad_request, "InvalidRequestContent", "The request content was invalid."));
    }
    const Json props = body.value("properties", Json::object());
    const Json config = props.is_object() ? props.value("configuration", Json::object()) : Json::object();
    if (config.is_object() && config.contains("activeRevisionsMode"))
      app["activeRevisionsMode"] = config["activeRevisionsMode"];
    const Json ingress = config.is_object() ? config.value("ingress", Json::object()) : Json::object();
    if (ingress.is_object() && ingress.contains("traffic")) {
      std::vector<std::string> errors;
      // Error codes below are the fake's own choice; the real service's codes are not recorded.
      if (!ingress["traffic"].is_array()) errors.push_back("traffic must be an array");
      long sum = 0;
      for (const Json& t : ingress["traffic"].is_array() ? ingress["traffic"] : Json::array()) {
        if (!t.is_object() || !t.contains("weight") || !t["weight"].is_number_integer()) {
          errors.push_back("each traffic entry needs an integer weight");
          continue;
        }
        sum += t["weight"].get<long>();
        if (t.contains("revisionName")) {
          const auto& revs = app["revisions"];
          if (std::none_of(revs.begin(), revs.end(), [&](const Json& r) { return r["name"] == t["revisionName"]; }))
            errors.push_back("revision '" + t["revisionName"].dump() + "' not found");
        } else if (!t.value("latestRevision", false)) {
          errors.push_back("traffic entry needs revisionName or latestRevision");
        }
      }
      if (errors.empty() && sum != 100) errors.push_back("traffic weights must sum to 100, got " + std::to_string(sum));
      if (!errors.empty())
        return finish(arm_error(http::status::bad_request, "ContainerAppInvalidTrafficWeights", errors.front()));
      app["traffic"] = ingress["traffic"];
    }
    const int polls = azure_.value("lro_polls", 1);
    const std::string op_id = "00000000-fake-4000-8000-" + std::to_string(100000000000 + next_operation_++);
    operations_[op_id] = Operation{polls, key, seven_digit_time(ctx.now)};
    if (polls > 0) app["provisioningState"] = "InProgress";
    Response r{http::status::accepted, 11};
    const std::string links = link_base_or(azure_, ctx.base_url);
    r.set("Azure-AsyncOperation", links + "/_ops/" + op_id + "?api-version=" + api_version +
                                      "&azureAsyncOperation=true");
    r.set(http::field::location, links + "/_ops/" + op_id + "/result?api-version=" + api_version);
    return finish(std::move(r));
  }

  if (s.size() >= 9 && ieq(s[8], "revisions")) {
    auto& revs = app["revisions"];
    if (s.size() == 9 && is_read) {
      const auto page_size = static_cast<std::size_t>(azure_.value("revisions_page_size", 100));
      std::size_t skip = 0;
      if (ctx.t.query.count("$skiptoken")) {
        try {
          skip = std::stoul(ctx.t.query.at("$skiptoken"));
        } catch (const std::exception&) {
          return finish(arm_error(http::status::bad_request, "InvalidSkipToken", "The skip token is invalid."));
        }
      }
      Json value = Json::array();
      for (std::size_t i = skip; i < revs.size() && i < skip + page_size; ++i)
        value.push_back(render_revision(sub, rg, name, app, revs[i]));
      Json body{{"value", value}};
      if (skip + page_size < revs.size())
        body["nextLink"] = link_base_or(azure_, ctx.base_url) + ctx.t.path + "?api-version=" +
                           percent_encode(api_version) + "&%24skiptoken=" + std::to_string(skip + page_size);
      return finish(make_json(http::status::ok, body));
    }
    if (s.size() < 10)
      return finish(arm_error(http::status::not_found, "NotFound", "The requested resource was not found."));
    auto it = std::find_if(revs.begin(), revs.end(), [&](const Json& r) { return r["name"] == s[9]; });
    if (it == revs.end())
      return finish(arm_error(http::status::not_found, "ContainerAppRevisionNotFound",
                              "Revision '" + s[9] + "' of container app '" + name + "' was not found."));
    if (s.size() == 10 && is_read) return finish(make_json(http::status::ok, render_revision(sub, rg, name, app, *it)));
    if (s.size() == 11 && method == http::verb::post) {
      if (ieq(s[10], "deactivate")) {
        (*it)["active"] = false;
        (*it)["runningState"] = "Stopped";
        (*it)["replicas"] = 0;
        return finish(make_json(http::status::ok, Json("Deactivate succeeded")));
      }
      if (ieq(s[10], "activate")) {
        (*it)["active"] = true;
        (*it)["runningState"] = "Running";
        (*it)["replicas"] = 1;
        return finish(make_json(http::status::ok, Json("Activate succeeded")));
      }
      if (ieq(s[10], "restart")) return finish(make_json(http::status::ok, Json("Restart succeeded")));
    }
  }
  return finish(arm_error(http::status::not_found, "NotFound", "The requested resource was not found."));
}

Response FakeUpstream::handle_ops(const Request& req, const Ctx& ctx) {
  // /_ops/{id} answers like an Azure-AsyncOperation URL, /_ops/{id}/result like a Location URL.
  Response res;
  if (!arm_authorized(req, res)) return res;
  const auto& s = ctx.t.segments;
  if (s.size() < 2 || s.size() > 3 || !operations_.count(s[1]) || (s.size() == 3 && s[2] != "result"))
    return arm_error(http::status::not_found, "OperationNotFound", "The operation was not found.");
  Operation& op = operations_[s[1]];
  const bool done = op.polls_left <= 0;
  if (!done) --op.polls_left;
  if (done && azure_["container_apps"].contains(op.app_key))
    azure_["container_apps"][op.app_key]["provisioningState"] = "Succeeded";
  if (s.size() == 3) {
    Response r{done ? http::status::no_content : http::status::accepted, 11};
    if (!done) r.set(http::field::location, link_base_or(azure_, ctx.base_url) + std::string(req.target()));
    return r;
  }
  return make_json(http::status::ok,
                   Json{{"id", "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.App/locations/"
                               "eastus/containerappOperationStatuses/" + s[1]},
                        {"name", s[1]},
                        {"status", done ? "Succeeded" : "InProgress"},
                        {"startTime", op.started}});
}

}  // namespace deployguard::fake
