// The state file loader (lib/state: parse_state, what the daemon restores at start-up) on
// arbitrary bytes. Beyond not crashing: a document it accepts is one the daemon can write back
// (serialize_state succeeds, or every later save would fail), and writing then reading gives the
// same states and the same text again.
#include <string>

#include "fuzz_check.hpp"
#include "state/state_json.hpp"

namespace {

std::string joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += e + "; ";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace deployguard::state;
  const auto parsed = parse_state(deployguard::fuzz::as_text(data, size));
  if (!parsed.ok()) {
    for (const auto& e : parsed.errors) FUZZ_CHECK(!e.empty(), "an empty error message");
    return 0;
  }
  const auto written = serialize_state(parsed.states);
  FUZZ_CHECK(written.ok(), "accepted state cannot be written: " + joined(written.errors));
  const auto reread = parse_state(written.text);
  FUZZ_CHECK(reread.ok(), "written state cannot be read: " + joined(reread.errors));
  FUZZ_CHECK(reread.states == parsed.states, "the states changed in a write/read round trip");
  const auto rewritten = serialize_state(reread.states);
  FUZZ_CHECK(rewritten.ok() && rewritten.text == written.text,
             "writing the same states gave another text");
  return 0;
}
