# One interface target carries warnings, -Werror and sanitizers for every project target.
add_library(deployguard_options INTERFACE)
target_compile_options(deployguard_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wimplicit-fallthrough)
# GCC 12 at -O2/-O3 reports false -Wrestrict inside libstdc++'s char_traits (GCC bug 105651).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(deployguard_options INTERFACE -Wno-restrict)
endif()
# No -Wnull-dereference: GCC 12 reports false positives inside Asio's scheduler that cannot be
# silenced per header (they surface after inlining into our translation units).
if(DEPLOYGUARD_WERROR)
  target_compile_options(deployguard_options INTERFACE -Werror)
endif()

if(DEPLOYGUARD_SANITIZERS)
  set(_known address undefined thread leak)
  foreach(s IN LISTS DEPLOYGUARD_SANITIZERS)
    if(NOT s IN_LIST _known)
      message(FATAL_ERROR "DEPLOYGUARD_SANITIZERS: unknown sanitizer '${s}' (known: ${_known})")
    endif()
  endforeach()
  if("thread" IN_LIST DEPLOYGUARD_SANITIZERS AND "address" IN_LIST DEPLOYGUARD_SANITIZERS)
    message(FATAL_ERROR "DEPLOYGUARD_SANITIZERS: thread and address cannot be combined")
  endif()
  list(JOIN DEPLOYGUARD_SANITIZERS "," _san)
  target_compile_options(deployguard_options INTERFACE -fsanitize=${_san} -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  target_link_options(deployguard_options INTERFACE -fsanitize=${_san})
endif()

# The fuzz build (scripts/fuzz.sh): every target instrumented for libFuzzer's coverage feedback
# and ASan+UBSan; the fuzz executables add libFuzzer itself (-fsanitize=fuzzer, tests/fuzz).
if(DEPLOYGUARD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "DEPLOYGUARD_FUZZ needs clang (libFuzzer): CXX=clang++ in a build dir of its own")
  endif()
  if(DEPLOYGUARD_SANITIZERS)
    message(FATAL_ERROR "DEPLOYGUARD_FUZZ brings its own sanitizers (address,undefined); leave DEPLOYGUARD_SANITIZERS empty")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
