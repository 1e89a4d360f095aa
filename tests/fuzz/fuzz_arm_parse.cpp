// Azure Resource Manager and Entra ID response parsing (lib/parse/azure.hpp) on arbitrary bytes:
// every body the ARM adapters and the token provider read (container app, revisions page,
// revision, revision action result, PostgreSQL server, error envelope, operation status, 202
// body, token and AAD error answers, the traffic of a PATCH), each differentially
// (parse_differential.hpp). Input: a selector byte and the body for the parser it selects, or a
// raw document for every parser (see run_selected). The first line also goes in as a Retry-After
// header. Beyond the differential: a token answer's error never quotes the token.
#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "parse/azure.hpp"
#include "parse/headers.hpp"
#include "parse_differential.hpp"

namespace {

using namespace deployguard;

/// The access_token string of a body nlohmann can read, if it has one worth looking for.
std::string access_token_of(std::string_view body) {
  const auto doc = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (!doc.is_object()) return {};
  const auto it = doc.find("access_token");
  if (it == doc.end() || !it->is_string()) return {};
  auto token = it->get<std::string>();
  return token.size() >= 8 ? token : std::string{};  // shorter ones may be in any message
}

constexpr TimePoint kNow{std::chrono::seconds{1767207600}};  // 2025-12-31T19:00:00Z

using fuzz::check_reads_like_reference;

constexpr void (*kParsers[])(std::string_view) = {
    [](std::string_view b) {
      check_reads_like_reference("container app", [&] { return parse::parse_container_app(b); });
    },
    [](std::string_view b) {
      check_reads_like_reference("traffic patch", [&] { return parse::parse_traffic_patch(b); });
    },
    [](std::string_view b) {
      check_reads_like_reference("revision", [&] { return parse::parse_revision_body(b); });
    },
    [](std::string_view b) {
      check_reads_like_reference("revisions page", [&] { return parse::parse_revisions_page(b); });
    },
    [](std::string_view b) {
      check_reads_like_reference("revision action",
                                 [&] { return parse::parse_revision_action_result(b); });
    },
    [](std::string_view b) {
      check_reads_like_reference("postgres", [&] { return parse::parse_postgres_server(b); });
    },
    [](std::string_view b) {
      check_reads_like_reference("accepted", [&] { return parse::parse_accepted_operation(b); });
    },
    [](std::string_view b) {
      check_reads_like_reference("aad error", [&] { return parse::parse_aad_error(b); });
    },
    [](std::string_view b) {
      check_reads_like_reference("arm error", [&] {
        auto error = parse::parse_arm_error(b);
        if (error.ok()) {
          (void)parse::arm_error_mentions(*error, "ServerBusy");
          FUZZ_CHECK(error->details.size() <= 256, "more than 256 error details");
          for (const auto& detail : error->details)
            FUZZ_CHECK(detail.depth >= 1 && detail.depth <= parse::kMaxArmErrorDepth,
                       "an error detail deeper than kMaxArmErrorDepth");
        }
        return error;
      });
    },
    [](std::string_view b) {
      check_reads_like_reference("operation status", [&] {
        auto status = parse::parse_operation_status(b);
        if (status.ok() && status->succeeded())
          FUZZ_CHECK(status->is_terminal(), "succeeded but not terminal");
        return status;
      });
    },
    [](std::string_view b) {
      check_reads_like_reference("token", [&] {
        auto token = parse::parse_token_response(b, kNow);
        if (token.ok()) {
          FUZZ_CHECK(token->expires_in >= Duration::zero(), "a token that expired before it came");
          FUZZ_CHECK(token->expires_at == kNow + token->expires_in,
                     "expires_at is not now + expires_in");
        } else if (const auto secret = access_token_of(b); !secret.empty()) {
          FUZZ_CHECK(token.error_text().find(secret) == std::string::npos,
                     "the token is quoted in an error");
        }
        return token;
      });
    },
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  fuzz::run_selected(kParsers, input);

  const std::string_view retry = input.substr(0, input.find('\n'));
  if (const auto wait = parse::parse_retry_after(retry, kNow)) {
    FUZZ_CHECK(*wait >= Duration::zero() && *wait <= std::chrono::hours{24},
               "a Retry-After outside 0..1 day");
  }
  (void)parse::parse_http_date(retry);
  return 0;
}
