// GitHub response parsing (lib/parse/github.hpp) on arbitrary bytes: the body of every REST
// answer the adapters read (run, runs page, workflows, jobs page, job, error body) and, as every
// event type the daemon knows, a webhook payload; each differentially (parse_differential.hpp).
//
// Input: a selector byte, then the body for the parser it selects (kParsers[byte % size]): one
// parser per run keeps the rate up. An input that starts like JSON ('{', '[' or blank, as a raw
// fixture does) is a body for every parser. The lines of the input also go in as the three
// rate-limit headers and a deployment callback URL.
#include <chrono>
#include <string_view>

#include "fuzz_check.hpp"
#include "parse/github.hpp"
#include "parse_differential.hpp"

namespace {

using namespace deployguard;

std::string_view next_line(std::string_view& text) {
  const auto end = text.find('\n');
  const std::string_view line = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  return line;
}

void webhook_as(std::string_view type, std::string_view body) {
  fuzz::check_reads_like_reference(type, [&] { return parse::parse_webhook(type, body); });
}

constexpr void (*kParsers[])(std::string_view) = {
    [](std::string_view b) {
      fuzz::check_reads_like_reference("workflow run", [&] { return parse::parse_workflow_run_body(b); });
    },
    [](std::string_view b) {
      fuzz::check_reads_like_reference("runs page", [&] { return parse::parse_workflow_runs_page(b); });
    },
    [](std::string_view b) {
      fuzz::check_reads_like_reference("workflows", [&] { return parse::parse_workflows_list(b); });
    },
    [](std::string_view b) {
      fuzz::check_reads_like_reference("jobs page", [&] { return parse::parse_jobs_list(b); });
    },
    [](std::string_view b) {
      fuzz::check_reads_like_reference("job", [&] { return parse::parse_workflow_job_body(b); });
    },
    [](std::string_view b) {
      fuzz::check_reads_like_reference("error", [&] { return parse::parse_github_error(b); });
    },
    [](std::string_view b) { webhook_as("workflow_run", b); },
    [](std::string_view b) { webhook_as("workflow_job", b); },
    [](std::string_view b) { webhook_as("deployment", b); },
    [](std::string_view b) { webhook_as("deployment_status", b); },
    [](std::string_view b) { webhook_as("deployment_protection_rule", b); },
    [](std::string_view b) { webhook_as("deployment_review", b); },
    [](std::string_view b) { webhook_as("ping", b); },
    [](std::string_view b) { webhook_as("push", b); },
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  fuzz::run_selected(kParsers, input);

  std::string_view lines = input;
  const auto remaining = next_line(lines), reset = next_line(lines), retry = next_line(lines);
  const TimePoint now{std::chrono::seconds{1767207600}};  // 2025-12-31T19:00:00Z
  const auto limits = parse::parse_rate_limit(remaining, reset, retry, now);
  if (const auto at = limits.retry_at(now)) FUZZ_CHECK(*at >= now, "a retry time in the past");
  if (const auto id = parse::run_id_from_callback_url(remaining))
    FUZZ_CHECK(*id > 0, "a run id that is not positive");
  return 0;
}
