// A GitHub webhook delivery (lib/webhook: signature check, payload parsing, mapping to policy
// events) on arbitrary bytes, and the events it yields applied to the environments' policies.
//
// Input: "EVENT\nDELIVERY\nSIGNATURE\nBODY" (the X-GitHub-Event, X-GitHub-Delivery and
// X-Hub-Signature-256 headers, then the raw body). A SIGNATURE of "sign" is replaced with the
// body's correct signature under the first secret, so the fuzzer reaches the parser; anything
// else is checked as sent. Beyond not crashing:
//   * a delivery signed with a configured secret is never Unauthorized; one whose signature is
//     not the body's HMAC under any secret always is (and nothing of it is parsed);
//   * the HTTP status matches the outcome; events and refreshes name configured environments;
//   * the same delivery again is a Duplicate (when the first was accepted), with no events.
#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "core/policy.hpp"
#include "fuzz_check.hpp"
#include "webhook/processor.hpp"
#include "webhook/signature.hpp"

namespace {

using namespace deployguard;

constexpr std::string_view kSecret = "fuzz-secret";
constexpr std::string_view kRotatedSecret = "previous-secret";

std::string_view next_line(std::string_view& text) {
  const auto end = text.find('\n');
  const std::string_view line = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  return line;
}

// The repositories of the fixture payloads, so recorded deliveries match an environment.
std::map<std::string, GitHubTarget> targets() {
  return {{"staging", GitHubTarget{"octo-org/octo-repo", {"test.yml", "CI"}, "master"}},
          {"production", GitHubTarget{"Codertocat/Hello-World", {"deploy.yml"}, std::nullopt}},
          {"sample", GitHubTarget{"terraform-test-github/sample-app", {}, std::nullopt}}};
}

/// Whether `signature` is "sha256=" and the body's HMAC under `secret` in hex of either case.
bool matches(std::string_view signature, std::string_view secret, std::string_view body) {
  constexpr std::string_view kPrefix = "sha256=";
  if (!signature.starts_with(kPrefix)) return false;
  std::string hex(signature.substr(kPrefix.size()));
  for (char& c : hex)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  return hex == webhook::hmac_sha256_hex(secret, body);
}

unsigned status_of(webhook::Outcome outcome) {
  switch (outcome) {
    case webhook::Outcome::Applied:
    case webhook::Outcome::Ignored: return 202;
    case webhook::Outcome::Pong:
    case webhook::Outcome::Duplicate: return 200;
    case webhook::Outcome::Unauthorized: return 401;
    case webhook::Outcome::BadRequest: return 400;
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest = fuzz::as_text(data, size);
  const std::string_view event = next_line(rest);
  const std::string_view delivery = next_line(rest);
  const std::string_view signature_line = next_line(rest);
  const std::string_view body = rest;

  const std::vector<std::string> secrets{std::string(kSecret), std::string(kRotatedSecret)};
  const std::string signature = signature_line == "sign"
                                    ? "sha256=" + webhook::hmac_sha256_hex(kSecret, body)
                                    : std::string(signature_line);
  FUZZ_CHECK(webhook::verify_signature(body, signature, secrets) ==
                 (matches(signature, kSecret, body) || matches(signature, kRotatedSecret, body)),
             "verify_signature disagrees with the HMAC");

  const auto configured = targets();
  webhook::WebhookProcessor processor(configured, secrets, 16);
  const webhook::WebhookRequest request{event, delivery, signature, body};
  const auto result = processor.process(request);
  FUZZ_CHECK(result.http_status == status_of(result.outcome), "status does not match the outcome");
  const bool verified = webhook::verify_signature(body, signature, secrets);
  FUZZ_CHECK((result.outcome == webhook::Outcome::Unauthorized) == !verified,
             "authorized without a valid signature, or refused with one");
  if (result.outcome != webhook::Outcome::Applied)
    FUZZ_CHECK(result.events.empty() && (result.outcome == webhook::Outcome::Ignored ||
                                         result.refresh.empty()),
               "events from a delivery that was not applied");

  // What the receiver does with them: each environment's policy takes its events.
  const TimePoint now{std::chrono::seconds{1767207600}};  // 2025-12-31T19:00:00Z
  std::map<std::string, EnvironmentPolicy> policies;
  for (const auto& [name, target] : configured) {
    EnvironmentConfig env;
    env.name = name;
    env.github = target;
    policies.emplace(name, EnvironmentPolicy(EnvironmentRules::from_config(env)));
  }
  for (const auto& [name, policy_event] : result.events) {
    auto it = policies.find(name);
    FUZZ_CHECK(it != policies.end(), "an event for an environment that is not configured");
    it->second.apply(policy_event, now);
    (void)it->second.decide(now);
    (void)it->second.next_deadline(now);
  }
  for (const auto& name : result.refresh)
    FUZZ_CHECK(configured.contains(name), "a refresh of an environment that is not configured");

  const auto again = processor.process(request);
  if (result.outcome == webhook::Outcome::Applied || result.outcome == webhook::Outcome::Ignored ||
      result.outcome == webhook::Outcome::Pong) {
    FUZZ_CHECK(again.outcome == webhook::Outcome::Duplicate && again.events.empty(),
               "a repeated delivery was not a duplicate");
  } else {
    FUZZ_CHECK(again.outcome == result.outcome, "a refused delivery changed its answer");
  }
  return 0;
}
