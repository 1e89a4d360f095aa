#pragma once
// Azure Resource Manager / Entra ID JSON -> deployguard model types. Pure: no I/O, no clock reads
// (`now` is an argument), no logging; safe to call from any thread. Nothing here throws on bad
// input: each function returns Parsed<T> with the value or every problem and its JSON path.
//
// Leniency rules (api-facts.md C, D and fixtures/recorded/README.md):
//  * every Azure enum is extensible (modelAsString): values are kept verbatim as strings and
//    compared with iequals(); unknown values are never an error;
//  * revision properties are all optional; activeRevisionsMode absent means "Single";
//  * traffic entries with latestRevision=true and no revisionName are resolved through
//    properties.latestRevisionName (left "" when the app does not name its latest revision);
//  * integers may arrive as strings ("weight": "50"); timestamps with any offset/fraction;
//  * a field we read that has the wrong type is an error for the enclosing item.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/model.hpp"
#include "core/time.hpp"
#include "parse/result.hpp"

namespace deployguard::parse {

// ---- Container Apps -------------------------------------------------------------------------

/// GET/PUT/PATCH containerApps/{name} body. Requires `properties` (object) with
/// `provisioningState`: a body without them is not a container app (e.g. an error envelope).
Parsed<ContainerAppSnapshot> parse_container_app(std::string_view body);

/// The `traffic` list of a PATCH request body (properties.configuration.ingress.traffic), as the
/// fake upstream receives it. latestRevision entries keep revision_name "".
Parsed<std::vector<TrafficEntry>> parse_traffic_patch(std::string_view body);

/// One revision object ({name, properties{...}}). Requires `name`.
Parsed<RevisionSnapshot> parse_revision(const nlohmann::json& revision);
/// GET revisions/{name} body.
Parsed<RevisionSnapshot> parse_revision_body(std::string_view body);

struct RevisionsPage {
  std::vector<RevisionSnapshot> revisions;
  std::optional<std::string> next_link;  // absent, null and "" all mean "last page"
  std::vector<ParseError> item_errors;   // revisions left out, e.g. "value[1].name: missing"
};
/// GET revisions body {value: [...], nextLink}. Requires `value`.
Parsed<RevisionsPage> parse_revisions_page(std::string_view body);

/// Body of POST revisions/{name}/activate|deactivate|restart: empty, `{}`, or a JSON string such
/// as "Deactivate succeeded" (what the service really sends). Returns that message ("" if none).
/// An ARM error envelope or any other shape is an error.
Parsed<std::string> parse_revision_action_result(std::string_view body);

// ---- PostgreSQL flexible server -------------------------------------------------------------

/// GET flexibleServers/{name} body. Requires properties.state (anything but "Ready" is
/// not ready, and a body without a state cannot be judged).
Parsed<PostgresServerSnapshot> parse_postgres_server(std::string_view body);

// ---- Errors and long-running operations -----------------------------------------------------

struct ArmErrorDetail {
  std::string code;
  std::string message;
  std::string target;
  int depth = 1;  // 1 = error.details[i], 2 = error.details[i].details[j], ...
};
struct ArmError {
  std::string code;
  std::string message;
  std::string target;
  std::vector<ArmErrorDetail> details;  // all nested details, depth-first
};
/// Deepest `details` nesting read by parse_arm_error; deeper levels are cut off, not an error.
inline constexpr int kMaxArmErrorDepth = 16;
/// ARM error body {"error": {code, message, target, details[...]}}; the un-enveloped form
/// {code, message, ...} some services send is accepted too. Requires a code or a message.
/// Nesting deeper than kMaxArmErrorDepth, or details beyond the 256th, are cut off silently.
Parsed<ArmError> parse_arm_error(std::string_view body);
/// Reads an ErrorDetail object (used for LRO `error` members).
Parsed<ArmError> parse_arm_error_detail(const nlohmann::json& error);

/// True when `code` (case-insensitive) is the top-level code or any nested detail's code, e.g.
/// ServerBusy hidden under ResourceDeploymentFailure.
bool arm_error_mentions(const ArmError& error, std::string_view code);

struct OperationStatus {
  std::string status;  // InProgress, Succeeded, Failed, Canceled, or RP-specific
  std::string name;
  std::string id;
  std::optional<TimePoint> start_time;
  std::optional<TimePoint> end_time;
  std::optional<double> percent_complete;
  std::optional<ArmError> error;  // usually present when Failed/Canceled

  /// Succeeded, Failed and Canceled are terminal (case-insensitive); anything else is running.
  bool is_terminal() const;
  bool succeeded() const;
};
/// Azure-AsyncOperation status body. Requires `status`.
Parsed<OperationStatus> parse_operation_status(std::string_view body);

/// Body some RPs (PostgreSQL) send with a 202: {"operation": "...", "startTime": "..."}.
struct AcceptedOperation {
  std::string operation;
  std::optional<TimePoint> start_time;
};
/// All members optional; a body carrying an `error` member is an error.
Parsed<AcceptedOperation> parse_accepted_operation(std::string_view body);

// ---- Entra ID tokens ------------------------------------------------------------------------

struct AccessToken {
  std::string access_token;
  std::string token_type;  // "Bearer"
  Duration expires_in{};   // from now
  TimePoint expires_at{};  // now + expires_in
};
/// Token endpoint answers: AAD v2 client credentials (expires_in number), IMDS (expires_in and
/// expires_on as strings), App Service / Container Apps identity endpoint (expires_on epoch
/// string, no expires_in). expires_in wins when both are sent; expires_on is taken relative to
/// `now` (an expiry in the past gives 0). An AAD error body is reported as an error naming the
/// AAD error code and description. Error messages never contain the token.
Parsed<AccessToken> parse_token_response(std::string_view body, TimePoint now);

struct AadError {
  std::string error;  // invalid_client, invalid_scope, ...
  std::string error_description;
  std::vector<std::int64_t> error_codes;  // AADSTS numbers
  std::string trace_id;
  std::string correlation_id;
};
/// {"error": "invalid_client", "error_description": "AADSTS7000215: ...", ...}. Requires `error`
/// to be a string (an object there is an ARM envelope, see parse_arm_error).
Parsed<AadError> parse_aad_error(std::string_view body);

}  // namespace deployguard::parse
