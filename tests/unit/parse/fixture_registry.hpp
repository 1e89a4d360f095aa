#pragma once
// The explicit map from every shared fixture file to the parser that reads it. The coverage test
// fails when a fixture exists that is not listed here (or in the header/excluded lists), so a new
// fixture cannot land without a parser decision.
#include <span>
#include <string>
#include <string_view>

namespace deployguard::parse::test {

enum class Parser {
  WorkflowRunsPage, WorkflowRunBody, JobsList, WorkflowJobBody, WorkflowsList, GitHubError,
  Webhook, ContainerApp, TrafficPatch, RevisionsPage, RevisionBody, RevisionActionResult,
  PostgresServer, ArmError, OperationStatus, AcceptedOperation
};

struct FixtureCase {
  const char* path;
  Parser parser;
  const char* webhook_type = "";  // X-GitHub-Event for Parser::Webhook
  bool spec_example = false;      // Azure spec example: parse responses.200.body
  bool expect_ok = true;
};

std::span<const FixtureCase> json_fixtures();
/// *.headers.txt and *.http files read by headers_test.cpp.
std::span<const char* const> header_fixtures();
/// Files that are documentation, not inputs. github/_schemas/ is excluded as a directory: those
/// are JSON Schemas, not payloads.
std::span<const char* const> excluded_files();

/// The body a case feeds to its parser (spec examples are unwrapped; "" when the documented
/// response has no body).
std::string body_for(const FixtureCase& c);

struct Outcome {
  bool ok = false;
  std::string error_text;
};
Outcome run_parser(const FixtureCase& c, std::string_view body);

}  // namespace deployguard::parse::test
