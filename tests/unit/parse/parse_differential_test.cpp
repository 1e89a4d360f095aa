// The simdjson path (parse_document, with and without a KeyFilter) against the pure nlohmann path
// it replaced (parse_document_reference):
//  * every file of the shared fixture tree parses to the same tree, node types included;
//  * every parser, on every fixture and on mutated fixtures, reports the same outcome and looks
//    up exactly the same values (a ReaderProbe records each lookup), so the parsed values are
//    equal too: the readers are functions of what they look up;
//  * every key a parser looks up is in the KeyFilter its document was parsed with.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixture_registry.hpp"
#include "fixtures.hpp"
#include "parse/detail/json_reader.hpp"
#include "parse/github.hpp"

namespace deployguard::parse::test {
namespace {

using detail::KeyFilter;
using detail::parse_document;
using detail::parse_document_reference;
using detail::Reader;
using detail::testing::ReaderProbe;
using detail::testing::ScopedProbe;
using nlohmann::json;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// nlohmann's operator== calls 1u and 1 equal; the readers do not (opt_int64 range checks unsigned
// values), so compare node types as well.
::testing::AssertionResult same_tree(const json& a, const json& b, const std::string& path = "$") {
  if (a.type() != b.type())
    return ::testing::AssertionFailure() << path << ": type " << a.type_name() << "/"
                                         << static_cast<int>(a.type()) << " vs " << b.type_name()
                                         << "/" << static_cast<int>(b.type());
  if (a.is_object()) {
    if (a.size() != b.size()) return ::testing::AssertionFailure() << path << ": member count";
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
      if (ia.key() != ib.key()) return ::testing::AssertionFailure() << path << ": key " << ia.key();
      if (auto r = same_tree(*ia, *ib, path + "." + ia.key()); !r) return r;
    }
    return ::testing::AssertionSuccess();
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return ::testing::AssertionFailure() << path << ": array size";
    for (std::size_t i = 0; i < a.size(); ++i)
      if (auto r = same_tree(a[i], b[i], path + "[" + std::to_string(i) + "]"); !r) return r;
    return ::testing::AssertionSuccess();
  }
  if (a.is_number_float()) {
    const double x = a.get<double>(), y = b.get<double>();
    if (x != y || std::signbit(x) != std::signbit(y))
      return ::testing::AssertionFailure() << path << ": " << a.dump() << " vs " << b.dump();
    return ::testing::AssertionSuccess();
  }
  if (a != b) return ::testing::AssertionFailure() << path << ": " << a.dump() << " vs " << b.dump();
  return ::testing::AssertionSuccess();
}

// The reference tree with the members a filter drops removed, for comparison with a filtered parse.
json pruned(const json& j, const KeyFilter& keep) {
  if (j.is_object()) {
    json out = json::object();
    for (const auto& [k, v] : j.items())
      if (keep.contains(k)) out[k] = pruned(v, keep);
    return out;
  }
  if (j.is_array()) {
    json out = json::array();
    for (const auto& v : j) out.push_back(pruned(v, keep));
    return out;
  }
  return j;
}

// The new path must give what the old one gave: the same tree, or the same error.
::testing::AssertionResult parses_like_reference(std::string_view body) {
  const auto fast = parse_document(body);
  const auto ref = parse_document_reference(body);
  if (fast.ok() != ref.ok())
    return ::testing::AssertionFailure() << "accepted by " << (fast.ok() ? "simdjson path" : "reference")
                                         << " only (reference: "
                                         << (ref.ok() ? "ok" : ref.error_text()) << ")";
  if (!ref.ok()) {
    if (fast.errors() != ref.errors())
      return ::testing::AssertionFailure() << fast.error_text() << " vs " << ref.error_text();
    return ::testing::AssertionSuccess();
  }
  return same_tree(*fast, *ref);
}

constexpr std::string_view kSomeKeys[] = {"id", "name", "workflow_run", "repository", "full_name",
                                          "properties", "value", "error", "details", "code"};

// ---- document level ---------------------------------------------------------------------------

TEST(ParseDifferential, EveryFixtureFileParsesLikeTheReferenceParser) {
  const KeyFilter some{kSomeKeys};
  std::size_t json_docs = 0, rejected = 0;
  std::vector<std::string> bodies;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(fixtures_dir())) {
    if (!entry.is_regular_file()) continue;
    const std::string rel = std::filesystem::relative(entry.path(), fixtures_dir()).generic_string();
    SCOPED_TRACE(rel);
    const std::string body = read_file(entry.path());
    EXPECT_TRUE(parses_like_reference(body));
    if (entry.path().extension() == ".http") {
      EXPECT_TRUE(parses_like_reference(http_body(rel)));
    }
    const auto ref = parse_document_reference(body);
    if (!ref.ok()) {
      ++rejected;
      continue;
    }
    ++json_docs;
    const auto filtered = parse_document(body, &some);
    ASSERT_TRUE(filtered.ok());
    EXPECT_TRUE(same_tree(*filtered, pruned(*ref, some)));
  }
  // Unwrapped Azure spec-example bodies are what their parsers see.
  for (const auto& c : json_fixtures()) {
    if (!c.spec_example) continue;
    SCOPED_TRACE(c.path);
    EXPECT_TRUE(parses_like_reference(body_for(c)));
  }
  EXPECT_GE(json_docs, 69u);  // every *.json file (and the JSON Schemas)
  EXPECT_GE(rejected, 1u);    // the Markdown, header and checksum files
}

TEST(ParseDifferential, EdgeCasesParseLikeTheReferenceParser) {
  const std::vector<std::string> inputs = {
      // empty, blank, wrong roots, truncated, trailing content
      "", " ", "\n\t ", "{", "}", "[", "{\"a\":", "{\"a\":1", "{\"a\":1,}", "{} {}", "{}x",
      "[1,]", "nul", "tru", "-", "1", "-1", "true", "null", "\"text\"", "[]", "{}", "[{}]",
      // numbers: signed/unsigned/float as nlohmann types them; beyond 64 bits becomes a double
      "{\"n\":0}", "{\"n\":9223372036854775807}", "{\"n\":9223372036854775808}",
      "{\"n\":18446744073709551615}", "{\"n\":18446744073709551616}",
      "{\"n\":-9223372036854775808}", "{\"n\":-9223372036854775809}",
      "{\"n\":12345678901234567890123456789}", "{\"n\":2.5}", "{\"n\":-0.0}", "{\"n\":1E2}",
      "{\"n\":0.1}", "{\"n\":1e300}", "{\"n\":1e-400}", "{\"n\":1e400}", "{\"n\":-1e400}",
      "{\"n\":4.9e-324}", "{\"n\":1.7976931348623157e308}", "{\"n\":01}", "{\"n\":1.}",
      "{\"n\":.5}", "{\"n\":+1}", "{\"n\":NaN}", "{\"n\":Infinity}",
      "{\"n\":123456789012345678901234567890.5}",
      // strings, escapes, Unicode
      "{\"s\":\"\\u00e9\\n\\\"\\\\\\/\"}", "{\"s\":\"\\ud83d\\ude00\"}", "{\"s\":\"\\ud800\"}",
      "{\"s\":\"\\udc00\"}", "{\"s\":\"\\ud800\\u0041\"}", "{\"s\":\"\\u0000\"}",
      "{\"s\":\"\\x41\"}", "{\"s\":\"\xc3\xa9\"}", "{\"s\":\"\xff\"}", "{\"s\":\"\xc3\"}",
      "{\"s\":\"\xed\xa0\x80\"}", "{\"s\":\"\xf4\x90\x80\x80\"}", "{\"s\":\"\t\"}",
      "{\"i\\u0064\":5}", "\xef\xbb\xbf{}", "\xef\xbb\xbf",
      // NUL bytes: nlohmann takes a NUL as the end of the input
      std::string("\0", 1), std::string("{}\0", 3), std::string("{\"a\":1}\0junk", 12),
      std::string("{\"a\":\"\0\"}", 9), std::string("{\"a\"\0:1}", 8), std::string(" \0{}", 4),
      // duplicate keys: the last one wins
      "{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1},\"a\":[2]}",
      // whitespace variants and unusual but valid shapes
      "\r\n{ \"a\" : [ 1 , { } , [ ] , \"\" ] }\r\n", "{\"\":1}", "[[[[[[[[[[]]]]]]]]]]",
  };
  for (const auto& in : inputs) {
    SCOPED_TRACE(::testing::PrintToString(in));
    EXPECT_TRUE(parses_like_reference(in));
  }
}

// The one difference in the trees: simdjson does not tell "-0" from "0", so the integer minus zero
// becomes unsigned 0 where nlohmann made it signed 0. No reader can tell them apart.
TEST(ParseDifferential, IntegerMinusZeroReadsLikeTheReference) {
  const std::string body = R"({"n":-0})";
  const auto fast = parse_document(body);
  const auto ref = parse_document_reference(body);
  ASSERT_TRUE(fast.ok() && ref.ok());
  EXPECT_TRUE((*fast)["n"].is_number_unsigned());
  EXPECT_TRUE((*ref)["n"].is_number_integer() && !(*ref)["n"].is_number_unsigned());
  EXPECT_EQ(*fast, *ref);  // nlohmann compares numbers by value
  detail::ErrorSink sink;
  const Reader a(&*fast, "", sink), b(&*ref, "", sink);
  EXPECT_EQ(a["n"].opt_int64(), b["n"].opt_int64());
  EXPECT_EQ(a["n"].opt_text(), b["n"].opt_text());
  EXPECT_EQ(a["n"].opt_number(), b["n"].opt_number());
  EXPECT_EQ(std::signbit(*a["n"].opt_number()), std::signbit(*b["n"].opt_number()));
  EXPECT_EQ(a["n"].opt_str(), b["n"].opt_str());
  EXPECT_EQ(a["n"].opt_bool(), b["n"].opt_bool());
  EXPECT_EQ(sink.take(), std::vector<ParseError>({{"n", "expected string, got number"},
                                                  {"n", "expected string, got number"},
                                                  {"n", "expected boolean, got number"},
                                                  {"n", "expected boolean, got number"}}));
}

TEST(ParseDifferential, DuplicateKeysKeepTheLastValueAlsoWhenFiltered) {
  const KeyFilter some{kSomeKeys};
  const auto doc = parse_document(R"({"id":1,"other":{"x":1},"id":2})", &some);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->dump(), R"({"id":2})");
}

TEST(ParseDifferential, FilterMatchesDecodedKeysAndKeepsArraysAndScalars) {
  const KeyFilter some{kSomeKeys};
  const auto doc = parse_document(R"({"i\u0064":7,"skip":[1],"value":[{"id":1,"x":2},3,"s"]})", &some);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->dump(), R"({"id":7,"value":[{"id":1},3,"s"]})");
  // A filtered scalar root is the scalar.
  EXPECT_EQ(parse_document("42", &some)->dump(), "42");
}

TEST(ParseDifferential, NestingBeyondSimdjsonsLimitFallsBackToTheReferenceParser) {
  for (const std::size_t depth : {1023u, 1024u, 1025u, 5000u, 100000u}) {
    SCOPED_TRACE(depth);
    const std::string valid = std::string(depth, '[') + std::string(depth, ']');
    const auto doc = parse_document(valid);
    ASSERT_TRUE(doc.ok()) << doc.error_text();
    EXPECT_TRUE(doc->is_array());
    const std::string truncated = std::string(depth, '[') + std::string(depth - 1, ']');
    const auto bad = parse_document(truncated);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.errors(), parse_document_reference(truncated).errors());
  }
}

TEST(ParseDifferential, EveryPrefixOfAWebhookIsTheReferenceError) {
  const std::string body = read_fixture("github/workflow_run/in_progress.payload.json");
  for (std::size_t n = 0; n < body.size(); n += 11) {
    const std::string_view prefix(body.data(), n);
    const auto fast = parse_document(prefix);
    ASSERT_FALSE(fast.ok()) << n;
    ASSERT_EQ(fast.errors(), parse_document_reference(prefix).errors()) << n;
    ASSERT_EQ(fast.error_text().rfind("invalid JSON at byte ", 0), 0u) << fast.error_text();
  }
}

TEST(ParseDifferential, ErrorsNeverQuoteTheDocument) {
  for (const std::string in : {R"({"access_token":"abcSECRET)", R"({"access_token":SECRET})",
                               "{\"access_token\":\"SECRET\xff\"}", R"({"t":"SECRET"} SECRET)"}) {
    const auto r = parse_document(in);
    ASSERT_FALSE(r.ok()) << in;
    EXPECT_EQ(r.error_text().find("SECRET"), std::string::npos) << r.error_text();
  }
}

TEST(ParseDifferential, ReusedParserIgnoresTheTailOfAnEarlierLongerDocument) {
  // The thread's parser copies each body into the same padded buffer; bytes left over from an
  // earlier, longer body must not complete a later truncated one.
  ASSERT_TRUE(parse_document("[true, 12345, \"abcdef\"]").ok());
  EXPECT_FALSE(parse_document("[true, 12345, \"abc").ok());
  ASSERT_TRUE(parse_document("true").ok());
  EXPECT_FALSE(parse_document("tru").ok());
  ASSERT_TRUE(parse_document("12345").ok());
  EXPECT_EQ(parse_document("12")->get<int>(), 12);
}

TEST(ParseDifferential, LargeDocumentsUseTheirOwnParserAndMatch) {
  // > 1 MiB: parsed with a parser of its own rather than the thread's reused one.
  const json run = json::parse(read_fixture("recorded/github/workflow-run.in_progress.json"));
  json page = {{"total_count", 0}, {"workflow_runs", json::array()}};
  const std::size_t run_size = run.dump().size();
  for (std::size_t size = 0; size < (std::size_t{3} << 19); size += run_size)
    page["workflow_runs"].push_back(run);
  const std::string body = page.dump();
  ASSERT_GT(body.size(), std::size_t{1} << 20);
  EXPECT_TRUE(parses_like_reference(body));
  const auto parsed = parse_workflow_runs_page(body);
  ASSERT_TRUE(parsed.ok()) << parsed.error_text();
  EXPECT_EQ(parsed->runs.size(), page["workflow_runs"].size());
  EXPECT_TRUE(parses_like_reference("{\"small\":[1,2]}"));  // and the thread's parser still works
}

TEST(ParseDifferential, EachThreadHasItsOwnParser) {
  const std::string body = read_fixture("github/workflow_run/completed.payload.json");
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) ok[static_cast<std::size_t>(t)] += parse_webhook("workflow_run", body).ok();
    });
  }
  for (auto& th : threads) th.join();
  for (const int n : ok) EXPECT_EQ(n, 50);
}

// ---- parser level -----------------------------------------------------------------------------

struct ProbedRun {
  Outcome outcome;
  ReaderProbe probe;
};

template <class Run>
ProbedRun run_probed(bool reference, const Run& run) {
  ProbedRun r;
  r.probe.reference_parser = reference;
  const ScopedProbe scope(r.probe);
  r.outcome = run();
  return r;
}

// Same outcome, same values looked up in the same order, and every key looked up is in the
// filter the fast path parsed with.
template <class Run>
::testing::AssertionResult reads_like_reference(const Run& run, bool* used_filter = nullptr,
                                                bool expect_lookups = true) {
  const ProbedRun fast = run_probed(false, run);
  const ProbedRun ref = run_probed(true, run);
  if (used_filter != nullptr) *used_filter = fast.probe.filter != nullptr;
  if (fast.outcome.ok != ref.outcome.ok || fast.outcome.error_text != ref.outcome.error_text)
    return ::testing::AssertionFailure() << "outcome: " << (fast.outcome.ok ? "ok" : fast.outcome.error_text)
                                         << " vs reference "
                                         << (ref.outcome.ok ? "ok" : ref.outcome.error_text);
  const auto& a = fast.probe.lookups;
  const auto& b = ref.probe.lookups;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::string x = i < a.size() ? a[i] : "(none)";
    const std::string y = i < b.size() ? b[i] : "(none)";
    if (x != y) return ::testing::AssertionFailure() << "lookup " << i << ": " << x << " vs reference " << y;
  }
  if (a.empty() && expect_lookups) return ::testing::AssertionFailure() << "nothing was looked up";
  if (fast.probe.filter != nullptr) {
    for (const auto& key : fast.probe.keys_looked_up)
      if (!fast.probe.filter->contains(key))
        return ::testing::AssertionFailure() << "key \"" << key << "\" is looked up but not in the filter";
  }
  return ::testing::AssertionSuccess();
}

constexpr const char* kWebhookTypes[] = {
    "workflow_run", "workflow_job", "deployment", "deployment_status",
    "deployment_protection_rule", "deployment_review", "ping", "push"};

// Every registered case with its own parser; webhook payloads additionally as every event type,
// which walks each reader over documents of other shapes.
std::vector<FixtureCase> all_cases() {
  std::vector<FixtureCase> cases;
  for (const auto& c : json_fixtures()) {
    cases.push_back(c);
    if (c.parser != Parser::Webhook) continue;
    for (const char* type : kWebhookTypes) {
      FixtureCase other = c;
      other.webhook_type = type;
      cases.push_back(other);
    }
  }
  return cases;
}

TEST(ParseDifferential, EveryParserReadsTheSameValuesAsWithTheReferenceParser) {
  std::size_t filtered = 0;
  for (const auto& c : all_cases()) {
    SCOPED_TRACE(std::string(c.path) + " as " + (c.parser == Parser::Webhook ? c.webhook_type : "its parser"));
    const std::string body = body_for(c);
    bool used_filter = false;
    // A blank revision-action body is answered before any JSON is parsed.
    EXPECT_TRUE(reads_like_reference([&] { return run_parser(c, body); }, &used_filter, !body.empty()));
    filtered += used_filter;
    const bool filter_expected = c.parser == Parser::Webhook || c.parser == Parser::WorkflowRunsPage ||
                                 c.parser == Parser::JobsList;
    if (!body.empty()) {
      EXPECT_EQ(used_filter, filter_expected);
    }
  }
  EXPECT_GE(filtered, 19u * 9u);
}

void collect_pointers(const json& j, const json::json_pointer& at, int depth,
                      std::vector<json::json_pointer>& out) {
  out.push_back(at);
  if (depth == 0) return;
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) collect_pointers(v, at / k, depth - 1, out);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size() && i < 2; ++i) collect_pointers(j[i], at / i, depth - 1, out);
  }
}

// Replacing nodes with values of other types drives the readers down their error and fallback
// branches (an object where a string was, a null repository, an id beyond 64 bits, ...).
TEST(ParseDifferential, MutatedFixturesReadTheSameValuesAsWithTheReferenceParser) {
  const std::vector<json> replacements = {nullptr, -1, 1.5, "7", json::object(), json::array({1}),
                                          json::parse("18446744073709551615")};
  std::size_t runs = 0, ok = 0;
  for (const auto& c : all_cases()) {
    const std::string body = body_for(c);
    if (body.empty()) continue;
    const json doc = json::parse(body);
    std::vector<json::json_pointer> pointers;
    collect_pointers(doc, json::json_pointer{}, 3, pointers);
    const std::size_t step = std::max<std::size_t>(1, pointers.size() / 8);
    json mutated = doc;
    for (std::size_t i = 0; i < pointers.size(); i += step) {
      const json original = mutated[pointers[i]];
      for (const auto& value : replacements) {
        mutated[pointers[i]] = value;
        const std::string text = mutated.dump();
        SCOPED_TRACE(std::string(c.path) + " " + c.webhook_type + " " + pointers[i].to_string() + " = " + value.dump());
        ASSERT_TRUE(reads_like_reference([&] { ++runs; const auto r = run_parser(c, text); ok += r.ok; return r; }));
      }
      mutated[pointers[i]] = original;
    }
  }
  EXPECT_GT(runs, 1000u);
  EXPECT_GT(ok, 100u);
  EXPECT_LT(ok, runs);
}

// The check above must be able to fail: a filter that lacks a key a reader asks for is caught,
// whether or not the document has that key.
TEST(ParseDifferential, AnIncompleteFilterIsDetected) {
  const std::string body = read_fixture("github/workflow_run/in_progress.payload.json");
  static constexpr std::string_view kWithoutHeadSha[] = {"workflow_run", "id"};
  const KeyFilter incomplete{kWithoutHeadSha};
  const auto reads = [&](std::string_view key) {
    return [&body, &incomplete, key] {
      const auto r = detail::read_body<std::string>(
          body, [key](const Reader& root) { return root["workflow_run"][key].str(); }, &incomplete);
      return Outcome{r.ok(), r.ok() ? std::string{} : r.error_text()};
    };
  };
  EXPECT_TRUE(reads_like_reference(reads("id")));
  const auto present = reads_like_reference(reads("head_sha"));  // in the document
  EXPECT_FALSE(present);
  EXPECT_NE(std::string(present.message()).find("lookup"), std::string::npos) << present.message();
  const auto absent = reads_like_reference(reads("no_such_key"));  // absent either way
  EXPECT_FALSE(absent);
  EXPECT_NE(std::string(absent.message()).find("not in the filter"), std::string::npos) << absent.message();
}

}  // namespace
}  // namespace deployguard::parse::test
