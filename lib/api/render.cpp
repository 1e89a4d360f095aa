#include "api/render.hpp"

namespace deployguard::api {
namespace {

Json timestamp_or_null(const std::optional<TimePoint>& t) {
  return t ? Json(format_timestamp(*t)) : Json(nullptr);
}

Json string_or_null(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

Json ticket_entry(const Ticket& t) {
  Json j;
  j["holder"] = t.holder;
  j["run_id"] = or_null(t.run_id);
  j["run_attempt"] = or_null(t.run_attempt);
  j["ref"] = string_or_null(t.ref);
  j["sha"] = string_or_null(t.sha);
  j["since"] = format_timestamp(t.joined_at);
  return j;
}

Json run_json(const WorkflowRun& run) {
  Json j;
  j["id"] = run.id;
  j["workflow"] = run.workflow_name;
  j["status"] = run.status_text.empty() ? std::string(to_string(run.status)) : run.status_text;
  if (run.conclusion == RunConclusion::None)
    j["conclusion"] = nullptr;
  else
    j["conclusion"] =
        run.conclusion_text.empty() ? std::string(to_string(run.conclusion)) : run.conclusion_text;
  j["created_at"] = format_timestamp(run.created_at);
  j["started_at"] = timestamp_or_null(run.run_started_at);
  j["updated_at"] = format_timestamp(run.updated_at);
  j["head_branch"] = string_or_null(run.head_branch);
  j["head_sha"] = run.head_sha;
  j["title"] = run.title;
  j["event"] = string_or_null(run.event);
  j["attempt"] = run.run_attempt;
  j["url"] = string_or_null(run.html_url);
  return j;
}

Json container_app_json(const ContainerAppSnapshot& app) {
  Json j;
  j["name"] = app.name;
  j["provisioning_state"] = string_or_null(app.provisioning_state);
  j["running_status"] = string_or_null(app.running_status);
  j["active_revisions_mode"] = string_or_null(app.active_revisions_mode);
  j["latest_revision"] = string_or_null(app.latest_revision_name);
  j["latest_ready_revision"] = string_or_null(app.latest_ready_revision_name);
  return j;
}

Json revision_json(const RevisionSnapshot& rev) {
  Json j;
  j["name"] = rev.name;
  j["active"] = rev.active;
  j["traffic_weight"] = rev.traffic_weight;
  j["replicas"] = rev.replicas;
  j["image"] = string_or_null(rev.image);
  j["created_at"] = timestamp_or_null(rev.created_time);
  j["provisioning_state"] = string_or_null(rev.provisioning_state);
  j["running_state"] = string_or_null(rev.running_state);
  j["health_state"] = string_or_null(rev.health_state);
  return j;
}

Json source_json(const SourceHealth* health, TimePoint now) {
  Json j;
  if (!health) {
    j["last_success"] = nullptr;
    j["age_s"] = nullptr;
    j["last_error"] = nullptr;
    j["last_error_at"] = nullptr;
    return j;
  }
  j["last_success"] = timestamp_or_null(health->last_success);
  if (health->last_success) {
    const Duration age = now - *health->last_success;  // whole seconds, rounded down
    j["age_s"] = age <= Duration::zero() ? std::int64_t{0} : age / std::chrono::seconds{1};
  } else {
    j["age_s"] = nullptr;
  }
  j["last_error"] = string_or_null(health->last_error);
  j["last_error_at"] = timestamp_or_null(health->last_error_at);
  return j;
}

}  // namespace

Json lease_json(const std::optional<Lease>& lease) {
  if (!lease) return nullptr;
  Json j;
  j["id"] = lease->id;
  j["holder"] = lease->holder;
  j["run_id"] = or_null(lease->run_id);
  j["run_attempt"] = or_null(lease->run_attempt);
  j["acquired_at"] = format_timestamp(lease->acquired_at);
  j["expires_at"] = format_timestamp(lease->expires_at);
  return j;
}

Json freeze_json(const std::optional<Freeze>& freeze) {
  if (!freeze) return nullptr;
  Json j;
  j["reason"] = freeze->reason;
  j["by"] = freeze->by;
  j["since"] = format_timestamp(freeze->since);
  j["until"] = timestamp_or_null(freeze->until);
  return j;
}

Json window_span_json(const WindowSpan& span, const EnvironmentPolicy& policy) {
  Json j;
  j["name"] = span.name;
  j["start"] = format_timestamp(span.start);
  j["end"] = format_timestamp(span.end);
  for (const auto& w : policy.rules().freeze_windows)
    if (w.name() == span.name) j["schedule"] = w.describe();
  return j;
}

Json freeze_windows_json(const EnvironmentPolicy& policy, TimePoint now) {
  Json j;
  j["configured"] = policy.rules().freeze_windows.size();
  Json current = nullptr;
  if (const auto active = policy.freeze_window_in_force(now)) {
    current = Json::object();
    Json windows = Json::array();
    for (const auto& span : active->windows) windows.push_back(window_span_json(span, policy));
    current["windows"] = std::move(windows);
    current["until"] = format_timestamp(active->until);
  }
  j["current"] = std::move(current);
  const auto next = policy.next_freeze_window(now);
  j["next"] = next ? window_span_json(*next, policy) : Json(nullptr);
  return j;
}

Json override_json(const std::optional<Override>& o) {
  if (!o) return nullptr;
  Json j;
  j["id"] = o->id;
  j["reason"] = o->reason;
  j["by"] = o->by;
  j["skip"] = o->skip;
  j["created_at"] = format_timestamp(o->created_at);
  j["expires_at"] = format_timestamp(o->expires_at);
  return j;
}

Json busy_json(const BusyBackoffState& busy) {
  Json j;
  j["consecutive_failures"] = busy.consecutive_failures;
  j["last_failure_at"] = timestamp_or_null(busy.last_failure_at);
  j["last_detail"] = string_or_null(busy.last_detail);
  return j;
}

Json live_json(const std::optional<LiveRevision>& live) {
  if (!live) return nullptr;
  Json j;
  j["revision"] = live->revision;
  j["run_id"] = or_null(live->run_id);
  j["run_attempt"] = or_null(live->run_attempt);
  j["sha"] = string_or_null(live->sha);
  j["title"] = string_or_null(live->title);
  j["url"] = string_or_null(live->url);
  j["matched_by"] = to_string(live->matched_by);
  return j;
}

std::int64_t seconds_rounded_up(Duration d) {
  if (d <= Duration::zero()) return 0;
  return (d.count() + 999) / 1000;
}

namespace {

// A JSON string literal as nlohmann's dump() writes it (ensure_ascii off): quote, backslash and
// the control characters escaped, every other byte as is.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xf];
          out += kHex[static_cast<unsigned char>(c) & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

std::string decision_text(std::string_view environment, const Decision& decision,
                          const std::optional<AsRun>& as_run) {
  std::string out;
  out.reserve(96 + environment.size() + decision.reasons.size() * 160);
  out += "{\"environment\":";
  append_json_string(out, environment);
  if (as_run) {
    out += ",\"for_run\":{\"run_id\":";
    out += std::to_string(as_run->id);
    out += ",\"run_attempt\":";
    out += as_run->attempt ? std::to_string(*as_run->attempt) : std::string("null");
    out += '}';
  }
  out += decision.safe ? ",\"safe\":true,\"reasons\":[" : ",\"safe\":false,\"reasons\":[";
  bool first = true;
  for (const auto& reason : decision.reasons) {
    out += first ? "{\"code\":" : ",{\"code\":";
    first = false;
    append_json_string(out, to_string(reason.code));
    out += ",\"message\":";
    append_json_string(out, reason.message);
    if (reason.until) {
      out += ",\"until\":";
      append_json_string(out, format_timestamp(*reason.until));
    }
    out += '}';
  }
  out += ']';
  if (decision.retry_after) {
    out += ",\"retry_after_s\":";
    out += std::to_string(seconds_rounded_up(*decision.retry_after));
  }
  out += ",\"evaluated_at\":";
  append_json_string(out, format_timestamp(decision.evaluated_at));
  out += '}';
  return out;
}

Json lease_grant_json(const Lease& lease) {
  Json out;
  out["lease_id"] = lease.id;
  out["holder"] = lease.holder;
  out["run_id"] = or_null(lease.run_id);
  out["run_attempt"] = or_null(lease.run_attempt);
  out["expires_at"] = format_timestamp(lease.expires_at);
  return out;
}

Json ticket_json(std::string_view environment, const DeployQueue& queue, const Ticket& ticket,
                 const Decision& decision, TimePoint expires_at) {
  const auto waiting = queue.waiting();
  std::size_t position = 0;
  Json ahead = Json::array();
  for (const Ticket* t : waiting) {
    ++position;
    if (t->id == ticket.id) break;
    if (ahead.size() < kMaxListedTickets)
      ahead.push_back(Json{{"holder", t->holder}, {"run_id", or_null(t->run_id)},
                           {"since", format_timestamp(t->joined_at)}});
  }
  const Json d = decision_json(environment, decision);
  Json j;
  j["ticket"] = ticket.id;
  j["environment"] = environment;
  j["position"] = position;
  j["ahead"] = std::move(ahead);
  j["reasons"] = d["reasons"];
  j["estimate"] = decision.retry_after
                      ? Json(format_timestamp(decision.evaluated_at + *decision.retry_after))
                      : Json(nullptr);
  j["expires_at"] = format_timestamp(expires_at);
  return j;
}

Json queue_json(const DeployQueue& queue) {
  const auto& settings = queue.settings();
  Json j;
  j["order"] = to_string(settings.order);
  j["supersede"] = settings.supersede;
  j["ticket_ttl_s"] = seconds_rounded_up(settings.ticket_ttl);
  j["max_length"] = settings.max_length;
  const auto waiting = queue.waiting();
  j["waiting"] = waiting.size();
  Json tickets = Json::array();
  std::size_t position = 0;
  for (const Ticket* t : waiting) {
    if (tickets.size() >= kMaxListedTickets) break;
    Json entry;
    entry["position"] = ++position;
    entry.update(ticket_entry(*t));
    tickets.push_back(std::move(entry));
  }
  j["tickets"] = std::move(tickets);
  return j;
}

Json decision_json(std::string_view environment, const Decision& decision,
                   const std::optional<AsRun>& as_run) {
  Json j;
  j["environment"] = environment;
  if (as_run)
    j["for_run"] = Json{{"run_id", as_run->id}, {"run_attempt", or_null(as_run->attempt)}};
  j["safe"] = decision.safe;
  Json reasons = Json::array();
  for (const auto& reason : decision.reasons) {
    Json r;
    r["code"] = to_string(reason.code);
    r["message"] = reason.message;
    if (reason.until) r["until"] = format_timestamp(*reason.until);
    reasons.push_back(std::move(r));
  }
  j["reasons"] = std::move(reasons);
  if (decision.retry_after) j["retry_after_s"] = seconds_rounded_up(*decision.retry_after);
  j["evaluated_at"] = format_timestamp(decision.evaluated_at);
  return j;
}

Json environment_status_json(std::string_view environment, const EnvironmentPolicy& policy,
                             const Decision& decision, TimePoint now) {
  Json j = decision_json(environment, decision);

  Json runs = Json::array();
  for (const auto& run : policy.runs()) runs.push_back(run_json(run));
  j["runs"] = std::move(runs);

  j["container_app"] = policy.container_app() ? container_app_json(*policy.container_app())
                                              : Json(nullptr);
  Json revisions = Json::array();
  for (const auto& rev : policy.revisions()) revisions.push_back(revision_json(rev));
  j["revisions"] = std::move(revisions);
  Json traffic = Json::object();
  for (const auto& [revision, weight] : policy.traffic_by_revision()) traffic[revision] = weight;
  j["traffic"] = std::move(traffic);
  j["live"] = live_json(live_revision(policy));

  Json databases = Json::array();
  for (const auto& name : policy.rules().postgres_servers) {
    Json db;
    db["name"] = name;
    if (auto it = policy.postgres().find(name); it != policy.postgres().end()) {
      db["state"] = string_or_null(it->second.state);
      db["ha_state"] = string_or_null(it->second.ha_state);
      db["version"] = string_or_null(it->second.version);
    } else {
      db["state"] = nullptr;
      db["ha_state"] = nullptr;
      db["version"] = nullptr;
    }
    databases.push_back(std::move(db));
  }
  j["databases"] = std::move(databases);

  j["lease"] = lease_json(policy.lease());
  j["queue"] = queue_json(policy.queue());
  j["freeze"] = freeze_json(policy.freeze());
  j["freeze_windows"] = freeze_windows_json(policy, now);
  j["override"] = override_json(policy.pending_override());

  j["busy_backoff"] = busy_json(policy.busy());

  Json deploys = Json::array();
  for (const auto& record : policy.deploys()) {
    Json d;
    d["key"] = record.key;
    d["started_at"] = format_timestamp(record.started_at);
    d["ended_at"] = timestamp_or_null(record.ended_at);
    d["run_id"] = record.run ? Json(record.run->id) : Json(nullptr);
    d["run_attempt"] = record.run ? Json(record.run->attempt) : Json(nullptr);
    d["sha"] = string_or_null(record.sha);
    d["title"] = string_or_null(record.title);
    d["url"] = string_or_null(record.url);
    deploys.push_back(std::move(d));
  }
  j["deploys"] = std::move(deploys);

  Json unclassified = Json::array();
  for (const auto& u : policy.unclassified())
    unclassified.push_back(Json{{"run_id", u.run.id}, {"run_attempt", u.run.attempt},
                                {"detail", u.detail}, {"at", format_timestamp(u.at)}});
  j["unclassified"] = std::move(unclassified);

  Json sources = Json::object();
  for (const auto& source : policy.rules().sources()) {
    auto it = policy.sources().find(source);
    sources[source] = source_json(it == policy.sources().end() ? nullptr : &it->second, now);
  }
  j["sources"] = std::move(sources);
  return j;
}

}  // namespace deployguard::api
