#pragma once
// HTTP header values shared by the GitHub and Azure clients. Pure functions; `now` is passed in.
#include <optional>
#include <string_view>

#include "core/time.hpp"

namespace deployguard::parse {

/// IMF-fixdate (RFC 9110 §5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT". Surrounding spaces ok.
std::optional<TimePoint> parse_http_date(std::string_view value);

/// Retry-After (RFC 9110 §10.2.3): delta-seconds ("60") or an HTTP-date, as a wait from `now`.
/// A date in the past gives zero; values above one day are capped at one day (a longer wait is
/// an upstream bug, and the cap keeps the arithmetic far from overflow). nullopt for empty,
/// negative or malformed values.
std::optional<Duration> parse_retry_after(std::string_view value, TimePoint now);

}  // namespace deployguard::parse
