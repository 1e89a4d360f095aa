#pragma once
// What every fuzz target shares: the libFuzzer entry point's declaration and FUZZ_CHECK, the
// assertion of a property the target checks beyond "no crash". A failed check prints what broke
// and aborts, which libFuzzer reports as a crash with its reproducer (and the seed replay test of
// the normal build as a failed test).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace deployguard::fuzz {

[[noreturn]] inline void check_failed(const char* expression, std::string_view detail,
                                      const char* file, int line) {
  std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %.*s\n", file, line, expression,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace deployguard::fuzz

#define FUZZ_CHECK(condition, detail)                                                   \
  do {                                                                                  \
    if (!(condition))                                                                   \
      ::deployguard::fuzz::check_failed(#condition, (detail), __FILE__, __LINE__);      \
  } while (false)
