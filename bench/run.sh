#!/usr/bin/env bash
# Runs every benchmark and prints the table (figure, target, measured, pass/fail).
# See docs/performance.md for what each figure means and the last recorded results.
#
#   bench/run.sh                 # build (Release, build-bench/), install wrk/nginx, run, print
#   BENCH_RUNS=5 bench/run.sh    # more repetitions per figure (default 3; the median is judged)
#   BENCH_SKIP_BUILD=1 ...       # reuse build-bench as it is
#   BENCH_ONLY=queue bench/run.sh   # only the deploy-queue row (build, fake upstream, one daemon)
#   BENCH_JOBS=1 ...             # build parallelism (default: nproc)
#
# Needs root or sudo for apt-get (wrk, nginx-light, libbenchmark-dev) and a hard open-files limit
# of at least ~10,500 (10,000 waiters).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${BENCH_RUNS:-3}
BUILD=${BENCH_BUILD_DIR:-build-bench}
WRK_SECONDS=${BENCH_WRK_SECONDS:-8}
POLL=${BENCH_POLL_INTERVAL:-5s}
N_ENVS=50
N_WAITERS=${BENCH_WAITERS:-10000}
N_QUEUE=${BENCH_QUEUE_TICKETS:-1000}
ONLY=${BENCH_ONLY:-}
case "$ONLY" in
  "" | queue) ;;
  *) echo "bench: BENCH_ONLY=$ONLY: the only row that runs alone is 'queue'" >&2; exit 2 ;;
esac
FIXTURES=${DEPLOYGUARD_FIXTURES:-$ROOT/tests/fixtures/github}

# ---- packages (bench only; scripts/setup.sh stays as the build needs it) ---------------------
PACKAGES=(wrk nginx-light libbenchmark-dev python3 curl)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "bench: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# ---- build ------------------------------------------------------------------------------------
if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  # Tests stay configured (fake_upstream lives under tests/); only the targets below are built.
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DDEPLOYGUARD_BUILD_TESTS=ON \
    -DDEPLOYGUARD_BUILD_BENCH=ON >/dev/null
  targets=(deployguard fake_upstream deployguard_loadclient)
  [ -z "$ONLY" ] && targets+=(deployguard_microbench)
  cmake --build "$BUILD" -j"${BENCH_JOBS:-$(nproc)}" --target "${targets[@]}"
fi
DAEMON=$BUILD/daemon/deployguard
FAKE=$BUILD/tests/fake_upstream/fake_upstream
MICRO=$BUILD/bench/deployguard_microbench
LOAD=$BUILD/bench/deployguard_loadclient

ulimit -n "$(ulimit -Hn)"
N_CONNECTIONS=$N_WAITERS
if [ "$ONLY" = queue ] || [ "$N_QUEUE" -gt "$N_WAITERS" ]; then N_CONNECTIONS=$N_QUEUE; fi
if [ "$(ulimit -n)" -lt $((N_CONNECTIONS + 200)) ]; then
  echo "bench: open-files limit $(ulimit -n) is too low for $N_CONNECTIONS connections" >&2
  exit 1
fi

WORK=$(mktemp -d /tmp/deployguard-bench.XXXXXX)
RESULTS=$WORK/results.jsonl
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DPORT=$(free_port); FPORT=$(free_port); NPORT=$(free_port)
DG=http://127.0.0.1:$DPORT
FK=http://127.0.0.1:$FPORT
record() { echo "$1" >>"$RESULTS"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }  # peak RSS over the process's life
wait_http() {  # url expected_status timeout_s
  for _ in $(seq 1 $(($3 * 10))); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = "$2" ] && return 0
    sleep 0.1
  done
  echo "bench: $1 did not answer $2 within $3 s" >&2
  return 1
}

record "$(printf '{"kind":"machine","poll":"%s","nproc":%s,"load_start":"%s","cpu":"%s","kernel":"%s","date":"%s","only":"%s"}' \
  "$POLL" "$(nproc)" "$(loadavg)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
  "$(uname -r)" "$(date -u +%FT%TZ)" "$ONLY")"
finish() {
  record "$(printf '{"kind":"machine_end","load_end":"%s"}' "$(loadavg)")"
  cp "$RESULTS" "$ROOT/$BUILD/bench-results.jsonl"
  python3 bench/report.py "$RESULTS"
}

# ---- the deploy queue: 1,000 tickets on one environment, served in order ----------------------
# A daemon of its own (one environment, env00 of the fake's state, default poll intervals, no
# cooldown or min_interval, queue.max_length = N_QUEUE), so its peak RSS (VmHWM, read after the
# rounds) is the queue's alone. Each round: a plain lease holds env00 while N_QUEUE tickets join
# and long-poll, then the lease is released and each holder leaves as soon as it is granted; the
# load client measures send-DELETE -> next 201. The rounds share the daemon, so VmHWM is the peak
# over all of them.
queue_row() {
  local dir=$WORK/queue qport qpid
  mkdir -p "$dir"
  qport=$(free_port)
  python3 bench/gen_setup.py --queue "$N_QUEUE" "$dir" "$qport" "$FPORT" 1 30s 60s
  "$DAEMON" serve --config "$dir/deployguard.yaml" 2>"$dir/daemon.log" &
  qpid=$!
  pids+=("$qpid")
  wait_http "http://127.0.0.1:$qport/readyz" 200 30
  wait_http "http://127.0.0.1:$qport/can-deploy?env=env00" 200 10
  for r in $(seq 1 "$RUNS"); do
    record "$("$LOAD" queue --port "$qport" --env env00 --pid "$qpid" --count "$N_QUEUE" || true)"
  done
  record "$(printf '{"kind":"queue_rss","hwm_kib":%s,"rss_kib":%s,"rounds":%s,"load":"%s"}' \
    "$(hwm_kib "$qpid")" "$(rss_kib "$qpid")" "$RUNS" "$(loadavg)")"
  kill "$qpid" 2>/dev/null || true
  wait "$qpid" 2>/dev/null || true
  echo "bench: deploy queue done (load $(loadavg))"
}

# ---- the fake upstream (every daemon below polls it) ------------------------------------------
python3 bench/gen_setup.py "$WORK" "$DPORT" "$FPORT" "$N_ENVS" "$POLL"
"$FAKE" --listen "127.0.0.1:$FPORT" --log-level warn 2>"$WORK/fake.log" &
pids+=($!)
wait_http "$FK/_fake/state" 200 10
curl -sf -X PUT "$FK/_fake/state" -H 'Content-Type: application/json' \
  --data-binary "@$WORK/fake-state.json" >/dev/null

if [ "$ONLY" = queue ]; then
  queue_row
  finish
  exit 0
fi

# ---- 1. pure parts (Google Benchmark) ---------------------------------------------------------
echo "bench: micro benchmarks (load $(loadavg))"
DEPLOYGUARD_FIXTURES=$FIXTURES "$MICRO" --benchmark_repetitions="$RUNS" \
  --benchmark_report_aggregates_only=true --benchmark_format=json \
  --benchmark_out="$WORK/micro.json" --benchmark_out_format=json >/dev/null
record "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));
print(json.dumps({"kind":"micro","benchmarks":[{"name":b["run_name"],"ns":b["real_time"] if b["time_unit"]=="ns" else b["real_time"]*1000} for b in d["benchmarks"] if b.get("aggregate_name", "median")=="median"]}))' "$WORK/micro.json")"

# ---- start the daemon (50 environments) --------------------------------------------------------
"$DAEMON" serve --config "$WORK/deployguard.yaml" 2>"$WORK/daemon.log" &
DPID=$!
pids+=("$DPID")
wait_http "$DG/readyz" 200 30
wait_http "$DG/can-deploy?env=env01" 200 10

# ---- 2. idle: RSS, CPU between timers, GitHub requests counted against the rate limit ---------
sleep 3  # first polls (workflow resolution, first 200s that fill the ETag cache) are done
for r in $(seq 1 "$RUNS"); do
  curl -sf -X DELETE "$FK/_fake/requests" >/dev/null
  remaining0=$(curl -sf "$FK/_fake/state" | python3 -c 'import json,sys; print(json.load(sys.stdin)["github"]["rate_limit"]["remaining"])')
  t0=$(cpu_ticks "$DPID"); n0=$(awk '{print $1}' "/proc/$DPID/schedstat"); s0=$(date +%s.%N)
  sleep 10
  t1=$(cpu_ticks "$DPID"); n1=$(awk '{print $1}' "/proc/$DPID/schedstat"); s1=$(date +%s.%N)
  remaining1=$(curl -sf "$FK/_fake/state" | python3 -c 'import json,sys; print(json.load(sys.stdin)["github"]["rate_limit"]["remaining"])')
  curl -sf "$FK/_fake/requests" >"$WORK/requests.json"
  record "$(python3 -c '
import json,sys
reqs=json.load(open(sys.argv[1]))["requests"]
gh=[q for q in reqs if q["path"].startswith("/repos/")]
print(json.dumps({"kind":"idle","rss_kib":int(sys.argv[2]),"cpu_ticks":int(sys.argv[3]),"hz":int(sys.argv[4]),"cpu_ns":int(sys.argv[9]),
  "seconds":float(sys.argv[5]),"upstream_requests":len(reqs),"github_requests":len(gh),
  "github_not_304":sum(1 for q in gh if q["status"]!=304),
  "rate_limit_used":int(sys.argv[6])-int(sys.argv[7]),"load":sys.argv[8]}))' \
    "$WORK/requests.json" "$(rss_kib "$DPID")" "$((t1 - t0))" "$(getconf CLK_TCK)" \
    "$(awk -v a="$s0" -v b="$s1" 'BEGIN{print b-a}')" "$remaining0" "$remaining1" "$(loadavg)" \
    "$((n1 - n0))")"
done
echo "bench: idle figures done (load $(loadavg))"

# ---- 3. /can-deploy throughput and latency vs nginx (same body, one worker) -------------------
BODY=$(curl -sf "$DG/can-deploy?env=env01")
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
daemon on;
pid $WORK/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:$NPORT;
    location = /can-deploy {
      default_type application/json;
      add_header Cache-Control no-store;
      return 200 '${BODY//\'/\\\'}\n';
    }
  }
}
EOF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK/nginx" -e "$WORK/nginx/error.log"
wait_http "http://127.0.0.1:$NPORT/can-deploy?env=env01" 200 10
# The judged runs use ONE wrk thread: on a 2-core machine the single-threaded server under test
# then has a core of its own. With two wrk threads the load generator competes with the server
# for both cores and the tail latency measures that contention (nginx's own p99 goes from ~1.3
# to ~4.5 ms on the same machine); those runs are kept as information rows.
run_wrk() {  # name url threads
  wrk -t"$3" -c64 -d"${WRK_SECONDS}s" --latency "$2" >"$WORK/wrk-$1.txt"
  python3 - "$1" "$WORK/wrk-$1.txt" "$(loadavg)" "$3" <<'PY'
import json, re, sys
text = open(sys.argv[2]).read()
def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v); x = float(m.group(1))
    return x / 1000 if m.group(2) == "us" else x * 1000 if m.group(2) == "s" else x
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p = {k: to_ms(v) for k, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", text, re.M)}
errors = re.search(r"Socket errors: (.*)", text)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(json.dumps({"kind": "wrk", "server": sys.argv[1], "threads": int(sys.argv[4]),
                  "rps": rps, "p50_ms": p.get("50"),
                  "p99_ms": p.get("99"), "socket_errors": errors.group(1) if errors else "",
                  "non2xx": int(non2xx.group(1)) if non2xx else 0, "load": sys.argv[3]}))
PY
}
for r in $(seq 1 "$RUNS"); do
  for threads in 1 2; do
    record "$(run_wrk nginx "http://127.0.0.1:$NPORT/can-deploy?env=env01" "$threads")"
    record "$(run_wrk deployguard "$DG/can-deploy?env=env01" "$threads")"
  done
done
kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
echo "bench: wrk done (load $(loadavg))"

# ---- 4. webhooks: ingestion rate, and received -> /can-deploy reflects it ----------------------
for r in $(seq 1 "$RUNS"); do
  record "$("$LOAD" webhooks --port "$DPORT" --secret-file "$WORK/webhook-secret" \
    --fixture "$FIXTURES/workflow_run/in_progress.payload.json" --connections 8 --count 15000 \
    --delivery-prefix "flood$r" --run-base $((500000000 + r * 1000)) || true)"
done
for r in $(seq 1 "$RUNS"); do
  record "$("$LOAD" reflect --port "$DPORT" --secret-file "$WORK/webhook-secret" \
    --fixture "$FIXTURES/workflow_run/in_progress.payload.json" --env env00 --count 400 \
    --delivery-prefix "reflect$r" --run-id $((700000000 + r)) || true)"
done
echo "bench: webhooks done (load $(loadavg))"

# ---- 5. 10,000 long-poll waiters, answered by one state change ----------------------------------
for r in $(seq 1 "$RUNS"); do
  curl -sf -X POST "$DG/v1/environments/env05/freeze" -H 'Content-Type: application/json' \
    -d '{"reason":"bench","by":"bench"}' >/dev/null
  record "$("$LOAD" waiters --port "$DPORT" --env env05 --pid "$DPID" --count "$N_WAITERS" || true)"
  sleep 2  # the closed connections leave the daemon before the next round
done
echo "bench: waiters done (load $(loadavg))"

# ---- 6. idle CPU at the default poll intervals (GitHub 30 s, Azure 60 s) ----------------------
# The 5 s figure above is a stress setting (6-12x the defaults); "effectively zero between
# timers" is judged on a fresh daemon with the documented defaults, over one full Azure cycle.
# CPU comes from /proc/PID/schedstat (nanoseconds on CPU, all threads), not 10 ms ticks.
kill "$DPID" 2>/dev/null || true
wait "$DPID" 2>/dev/null || true
PROD=$WORK/prod
mkdir -p "$PROD"
PPORT=$(free_port)
python3 bench/gen_setup.py "$PROD" "$PPORT" "$FPORT" "$N_ENVS" 30s 60s
"$DAEMON" serve --config "$PROD/deployguard.yaml" 2>"$PROD/daemon.log" &
PPID_PROD=$!
pids+=("$PPID_PROD")
wait_http "http://127.0.0.1:$PPORT/readyz" 200 30
sleep 3  # the first round of polls (one per source at start-up) is done
PROD_SECONDS=${BENCH_PROD_IDLE_SECONDS:-60}
curl -sf -X DELETE "$FK/_fake/requests" >/dev/null
c0=$(awk '{print $1}' "/proc/$PPID_PROD/schedstat"); s0=$(date +%s.%N)
sleep "$PROD_SECONDS"
c1=$(awk '{print $1}' "/proc/$PPID_PROD/schedstat"); s1=$(date +%s.%N)
curl -sf "$FK/_fake/requests" >"$WORK/requests-prod.json"
record "$(python3 -c '
import json,sys
reqs=json.load(open(sys.argv[1]))["requests"]
print(json.dumps({"kind":"idle_prod","cpu_ns":int(sys.argv[2]),"seconds":float(sys.argv[3]),
  "upstream_requests":len(reqs),"rss_kib":int(sys.argv[4]),"load":sys.argv[5]}))' \
  "$WORK/requests-prod.json" "$((c1 - c0))" "$(awk -v a="$s0" -v b="$s1" 'BEGIN{print b-a}')" \
  "$(rss_kib "$PPID_PROD")" "$(loadavg)")"
echo "bench: idle at default intervals done (load $(loadavg))"
kill "$PPID_PROD" 2>/dev/null || true
wait "$PPID_PROD" 2>/dev/null || true

# ---- 7. the deploy queue (see queue_row above) --------------------------------------------------
queue_row
finish
