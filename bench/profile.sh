#!/usr/bin/env bash
# Profiles the daemon under callgrind (perf is often unavailable in containers) while it serves
# the two hot paths of bench/run.sh: keep-alive GET /can-deploy (wrk) and signed webhooks
# (deployguard_loadclient). Prints the top functions by inclusive and self cost.
#
#   bench/profile.sh            # needs bench/run.sh's build (build-bench) and valgrind
#   PROFILE_WHAT=webhooks ...   # only one path: can-deploy | webhooks | both (default)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BENCH_BUILD_DIR:-build-bench}
FIXTURES=${DEPLOYGUARD_FIXTURES:-$PWD/tests/fixtures/github}
WHAT=${PROFILE_WHAT:-both}
command -v valgrind >/dev/null || { echo "profile: valgrind is not installed" >&2; exit 1; }

WORK=$(mktemp -d /tmp/deployguard-profile.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DPORT=$(free_port); FPORT=$(free_port)
python3 bench/gen_setup.py "$WORK" "$DPORT" "$FPORT" 50 5s
"$BUILD/tests/fake_upstream/fake_upstream" --listen "127.0.0.1:$FPORT" --log-level warn 2>"$WORK/fake.log" &
pids+=($!)
until curl -sf "http://127.0.0.1:$FPORT/_fake/state" >/dev/null; do sleep 0.1; done
curl -sf -X PUT "http://127.0.0.1:$FPORT/_fake/state" -H 'Content-Type: application/json' \
  --data-binary "@$WORK/fake-state.json" >/dev/null
valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
  "$BUILD/daemon/deployguard" serve --config "$WORK/deployguard.yaml" 2>"$WORK/daemon.log" &
DPID=$!
pids+=("$DPID")
for _ in $(seq 1 600); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$DPORT/readyz" || true)" = 200 ] && break
  sleep 0.1
done
if [ "$WHAT" != webhooks ]; then
  wrk -t1 -c16 -d10s "http://127.0.0.1:$DPORT/can-deploy?env=env01" | grep -E 'Requests/sec|requests in'
fi
if [ "$WHAT" != can-deploy ]; then
  "$BUILD/bench/deployguard_loadclient" webhooks --port "$DPORT" --secret-file "$WORK/webhook-secret" \
    --fixture "$FIXTURES/workflow_run/in_progress.payload.json" --connections 4 --count 1500
fi
kill -INT "$DPID"
wait "$DPID" || true
pids=("${pids[@]:0:1}")
echo "== inclusive"
callgrind_annotate --inclusive=yes "$WORK/callgrind.out" 2>/dev/null | head -60 || true
echo "== self"
callgrind_annotate "$WORK/callgrind.out" 2>/dev/null | head -45 || true
echo "profile: raw data in $WORK/callgrind.out"
