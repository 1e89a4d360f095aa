#!/usr/bin/env bash
# Installs the Debian bookworm packages deployguard needs to build, test and run.
# Idempotent; run as root (or with sudo available) on a fresh machine.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  libboost1.81-dev libboost-url1.81-dev
  nlohmann-json3-dev libsimdjson-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libssl-dev
  libcli11-dev prometheus-cpp-dev libsystemd-dev
  libhowardhinnant-date-dev tzdata   # freeze windows: cron in IANA time zones (C++20 <chrono> zones are not in GCC 12)
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  clang-14 libclang-rt-14-dev llvm-14   # scripts/fuzz.sh: clang, libFuzzer + sanitizer runtimes, llvm-symbolizer
  curl python3 openssl
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
