// GitHub REST (Actions subset) handlers of FakeUpstream. Shapes follow the recorded responses
// in tests/fixtures/recorded/github and docs/api-facts.md section A.
#include "internal.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace deployguard::fake {

namespace {

constexpr const char* kDocsRuns = "https://docs.github.com/rest/actions/workflow-runs";
constexpr const char* kDocsJobs = "https://docs.github.com/rest/actions/workflow-jobs";

// Deterministic 40-hex "sha" so runs without an explicit head_sha still look real.
std::string fake_sha(std::int64_t seed) {
  std::string out;
  std::uint64_t x = static_cast<std::uint64_t>(seed) * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
  while (out.size() < 40) {
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    std::array<char, 17> buf{};
    std::snprintf(buf.data(), buf.size(), "%016llx", static_cast<unsigned long long>(x));
    out += buf.data();
  }
  out.resize(40);
  return out;
}

std::optional<std::int64_t> parse_id(const std::string& s) {
  if (s.empty() || s.size() > 19 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoll(s);
}

std::string basename(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Json actor_json() {
  return Json{{"login", "deploy-bot"}, {"id", 98765432}, {"node_id", "U_kgDOBeNvdA"}, {"type", "User"},
              {"site_admin", false}, {"url", "https://api.github.com/users/deploy-bot"}};
}

}  // namespace

const Json* FakeUpstream::find_workflow(const std::string& repo, const std::string& id_or_file) const {
  const Json& repos = github_["repos"];
  if (!repos.contains(repo)) return nullptr;
  const auto numeric = parse_id(id_or_file);
  for (const Json& wf : repos[repo]["workflows"]) {
    if (numeric && wf["id"].get<std::int64_t>() == *numeric) return &wf;
    if (!numeric && basename(wf["path"].get<std::string>()) == id_or_file) return &wf;
  }
  return nullptr;
}

Json FakeUpstream::render_workflow(const std::string& repo, const Json& wf, const Ctx& ctx) const {
  const auto id = wf["id"].get<std::int64_t>();
  const std::string path = wf["path"].get<std::string>();
  Json out{{"id", id},
           {"node_id", "W_kwDO" + std::to_string(id)},
           {"name", wf.value("name", basename(path))},
           {"path", path},
           {"state", wf.value("state", "active")},
           {"created_at", wf.value("created_at", "2024-01-01T00:00:00Z")},
           {"updated_at", wf.value("updated_at", "2024-01-01T00:00:00Z")},
           {"url", ctx.base_url + "/repos/" + repo + "/actions/workflows/" + std::to_string(id)},
           {"html_url", "https://github.com/" + repo + "/blob/main/" + path},
           {"badge_url", "https://github.com/" + repo + "/workflows/" + wf.value("name", basename(path)) + "/badge.svg"}};
  return out;
}

Json FakeUpstream::render_run(const std::string& repo, const Json& run, const Ctx& ctx) const {
  const auto id = run["id"].get<std::int64_t>();
  const Json* wf = nullptr;
  const Json& workflows = github_["repos"][repo]["workflows"];
  if (run.contains("workflow_id")) {
    for (const Json& w : workflows)
      if (w["id"] == run["workflow_id"]) wf = &w;
  } else if (!workflows.empty()) {
    wf = &workflows[0];
  }
  const std::int64_t workflow_id = run.contains("workflow_id") ? run["workflow_id"].get<std::int64_t>()
                                   : wf                        ? (*wf)["id"].get<std::int64_t>()
                                                               : 0;
  const std::string wf_name = wf ? wf->value("name", "Deploy") : "Deploy";
  const std::string wf_path = wf ? (*wf)["path"].get<std::string>() : ".github/workflows/deploy.yml";
  const std::string api = ctx.base_url + "/repos/" + repo;
  const std::string run_url = api + "/actions/runs/" + std::to_string(id);
  const std::string sha = run.value("head_sha", fake_sha(id));
  const std::string name = run.value("name", wf_name);
  const std::string title = run.value("display_title", name);
  const auto slash = repo.find('/');
  const Json repository{{"id", 700000000 + static_cast<long>(repo.size())},
                        {"node_id", "R_kgDOKfake"},
                        {"name", repo.substr(slash + 1)},
                        {"full_name", repo},
                        {"private", true},
                        {"owner", {{"login", repo.substr(0, slash)}, {"type", "Organization"}}},
                        {"html_url", "https://github.com/" + repo},
                        {"url", api}};
  Json out{{"id", id},
           {"name", name},
           {"node_id", "WFR_kwLO" + std::to_string(id)},
           {"head_branch", "main"},
           {"head_sha", sha},
           {"path", wf_path},
           {"display_title", title},
           {"run_number", run.value("run_number", 1)},
           {"event", "push"},
           {"status", "queued"},
           {"conclusion", nullptr},
           {"workflow_id", workflow_id},
           {"check_suite_id", id + 1000000000LL},
           {"check_suite_node_id", "CS_kwDO" + std::to_string(id)},
           {"url", run_url},
           {"html_url", "https://github.com/" + repo + "/actions/runs/" + std::to_string(id)},
           {"pull_requests", Json::array()},
           {"created_at", run["created_at"]},
           {"updated_at", run["updated_at"]},
           {"actor", actor_json()},
           {"run_attempt", 1},
           {"referenced_workflows", Json::array()},
           {"run_started_at", run.value("run_started_at", run["created_at"].get<std::string>())},
           {"triggering_actor", actor_json()},
           {"jobs_url", run_url + "/jobs"},
           {"logs_url", run_url + "/logs"},
           {"check_suite_url", api + "/check-suites/" + std::to_string(id + 1000000000LL)},
           {"artifacts_url", run_url + "/artifacts"},
           {"cancel_url", run_url + "/cancel"},
           {"rerun_url", run_url + "/rerun"},
           {"previous_attempt_url", run.value("run_attempt", 1L) > 1
                                        ? Json(run_url + "/attempts/" + std::to_string(run.value("run_attempt", 1L) - 1))
                                        : Json(nullptr)},
           {"workflow_url", api + "/actions/workflows/" + std::to_string(workflow_id)},
           {"head_commit",
            {{"id", sha}, {"tree_id", fake_sha(id + 1)}, {"message", title}, {"timestamp", run["created_at"]},
             {"author", {{"name", "Deploy Bot"}, {"email", "deploy-bot@example.com"}}}}},
           {"repository", repository},
           {"head_repository", repository}};
  // Scripted fields win, so tests can inject odd values (unknown statuses, string numbers).
  for (const auto& [key, value] : run.items())
    if (key != "jobs" && key != "attempts") out[key] = value;
  return out;
}

Json FakeUpstream::render_run_attempt(const std::string& repo, const Json& run, long attempt,
                                      const Ctx& ctx) const {
  Json out = render_run(repo, run, ctx);
  const Json& attempts = run.value("attempts", Json::object());
  const std::string key = std::to_string(attempt);
  if (attempts.contains(key))
    for (const auto& [field, value] : attempts[key].items()) out[field] = value;
  out["run_attempt"] = attempt;
  const std::string run_url = out["url"].get<std::string>();
  out["previous_attempt_url"] =
      attempt > 1 ? Json(run_url + "/attempts/" + std::to_string(attempt - 1)) : Json(nullptr);
  return out;
}

long FakeUpstream::job_attempt(const Json& run, const Json& job) {
  return job.value("run_attempt", run.value("run_attempt", 1L));
}

Json FakeUpstream::render_job(const std::string& repo, const Json& run, const Json& job, const Ctx& ctx) const {
  const auto id = job["id"].get<std::int64_t>();
  const auto run_id = run["id"].get<std::int64_t>();
  const std::string status = job.value("status", run.value("status", "queued"));
  Json conclusion = job.contains("conclusion") ? job["conclusion"]
                    : status == "completed"    ? run.value("conclusion", Json(nullptr))
                                               : Json(nullptr);
  // A job that never got a runner has "started_at": null; a job's own field (even null) wins.
  const Json started = job.contains("started_at")
                           ? job["started_at"]
                           : Json(run.value("run_started_at", run["created_at"].get<std::string>()));
  Json out{{"id", id},
           {"run_id", run_id},
           {"workflow_name", run.value("name", std::string("Deploy"))},
           {"head_branch", run.value("head_branch", "main")},
           {"run_url", ctx.base_url + "/repos/" + repo + "/actions/runs/" + std::to_string(run_id)},
           {"run_attempt", job_attempt(run, job)},
           {"node_id", "CR_kwDO" + std::to_string(id)},
           {"head_sha", run.value("head_sha", fake_sha(run_id))},
           {"url", ctx.base_url + "/repos/" + repo + "/actions/jobs/" + std::to_string(id)},
           {"html_url", "https://github.com/" + repo + "/actions/runs/" + std::to_string(run_id) + "/job/" +
                            std::to_string(id)},
           {"status", status},
           {"conclusion", conclusion},
           {"created_at", run["created_at"]},
           {"started_at", started},
           {"completed_at", job.contains("completed_at") ? job["completed_at"]
                            : status == "completed"   ? Json(run["updated_at"].get<std::string>())
                                                      : Json(nullptr)},
           {"name", job.value("name", "deploy")},
           {"steps", Json::array()},
           {"check_run_url", ctx.base_url + "/repos/" + repo + "/check-runs/" + std::to_string(id)},
           {"labels", Json::array({"ubuntu-latest"})},
           {"runner_id", 7},
           {"runner_name", "GitHub Actions 7"},
           {"runner_group_id", 2},
           {"runner_group_name", "GitHub Actions"}};
  for (const auto& [key, value] : job.items())
    if (key != "log") out[key] = value;
  return out;
}

Response FakeUpstream::handle_github(const Request& req, const Ctx& ctx) {
  Response res;
  bool counts = true;
  const std::string auth = header_value(req, "authorization");
  const Json& token = member_or_null(tokens_, "github");
  if (token.is_string() && auth != "Bearer " + token.get<std::string>() &&
      auth != "token " + token.get<std::string>()) {
    // Unauthenticated requests use a separate bucket on real GitHub; they leave ours alone.
    res = github_error(http::status::unauthorized, "Bad credentials", "https://docs.github.com/rest");
    counts = false;
  } else {
    if (unix_seconds(ctx.now) >= rl_reset_) {
      rl_remaining_ = rl_limit_;
      rl_reset_ = unix_seconds(ctx.now) + 3600;
    }
    if (rl_remaining_ <= 0) {
      res = github_error(http::status::forbidden, "API rate limit exceeded for installation ID 1.",
                         "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api");
      counts = false;
    } else {
      res = github_route(req, ctx);
    }
  }
  if (req.method() == http::verb::get && res.result() == http::status::ok) {
    const std::string etag = content_etag(res.body());
    res.set(http::field::etag, etag);
    res.set(http::field::cache_control, "private, max-age=60, s-maxage=60");
    res.set(http::field::vary, "Accept, Authorization, Cookie, X-GitHub-OTP");
    const std::string inm = header_value(req, "if-none-match");
    if (!inm.empty() && etag_matches(inm, etag)) {
      Response not_modified{http::status::not_modified, 11};
      for (const auto& field : res)
        if (field.name() != http::field::content_type) not_modified.set(field.name_string(), field.value());
      res = std::move(not_modified);
      counts = false;  // GitHub: a 304 does not count against the primary rate limit
    }
  }
  if (counts) --rl_remaining_;
  res.set("x-ratelimit-limit", std::to_string(rl_limit_));
  res.set("x-ratelimit-remaining", std::to_string(rl_remaining_));
  res.set("x-ratelimit-used", std::to_string(rl_limit_ - rl_remaining_));
  res.set("x-ratelimit-reset", std::to_string(rl_reset_));
  res.set("x-ratelimit-resource", "core");
  res.set("x-github-api-version-selected", "2022-11-28");
  res.set("x-github-request-id", "FAKE:" + std::to_string(next_seq_));
  res.set(http::field::server, "GitHub.com");
  return res;
}

Response FakeUpstream::github_route(const Request& req, const Ctx& ctx) {
  const auto& s = ctx.t.segments;  // repos, owner, repo, actions, ...
  const auto method = req.method();
  if (s.size() < 5 || s[3] != "actions")
    return github_error(http::status::not_found, "Not Found", "https://docs.github.com/rest");
  const std::string repo = s[1] + "/" + s[2];
  if (!github_["repos"].contains(repo))
    return github_error(http::status::not_found, "Not Found", "https://docs.github.com/rest/repos/repos#get-a-repository");
  Json& repo_state = github_["repos"][repo];

  auto list_runs = [&](const Json* wf) {
    const auto& q = ctx.t.query;
    std::vector<const Json*> runs;
    for (const Json& run : repo_state["runs"]) {
      if (wf && run.contains("workflow_id") && run["workflow_id"] != (*wf)["id"]) continue;
      if (wf && !run.contains("workflow_id") && &repo_state["workflows"][0] != wf) continue;
      const Json rendered_branch = run.value("head_branch", Json("main"));
      if (q.count("branch") && rendered_branch != q.at("branch")) continue;
      if (q.count("event") && run.value("event", std::string("push")) != q.at("event")) continue;
      if (q.count("head_sha") && run.value("head_sha", fake_sha(run["id"].get<std::int64_t>())) != q.at("head_sha"))
        continue;
      if (q.count("status")) {
        const std::string want = q.at("status");
        const std::string status = run.value("status", Json("queued")).is_string() ? run.value("status", "queued") : "";
        const Json concl = run.value("conclusion", Json(nullptr));
        if (status != want && !(concl.is_string() && concl.get<std::string>() == want)) continue;
      }
      runs.push_back(&run);
    }
    // Newest first, like GitHub: by created_at, ties broken by the (monotonic) id.
    std::sort(runs.begin(), runs.end(), [](const Json* a, const Json* b) {
      if ((*a)["created_at"] != (*b)["created_at"]) return (*a)["created_at"] > (*b)["created_at"];
      return (*a)["id"].get<std::int64_t>() > (*b)["id"].get<std::int64_t>();
    });
    long per_page = 30;
    long page = 1;
    try {
      if (q.count("per_page")) per_page = std::clamp(std::stol(q.at("per_page")), 1L, 100L);
      if (q.count("page")) page = std::max(1L, std::stol(q.at("page")));
    } catch (const std::exception&) {
      return github_error(http::status::unprocessable_entity, "Invalid request.", kDocsRuns);
    }
    const auto total = static_cast<long>(runs.size());
    Json list = Json::array();
    for (long i = (page - 1) * per_page; i < std::min(total, page * per_page); ++i)
      list.push_back(render_run(repo, *runs[static_cast<std::size_t>(i)], ctx));
    Response res = make_json(http::status::ok, Json{{"total_count", total}, {"workflow_runs", list}});
    const long last = std::max(1L, (total + per_page - 1) / per_page);
    if (last > 1) {
      auto link = [&](long p) {
        auto query = q;
        query["page"] = std::to_string(p);
        query["per_page"] = std::to_string(per_page);
        std::string url = link_base_or(github_, ctx.base_url) + ctx.t.path + "?";
        for (const auto& [k, v] : query) url += percent_encode(k) + "=" + percent_encode(v) + "&";
        url.pop_back();
        return "<" + url + ">";
      };
      std::string header;
      if (page < last) header += link(page + 1) + "; rel=\"next\", " + link(last) + "; rel=\"last\"";
      if (page > 1) {
        if (!header.empty()) header += ", ";
        header += link(page - 1) + "; rel=\"prev\", " + link(1) + "; rel=\"first\"";
      }
      res.set(http::field::link, header);
    }
    return res;
  };

  if (s[4] == "workflows") {
    if (method != http::verb::get) return github_error(http::status::not_found, "Not Found", kDocsRuns);
    if (s.size() == 5) {
      Json list = Json::array();
      for (const Json& wf : repo_state["workflows"]) list.push_back(render_workflow(repo, wf, ctx));
      return make_json(http::status::ok, Json{{"total_count", list.size()}, {"workflows", list}});
    }
    const Json* wf = find_workflow(repo, s[5]);
    if (!wf) return github_error(http::status::not_found, "Not Found", kDocsRuns);
    if (s.size() == 6) return make_json(http::status::ok, render_workflow(repo, *wf, ctx));
    if (s.size() == 7 && s[6] == "runs") return list_runs(wf);
    return github_error(http::status::not_found, "Not Found", kDocsRuns);
  }

  if (s[4] == "runs") {
    if (s.size() == 5 && method == http::verb::get) return list_runs(nullptr);
    const auto id = s.size() >= 6 ? parse_id(s[5]) : std::nullopt;
    Json* run = id ? find_run(repo, *id) : nullptr;
    if (!run) return github_error(http::status::not_found, "Not Found", kDocsRuns);
    if (s.size() == 6 && method == http::verb::get) return make_json(http::status::ok, render_run(repo, *run, ctx));
    const long current_attempt = run->value("run_attempt", 1L);
    auto list_jobs = [&](std::optional<long> attempt) {
      Json jobs = Json::array();
      for (const Json& job : run->value("jobs", Json::array()))
        if (!attempt || job_attempt(*run, job) == *attempt) jobs.push_back(render_job(repo, *run, job, ctx));
      return make_json(http::status::ok, Json{{"total_count", jobs.size()}, {"jobs", jobs}});
    };
    if (s.size() == 7 && s[6] == "jobs" && method == http::verb::get) {
      // filter=latest (the default) lists the latest attempt's jobs, filter=all every attempt's.
      const auto& q = ctx.t.query;
      const std::string filter = q.count("filter") ? q.at("filter") : "latest";
      if (filter != "latest" && filter != "all")
        return github_error(http::status::unprocessable_entity, "Invalid request.", kDocsJobs);
      return list_jobs(filter == "all" ? std::nullopt : std::optional<long>(current_attempt));
    }
    if (s.size() >= 8 && s[6] == "attempts" && method == http::verb::get) {
      const auto attempt = parse_id(s[7]);
      if (!attempt || *attempt < 1 || *attempt > current_attempt)
        return github_error(http::status::not_found, "Not Found", kDocsRuns + std::string("#get-a-workflow-run-attempt"));
      if (s.size() == 8) return make_json(http::status::ok, render_run_attempt(repo, *run, *attempt, ctx));
      if (s.size() == 9 && s[8] == "jobs") return list_jobs(*attempt);
    }
    if (s.size() == 7 && s[6] == "cancel" && method == http::verb::post) {
      if (run->value("status", std::string("queued")) == "completed")
        return github_error(http::status::conflict, "Cannot cancel a workflow run that is completed.",
                            kDocsRuns + std::string("#cancel-a-workflow-run"));
      // Real cancellation is asynchronous; the fake completes it at once so a test can observe it.
      (*run)["status"] = "completed";
      (*run)["conclusion"] = "cancelled";
      (*run)["updated_at"] = format_iso8601_z(ctx.now);
      if (run->contains("jobs"))
        for (Json& job : (*run)["jobs"])
          if (job.value("status", std::string("queued")) != "completed") {
            job["status"] = "completed";
            job["conclusion"] = "cancelled";
          }
      return make_json(http::status::accepted, Json::object());
    }
    return github_error(http::status::not_found, "Not Found", kDocsRuns);
  }

  if (s[4] == "jobs" && s.size() >= 6 && method == http::verb::get) {
    const auto job_id = parse_id(s[5]);
    for (const Json& run : repo_state["runs"])
      for (const Json& job : run.value("jobs", Json::array())) {
        if (!job_id || job["id"].get<std::int64_t>() != *job_id) continue;
        if (s.size() == 6) return make_json(http::status::ok, render_job(repo, run, job, ctx));
        if (s.size() == 7 && s[6] == "logs") {
          Response res{http::status::found, 11};
          res.set(http::field::content_type, "text/html;charset=utf-8");
          const Json& base = github_["log_redirect_base"];
          const std::string host = base.is_string() ? base.get<std::string>() : ctx.base_url;
          res.set(http::field::location, host + "/_blob/logs/" + repo + "/" + s[5] +
                                             "?urlExpires=" + percent_encode(format_iso8601_z(ctx.now + std::chrono::minutes(1))) +
                                             "&urlSigningMethod=HMACV1&urlSignature=fake");
          return res;
        }
      }
    return github_error(http::status::not_found, "Not Found", kDocsJobs);
  }
  return github_error(http::status::not_found, "Not Found", "https://docs.github.com/rest");
}

Response FakeUpstream::handle_blob(const Ctx& ctx) {
  // /_blob/logs/{owner}/{repo}/{job_id}: the signed-URL target of a job-log redirect. Like the
  // real blob host it needs no Authorization header.
  const auto& s = ctx.t.segments;
  if (s.size() == 5 && s[1] == "logs") {
    const std::string repo = s[2] + "/" + s[3];
    const auto job_id = parse_id(s[4]);
    if (github_["repos"].contains(repo) && job_id)
      for (const Json& run : github_["repos"][repo]["runs"])
        for (const Json& job : run.value("jobs", Json::array()))
          if (job["id"].get<std::int64_t>() == *job_id) {
            if (job.contains("log") && job["log"].is_string()) return make_text(http::status::ok, job["log"].get<std::string>());
            const std::string ts = run["created_at"].get<std::string>();
            return make_text(http::status::ok, ts + " ##[group]Run " + job.value("name", std::string("deploy")) + "\n" +
                                                   ts + " ##[endgroup]\n" + ts + " Job finished.\n");
          }
  }
  return make_text(http::status::not_found,
                   "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>BlobNotFound</Code></Error>",
                   "application/xml");
}

}  // namespace deployguard::fake
