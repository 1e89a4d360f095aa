#pragma once
// For the parse targets: runs one lib/parse parser twice on the same body, once as production
// does (simdjson, with the parser's KeyFilter) and once through the reference parser
// (nlohmann, no filter), with a ReaderProbe recording every value the readers look up. The two
// must agree on the outcome and on every lookup (so on the parsed value: the readers are
// functions of what they look up), and every key looked up must be in the filter. This is the
// property tests/unit/parse/parse_differential_test.cpp checks on the fixtures, here on whatever
// the fuzzer makes.
#include <algorithm>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "parse/detail/json_reader.hpp"
#include "parse/result.hpp"

namespace deployguard::fuzz {

struct ProbedOutcome {
  bool ok = false;
  std::string error_text;
  parse::detail::testing::ReaderProbe probe;
};

template <class Run>
ProbedOutcome run_probed(bool reference, const Run& run) {
  ProbedOutcome out;
  out.probe.reference_parser = reference;
  const parse::detail::testing::ScopedProbe scope(out.probe);
  const auto result = run();
  out.ok = result.ok();
  out.error_text = result.error_text();
  FUZZ_CHECK(out.ok == out.error_text.empty(), "a result that is ok with errors, or failed without");
  return out;
}

/// The one known difference between the trees: simdjson does not tell the integer "-0" from "0"
/// (unsigned 0 on the fast path, signed 0 from nlohmann); no reader can tell them apart (see
/// IntegerMinusZeroReadsLikeTheReference). A lookup is "path = <type>:<value>"; 5 and 6 are
/// nlohmann's number_integer and number_unsigned.
inline bool same_lookup(std::string_view fast, std::string_view reference) {
  if (fast == reference) return true;
  constexpr std::string_view kUnsignedZero = " = 6:0", kSignedZero = " = 5:0";
  return fast.size() == reference.size() && fast.ends_with(kUnsignedZero) &&
         reference.ends_with(kSignedZero) &&
         fast.substr(0, fast.size() - kUnsignedZero.size()) ==
             reference.substr(0, reference.size() - kSignedZero.size());
}

/// Checks the property above for `run` (a callable returning a parse::Parsed<T>); `what` names
/// the parser in a failure message.
template <class Run>
void check_reads_like_reference(std::string_view what, const Run& run) {
  const ProbedOutcome fast = run_probed(false, run);
  const ProbedOutcome ref = run_probed(true, run);
  const std::string name(what);
  FUZZ_CHECK(fast.ok == ref.ok && fast.error_text == ref.error_text,
             name + ": outcome " + (fast.ok ? "ok" : fast.error_text) + " vs reference " +
                 (ref.ok ? "ok" : ref.error_text));
  const auto& a = fast.probe.lookups;
  const auto& b = ref.probe.lookups;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::string x = i < a.size() ? a[i] : "(none)";
    const std::string y = i < b.size() ? b[i] : "(none)";
    FUZZ_CHECK(same_lookup(x, y), name + ": lookup " + std::to_string(i) + ": " + x +
                                      " vs reference " + y);
  }
  if (fast.probe.filter != nullptr) {
    for (const auto& key : fast.probe.keys_looked_up)
      FUZZ_CHECK(fast.probe.filter->contains(key),
                 name + ": key \"" + key + "\" is looked up but not in the filter");
  }
}

/// The parse targets' input: a selector byte choosing one of `parsers` and the body after it,
/// or, when the input starts like a JSON document (a raw fixture), that body for every parser.
template <std::size_t N>
void run_selected(void (*const (&parsers)[N])(std::string_view), std::string_view input) {
  constexpr std::string_view kDocumentStart = "{[ \t\r\n";
  if (input.empty() || kDocumentStart.find(input.front()) != std::string_view::npos) {
    for (const auto parse : parsers) parse(input);
    return;
  }
  parsers[static_cast<unsigned char>(input.front()) % N](input.substr(1));
}

}  // namespace deployguard::fuzz
