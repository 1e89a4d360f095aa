#pragma once
// Break-glass overrides: an operator lets exactly one deploy (the next lease or queue grant
// within a TTL) skip some rules. Only rules about *when* a team wants deploys may be skipped;
// the rules that protect the platform itself (a busy database or app, a deploy running, data
// the guard cannot trust) cannot.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"

namespace deployguard {

/// A rule an override may skip. `min_interval` and `cooldown` are the two halves of the
/// `cooldown` reason (between starts, after an end).
enum class SkipRule { Cooldown, MinInterval, FreezeWindow, Frozen };
inline constexpr SkipRule kAllSkipRules[] = {SkipRule::Cooldown, SkipRule::MinInterval,
                                             SkipRule::FreezeWindow, SkipRule::Frozen};
std::string_view to_string(SkipRule rule);  // "cooldown", "min_interval", "freeze_window", "frozen"

/// Reason codes an override can never skip (answered 422 when named).
inline constexpr std::string_view kProtectedRules[] = {
    "server_busy", "app_busy", "revision_provisioning", "deploy_in_progress", "stale", "source_error"};

/// Which rules a decision is evaluated without.
struct SkipSet {
  bool cooldown = false;
  bool min_interval = false;
  bool freeze_window = false;
  bool frozen = false;

  bool any() const { return cooldown || min_interval || freeze_window || frozen; }
  bool has(SkipRule rule) const;
  void add(SkipRule rule);
};

/// Outcome of reading the `skip` list of an override request.
struct SkipParse {
  enum class Status { Ok, Empty, Protected, NotSkippable, Unknown } status = Status::Ok;
  SkipSet skip;
  std::string message;  // what is wrong, naming the rule (empty when Ok)
};
SkipParse parse_skip(const std::vector<std::string>& names);

/// A pending override. Durable: it survives a restart until used or expired.
struct Override {
  std::string id;      // random, chosen by the caller
  std::string reason;  // why (required)
  std::string by;      // who asked (the request's "by", else the API token's name)
  std::vector<std::string> skip;  // rule names as given (see SkipRule), validated
  TimePoint created_at{};
  TimePoint expires_at{};

  SkipSet skip_set() const;
  bool operator==(const Override&) const = default;
};

/// What became of an override, for the audit log, metrics and notifications.
struct OverrideEnd {
  enum class Why { Used, Expired, Replaced } why = Why::Used;
  Override override_;
  TimePoint at{};
  std::string lease_id;                 // Used: the lease it let through
  std::vector<std::string> skipped;     // Used: the reason codes it skipped, e.g. "cooldown"
};
std::string_view to_string(OverrideEnd::Why why);  // "used", "expired", "replaced"

}  // namespace deployguard
