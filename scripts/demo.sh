#!/usr/bin/env bash
# The main job, end to end on one machine: builds deployguard, starts the fake GitHub/Azure
# upstream replaying the incident (overlapping deploys, ServerIsBusy failures, two revisions
# splitting traffic, then recovery), and runs the daemon against it with config/demo.yaml.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target deployguard fake_upstream

workdir=$(mktemp -d /tmp/deployguard-demo.XXXXXX)
cleanup() {
  [ -n "${fake_pid:-}" ] && kill "$fake_pid" 2>/dev/null || true
  [ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT INT TERM

# Demo secrets (the fake upstream accepts exactly these).
echo "demo-github-token" > "$workdir/github-token"
echo "demo-azure-token" > "$workdir/azure-token"
echo "demo-webhook-secret" > "$workdir/webhook-secret"
export DEPLOYGUARD_DEMO_DIR="$workdir"

build/tests/fake_upstream/fake_upstream --listen 127.0.0.1:18080 \
  --scenario scripts/demo-scenario.json 2>"$workdir/fake-upstream.log" &
fake_pid=$!

sed "s#@DEMO_DIR@#$workdir#g" config/demo.yaml > "$workdir/demo.yaml"
build/daemon/deployguard serve --config "$workdir/demo.yaml" &
daemon_pid=$!

cat <<MSG

deployguard is running on http://127.0.0.1:8080 against a fake GitHub/Azure on :18080 that
replays the incident over about a minute and a half, then loops. Try, in another terminal:

  curl -s 'http://127.0.0.1:8080/can-deploy?env=staging'       # 200 safe / 423 blocked + reasons
  curl -s 'http://127.0.0.1:8080/v1/status'                     # runs, revisions, traffic, db
  watch -n1 "curl -s 'http://127.0.0.1:8080/can-deploy?env=staging'"

Press Ctrl-C to stop.
MSG
wait "$daemon_pid"
