#!/usr/bin/env bash
# The Dockerfile cannot be built here (no container engine on our machines), so this checks what
# can be checked against the binary that the same build steps produce:
#   1. the build stage installs dependencies with scripts/setup.sh (the tested set-up) and builds
#      with cmake, like scripts/test.sh;
#   2. every shared library the daemon needs (ldd) comes from a package that the runtime stage
#      installs, or from one that debian:bookworm-slim already contains;
#   3. the runtime stage runs as a non-root user, has a HEALTHCHECK on /healthz, and declares
#      the config and state volumes.
# Usage: dockerfile_check.sh DOCKERFILE DEPLOYGUARD_BINARY
set -euo pipefail
dockerfile=$1
binary=$2
fail=0
problem() { echo "FAIL: $*"; fail=1; }

command -v dpkg >/dev/null || { echo "SKIP: dpkg not available"; exit 77; }
# ldd's output is captured first: with pipefail, `ldd | grep -q` fails with SIGPIPE (141) whenever
# grep quits before ldd has finished writing, and the skip would then be missed at random.
libs=$(ldd "$binary")
if grep -Eq 'lib(a|ub)san' <<<"$libs"; then
  echo "SKIP: $binary is a sanitizer build; the image builds without sanitizers"
  exit 77
fi

# 1. build stage
grep -Eq '^RUN bash scripts/setup.sh' "$dockerfile" || problem "build stage does not run scripts/setup.sh"
grep -Eq 'cmake -S \. -B build' "$dockerfile" || problem "build stage does not configure with cmake"

# 2. runtime libraries. The runtime stage is everything after the last FROM.
runtime=$(awk '/^FROM /{stage=""} {stage=stage $0 "\n"} END{printf "%s", stage}' "$dockerfile")
installed=$(printf '%s' "$runtime" | tr -d '\\' | tr ' \t' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' || true)
# Packages of debian:bookworm-slim that the daemon's libraries come from (the image contains
# them as dependencies of apt and libsystemd0).
base="libc6 libstdc++6 libgcc-s1 libsystemd0 libcap2 libgcrypt20 liblzma5 libzstd1 liblz4-1 libgpg-error0"
checked=0
while read -r path; do
  [ -n "$path" ] || continue
  real=$(readlink -f "$path")
  pkg=$( (dpkg -S "$path" 2>/dev/null || dpkg -S "$real" 2>/dev/null || true) | head -1 | cut -d: -f1)
  if [ -z "$pkg" ]; then
    problem "$path is not from any Debian package"
    continue
  fi
  checked=$((checked + 1))
  if grep -qx "$pkg" <<<"$installed" || grep -qw -- "$pkg" <<<"$base"; then
    echo "ok: $(basename "$path") from $pkg"
  else
    problem "$(basename "$path") comes from $pkg, which the runtime stage does not install"
  fi
done < <(awk '/=> \//{print $3}' <<<"$libs")
[ "$checked" -gt 0 ] || problem "ldd listed no libraries for $binary"

# 3. runtime hardening and operations
grep -Eq '^USER [a-z]' <<<"$runtime" || problem "runtime stage has no non-root USER"
grep -Eq '^USER root' <<<"$runtime" && problem "runtime stage runs as root"
grep -q 'HEALTHCHECK' <<<"$runtime" || problem "no HEALTHCHECK"
grep -q '/healthz' <<<"$runtime" || problem "HEALTHCHECK does not probe /healthz"
grep -Eq '^VOLUME .*"/etc/deployguard".*"/var/lib/deployguard"' <<<"$runtime" ||
  problem "config and state are not declared as volumes"

[ "$fail" -eq 0 ] && echo "Dockerfile: runtime stage matches the binary ($checked libraries checked)"
exit "$fail"
