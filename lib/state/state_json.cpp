#include "state/state_json.hpp"

#include <cstdint>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <initializer_list>

#include "state/timestamp.hpp"

namespace deployguard::state {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// ---- writing ---------------------------------------------------------------------------------

class Writer {
 public:
  explicit Writer(std::vector<std::string>& errors) : errors_(errors) {}

  ordered_json time(TimePoint t, const std::string& path) {
    if (auto text = format_timestamp_millis(t)) return *text;
    errors_.push_back(path + ": timestamp outside years 0000..9999 cannot be stored");
    return nullptr;
  }
  ordered_json time(const std::optional<TimePoint>& t, const std::string& path) {
    return t ? time(*t, path) : ordered_json(nullptr);
  }

  ordered_json environment(const DurableEnvironmentState& s, const std::string& path) {
    // Refuse to write what parse_state() would reject: the daemon could not start from it.
    if (s.busy.consecutive_failures < 0) {
      errors_.push_back(path + ".busy.consecutive_failures: negative count " +
                        std::to_string(s.busy.consecutive_failures));
    }
    ordered_json deploys = ordered_json::array();
    for (std::size_t i = 0; i < s.deploys.size(); ++i) {
      const auto& d = s.deploys[i];
      const std::string p = path + ".deploys[" + std::to_string(i) + "]";
      ordered_json record{{"key", d.key},
                          {"started_at", time(d.started_at, p + ".started_at")},
                          {"ended_at", time(d.ended_at, p + ".ended_at")}};
      if (d.run) {
        record["run_id"] = d.run->id;
        record["run_attempt"] = d.run->attempt;
      }
      if (!d.sha.empty()) record["sha"] = d.sha;
      if (!d.title.empty()) record["title"] = d.title;
      if (!d.url.empty()) record["url"] = d.url;
      deploys.push_back(std::move(record));
    }
    ordered_json busy{
        {"consecutive_failures", s.busy.consecutive_failures},
        {"last_failure_at", time(s.busy.last_failure_at, path + ".busy.last_failure_at")},
        {"last_detail", s.busy.last_detail}};
    if (s.busy.last_success_started_at)
      busy["last_success_started_at"] =
          time(s.busy.last_success_started_at, path + ".busy.last_success_started_at");
    ordered_json counted = ordered_json::array();
    for (const auto& run : s.busy_runs_counted)
      counted.push_back(ordered_json{{"run_id", run.id}, {"attempt", run.attempt}});
    ordered_json lease = nullptr;
    if (s.lease) {
      const auto& l = *s.lease;
      lease = ordered_json{{"id", l.id},
                           {"holder", l.holder},
                           {"run_id", l.run_id ? ordered_json(*l.run_id) : ordered_json(nullptr)},
                           {"run_attempt", l.run_attempt ? ordered_json(*l.run_attempt) : ordered_json(nullptr)},
                           {"acquired_at", time(l.acquired_at, path + ".lease.acquired_at")},
                           {"expires_at", time(l.expires_at, path + ".lease.expires_at")}};
    }
    ordered_json freeze = nullptr;
    if (s.freeze) {
      const auto& f = *s.freeze;
      freeze = ordered_json{{"reason", f.reason},
                            {"by", f.by},
                            {"since", time(f.since, path + ".freeze.since")},
                            {"until", time(f.until, path + ".freeze.until")}};
    }
    ordered_json out{{"deploys", std::move(deploys)},
                     {"busy", std::move(busy)},
                     {"busy_runs_counted", std::move(counted)},
                     {"lease", std::move(lease)},
                     {"freeze", std::move(freeze)}};
    if (!s.queue.empty()) {
      ordered_json queue = ordered_json::array();
      for (std::size_t i = 0; i < s.queue.size(); ++i) {
        const auto& t = s.queue[i];
        queue.push_back(ordered_json{
            {"id", t.id},
            {"holder", t.holder},
            {"lease_ttl_ms", std::chrono::duration_cast<std::chrono::milliseconds>(t.lease_ttl).count()},
            {"run_id", t.run_id ? ordered_json(*t.run_id) : ordered_json(nullptr)},
            {"run_attempt", t.run_attempt ? ordered_json(*t.run_attempt) : ordered_json(nullptr)},
            {"sha", t.sha},
            {"ref", t.ref},
            {"joined_at", time(t.joined_at, path + ".queue[" + std::to_string(i) + "].joined_at")},
            {"lease_id", t.lease_id}});
      }
      out["queue"] = std::move(queue);
    }
    if (const auto& o = s.pending_override) {
      out["override"] = ordered_json{{"id", o->id},
                                     {"reason", o->reason},
                                     {"by", o->by},
                                     {"skip", o->skip},
                                     {"created_at", time(o->created_at, path + ".override.created_at")},
                                     {"expires_at", time(o->expires_at, path + ".override.expires_at")}};
    }
    return out;
  }

 private:
  std::vector<std::string>& errors_;
};

// ---- reading ---------------------------------------------------------------------------------

class Reader {
 public:
  explicit Reader(std::vector<std::string>& errors) : errors_(errors) {}

  void error(const std::string& path, const std::string& message) {
    errors_.push_back(path.empty() ? message : path + ": " + message);
  }

  static std::string got(const json& v) {
    std::string out = "got ";
    out += v.type_name();
    return out;
  }

  /// Checks that v is an object holding only `allowed` keys and every one of `required`.
  bool object(const json& v, const std::string& path, std::initializer_list<const char*> required,
              std::initializer_list<const char*> optional) {
    if (!v.is_object()) {
      error(path, "expected an object, " + got(v));
      return false;
    }
    for (const char* key : required) {
      if (!v.contains(key)) error(path, std::string{"missing key \""} + key + "\"");
    }
    for (const auto& item : v.items()) {
      bool known = false;
      for (const char* key : required) known = known || item.key() == key;
      for (const char* key : optional) known = known || item.key() == key;
      if (!known) error(path, "unknown key \"" + item.key() + "\"");
    }
    return true;
  }

  void string(const json& obj, const char* key, const std::string& path, std::string& out) {
    const auto it = obj.find(key);
    if (it == obj.end()) return;  // reported by object()
    if (!it->is_string()) {
      error(path + "." + key, "expected a string, " + got(*it));
      return;
    }
    out = it->get<std::string>();
  }

  std::optional<std::int64_t> int64(const json& v, const std::string& path) {
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        error(path, "integer out of range");
        return std::nullopt;
      }
      return static_cast<std::int64_t>(u);
    }
    if (v.is_number_integer()) return v.get<std::int64_t>();
    error(path, "expected an integer, " + got(v));
    return std::nullopt;
  }

  std::optional<TimePoint> time_value(const json& v, const std::string& path) {
    if (!v.is_string()) {
      error(path, "expected an RFC 3339 timestamp string, " + got(v));
      return std::nullopt;
    }
    const auto& text = v.get_ref<const std::string&>();
    auto t = parse_timestamp(text);
    if (!t) error(path, "expected an RFC 3339 timestamp, got \"" + text + "\"");
    return t;
  }

  void time(const json& obj, const char* key, const std::string& path, TimePoint& out) {
    const auto it = obj.find(key);
    if (it == obj.end()) return;  // reported by object()
    if (auto t = time_value(*it, path + "." + key)) out = *t;
  }

  void optional_time(const json& obj, const char* key, const std::string& path,
                     std::optional<TimePoint>& out) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return;
    if (auto t = time_value(*it, path + "." + key)) out = *t;
  }

  std::optional<int> attempt_value(const json& v, const std::string& path) {
    const auto n = int64(v, path);
    if (!n) return std::nullopt;
    if (*n < 1 || *n > std::numeric_limits<int>::max()) {
      error(path, "expected an attempt number >= 1, got " + std::to_string(*n));
      return std::nullopt;
    }
    return static_cast<int>(*n);
  }

  DeployRecord deploy(const json& v, const std::string& path) {
    DeployRecord d;
    if (!object(v, path, {"key", "started_at"}, {"ended_at", "run_id", "run_attempt", "sha", "title", "url"}))
      return d;
    string(v, "key", path, d.key);
    time(v, "started_at", path, d.started_at);
    optional_time(v, "ended_at", path, d.ended_at);
    if (const auto it = v.find("run_id"); it != v.end()) {
      const auto id = int64(*it, path + ".run_id");
      std::optional<int> attempt = 1;
      if (const auto a = v.find("run_attempt"); a != v.end()) attempt = attempt_value(*a, path + ".run_attempt");
      if (id && attempt) d.run = RunRef{*id, *attempt};
    } else if (d.key.starts_with("run:") && d.key.find('/') == std::string::npos) {
      // Written before deploys were kept per attempt: the record of the run's first attempt.
      try {
        std::size_t used = 0;
        const std::string digits = d.key.substr(4);
        const long long id = std::stoll(digits, &used);
        if (used == digits.size()) {
          d.run = RunRef{id, 1};
          d.key = run_key(*d.run);
        }
      } catch (const std::exception&) {
        // Not a number: keep the key as it is; it matches no run.
      }
    }
    for (auto [key, out] : {std::pair{"sha", &d.sha}, std::pair{"title", &d.title}, std::pair{"url", &d.url}})
      if (v.contains(key)) string(v, key, path, *out);
    return d;
  }

  BusyBackoffState busy(const json& v, const std::string& path) {
    BusyBackoffState b;
    if (!object(v, path, {"consecutive_failures", "last_detail"}, {"last_failure_at", "last_success_started_at"}))
      return b;
    if (const auto it = v.find("consecutive_failures"); it != v.end()) {
      const std::string p = path + ".consecutive_failures";
      if (auto n = int64(*it, p)) {
        if (*n < 0 || *n > std::numeric_limits<int>::max()) {
          error(p, "expected a count between 0 and " +
                       std::to_string(std::numeric_limits<int>::max()) + ", got " +
                       std::to_string(*n));
        } else {
          b.consecutive_failures = static_cast<int>(*n);
        }
      }
    }
    optional_time(v, "last_failure_at", path, b.last_failure_at);
    optional_time(v, "last_success_started_at", path, b.last_success_started_at);
    string(v, "last_detail", path, b.last_detail);
    return b;
  }

  std::optional<Lease> lease(const json& v, const std::string& path) {
    if (v.is_null()) return std::nullopt;
    Lease l;
    if (!object(v, path, {"id", "holder", "acquired_at", "expires_at"}, {"run_id", "run_attempt"}))
      return std::nullopt;
    string(v, "id", path, l.id);
    string(v, "holder", path, l.holder);
    if (const auto it = v.find("run_id"); it != v.end() && !it->is_null()) {
      l.run_id = int64(*it, path + ".run_id");
    }
    if (const auto it = v.find("run_attempt"); it != v.end() && !it->is_null()) {
      l.run_attempt = attempt_value(*it, path + ".run_attempt");
    }
    time(v, "acquired_at", path, l.acquired_at);
    time(v, "expires_at", path, l.expires_at);
    return l;
  }

  std::optional<Freeze> freeze(const json& v, const std::string& path) {
    if (v.is_null()) return std::nullopt;
    Freeze f;
    if (!object(v, path, {"reason", "by", "since"}, {"until"})) return std::nullopt;
    string(v, "reason", path, f.reason);
    string(v, "by", path, f.by);
    time(v, "since", path, f.since);
    optional_time(v, "until", path, f.until);
    return f;
  }

  std::optional<Override> pending_override(const json& v, const std::string& path) {
    if (v.is_null()) return std::nullopt;
    Override o;
    if (!object(v, path, {"id", "reason", "by", "skip", "created_at", "expires_at"}, {})) return std::nullopt;
    string(v, "id", path, o.id);
    string(v, "reason", path, o.reason);
    string(v, "by", path, o.by);
    const json& skip = v.at("skip");
    if (!skip.is_array()) {
      error(path + ".skip", "expected an array, " + got(skip));
      return std::nullopt;
    }
    for (std::size_t i = 0; i < skip.size(); ++i) {
      if (!skip[i].is_string()) {
        error(path + ".skip[" + std::to_string(i) + "]", "expected a string, " + got(skip[i]));
        return std::nullopt;
      }
      o.skip.push_back(skip[i].get<std::string>());
    }
    if (const auto parsed = parse_skip(o.skip); parsed.status != SkipParse::Status::Ok) {
      error(path + ".skip", parsed.message);
      return std::nullopt;
    }
    time(v, "created_at", path, o.created_at);
    time(v, "expires_at", path, o.expires_at);
    return o;
  }

  DurableEnvironmentState environment(const json& v, const std::string& path) {
    DurableEnvironmentState s;
    if (!object(v, path, {"deploys", "busy", "busy_runs_counted"}, {"lease", "freeze", "queue", "override"})) return s;
    if (const auto it = v.find("deploys"); it != v.end()) {
      if (!it->is_array()) {
        error(path + ".deploys", "expected an array, " + got(*it));
      } else {
        for (std::size_t i = 0; i < it->size(); ++i) {
          s.deploys.push_back(deploy((*it)[i], path + ".deploys[" + std::to_string(i) + "]"));
        }
      }
    }
    if (const auto it = v.find("busy"); it != v.end()) s.busy = busy(*it, path + ".busy");
    if (const auto it = v.find("busy_runs_counted"); it != v.end()) {
      if (!it->is_array()) {
        error(path + ".busy_runs_counted", "expected an array, " + got(*it));
      } else {
        for (std::size_t i = 0; i < it->size(); ++i) {
          const auto p = path + ".busy_runs_counted[" + std::to_string(i) + "]";
          const json& item = (*it)[i];
          if (item.is_number()) {
            // Written before busy failures were counted per attempt.
            if (auto id = int64(item, p)) s.busy_runs_counted.push_back(RunRef{*id, 1});
          } else if (object(item, p, {"run_id", "attempt"}, {}) && item.contains("run_id") &&
                     item.contains("attempt")) {
            const auto id = int64(item.at("run_id"), p + ".run_id");
            const auto attempt = attempt_value(item.at("attempt"), p + ".attempt");
            if (id && attempt) s.busy_runs_counted.push_back(RunRef{*id, *attempt});
          }
        }
      }
    }
    if (const auto it = v.find("lease"); it != v.end()) s.lease = lease(*it, path + ".lease");
    if (const auto it = v.find("freeze"); it != v.end()) s.freeze = freeze(*it, path + ".freeze");
    if (const auto it = v.find("override"); it != v.end())
      s.pending_override = pending_override(*it, path + ".override");
    if (const auto it = v.find("queue"); it != v.end()) {
      if (!it->is_array()) {
        error(path + ".queue", "expected an array, " + got(*it));
      } else {
        for (std::size_t i = 0; i < it->size(); ++i)
          if (auto t = ticket((*it)[i], path + ".queue[" + std::to_string(i) + "]")) s.queue.push_back(std::move(*t));
      }
    }
    return s;
  }

  std::optional<Ticket> ticket(const json& v, const std::string& path) {
    Ticket t;
    if (!object(v, path, {"id", "holder", "lease_ttl_ms", "joined_at"},
                {"run_id", "run_attempt", "sha", "ref", "lease_id"}))
      return std::nullopt;
    string(v, "id", path, t.id);
    string(v, "holder", path, t.holder);
    if (const auto ttl = int64(v.at("lease_ttl_ms"), path + ".lease_ttl_ms")) {
      if (*ttl <= 0)
        error(path + ".lease_ttl_ms", "expected a positive number of milliseconds, got " + std::to_string(*ttl));
      else
        t.lease_ttl = std::chrono::milliseconds{*ttl};
    }
    if (const auto it = v.find("run_id"); it != v.end() && !it->is_null()) t.run_id = int64(*it, path + ".run_id");
    if (const auto it = v.find("run_attempt"); it != v.end() && !it->is_null())
      t.run_attempt = attempt_value(*it, path + ".run_attempt");
    if (v.contains("sha")) string(v, "sha", path, t.sha);
    if (v.contains("ref")) string(v, "ref", path, t.ref);
    if (v.contains("lease_id")) string(v, "lease_id", path, t.lease_id);
    time(v, "joined_at", path, t.joined_at);
    return t;
  }

 private:
  std::vector<std::string>& errors_;
};

void read_document(const json& doc, ParseResult& out) {
  Reader reader{out.errors};
  if (!doc.is_object()) {
    reader.error("", "expected a JSON object at the top level, " + Reader::got(doc));
    return;
  }
  const auto version = doc.find("version");
  if (version == doc.end()) {
    reader.error("", "missing \"version\"");
    return;
  }
  if (!version->is_number_integer() || version->get<std::int64_t>() != kStateFormatVersion) {
    reader.error("version", "unsupported state format version " + version->dump() +
                                " (this build reads version " +
                                std::to_string(kStateFormatVersion) + ")");
    return;
  }
  if (!reader.object(doc, "", {"version", "environments"}, {"webhook_deliveries"})) return;
  if (const auto ids = doc.find("webhook_deliveries"); ids != doc.end()) {
    if (!ids->is_array()) {
      reader.error("webhook_deliveries", "expected an array, " + Reader::got(*ids));
    } else {
      for (std::size_t i = 0; i < ids->size(); ++i) {
        const json& id = (*ids)[i];
        const std::string p = "webhook_deliveries[" + std::to_string(i) + "]";
        if (!id.is_string()) reader.error(p, "expected a string, " + Reader::got(id));
        else if (id.get_ref<const std::string&>().empty()) reader.error(p, "empty delivery id");
        else out.webhook_deliveries.push_back(id.get<std::string>());
      }
    }
  }
  const auto envs = doc.find("environments");
  if (envs == doc.end()) return;  // reported by object()
  if (!envs->is_object()) {
    reader.error("environments", "expected an object, " + Reader::got(*envs));
    return;
  }
  for (const auto& item : envs->items()) {
    if (item.key().empty()) reader.error("environments", "empty environment name");
    out.states[item.key()] = reader.environment(item.value(), "environments." + item.key());
  }
}

}  // namespace

SerializeResult serialize_state(const EnvironmentStates& states, const DeliveryIds& deliveries) {
  SerializeResult out;
  try {
    Writer writer{out.errors};
    ordered_json environments = ordered_json::object();
    for (const auto& [name, state] : states) {
      if (name.empty()) out.errors.push_back("environments: empty environment name");
      environments[name] = writer.environment(state, "environments." + name);
    }
    ordered_json doc{{"version", kStateFormatVersion}, {"environments", std::move(environments)}};
    if (!deliveries.empty()) {
      for (const auto& id : deliveries)
        if (id.empty()) out.errors.push_back("webhook_deliveries: empty delivery id");
      doc["webhook_deliveries"] = deliveries;
    }
    if (out.errors.empty()) {
      out.text = doc.dump(2, ' ', false, ordered_json::error_handler_t::replace);
    }
  } catch (const std::exception& e) {
    // Only allocation failure can get here (invalid UTF-8 is replaced, not thrown).
    out.errors.push_back(std::string{"cannot serialize state: "} + e.what());
    out.text.clear();
  }
  return out;
}

ParseResult parse_state(std::string_view text) {
  ParseResult out;
  try {
    const json doc = json::parse(text);
    read_document(doc, out);
  } catch (const json::parse_error& e) {
    // e.what() carries the position: "[json.exception.parse_error.101] parse error at line 3,
    // column 1: syntax error while parsing object - unexpected end of input; ..."
    out.errors.push_back(std::string{"not valid JSON (truncated or corrupt?): "} + e.what());
  } catch (const std::exception& e) {
    // Not expected (every access checks the type first), but stay an error, never a crash.
    out.errors.push_back(std::string{"cannot read state: "} + e.what());
  }
  if (!out.errors.empty()) {
    out.states.clear();
    out.webhook_deliveries.clear();
  }
  return out;
}

}  // namespace deployguard::state
