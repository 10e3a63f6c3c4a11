#!/usr/bin/env bash
# Measures iotpe's start-up time: from exec to the first accepted TCP connection, on an empty data
# folder and on one holding 100,000 queued QoS 1 messages (a persistent session that went away),
# for the host's binary and, when it exists, the linux-arm64 binary under qemu-aarch64.
#
#   build/startup-bench.sh [--runs N] [--messages N]
#
# Prints one line per case with the median and the range over the runs (docs/benchmarks.md).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
runs=5; messages=100000
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    *) echo "startup-bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
host="$repo/artifacts/$("$repo/build/host-rid.sh")/iotpe"
arm64="$repo/artifacts/linux-arm64/iotpe"
sysroot="$repo/artifacts/sysroot-linux-arm64"
[ -x "$host" ] || { echo "startup-bench: build $host first (build/publish.sh)" >&2; exit 1; }
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Sets elapsed_ms to the milliseconds from exec until a TCP connection to the port succeeds, and
# started_pid to the process, left running.
time_start() { # port, data folder, command...
  local port=$1 data=$2; shift 2
  local t0 t1
  t0=$(date +%s%N)
  "$@" run --data "$data" --listen "127.0.0.1:$port" --allow-anonymous >"$work/log" 2>&1 &
  started_pid=$!; pids+=("$started_pid")
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    kill -0 "$started_pid" 2>/dev/null || { cat "$work/log" >&2; return 1; }
    sleep 0.005
  done
  t1=$(date +%s%N)
  elapsed_ms=$(( (t1 - t0) / 1000000 ))
}

stop() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; }

# The data folder with the queue: a persistent QoS 1 session subscribes and leaves, then the
# messages are published (and acknowledged, so stored) for it. Needs mosquitto_sub and MQTT.js
# (build/setup.sh installs both).
echo "startup-bench: preparing a data folder with $messages queued messages" >&2
port=$(free_port)
time_start "$port" "$work/queued" "$host"
mosquitto_sub -h 127.0.0.1 -p "$port" -c -i startup-sub -q 1 -t 'startup/#' -E
# MQTT.js's publisher waits for every PUBACK (mosquitto_pub -l may disconnect with messages unsent).
NODE_PATH=$(npm root -g) node "$repo/tests/IoTPE.TestSupport/node/sequence-publisher.js" \
  "mqtt://127.0.0.1:$port" startup/x 1 "$messages" startup-pub 4 100 | grep -qx done
stop "$started_pid"

measure() { # label, data folder template ("" = empty), command...
  local label=$1 template=$2; shift 2
  local times=()
  for _ in $(seq 1 "$runs"); do
    rm -rf "$work/data"
    if [ -n "$template" ]; then cp -a "$template" "$work/data"; else mkdir "$work/data"; fi
    port=$(free_port)
    time_start "$port" "$work/data" "$@"
    times+=("$elapsed_ms")
    stop "$started_pid"
  done
  # What the last start loaded, so that the figures say what they measured.
  loaded=$(grep -o 'Resumed [0-9]* persistent sessions, [0-9]* queued deliveries' "$work/log" | head -n1)
  sorted=$(printf '%s\n' "${times[@]}" | sort -n)
  median=$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")
  echo "$label: median $median ms (min $(echo "$sorted" | head -1), max $(echo "$sorted" | tail -1); $runs runs; $loaded)"
}

measure "x64 native, empty data folder" "" "$host"
measure "x64 native, $messages queued messages" "$work/queued" "$host"
if [ -x "$arm64" ]; then
  measure "arm64 under qemu, empty data folder" "" qemu-aarch64 -L "$sysroot" "$arm64"
  measure "arm64 under qemu, $messages queued messages" "$work/queued" qemu-aarch64 -L "$sysroot" "$arm64"
else
  echo "startup-bench: no $arm64 (build/publish.sh --rid linux-arm64); arm64 not measured" >&2
fi
