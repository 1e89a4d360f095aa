// The config loader (lib/config: parse_config, YAML text -> Config through the schema table) on
// arbitrary text. Beyond not crashing or throwing: a result is a config or at least one error,
// never both, and every error says something. No file is read (parse_config reads only the text).
#include <string>

#include "config/loader.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto result = deployguard::config::parse_config(deployguard::fuzz::as_text(data, size));
  FUZZ_CHECK(result.config.has_value() == result.errors.empty(),
             "a config and errors at once, or neither");
  for (const auto& e : result.errors) FUZZ_CHECK(!e.message.empty(), "an empty message at " + e.path);
  return 0;
}
