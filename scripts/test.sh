#!/usr/bin/env bash
# Sets up a fresh Debian bookworm machine, builds deployguard and runs every test.
#   scripts/test.sh              normal build (warnings are errors) + ctest
#   scripts/test.sh --sanitize   the same under AddressSanitizer + UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
extra=()
if [ "${1:-}" = "--sanitize" ]; then
  build_dir=build-asan
  extra=(-DDEPLOYGUARD_SANITIZERS="address;undefined" -DCMAKE_BUILD_TYPE=Debug)
fi

bash scripts/setup.sh
cmake -S . -B "$build_dir" -DDEPLOYGUARD_WERROR=ON "${extra[@]}"
cmake --build "$build_dir" -j"$(nproc)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir "$build_dir" --output-on-failure --timeout 600 -j"$(nproc)"
