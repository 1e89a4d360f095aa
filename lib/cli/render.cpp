#include "cli/render.hpp"

#include <sstream>

namespace deployguard::cli {
namespace {

using json = nlohmann::json;

struct Style {
  bool on;
  std::string red() const { return on ? "\033[31m" : ""; }
  std::string green() const { return on ? "\033[32m" : ""; }
  std::string yellow() const { return on ? "\033[33m" : ""; }
  std::string bold() const { return on ? "\033[1m" : ""; }
  std::string dim() const { return on ? "\033[2m" : ""; }
  std::string reset() const { return on ? "\033[0m" : ""; }
};

std::string str(const json& j, const char* key, const std::string& fallback = "-") {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::string age(const json& j, const char* key, TimePoint now) {
  const std::string s = str(j, key, "");
  if (s.empty()) return "-";
  const auto t = parse_timestamp(s);
  if (!t) return s;
  return time_left(now, *t) + " ago";
}

/// A table cell: `s` padded to `width`, and always followed by at least one space, so a value as
/// wide as its column ("1h56m45s ago") cannot run into the next one.
std::string pad(std::string s, std::size_t width) {
  s.append(s.size() < width ? width - s.size() : 1, ' ');
  return s;
}

}  // namespace

std::string time_left(TimePoint until, TimePoint now) {
  const auto secs = std::chrono::ceil<std::chrono::seconds>(until - now);
  if (secs.count() <= 0) return "now";
  return format_duration(std::chrono::duration_cast<Duration>(secs));
}

std::string progress_text(const std::string& env, const json& decision, TimePoint deadline,
                          TimePoint now) {
  std::string out = "waiting for " + env + " [" + time_left(deadline, now) + " left]";
  std::string reasons;
  if (decision.is_object() && decision.contains("position") && decision["position"].is_number_integer())
    out += " place " + std::to_string(decision["position"].get<std::int64_t>()) + " in the queue";
  if (decision.is_object()) {
    for (const auto& r : decision.value("reasons", json::array())) {
      reasons += reasons.empty() ? ": " : ", ";
      reasons += str(r, "code", "?");
      if (auto t = parse_timestamp(str(r, "until", ""))) reasons += " " + time_left(*t, now);
    }
  }
  return out + reasons;
}

std::string render_reasons(const json& decision, const RenderOptions& opts) {
  std::ostringstream out;
  const Style s{opts.color};
  for (const auto& r : decision.value("reasons", json::array())) {
    out << "  " << s.red() << pad(str(r, "code"), 26) << s.reset() << str(r, "message", "");
    const std::string until = str(r, "until", "");
    if (auto t = parse_timestamp(until)) out << " (" << time_left(*t, opts.now) << " left)";
    out << "\n";
  }
  return out.str();
}

std::string render_environment(const json& env, const RenderOptions& opts) {
  std::ostringstream out;
  const Style s{opts.color};
  const bool safe = env.value("safe", false);
  out << s.bold() << str(env, "environment") << s.reset() << ": "
      << (safe ? s.green() + "SAFE to deploy" : s.red() + "BLOCKED") << s.reset() << "\n";
  out << render_reasons(env, opts);

  if (const auto& app = env.value("container_app", json()); app.is_object()) {
    out << "  app       " << str(app, "name") << "  provisioning " << str(app, "provisioning_state")
        << "  mode " << str(app, "active_revisions_mode") << "  latest " << str(app, "latest_revision")
        << "\n";
  }
  const auto traffic = env.value("traffic", json::object());
  const auto revisions = env.value("revisions", json::array());
  int active = 0;
  for (const auto& r : revisions)
    if (r.value("active", false)) ++active;
  // The incident pattern: traffic split over revisions, or more than one active revision. Shown
  // as its own line (readable without color) and the revisions involved in yellow.
  const bool conflict = traffic.size() > 1 || active > 1;
  if (conflict) {
    out << "  " << s.yellow() << s.bold() << "conflict  " << active << " active revision"
        << (active == 1 ? "" : "s") << ", traffic split over " << traffic.size() << s.reset() << "\n";
  }
  for (const auto& r : revisions) {
    if (!r.value("active", false) && !traffic.contains(str(r, "name"))) continue;
    const std::string name = str(r, "name");
    const int weight = traffic.contains(name) ? traffic[name].get<int>() : 0;
    out << "  revision  " << (conflict ? s.yellow() : "") << pad(name, 30) << s.reset() << " "
        << pad(std::to_string(weight) + "%", 5) << pad(str(r, "running_state"), 11)
        << pad(str(r, "health_state"), 10) << pad(age(r, "created_at", opts.now), 12) << str(r, "image")
        << "\n";
  }
  if (const auto& live = env.value("live", json()); live.is_object()) {
    // live: shop--r7 <- run 123 attempt 2, abc1234 "Ship it"; unknown is said, never guessed.
    out << "  live      " << str(live, "revision") << " <- ";
    if (live.contains("run_id") && live["run_id"].is_number_integer()) {
      std::string sha = str(live, "sha", "");
      if (sha.size() > 7) sha = sha.substr(0, 7);
      out << "run " << str(live, "run_id") << " attempt " << str(live, "run_attempt", "?") << ", "
          << (sha.empty() ? "?" : sha) << " \"" << str(live, "title", "") << "\"";
      if (str(live, "matched_by", "") == "time_window") out << " (by creation time)";
    } else {
      out << s.yellow() << "unknown deploy" << s.reset();
      if (const std::string sha = str(live, "sha", ""); !sha.empty())
        out << " (image tag " << sha.substr(0, 7) << ", no deploy run of it known)";
    }
    out << "\n";
  }
  for (const auto& db : env.value("databases", json::array())) {
    const std::string state = str(db, "state");
    out << "  database  " << pad(str(db, "name"), 30) << " "
        << (state == "Ready" ? s.green() : s.red()) << state << s.reset() << "\n";
  }
  if (const auto& lease = env.value("lease", json()); lease.is_object()) {
    std::string left = "?";
    if (auto t = parse_timestamp(str(lease, "expires_at", ""))) left = time_left(*t, opts.now);
    out << "  lease     " << str(lease, "id") << " held by " << str(lease, "holder");
    if (lease.contains("run_id") && lease["run_id"].is_number_integer()) {
      out << " for run " << str(lease, "run_id");
      if (lease.contains("run_attempt") && lease["run_attempt"].is_number_integer())
        out << " attempt " << str(lease, "run_attempt");
    }
    out << " (" << left << " left)\n";
  }
  if (const auto& queue = env.value("queue", json()); queue.is_object() && queue.value("waiting", 0) > 0) {
    out << "  queue     " << queue.value("waiting", 0) << " waiting (" << str(queue, "order") << "):";
    for (const auto& t : queue.value("tickets", json::array())) {
      out << "\n    " << pad(str(t, "position"), 4) << str(t, "holder");
      if (t.contains("run_id") && t["run_id"].is_number_integer()) out << " run " << str(t, "run_id");
      out << s.dim() << " since " << age(t, "since", opts.now) << s.reset();
    }
    out << "\n";
  }
  if (const auto& freeze = env.value("freeze", json()); freeze.is_object()) {
    out << "  freeze    " << s.red() << str(freeze, "reason") << s.reset() << " by " << str(freeze, "by");
    if (auto t = parse_timestamp(str(freeze, "until", "")))
      out << " until " << str(freeze, "until") << " (" << time_left(*t, opts.now) << " left)";
    out << "\n";
  }
  if (const auto& windows = env.value("freeze_windows", json()); windows.is_object()) {
    if (const auto& current = windows.value("current", json()); current.is_object()) {
      std::string names;
      for (const auto& w : current.value("windows", json::array())) names += (names.empty() ? "" : ", ") + str(w, "name");
      out << "  window    " << s.red() << names << s.reset() << " until " << str(current, "until");
      if (auto t = parse_timestamp(str(current, "until", ""))) out << " (" << time_left(*t, opts.now) << " left)";
      out << "\n";
    }
    if (const auto& next = windows.value("next", json()); next.is_object())
      out << "  next      " << s.dim() << "freeze window " << str(next, "name") << " from " << str(next, "start")
          << " to " << str(next, "end") << s.reset() << "\n";
  }
  if (const auto& o = env.value("override", json()); o.is_object()) {
    std::string skip;
    for (const auto& rule : o.value("skip", json::array()))
      if (rule.is_string()) skip += (skip.empty() ? "" : ", ") + rule.get<std::string>();
    out << "  override  " << s.yellow() << skip << s.reset() << " skipped for the next grant, by " << str(o, "by")
        << ": " << str(o, "reason");
    if (auto t = parse_timestamp(str(o, "expires_at", ""))) out << " (" << time_left(*t, opts.now) << " left)";
    out << "\n";
  }
  const auto runs = env.value("runs", json::array());
  if (!runs.empty()) out << "  recent runs:\n";
  int shown = 0;
  for (const auto& run : runs) {
    if (++shown > 5) break;
    std::string state = str(run, "status");
    if (state == "completed") state = str(run, "conclusion");
    std::string sha = str(run, "head_sha");
    if (sha.size() > 7) sha = sha.substr(0, 7);
    // A run that has not completed is a deploy in flight: highlighted like a conflict.
    const bool running = str(run, "status") != "completed";
    out << "    " << s.dim() << pad(str(run, "created_at"), 21) << s.reset() << (running ? s.yellow() : "")
        << pad(state, 12) << (running ? s.reset() : "") << pad(sha, 8) << str(run, "title", "") << "\n";
  }
  for (const auto& u : env.value("unclassified", json::array()))
    out << "  " << s.yellow() << "unclassified run " << str(u, "run_id") << " attempt "
        << str(u, "run_attempt") << ": " << str(u, "detail", "") << s.reset() << "\n";
  const json sources = env.value("sources", json::object());
  for (const auto& [source, health] : sources.items()) {
    const std::string err = str(health, "last_error", "");
    if (!err.empty()) out << "  " << s.yellow() << "source " << source << ": " << err << s.reset() << "\n";
  }
  return out.str();
}

std::string render_status(const json& status, const RenderOptions& opts) {
  std::string out;
  const json environments = status.value("environments", json::object());
  for (const auto& [name, env] : environments.items()) {
    if (!out.empty()) out += "\n";
    out += render_environment(env, opts);
  }
  if (out.empty()) out = "no environments configured\n";
  return out;
}

}  // namespace deployguard::cli
