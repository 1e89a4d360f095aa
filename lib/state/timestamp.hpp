#pragma once
// Millisecond-precision RFC 3339 timestamps for the files lib/state writes. core/time.hpp's
// format_timestamp() keeps whole seconds (what upstream APIs show); durable state must not lose
// the milliseconds, or a restored lease/cooldown would end up to 999 ms early.
#include <optional>
#include <string>

#include "core/time.hpp"

namespace deployguard::state {

/// "2025-12-31T19:03:58.123Z" (always three fraction digits, always UTC). Read back exactly by
/// core's parse_timestamp(). nullopt for instants outside years 0000..9999, which have no
/// four-digit RFC 3339 form.
std::optional<std::string> format_timestamp_millis(TimePoint t);

/// "20251231T190358Z": basic ISO 8601, for file names (no ':' to trip up shells and tools).
/// Meant for a wall-clock "now"; years outside 0000..9999 print with more or fewer digits.
std::string format_timestamp_compact(TimePoint t);

}  // namespace deployguard::state
