#pragma once
// Turns the daemon's JSON into text for people. Pure: no I/O.
#include <string>

#include <nlohmann/json.hpp>

#include "core/time.hpp"

namespace deployguard::cli {

struct RenderOptions {
  bool color = false;  // ANSI colors (only on a terminal)
  TimePoint now{};     // for "time left" and ages
};

/// One line per reason: "  cooldown   last deploy ... (12m left)".
std::string render_reasons(const nlohmann::json& decision, const RenderOptions& opts);

/// The status view of one environment (GET /v1/environments/NAME body).
std::string render_environment(const nlohmann::json& env, const RenderOptions& opts);

/// The status view of every environment (GET /v1/status body).
std::string render_status(const nlohmann::json& status, const RenderOptions& opts);

/// The one-line progress of a wait: "waiting for staging [19s left]: frozen, cooldown 1m30s" —
/// what is left of the wait (`deadline`), then each blocking reason of `decision` (a /can-deploy
/// body; null before the first answer) with its own time left when it has an `until`.
std::string progress_text(const std::string& env, const nlohmann::json& decision, TimePoint deadline,
                          TimePoint now);

/// "12m30s" style countdown, "now" when not positive.
std::string time_left(TimePoint until, TimePoint now);

}  // namespace deployguard::cli
