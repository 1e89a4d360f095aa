#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (build-fuzz/, ASan+UBSan) and runs each
# for a while; fails if any target finds a crash, a leak, a timeout or a failed check.
#   scripts/fuzz.sh                      every target, 300 s each
#   scripts/fuzz.sh --seconds 30         what CI runs (.ci/run)
#   scripts/fuzz.sh --seconds 3600 webhook http_request
# Each target's corpus grows in build-fuzz/corpus/<target>/ (seeded from tests/fuzz/seeds and
# the fixtures on every run) and is kept between runs. A finding is written to
# build-fuzz/findings/<target>/; reproduce it with  build-fuzz/tests/fuzz/fuzz_<target> FILE.
# FUZZ_JOBS sets the build's parallelism (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(http_request webhook github_parse arm_parse config state)
seconds=300
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *)
      if [[ ! " ${all_targets[*]} " =~ " $1 " ]]; then
        echo "fuzz: unknown target $1 (targets: ${all_targets[*]})" >&2
        exit 2
      fi
      targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

# What the inputs look like to the mutator.
declare -A dict=([http_request]=http [webhook]=json [github_parse]=json [arm_parse]=json
                 [config]=yaml [state]=json)

bash scripts/setup.sh
build=build-fuzz
started=$(date +%s)
mkdir -p "$build"
# -O1 without NDEBUG: the library's asserts are checks the fuzzer should trip too.
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++-14 -DDEPLOYGUARD_FUZZ=ON \
  -DDEPLOYGUARD_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j"${FUZZ_JOBS:-$(nproc)}" --target "${targets[@]/#/fuzz_}"
echo "fuzz: built in $(( $(date +%s) - started )) s"
python3 tests/fuzz/make_corpus.py . "$build/corpus"

if command -v llvm-symbolizer-14 >/dev/null; then
  export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-14)}"
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

passed=0
failed=()
for t in "${targets[@]}"; do
  findings="$build/findings/$t"
  log="$build/logs/$t.log"
  mkdir -p "$findings" "$(dirname "$log")"
  echo "fuzz: $t for ${seconds} s"
  touch "$log.start"  # findings of earlier runs stay in $findings; this run's are newer
  rc=0
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -dict="tests/fuzz/dict/${dict[$t]}.dict" -print_final_stats=1 \
    -artifact_prefix="$findings/" "$build/corpus/$t" >"$log" 2>&1 || rc=$?
  # The last status line (cov: edges, ft: features, corp: corpus size) and the rate.
  status=$(grep -aE '^#[0-9]+' "$log" | tail -1 | sed -E 's/^(#[0-9]+)[[:space:]]+[A-Z]+[[:space:]]+/\1 /' || true)
  rate=$(LC_ALL=C sed -nE 's/^stat::average_exec_per_sec:[[:space:]]*([0-9]+)/\1/p' "$log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    echo "fuzz: $t ok: ${rate:-?} exec/s, ${status}"
    passed=$((passed + 1))
  else
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $rc); the last lines of $log:"
    tail -n 60 "$log"
    find "$findings" -type f -newer "$log.start" | while read -r f; do
      echo "fuzz: reproducer $f  (run: $build/tests/fuzz/fuzz_$t $f)"
    done
  fi
done

echo "fuzz: $(( $(date +%s) - started )) s in all"
[ ${#failed[@]} -eq 0 ] || echo "fuzz: findings in ${failed[*]}"
echo "fuzz: ${passed} passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
