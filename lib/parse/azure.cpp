#include "parse/azure.hpp"

#include <nlohmann/json.hpp>

#include "parse/detail/json_reader.hpp"

namespace deployguard::parse {

using detail::ErrorSink;
using detail::Reader;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxArmDetails = 256;
// A token lifetime beyond this is not something Entra ID issues; it also keeps the conversion to
// milliseconds far from overflow.
constexpr std::int64_t kMaxTokenLifetimeSeconds = 366LL * 24 * 3600;

std::vector<TrafficEntry> read_traffic(const Reader& list, const std::string& latest_revision) {
  std::vector<TrafficEntry> traffic;
  const auto n = list.opt_array();
  if (!n) return traffic;
  for (std::size_t i = 0; i < *n; ++i) {
    const Reader r = list[i];
    if (!r.req_object()) continue;
    TrafficEntry entry;
    entry.revision_name = r["revisionName"].str();
    if (auto w = r["weight"].opt_int()) {
      if (*w < 0 || *w > 100)
        r["weight"].error("expected a weight between 0 and 100");
      else
        entry.weight = *w;
    }
    entry.latest_revision = r["latestRevision"].opt_bool().value_or(false);
    entry.label = r["label"].str();
    if (entry.latest_revision && entry.revision_name.empty()) entry.revision_name = latest_revision;
    traffic.push_back(std::move(entry));
  }
  return traffic;
}

ContainerAppSnapshot read_container_app(const Reader& root) {
  ContainerAppSnapshot app;
  if (!root.req_object()) return app;
  app.name = root["name"].str();
  const Reader props = root["properties"];
  if (!props.req_object()) return app;
  if (auto s = props["provisioningState"].req_str()) app.provisioning_state = *s;
  app.running_status = props["runningStatus"].str();
  app.latest_revision_name = props["latestRevisionName"].str();
  app.latest_ready_revision_name = props["latestReadyRevisionName"].str();
  const Reader config = props["configuration"];
  if (config.opt_object()) {
    app.active_revisions_mode = config["activeRevisionsMode"].str();
    const Reader ingress = config["ingress"];
    if (ingress.opt_object()) app.traffic = read_traffic(ingress["traffic"], app.latest_revision_name);
  }
  // "Single" is the documented default (CA-APP); examples omit the field.
  if (app.active_revisions_mode.empty()) app.active_revisions_mode = "Single";
  return app;
}

RevisionSnapshot read_revision(const Reader& r) {
  RevisionSnapshot rev;
  if (!r.req_object()) return rev;
  if (auto name = r["name"].req_str()) {
    if (name->empty())
      r["name"].error("expected a non-empty revision name");
    else
      rev.name = *name;
  }
  const Reader props = r["properties"];
  if (!props.opt_object()) return rev;
  rev.active = props["active"].opt_bool().value_or(false);
  if (auto n = props["replicas"].opt_int()) rev.replicas = *n;
  if (auto w = props["trafficWeight"].opt_int()) rev.traffic_weight = *w;
  rev.provisioning_state = props["provisioningState"].str();
  rev.running_state = props["runningState"].str();
  rev.health_state = props["healthState"].str();
  rev.created_time = props["createdTime"].opt_time();
  const Reader tmpl = props["template"];
  if (tmpl.opt_object()) {
    const Reader containers = tmpl["containers"];
    if (auto n = containers.opt_array(); n && *n > 0 && containers[0].opt_object())
      rev.image = containers[0]["image"].str();
  }
  return rev;
}

// Details are best effort: a malformed detail must not hide the top-level code, which is what
// retry classification needs, so wrong shapes here are skipped rather than reported.
void read_error_details(const Reader& list, int depth, std::vector<ArmErrorDetail>& out) {
  if (list.raw() == nullptr || !list.raw()->is_array() || depth > kMaxArmErrorDepth) return;
  const std::size_t n = list.raw()->size();
  for (std::size_t i = 0; i < n && out.size() < kMaxArmDetails; ++i) {
    const Reader d = list[i];
    if (!d.raw()->is_object()) continue;
    const auto text = [&d](std::string_view key) {
      const json* v = d[key].raw();
      return v != nullptr && v->is_string() ? v->get<std::string>() : std::string{};
    };
    out.push_back({text("code"), text("message"), text("target"), depth});
    read_error_details(d["details"], depth + 1, out);
  }
}

ArmError read_error_detail(const Reader& r) {
  ArmError err;
  if (!r.req_object()) return err;
  err.code = r["code"].str();
  err.message = r["message"].str();
  err.target = r["target"].str();
  read_error_details(r["details"], 1, err.details);
  if (err.code.empty() && err.message.empty()) r.error("expected an error code or message");
  return err;
}

ArmError read_arm_error(const Reader& root) {
  if (!root.req_object()) return {};
  const Reader envelope = root["error"];
  if (!envelope.absent_or_null()) return read_error_detail(envelope);
  if (!root["code"].absent_or_null() || !root["message"].absent_or_null())
    return read_error_detail(root);
  envelope.error("missing");
  return {};
}

}  // namespace

Parsed<ContainerAppSnapshot> parse_container_app(std::string_view body) {
  return detail::read_body<ContainerAppSnapshot>(body, read_container_app);
}

Parsed<std::vector<TrafficEntry>> parse_traffic_patch(std::string_view body) {
  return detail::read_body<std::vector<TrafficEntry>>(body, [](const Reader& root) {
    const Reader traffic = root["properties"]["configuration"]["ingress"]["traffic"];
    if (!root.req_object() || !traffic.req_array()) return std::vector<TrafficEntry>{};
    return read_traffic(traffic, "");
  });
}

Parsed<RevisionSnapshot> parse_revision(const json& revision) {
  return detail::read_document<RevisionSnapshot>(revision, read_revision);
}

Parsed<RevisionSnapshot> parse_revision_body(std::string_view body) {
  return detail::read_body<RevisionSnapshot>(body, read_revision);
}

Parsed<RevisionsPage> parse_revisions_page(std::string_view body) {
  return detail::read_body<RevisionsPage>(body, [](const Reader& root) {
    RevisionsPage page;
    if (!root.req_object()) return page;
    page.revisions =
        detail::read_items<RevisionSnapshot>(root, "value", read_revision, page.item_errors);
    if (auto next = root["nextLink"].opt_str(); next && !next->empty()) page.next_link = *next;
    return page;
  });
}

Parsed<std::string> parse_revision_action_result(std::string_view body) {
  const auto blank = body.find_first_not_of(" \t\r\n") == std::string_view::npos;
  if (blank) return std::string{};
  return detail::read_body<std::string>(body, [](const Reader& root) {
    const json& doc = *root.raw();
    if (doc.is_string()) return doc.get<std::string>();
    if (doc.is_null()) return std::string{};
    if (!root.req_object()) return std::string{};
    if (!root["error"].absent_or_null()) root["error"].error("service returned an error");
    return std::string{};
  });
}

Parsed<PostgresServerSnapshot> parse_postgres_server(std::string_view body) {
  return detail::read_body<PostgresServerSnapshot>(body, [](const Reader& root) {
    PostgresServerSnapshot server;
    if (!root.req_object()) return server;
    server.name = root["name"].str();
    const Reader props = root["properties"];
    if (!props.req_object()) return server;
    if (auto s = props["state"].req_str()) server.state = *s;
    if (props["highAvailability"].opt_object())
      server.ha_state = props["highAvailability"]["state"].str();
    server.version = props["version"].opt_text().value_or("");
    return server;
  });
}

Parsed<ArmError> parse_arm_error(std::string_view body) {
  return detail::read_body<ArmError>(body, read_arm_error);
}

Parsed<ArmError> parse_arm_error_detail(const json& error) {
  return detail::read_document<ArmError>(error, read_error_detail);
}

bool arm_error_mentions(const ArmError& error, std::string_view code) {
  if (iequals(error.code, code)) return true;
  for (const auto& d : error.details)
    if (iequals(d.code, code)) return true;
  return false;
}

bool OperationStatus::is_terminal() const {
  return iequals(status, "Succeeded") || iequals(status, "Failed") || iequals(status, "Canceled");
}

bool OperationStatus::succeeded() const { return iequals(status, "Succeeded"); }

Parsed<OperationStatus> parse_operation_status(std::string_view body) {
  return detail::read_body<OperationStatus>(body, [](const Reader& root) {
    OperationStatus op;
    if (!root.req_object()) return op;
    if (auto s = root["status"].req_str()) {
      if (s->empty())
        root["status"].error("expected a non-empty status");
      else
        op.status = *s;
    }
    op.name = root["name"].str();
    op.id = root["id"].str();
    op.start_time = root["startTime"].opt_time();
    op.end_time = root["endTime"].opt_time();
    op.percent_complete = root["percentComplete"].opt_number();
    if (root["error"].opt_object()) op.error = read_error_detail(root["error"]);
    return op;
  });
}

Parsed<AcceptedOperation> parse_accepted_operation(std::string_view body) {
  return detail::read_body<AcceptedOperation>(body, [](const Reader& root) {
    AcceptedOperation op;
    if (!root.req_object()) return op;
    // Every member is optional, so an error envelope would otherwise pass as "accepted".
    if (!root["error"].absent_or_null()) root["error"].error("service returned an error");
    op.operation = root["operation"].str();
    op.start_time = root["startTime"].opt_time();
    return op;
  });
}

Parsed<AccessToken> parse_token_response(std::string_view body, TimePoint now) {
  return detail::read_body<AccessToken>(body, [now](const Reader& root) {
    AccessToken token;
    if (!root.req_object()) return token;
    if (const Reader err = root["error"]; !err.absent_or_null()) {
      // An AAD error answer (usually HTTP 400/401) fed to the success parser.
      std::string text = "token endpoint error";
      if (auto code = err.opt_str()) text += " '" + *code + "'";
      if (auto desc = root["error_description"].opt_str()) text += ": " + *desc;
      err.error(std::move(text));
      return token;
    }
    if (auto t = root["access_token"].req_str()) {
      if (t->empty())
        root["access_token"].error("expected a non-empty token");
      else
        token.access_token = std::move(*t);
    }
    token.token_type = root["token_type"].str();
    std::optional<std::int64_t> seconds;
    if (auto in = root["expires_in"].opt_int64()) {
      seconds = *in;
    } else if (root["expires_in"].absent_or_null()) {
      if (auto on = root["expires_on"].opt_int64()) {
        const auto now_s = std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
        // Compare before subtracting so a hostile epoch cannot overflow.
        seconds = *on <= now_s ? 0 : std::min(*on - now_s, kMaxTokenLifetimeSeconds + 1);
      } else if (root["expires_on"].absent_or_null()) {
        root["expires_in"].error("missing (and no expires_on)");
      }
    }
    if (seconds) {
      if (*seconds < 0 || *seconds > kMaxTokenLifetimeSeconds) {
        root["expires_in"].error("expected a lifetime between 0 and 366 days");
      } else {
        token.expires_in = std::chrono::seconds{*seconds};
        token.expires_at = now + token.expires_in;
      }
    }
    return token;
  });
}

Parsed<AadError> parse_aad_error(std::string_view body) {
  return detail::read_body<AadError>(body, [](const Reader& root) {
    AadError err;
    if (!root.req_object()) return err;
    if (auto e = root["error"].req_str()) err.error = *e;
    err.error_description = root["error_description"].str();
    const Reader codes = root["error_codes"];
    if (auto n = codes.opt_array()) {
      for (std::size_t i = 0; i < *n; ++i)
        if (auto c = codes[i].req_int64()) err.error_codes.push_back(*c);
    }
    err.trace_id = root["trace_id"].str();
    err.correlation_id = root["correlation_id"].str();
    return err;
  });
}

}  // namespace deployguard::parse
