// Dispatch, faults, request recording and the /_fake/ control API of FakeUpstream.
#include "internal.hpp"

#include <algorithm>
#include <set>

namespace deployguard::fake {

namespace {

constexpr auto kRecordedHeaders = {"authorization",        "if-none-match", "content-type",
                                   "accept",               "user-agent",    "x-github-api-version",
                                   "metadata",             "x-identity-header", "host",
                                   "x-deployguard-signature"};
constexpr std::size_t kRecordedBodyLimit = 64 * 1024;

Json default_state() {
  return Json{
      {"tokens",
       {{"github", nullptr},
        {"arm", nullptr},
        {"aad", {{"tenant", nullptr}, {"client_id", nullptr}, {"client_secret", nullptr},
                 {"client_assertion", nullptr}}},
        {"identity_header", nullptr}}},
      {"github",
       {{"rate_limit", {{"limit", 5000}, {"remaining", 5000}, {"reset", nullptr}}},
        {"log_redirect_base", nullptr},
        {"link_base", nullptr},
        {"repos", Json::object()}}},
      {"azure",
       {{"revisions_page_size", 100},
        {"link_base", nullptr},
        {"lro_polls", 1},
        {"container_apps", Json::object()},
        {"postgres", Json::object()}}}};
}

void check_keys(const Json& obj, const std::string& path, std::initializer_list<const char*> allowed,
                std::vector<std::string>& errors) {
  if (!obj.is_object()) {
    errors.push_back(path + ": expected an object");
    return;
  }
  for (const auto& [key, value] : obj.items()) {
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }))
      errors.push_back(path + "." + key + ": unknown key");
  }
}

void check_string_or_null(const Json& obj, const char* key, const std::string& path,
                          std::vector<std::string>& errors) {
  if (obj.contains(key) && !obj[key].is_null() && !obj[key].is_string())
    errors.push_back(path + "." + key + ": expected a string or null");
}

void check_slash_key(const std::string& key, const std::string& path, std::vector<std::string>& errors) {
  const auto slash = key.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == key.size() ||
      key.find('/', slash + 1) != std::string::npos)
    errors.push_back(path + "[\"" + key + "\"]: key must look like \"a/b\"");
}

void check_run(const Json& run, const std::string& path, std::vector<std::string>& errors) {
  if (!run.is_object()) {
    errors.push_back(path + ": expected an object");
    return;
  }
  if (!run.contains("id") || !run["id"].is_number_integer())
    errors.push_back(path + ".id: required integer");
  for (const char* key : {"status", "conclusion", "head_branch", "name", "display_title", "event",
                          "head_sha", "created_at", "updated_at", "run_started_at"})
    check_string_or_null(run, key, path, errors);
  if (run.contains("run_attempt") &&
      (!run["run_attempt"].is_number_integer() || run["run_attempt"].get<long>() < 1))
    errors.push_back(path + ".run_attempt: expected an integer >= 1");
  if (run.contains("jobs")) {
    if (!run["jobs"].is_array()) {
      errors.push_back(path + ".jobs: expected an array");
    } else {
      for (std::size_t i = 0; i < run["jobs"].size(); ++i) {
        const Json& job = run["jobs"][i];
        const std::string jp = path + ".jobs[" + std::to_string(i) + "]";
        if (!job.is_object() || !job.contains("id") || !job["id"].is_number_integer())
          errors.push_back(jp + ".id: required integer");
        else
          check_string_or_null(job, "log", jp, errors);
        if (job.is_object() && job.contains("run_attempt") &&
            (!job["run_attempt"].is_number_integer() || job["run_attempt"].get<long>() < 1))
          errors.push_back(jp + ".run_attempt: expected an integer >= 1");
      }
    }
  }
}

void check_traffic(const Json& traffic, const std::string& path, std::vector<std::string>& errors) {
  if (!traffic.is_array()) {
    errors.push_back(path + ": expected an array");
    return;
  }
  for (std::size_t i = 0; i < traffic.size(); ++i) {
    const Json& t = traffic[i];
    const std::string tp = path + "[" + std::to_string(i) + "]";
    if (!t.is_object() || !t.contains("weight") || !t["weight"].is_number_integer()) {
      errors.push_back(tp + ".weight: required integer");
      continue;
    }
    const bool named = t.contains("revisionName") && t["revisionName"].is_string();
    const bool latest = t.value("latestRevision", false);
    if (!named && !latest) errors.push_back(tp + ": needs revisionName or latestRevision:true");
  }
}

void check_container_app(const Json& app, const std::string& path, std::vector<std::string>& errors) {
  check_keys(app, path,
             {"provisioningState", "runningStatus", "activeRevisionsMode", "latestRevisionName",
              "latestReadyRevisionName", "location", "traffic", "revisions", "remove_revisions",
              "replace_revisions"},
             errors);
  if (!app.is_object()) return;
  if (app.contains("traffic")) check_traffic(app["traffic"], path + ".traffic", errors);
  if (app.contains("revisions")) {
    if (!app["revisions"].is_array()) {
      errors.push_back(path + ".revisions: expected an array");
    } else {
      for (std::size_t i = 0; i < app["revisions"].size(); ++i) {
        const Json& r = app["revisions"][i];
        if (!r.is_object() || !r.contains("name") || !r["name"].is_string())
          errors.push_back(path + ".revisions[" + std::to_string(i) + "].name: required string");
      }
    }
  }
}

void check_postgres(const Json& pg, const std::string& path, std::vector<std::string>& errors) {
  if (!pg.is_object()) {
    errors.push_back(path + ": expected an object");
    return;
  }
  check_string_or_null(pg, "state", path, errors);
}

std::vector<Json> as_list(const Json& body, const char* wrapper) {
  if (body.is_array()) return {body.begin(), body.end()};
  if (body.is_object() && body.contains(wrapper) && body[wrapper].is_array())
    return {body[wrapper].begin(), body[wrapper].end()};
  return {body};
}

std::optional<FaultKind> parse_kind(const std::string& s) {
  if (s == "status") return FaultKind::status;
  if (s == "delay") return FaultKind::delay;
  if (s == "malformed_json") return FaultKind::malformed_json;
  if (s == "truncated") return FaultKind::truncated;
  if (s == "reset") return FaultKind::reset;
  if (s == "rate_limit") return FaultKind::rate_limit;
  if (s == "edit") return FaultKind::edit;
  return std::nullopt;
}

const char* kind_name(FaultKind k) {
  switch (k) {
    case FaultKind::status: return "status";
    case FaultKind::delay: return "delay";
    case FaultKind::malformed_json: return "malformed_json";
    case FaultKind::truncated: return "truncated";
    case FaultKind::reset: return "reset";
    case FaultKind::rate_limit: return "rate_limit";
    case FaultKind::edit: return "edit";
  }
  return "unknown";
}

Json fault_json(const FaultRule& r) {
  Json j{{"id", r.id}, {"kind", kind_name(r.kind)}, {"hits", r.hits}};
  if (!r.method.empty()) j["method"] = r.method;
  if (!r.path_prefix.empty()) j["path_prefix"] = r.path_prefix;
  if (r.path_regex) j["path_regex"] = r.path_regex_text;
  j["status"] = r.status;
  j["delay_ms"] = r.delay.count();
  j["remaining"] = r.remaining ? Json(*r.remaining) : Json(nullptr);
  if (r.retry_after_s) j["retry_after_s"] = *r.retry_after_s;
  if (r.reset_after_s) j["reset_after_s"] = *r.reset_after_s;
  if (!r.remove_headers.empty()) j["remove_headers"] = r.remove_headers;
  return j;
}

bool request_matches(const RecordedRequest& r, const std::string& method, const std::string& prefix) {
  return (method.empty() || r.method == method) && starts_with(r.path, prefix);
}

Json recorded_json(const RecordedRequest& r) {
  Json j{{"seq", r.seq},         {"method", r.method},   {"target", r.target},
         {"path", r.path},       {"headers", r.headers}, {"body", r.body},
         {"elapsed_ms", r.elapsed_ms}, {"unix_ms", r.unix_ms}, {"status", r.status}};
  j["fault_id"] = r.fault_id ? Json(*r.fault_id) : Json(nullptr);
  return j;
}

}  // namespace

// ---- shared helpers -------------------------------------------------------------------

ControlError::ControlError(std::vector<std::string> errors)
    : std::runtime_error(errors.empty() ? "invalid control input" : errors.front()),
      errors_(std::move(errors)) {}

Response make_json(http::status status, const Json& body) {
  Response res{status, 11};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.body() = body.dump();
  return res;
}

Response make_text(http::status status, std::string body, const char* content_type) {
  Response res{status, 11};
  res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  return res;
}

Response github_error(http::status status, const std::string& message, const std::string& doc_url) {
  return make_json(status, Json{{"message", message},
                                {"documentation_url", doc_url},
                                {"status", std::to_string(static_cast<unsigned>(status))}});
}

Response arm_error(http::status status, const std::string& code, const std::string& message) {
  return make_json(status, Json{{"error", {{"code", code}, {"message", message}}}});
}

std::string header_value(const Request& req, std::string_view name) {
  const auto it = req.find(name);
  return it == req.end() ? std::string{} : std::string(it->value());
}

// ---- construction and state --------------------------------------------------------------

FakeUpstream::FakeUpstream(SystemTime start) : start_(start) { replace_state(Json::object(), start); }

Json FakeUpstream::state_json() const {
  Json github = github_;
  github["rate_limit"] = {{"limit", rl_limit_}, {"remaining", rl_remaining_}, {"reset", rl_reset_}};
  return Json{{"tokens", tokens_}, {"github", github}, {"azure", azure_}};
}

void FakeUpstream::validate_state(const Json& s, std::vector<std::string>& errors) const {
  check_keys(s, "$", {"tokens", "github", "azure"}, errors);
  if (!s.is_object()) return;
  if (s.contains("tokens")) {
    const Json& t = s["tokens"];
    check_keys(t, "$.tokens", {"github", "arm", "aad", "identity_header"}, errors);
    if (t.is_object()) {
      for (const char* k : {"github", "arm", "identity_header"}) check_string_or_null(t, k, "$.tokens", errors);
      if (t.contains("aad")) {
        check_keys(t["aad"], "$.tokens.aad", {"tenant", "client_id", "client_secret", "client_assertion"}, errors);
        if (t["aad"].is_object())
          for (const char* k : {"tenant", "client_id", "client_secret", "client_assertion"})
            check_string_or_null(t["aad"], k, "$.tokens.aad", errors);
      }
    }
  }
  if (s.contains("github")) {
    const Json& g = s["github"];
    check_keys(g, "$.github", {"rate_limit", "log_redirect_base", "link_base", "repos"}, errors);
    if (g.is_object()) {
      check_string_or_null(g, "log_redirect_base", "$.github", errors);
      check_string_or_null(g, "link_base", "$.github", errors);
      if (g.contains("rate_limit")) {
        check_keys(g["rate_limit"], "$.github.rate_limit", {"limit", "remaining", "reset"}, errors);
        if (g["rate_limit"].is_object())
          for (const auto& [k, v] : g["rate_limit"].items())
            if (!v.is_null() && !v.is_number_integer())
              errors.push_back("$.github.rate_limit." + k + ": expected an integer");
      }
      if (g.contains("repos")) {
        if (!g["repos"].is_object()) errors.push_back("$.github.repos: expected an object");
        else
          for (const auto& [name, repo] : g["repos"].items()) {
            const std::string rp = "$.github.repos[\"" + name + "\"]";
            check_slash_key(name, "$.github.repos", errors);
            check_keys(repo, rp, {"workflows", "runs"}, errors);
            if (!repo.is_object()) continue;
            if (repo.contains("workflows")) {
              if (!repo["workflows"].is_array()) errors.push_back(rp + ".workflows: expected an array");
              else
                for (std::size_t i = 0; i < repo["workflows"].size(); ++i) {
                  const Json& wf = repo["workflows"][i];
                  const std::string wp = rp + ".workflows[" + std::to_string(i) + "]";
                  if (!wf.is_object() || !wf.contains("id") || !wf["id"].is_number_integer())
                    errors.push_back(wp + ".id: required integer");
                  if (!wf.is_object() || !wf.contains("path") || !wf["path"].is_string())
                    errors.push_back(wp + ".path: required string");
                }
            }
            if (repo.contains("runs")) {
              if (!repo["runs"].is_array()) errors.push_back(rp + ".runs: expected an array");
              else
                for (std::size_t i = 0; i < repo["runs"].size(); ++i)
                  check_run(repo["runs"][i], rp + ".runs[" + std::to_string(i) + "]", errors);
            }
          }
      }
    }
  }
  if (s.contains("azure")) {
    const Json& a = s["azure"];
    check_keys(a, "$.azure", {"revisions_page_size", "lro_polls", "link_base", "container_apps", "postgres"},
               errors);
    if (a.is_object()) {
      check_string_or_null(a, "link_base", "$.azure", errors);
      if (a.contains("revisions_page_size") &&
          (!a["revisions_page_size"].is_number_integer() || a["revisions_page_size"].get<long>() < 1))
        errors.push_back("$.azure.revisions_page_size: expected an integer >= 1");
      if (a.contains("lro_polls") && (!a["lro_polls"].is_number_integer() || a["lro_polls"].get<long>() < 0))
        errors.push_back("$.azure.lro_polls: expected an integer >= 0");
      for (const char* section : {"container_apps", "postgres"}) {
        if (!a.contains(section)) continue;
        const std::string sp = std::string("$.azure.") + section;
        if (!a[section].is_object()) {
          errors.push_back(sp + ": expected an object");
          continue;
        }
        for (const auto& [key, value] : a[section].items()) {
          check_slash_key(key, sp, errors);
          const std::string vp = sp + "[\"" + key + "\"]";
          if (std::string(section) == "container_apps") check_container_app(value, vp, errors);
          else check_postgres(value, vp, errors);
        }
      }
    }
  }
}

void FakeUpstream::replace_state(const Json& state, SystemTime now) {
  std::vector<std::string> errors;
  validate_state(state, errors);
  if (!errors.empty()) throw ControlError(std::move(errors));

  Json full = default_state();
  full.merge_patch(state);
  tokens_ = full["tokens"];
  azure_ = full["azure"];
  github_ = full["github"];
  const Json rl = github_["rate_limit"];
  github_.erase("rate_limit");
  auto int_or = [&](const char* key, std::int64_t fallback) {
    return rl.contains(key) && rl[key].is_number_integer() ? rl[key].get<std::int64_t>() : fallback;
  };
  rl_limit_ = static_cast<long>(int_or("limit", 5000));
  rl_remaining_ = static_cast<long>(int_or("remaining", rl_limit_));
  rl_reset_ = int_or("reset", unix_seconds(now) + 3600);
  if (!github_.contains("repos") || !github_["repos"].is_object()) github_["repos"] = Json::object();
  // Normalise runs (relative timestamps, defaults that need `now`) as if upserted one by one.
  for (auto& [name, repo] : github_["repos"].items()) {
    Json runs = repo.value("runs", Json::array());
    repo["runs"] = Json::array();
    if (!repo.contains("workflows")) repo["workflows"] = Json::array();
    for (const Json& run : runs) upsert_runs(name, run, now);
  }
  for (const char* section : {"container_apps", "postgres"})
    if (!azure_.contains(section) || !azure_[section].is_object()) azure_[section] = Json::object();
  Json apps = azure_["container_apps"];
  azure_["container_apps"] = Json::object();
  for (const auto& [key, app] : apps.items()) update_container_app(key, app, now);
  operations_.clear();
}

Json* FakeUpstream::find_run(const std::string& repo, std::int64_t id) {
  auto& repos = github_["repos"];
  if (!repos.contains(repo)) return nullptr;
  for (Json& run : repos[repo]["runs"])
    if (run["id"].get<std::int64_t>() == id) return &run;
  return nullptr;
}

Json FakeUpstream::normalise_run(const Json& patch, const Json* existing, const std::string& repo,
                                 SystemTime now) const {
  Json run = existing ? *existing : Json::object();
  run.merge_patch(patch);
  // merge_patch drops keys set to null; keep an explicit null conclusion visible in state.
  if (patch.contains("conclusion") && patch["conclusion"].is_null()) run["conclusion"] = nullptr;
  for (const char* key : {"created_at", "updated_at", "run_started_at"})
    if (run.contains(key) && run[key].is_string()) run[key] = resolve_time(run[key].get<std::string>(), now);
  if (!run.contains("created_at")) run["created_at"] = format_iso8601_z(now);
  if (!patch.contains("updated_at")) run["updated_at"] = format_iso8601_z(now);
  if (!run.contains("run_number")) {
    long max_number = 0;
    for (const Json& other : github_["repos"][repo]["runs"])
      max_number = std::max(max_number, other.value("run_number", 0L));
    run["run_number"] = max_number + 1;
  }
  // A re-run (run_attempt raised): GitHub keeps the run id and the earlier attempt's jobs, and
  // answers /attempts/{n} with that attempt as it ended. Keep both: the old attempt's fields go
  // to "attempts"/"<n>", its jobs stay (stamped with their attempt), the patch's jobs are added.
  const long old_attempt = existing ? existing->value("run_attempt", 1L) : 1L;
  const long new_attempt = run.value("run_attempt", 1L);
  if (existing && new_attempt > old_attempt) {
    Json previous = Json::object();
    for (const char* key : {"status", "conclusion", "run_started_at", "updated_at"})
      if (existing->contains(key)) previous[key] = (*existing)[key];
    previous["run_attempt"] = old_attempt;
    run["attempts"][std::to_string(old_attempt)] = std::move(previous);
    Json jobs = Json::array();
    for (Json job : existing->value("jobs", Json::array())) {
      if (!job.contains("run_attempt")) job["run_attempt"] = old_attempt;
      jobs.push_back(std::move(job));
    }
    for (Json job : patch.value("jobs", Json::array())) {
      if (!job.contains("run_attempt")) job["run_attempt"] = new_attempt;
      jobs.push_back(std::move(job));
    }
    run["jobs"] = std::move(jobs);
    if (!patch.contains("run_started_at")) run["run_started_at"] = format_iso8601_z(now);
    if (!patch.contains("conclusion") && !patch.contains("status")) {
      run["status"] = "queued";
      run["conclusion"] = nullptr;
    }
  }
  if (run.contains("jobs"))
    for (Json& job : run["jobs"])
      for (const char* key : {"created_at", "started_at", "completed_at"})
        if (job.contains(key) && job[key].is_string()) job[key] = resolve_time(job[key].get<std::string>(), now);
  return run;
}

void FakeUpstream::upsert_runs(const std::string& repo, const Json& body, SystemTime now) {
  std::vector<std::string> errors;
  check_slash_key(repo, "repo", errors);
  const std::vector<Json> runs = as_list(body, "runs");
  for (std::size_t i = 0; i < runs.size(); ++i) check_run(runs[i], "runs[" + std::to_string(i) + "]", errors);
  if (!errors.empty()) throw ControlError(std::move(errors));
  Json& repos = github_["repos"];
  if (!repos.contains(repo)) repos[repo] = Json{{"workflows", Json::array()}, {"runs", Json::array()}};
  for (const Json& patch : runs) {
    Json* existing = find_run(repo, patch["id"].get<std::int64_t>());
    Json merged = normalise_run(patch, existing, repo, now);
    if (existing) *existing = std::move(merged);
    else repos[repo]["runs"].push_back(std::move(merged));
  }
}

void FakeUpstream::update_container_app(const std::string& key, const Json& body, SystemTime now) {
  std::vector<std::string> errors;
  check_slash_key(key, "container_app", errors);
  check_container_app(body, "$", errors);
  if (!errors.empty()) throw ControlError(std::move(errors));
  Json& apps = azure_["container_apps"];
  if (!apps.contains(key))
    apps[key] = Json{{"provisioningState", "Succeeded"}, {"runningStatus", "Running"},
                     {"activeRevisionsMode", "Multiple"}, {"traffic", Json::array()},
                     {"revisions", Json::array()}};
  Json& app = apps[key];
  if (body.value("replace_revisions", false)) app["revisions"] = Json::array();
  for (const auto& [field, value] : body.items()) {
    if (field == "revisions" || field == "remove_revisions" || field == "replace_revisions") continue;
    app[field] = value;  // whole-value replacement, traffic included (like ARM's merge patch)
  }
  if (body.contains("remove_revisions")) {
    for (const Json& name : body["remove_revisions"]) {
      auto& revs = app["revisions"];
      revs.erase(std::remove_if(revs.begin(), revs.end(), [&](const Json& r) { return r["name"] == name; }),
                 revs.end());
    }
  }
  if (body.contains("revisions")) {
    for (const Json& rev_patch : body["revisions"]) {
      Json rev = rev_patch;
      if (rev.contains("createdTime") && rev["createdTime"].is_string())
        rev["createdTime"] = resolve_time(rev["createdTime"].get<std::string>(), now, true);
      auto& revs = app["revisions"];
      auto it = std::find_if(revs.begin(), revs.end(), [&](const Json& r) { return r["name"] == rev["name"]; });
      if (it != revs.end()) {
        it->merge_patch(rev);
      } else {
        if (!rev.contains("createdTime")) rev["createdTime"] = format_iso8601_offset(now);
        revs.push_back(std::move(rev));
      }
    }
  }
}

void FakeUpstream::update_postgres(const std::string& key, const Json& body) {
  std::vector<std::string> errors;
  check_slash_key(key, "postgres", errors);
  check_postgres(body, "$", errors);
  if (!errors.empty()) throw ControlError(std::move(errors));
  Json& servers = azure_["postgres"];
  if (!servers.contains(key)) servers[key] = Json{{"state", "Ready"}};
  servers[key].merge_patch(body);
}

std::vector<std::uint64_t> FakeUpstream::add_faults(const Json& body) {
  std::vector<std::string> errors;
  std::vector<FaultRule> parsed;
  const std::vector<Json> rules = as_list(body, "rules");
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const Json& r = rules[i];
    const std::string p = "rules[" + std::to_string(i) + "]";
    check_keys(r, p,
               {"kind", "method", "path_prefix", "path_regex", "status", "body", "content_type", "headers",
                "delay_ms", "retry_after_s", "reset_after_s", "count", "remove_headers"},
               errors);
    if (!r.is_object()) continue;
    FaultRule rule;
    const auto kind = r.contains("kind") && r["kind"].is_string() ? parse_kind(r["kind"].get<std::string>())
                                                                  : std::nullopt;
    if (!kind) {
      errors.push_back(p + ".kind: one of status, delay, malformed_json, truncated, reset, rate_limit, edit");
      continue;
    }
    try {
      rule.kind = *kind;
      rule.method = r.value("method", "");
      rule.path_prefix = r.value("path_prefix", "");
      if (r.contains("path_regex")) {
        rule.path_regex_text = r["path_regex"].get<std::string>();
        rule.path_regex.emplace(rule.path_regex_text, std::regex::ECMAScript);
      }
      rule.status = r.value("status", rule.kind == FaultKind::rate_limit ? 403u : 500u);
      rule.has_status = r.contains("status");
      if (rule.status < 100 || rule.status > 599) errors.push_back(p + ".status: must be 100..599");
      rule.has_body = r.contains("body");
      if (r.contains("body")) rule.body = r["body"].is_string() ? r["body"].get<std::string>() : r["body"].dump();
      rule.content_type = r.value("content_type", rule.content_type);
      if (r.contains("headers"))
        for (const auto& [k, v] : r["headers"].items()) rule.headers[k] = v.get<std::string>();
      if (r.contains("remove_headers")) {
        if (rule.kind != FaultKind::edit) errors.push_back(p + ".remove_headers: only for kind edit");
        if (!r["remove_headers"].is_array()) errors.push_back(p + ".remove_headers: expected an array of names");
        else
          for (const Json& h : r["remove_headers"]) rule.remove_headers.push_back(h.get<std::string>());
      }
      rule.delay = std::chrono::milliseconds(r.value("delay_ms", 0L));
      if (rule.delay.count() < 0 || rule.delay.count() > 600000) errors.push_back(p + ".delay_ms: must be 0..600000");
      if (r.contains("retry_after_s")) rule.retry_after_s = r["retry_after_s"].get<long>();
      if (r.contains("reset_after_s")) rule.reset_after_s = r["reset_after_s"].get<long>();
      if (r.contains("count") && !r["count"].is_null()) {
        rule.remaining = r["count"].get<long>();
        if (*rule.remaining < 1) errors.push_back(p + ".count: must be >= 1 (omit for unlimited)");
      }
    } catch (const std::regex_error& e) {
      errors.push_back(p + ".path_regex: " + e.what());
    } catch (const Json::exception& e) {
      errors.push_back(p + ": " + e.what());
    }
    parsed.push_back(std::move(rule));
  }
  if (!errors.empty()) throw ControlError(std::move(errors));
  std::vector<std::uint64_t> ids;
  for (FaultRule& rule : parsed) {
    rule.id = next_fault_id_++;
    ids.push_back(rule.id);
    faults_.push_back(std::move(rule));
  }
  return ids;
}

void FakeUpstream::apply_set(const Json& set, SystemTime now) {
  std::vector<std::string> errors;
  check_keys(set, "set", {"state", "patch", "github_runs", "container_apps", "postgres", "faults", "clear_faults"},
             errors);
  if (!errors.empty()) throw ControlError(std::move(errors));
  auto prefixed = [](const std::string& where, const ControlError& e) {
    std::vector<std::string> out;
    for (const auto& msg : e.errors()) out.push_back(where + ": " + msg);
    return ControlError(std::move(out));
  };
  if (set.contains("state")) {
    try { replace_state(set["state"], now); } catch (const ControlError& e) { throw prefixed("set.state", e); }
  }
  if (set.contains("patch")) {
    Json merged = state_json();
    merged.merge_patch(set["patch"]);
    try { replace_state(merged, now); } catch (const ControlError& e) { throw prefixed("set.patch", e); }
  }
  if (set.value("clear_faults", false)) clear_faults();
  for (const char* section : {"github_runs", "container_apps", "postgres"}) {
    if (!set.contains(section)) continue;
    if (!set[section].is_object()) throw ControlError({std::string("set.") + section + ": expected an object"});
    for (const auto& [key, body] : set[section].items()) {
      const std::string where = std::string("set.") + section + "[\"" + key + "\"]";
      try {
        if (std::string(section) == "github_runs") upsert_runs(key, body, now);
        else if (std::string(section) == "container_apps") update_container_app(key, body, now);
        else update_postgres(key, body);
      } catch (const ControlError& e) {
        throw prefixed(where, e);
      }
    }
  }
  if (set.contains("faults")) {
    try { add_faults(set["faults"]); } catch (const ControlError& e) { throw prefixed("set.faults", e); }
  }
}

// ---- long-poll ---------------------------------------------------------------------------

bool FakeUpstream::wait_satisfied(const WaitSpec& spec) const {
  if (spec.scenario_steps && scenario_steps_applied_ < *spec.scenario_steps) return false;
  if (spec.request_count) {
    const auto n = static_cast<std::size_t>(std::count_if(requests_.begin(), requests_.end(), [&](const auto& r) {
      return request_matches(r, spec.method, spec.path_prefix);
    }));
    if (n < *spec.request_count) return false;
  }
  return true;
}

Json FakeUpstream::wait_result(const WaitSpec& spec) const {
  const auto n = std::count_if(requests_.begin(), requests_.end(),
                               [&](const auto& r) { return request_matches(r, spec.method, spec.path_prefix); });
  return Json{{"satisfied", wait_satisfied(spec)}, {"count", n}, {"scenario_steps", scenario_steps_applied_}};
}

// ---- dispatch ----------------------------------------------------------------------------

Outcome FakeUpstream::handle(const Request& req, SystemTime now) {
  Ctx ctx{parse_target(req.target()), now, "http://" + header_value(req, "host")};
  if (starts_with(ctx.t.path, "/_fake/") || ctx.t.path == "/_fake") return handle_control(req, ctx.t, now);

  RecordedRequest rec;
  rec.seq = next_seq_++;
  rec.method = std::string(req.method_string());
  rec.target = std::string(req.target());
  rec.path = ctx.t.path;
  for (const char* name : kRecordedHeaders) {
    const auto it = req.find(name);
    if (it != req.end()) rec.headers[name] = std::string(it->value());
  }
  rec.body = req.body().substr(0, kRecordedBodyLimit);
  rec.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - start_).count();
  rec.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();

  Outcome out;
  FaultRule* fault = nullptr;
  for (FaultRule& rule : faults_) {
    if (rule.remaining && *rule.remaining <= 0) continue;
    if (!rule.method.empty() && rule.method != rec.method) continue;
    if (!starts_with(ctx.t.path, rule.path_prefix)) continue;
    if (rule.path_regex && !std::regex_search(rec.target, *rule.path_regex)) continue;
    fault = &rule;
    break;
  }

  bool route_normally = true;
  if (fault) {
    if (fault->remaining) --*fault->remaining;
    ++fault->hits;
    rec.fault_id = fault->id;
    out.delay = fault->delay;
    route_normally = fault->kind == FaultKind::delay || fault->kind == FaultKind::malformed_json ||
                     fault->kind == FaultKind::truncated || fault->kind == FaultKind::edit;
    if (!route_normally) out.response = apply_fault(*fault, req, ctx, out);
  }

  if (route_normally) {
    const auto& segs = ctx.t.segments;
    if (!segs.empty() && segs[0] == "repos") {
      out.response = handle_github(req, ctx);
    } else if (!segs.empty() && to_lower(segs[0]) == "subscriptions") {
      out.response = handle_arm(req, ctx);
    } else if (!segs.empty() && segs[0] == "_ops") {
      out.response = handle_ops(req, ctx);
    } else if (!segs.empty() && segs[0] == "_blob") {
      out.response = handle_blob(ctx);
    } else if (ctx.t.path == "/metadata/identity/oauth2/token") {
      out.response = handle_imds_token(req, ctx);
    } else if (ctx.t.path == "/msi/token") {
      out.response = handle_msi_token(req, ctx);
    } else if (!segs.empty() && segs[0] == "hooks" && req.method() == http::verb::post) {
      // A notification receiver (Slack, Teams or JSON webhook): accepts anything, so tests
      // read the posts from the request log and script failures with fault rules.
      out.response = make_json(http::status::ok, Json{{"ok", true}});
    } else if (segs.size() == 4 && segs[1] == "oauth2" && segs[2] == "v2.0" && segs[3] == "token") {
      out.response = handle_aad_token(req, ctx);
    } else {
      out.response = make_json(http::status::not_found, Json{{"message", "Not Found"}});
    }
  }

  if (fault && fault->kind == FaultKind::malformed_json) {
    std::string& body = out.response.body();
    body = body.empty() ? std::string("{\"value\": [") : body.substr(0, body.size() / 2);
  }
  if (fault && fault->kind == FaultKind::edit) {
    Response& res = out.response;
    if (fault->has_status) res.result(static_cast<http::status>(fault->status));
    if (fault->has_body) {
      res.set(http::field::content_type, fault->content_type);
      res.body() = fault->body;
    }
    for (const auto& name : fault->remove_headers) res.erase(name);
    for (const auto& [k, v] : fault->headers) res.set(k, v);
  }
  if (fault && fault->kind == FaultKind::truncated) out.wire = WireAction::truncate;
  if (fault && fault->kind == FaultKind::reset) out.wire = WireAction::reset;

  rec.status = out.wire == WireAction::reset ? 0u : out.response.result_int();
  requests_.push_back(std::move(rec));
  while (requests_.size() > kMaxRecordedRequests) requests_.pop_front();
  return out;
}

Response FakeUpstream::apply_fault(FaultRule& rule, const Request&, const Ctx& ctx, Outcome&) {
  Response res{static_cast<http::status>(rule.status), 11};
  if (rule.kind == FaultKind::rate_limit) {
    const bool github = !ctx.t.segments.empty() && ctx.t.segments[0] == "repos";
    if (github) {
      const bool secondary = !rule.reset_after_s;
      res = github_error(static_cast<http::status>(rule.status),
                         secondary ? "You have exceeded a secondary rate limit. Please wait a few minutes before "
                                     "you try again. If you reach out to GitHub Support for help, please include "
                                     "the request ID."
                                   : "API rate limit exceeded for installation ID 1.",
                         "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api");
      res.set("x-ratelimit-limit", std::to_string(rl_limit_));
      res.set("x-ratelimit-resource", "core");
      if (rule.reset_after_s) {
        res.set("x-ratelimit-remaining", "0");
        res.set("x-ratelimit-used", std::to_string(rl_limit_));
        res.set("x-ratelimit-reset", std::to_string(unix_seconds(ctx.now) + *rule.reset_after_s));
      } else {
        res.set("x-ratelimit-remaining", std::to_string(rl_remaining_));
        res.set("x-ratelimit-used", std::to_string(rl_limit_ - rl_remaining_));
        res.set("x-ratelimit-reset", std::to_string(rl_reset_));
      }
    } else {
      res = arm_error(static_cast<http::status>(rule.status), "SubscriptionRequestsThrottled",
                      "Number of read requests for subscription exceeded the limit. Please try again later.");
      if (rule.reset_after_s) res.set("x-ms-ratelimit-remaining-subscription-reads", "0");
    }
    if (rule.retry_after_s) res.set(http::field::retry_after, std::to_string(*rule.retry_after_s));
  } else {
    res.set(http::field::content_type, rule.content_type);
    res.body() = rule.body;
  }
  for (const auto& [k, v] : rule.headers) res.set(k, v);
  return res;
}

// ---- control API -------------------------------------------------------------------------

Outcome FakeUpstream::handle_control(const Request& req, const ParsedTarget& t, SystemTime now) {
  Outcome out;
  const auto& segs = t.segments;  // segs[0] == "_fake"
  const auto method = req.method();
  auto body_json = [&]() -> Json {
    try {
      return req.body().empty() ? Json::object() : Json::parse(req.body());
    } catch (const Json::parse_error& e) {
      throw ControlError({std::string("request body is not JSON: ") + e.what()});
    }
  };
  try {
    if (segs.size() == 2 && segs[1] == "state" && method == http::verb::get) {
      out.response = make_json(http::status::ok, state_json());
    } else if (segs.size() == 2 && segs[1] == "state" && method == http::verb::put) {
      replace_state(body_json(), now);
      out.response = make_json(http::status::ok, state_json());
    } else if (segs.size() == 2 && segs[1] == "state" && method == http::verb::patch) {
      Json merged = state_json();
      merged.merge_patch(body_json());
      replace_state(merged, now);
      out.response = make_json(http::status::ok, state_json());
    } else if (segs.size() == 2 && segs[1] == "set" && method == http::verb::post) {
      apply_set(body_json(), now);
      out.response = make_json(http::status::ok, Json{{"ok", true}});
    } else if (segs.size() == 5 && segs[1] == "github" && segs[4] == "runs" && method == http::verb::post) {
      const std::string repo = segs[2] + "/" + segs[3];
      upsert_runs(repo, body_json(), now);
      out.response = make_json(http::status::ok, github_["repos"][repo]["runs"]);
    } else if (segs.size() == 5 && segs[1] == "azure" && segs[2] == "containerapps" && method == http::verb::post) {
      const std::string key = segs[3] + "/" + segs[4];
      update_container_app(key, body_json(), now);
      out.response = make_json(http::status::ok, azure_["container_apps"][key]);
    } else if (segs.size() == 5 && segs[1] == "azure" && segs[2] == "postgres" && method == http::verb::post) {
      const std::string key = segs[3] + "/" + segs[4];
      update_postgres(key, body_json());
      out.response = make_json(http::status::ok, azure_["postgres"][key]);
    } else if (segs.size() == 2 && segs[1] == "faults" && method == http::verb::post) {
      out.response = make_json(http::status::ok, Json{{"ids", add_faults(body_json())}});
    } else if (segs.size() == 2 && segs[1] == "faults" && method == http::verb::get) {
      Json list = Json::array();
      for (const auto& r : faults_) list.push_back(fault_json(r));
      out.response = make_json(http::status::ok, Json{{"rules", list}});
    } else if (segs.size() == 2 && segs[1] == "faults" && method == http::verb::delete_) {
      clear_faults();
      out.response = make_json(http::status::ok, Json{{"ok", true}});
    } else if (segs.size() == 2 && segs[1] == "requests" && method == http::verb::get) {
      const auto prefix = t.query.count("path_prefix") ? t.query.at("path_prefix") : std::string{};
      const auto verb = t.query.count("method") ? t.query.at("method") : std::string{};
      Json list = Json::array();
      for (const auto& r : requests_)
        if (request_matches(r, verb, prefix)) list.push_back(recorded_json(r));
      out.response = make_json(http::status::ok, Json{{"count", list.size()}, {"requests", list}});
    } else if (segs.size() == 2 && segs[1] == "requests" && method == http::verb::delete_) {
      requests_.clear();
      out.response = make_json(http::status::ok, Json{{"ok", true}});
    } else if (segs.size() == 2 && segs[1] == "wait" && method == http::verb::get) {
      WaitSpec spec;
      std::vector<std::string> errors;
      auto number = [&](const char* key) -> std::optional<std::size_t> {
        if (!t.query.count(key)) return std::nullopt;
        try {
          return static_cast<std::size_t>(std::stoull(t.query.at(key)));
        } catch (const std::exception&) {
          errors.push_back(std::string(key) + ": expected a non-negative integer");
          return std::nullopt;
        }
      };
      spec.request_count = number("request_count");
      spec.scenario_steps = number("scenario_steps");
      const auto timeout = number("timeout_ms");
      if (t.query.count("path_prefix")) spec.path_prefix = t.query.at("path_prefix");
      if (t.query.count("method")) spec.method = t.query.at("method");
      if (timeout) spec.timeout = std::chrono::milliseconds(std::min<std::size_t>(*timeout, 120000));
      if (!spec.request_count && !spec.scenario_steps)
        errors.push_back("wait needs request_count=N and/or scenario_steps=N");
      if (!errors.empty()) throw ControlError(std::move(errors));
      out.wait = spec;
    } else {
      out.response = make_json(http::status::not_found, Json{{"error", "unknown control endpoint"}});
    }
  } catch (const ControlError& e) {
    out.wait.reset();
    out.response = make_json(http::status::bad_request, Json{{"error", e.what()}, {"errors", e.errors()}});
  } catch (const Json::exception& e) {
    out.wait.reset();
    out.response = make_json(http::status::bad_request, Json{{"error", e.what()}, {"errors", {e.what()}}});
  }
  return out;
}

}  // namespace deployguard::fake
