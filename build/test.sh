#!/usr/bin/env bash
# Installs what is missing, builds, publishes the NativeAOT binary the end-to-end tests run,
# and runs every test. Ends with the totals of all test assemblies.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

./build/setup.sh
./build/publish.sh --rid "$(./build/host-rid.sh)"
# The Raspberry Pi binary, cross-compiled, for Arm64BinaryTests (they run it under qemu-aarch64).
# If it does not build, those tests fail naming it, and every other test still runs.
if [ "$(./build/host-rid.sh)" != linux-arm64 ]; then
  rm -f artifacts/linux-arm64/iotpe
  ./build/publish.sh --rid linux-arm64 || echo "test: the linux-arm64 binary did not build (above); Arm64BinaryTests will fail" >&2
fi

dotnet build IoTPE.sln -c Release --nologo -v quiet

# One test assembly at a time: the end-to-end tests start real brokers and clients and measure
# how promptly they answer, which two assemblies racing on two cores would make unreliable.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test IoTPE.sln -c Release --no-build --nologo -m:1 --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# Each test assembly ends with a block: "Total tests: N", "Passed: N", "Failed: N", "Skipped: N".
read -r assemblies passed failed skipped < <(
  awk '/^Total tests: [0-9]+$/ {a++}
       /^ +Passed: [0-9]+$/ {p+=$2}
       /^ +Failed: [0-9]+$/ {f+=$2}
       /^ +Skipped: [0-9]+$/ {s+=$2}
       END {print a+0, p+0, f+0, s+0}' "$log")
echo
echo "Test assemblies run: $assemblies"
echo "Totals: $passed passed, $failed failed, $skipped skipped"
# CI shows only part of this output: repeat each failure with the start of its message last.
if [ "$failed" -ne 0 ]; then
  echo "Failed tests:"
  awk '/^  Failed / {n=8} n > 0 {print; n--}' "$log" | cut -c1-300
  echo "Totals: $passed passed, $failed failed, $skipped skipped"
fi
if [ "$status" -ne 0 ]; then
  exit "$status"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
