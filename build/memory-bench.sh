#!/usr/bin/env bash
# Memory bounded by design (issue 12): queues a large backlog for an offline persistent session and
# a set of retained messages, and measures iotpe's resident memory (VmRSS) while it fills, after a
# restart, and while the backlog drains, against the same process idle. Then delivers everything
# and reports the drain rate. Writes the "memory-bench" section of docs/benchmarks.md.
#
#   build/memory-bench.sh [--large-bytes N] [--large-size N] [--small-count N] [--retained-bytes N] [--no-doc]
#
# Defaults: 10 GB of 1,000,000-byte messages (capped at half the free disk), 1,000,000 messages of
# 64 bytes, 1 GB of retained messages. Needs mqttbench (build/bench.sh builds it) and mosquitto_sub.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
large_bytes=$((10 * 1000 * 1000 * 1000)); large_size=1000000; small_count=1000000
retained_bytes=$((1000 * 1000 * 1000)); write_doc=1
while [ $# -gt 0 ]; do
  case "$1" in
    --large-bytes) large_bytes=$2; shift 2 ;;
    --large-size) large_size=$2; shift 2 ;;
    --small-count) small_count=$2; shift 2 ;;
    --retained-bytes) retained_bytes=$2; shift 2 ;;
    --no-doc) write_doc=0; shift ;;
    *) echo "memory-bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
iotpe="$repo/artifacts/$("$repo/build/host-rid.sh")/iotpe"
mqttbench="$repo/artifacts/tools/mqttbench"
[ -x "$iotpe" ] || { echo "memory-bench: build $iotpe first (build/publish.sh)" >&2; exit 1; }
[ -x "$mqttbench" ] || { echo "memory-bench: build $mqttbench first (build/bench.sh builds it)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/var/tmp}/iotpe-memory-bench.XXXXXX")
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT

free=$(df --output=avail -B1 "$work" | tail -1)
if [ "$large_bytes" -gt $((free / 2)) ]; then
  large_bytes=$((free / 2 / large_size * large_size))
  echo "memory-bench: only $((free / 1000000)) MB free: the large backlog is $((large_bytes / 1000000)) MB (half of it)" >&2
fi
large_count=$((large_bytes / large_size))
retained_count=$((retained_bytes / large_size))

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/config.json" <<EOF
{ "broker": { "maxQueuedMessages": $((small_count + large_count + 10)), "maximumPacketSize": $((large_size + 1024)),
              "maxQueuedBytesPerAccount": $((large_bytes * 2)) } }
EOF

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
start() {
  "$iotpe" run --data "$work/data" --listen "127.0.0.1:$port" --allow-anonymous --config "$work/config.json" --log-level Warning >>"$work/log" 2>&1 &
  pid=$!
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
    sleep 0.01
  done
}
stop() { kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
peak=0
watch_rss() { # samples VmRSS every 200 ms into $work/rss until the file $work/stop-watch appears
  rm -f "$work/stop-watch" "$work/rss"
  ( while [ ! -e "$work/stop-watch" ] && kill -0 "$pid" 2>/dev/null; do rss_kb >> "$work/rss" || true; sleep 0.2; done ) &
  watcher=$!
}
end_watch() { touch "$work/stop-watch"; wait "$watcher" 2>/dev/null || true; peak=$(sort -n "$work/rss" | tail -1); }
mb() { echo $(( $1 / 1024 )); }

# One case: park a persistent subscriber, publish COUNT messages of SIZE bytes at QoS 1 (each
# acknowledged, so stored), restart, drain them in order, with the RSS above idle at each stage.
backlog() { # label, count, size
  local label=$1 count=$2 size=$3
  rm -rf "$work/data"; start
  sleep 1; local idle; idle=$(rss_kb)
  mosquitto_sub -h 127.0.0.1 -p "$port" -c -i memory-bench -q 1 -t 'membench/#' -E
  watch_rss
  local t0 t1
  t0=$(date +%s%N)
  "$mqttbench" -p "$port" -q 1 -n "$count" -S 0 -s "$size" -t membench -i 100 -T 3600 -D 1 >/dev/null
  t1=$(date +%s%N)
  end_watch; local fill_peak=$peak
  local fill_rate; fill_rate=$(awk -v n="$count" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
  stop; start
  local restarted; restarted=$(rss_kb)
  watch_rss
  t0=$(date +%s%N)
  mosquitto_sub -h 127.0.0.1 -p "$port" -c -i memory-bench -q 1 -t 'membench/#' -C "$count" -W 3600 -F '%t' > "$work/drained"
  t1=$(date +%s%N)
  end_watch; local drain_peak=$peak
  local got; got=$(wc -l < "$work/drained")
  stop
  local secs; secs=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", ns / 1e9 }')
  local rate; rate=$(awk -v n="$got" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
  printf '| %s | %s MB | %s | +%s MB (%s msg/s) | +%s MB | +%s MB | %s of %s in %s s (%s msg/s) |\n' \
    "$label" "$((count * size / 1000000))" "$(mb "$idle")" "$(mb $((fill_peak - idle)))" "$fill_rate" "$(mb $((restarted - idle)))" \
    "$(mb $((drain_peak - idle)))" "$got" "$count" "$secs" "$rate" >> "$work/rows"
}

retained() { # count, size: COUNT retained topics, then two subscribers read them all
  local count=$1 size=$2
  rm -rf "$work/data"; start
  sleep 1; local idle; idle=$(rss_kb)
  watch_rss
  # mqttbench publishes to membench/0 only; retained messages need distinct topics: one
  # mosquitto_pub per topic with a generated payload file.
  head -c "$size" /dev/urandom > "$work/payload"
  for i in $(seq 1 "$count"); do
    mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -r -t "retained/$i" -f "$work/payload"
  done
  end_watch; local fill_peak=$peak
  stop; start
  local restarted; restarted=$(rss_kb)
  watch_rss
  local t0 t1
  t0=$(date +%s%N)
  mosquitto_sub -h 127.0.0.1 -p "$port" -q 1 -t 'retained/#' -C "$count" -W 3600 -F '%t' > "$work/drained"
  t1=$(date +%s%N)
  end_watch
  local got; got=$(wc -l < "$work/drained")
  stop
  local secs; secs=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", ns / 1e9 }')
  printf '| retained, %s × %s B | %s MB | %s | +%s MB | +%s MB | +%s MB | %s of %s in %s s |\n' \
    "$count" "$size" "$((count * size / 1000000))" "$(mb "$idle")" "$(mb $((fill_peak - idle)))" "$(mb $((restarted - idle)))" \
    "$(mb $((peak - idle)))" "$got" "$count" "$secs" >> "$work/rows"
}

: > "$work/rows"
echo "memory-bench: $large_count × $large_size B queued" >&2
backlog "queued, $large_count × $large_size B" "$large_count" "$large_size"
echo "memory-bench: $small_count × 64 B queued" >&2
backlog "queued, $small_count × 64 B" "$small_count" 64
echo "memory-bench: $retained_count retained × $large_size B" >&2
retained "$retained_count" "$large_size"

echo "memory-bench: connection flood" >&2
rm -rf "$work/data"; start; sleep 1
read -r flood_before flood_peak flood_after flood_closed flood_total < <(python3 "$repo/build/connection-flood.py" "$port" "$pid")
# A second wave on the same process: the first one also pages in code and the runtime's first-use
# structures (the socket engine, thread-pool threads), which a gateway that has served clients has anyway.
read -r flood2_before flood2_peak flood2_after _ _ < <(python3 "$repo/build/connection-flood.py" "$port" "$pid")
stop

section="$work/section.md"
{
  echo "<!-- memory-bench:start -->"
  echo "## Memory bounded by design (build/memory-bench.sh, $(date -u +%Y-%m-%d))"
  echo
  echo "iotpe's VmRSS above the same process idle (MB, from /proc, sampled every 200 ms; \"peak\" is the"
  echo "highest sample). The backlog is published at QoS 1 with mqttbench (every message acknowledged,"
  echo "so stored) for a persistent session that is away; then iotpe restarts and the session drains"
  echo "it with mosquitto_sub, in order. Budget for stored payloads in memory: \`maxResidentPayloadBytes\`"
  echo "16 MiB (default). Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo)."
  echo
  echo "| case | stored | idle RSS (MB) | peak while filling (fill rate) | after restart | peak while draining | delivered |"
  echo "|---|---|---|---|---|---|---|"
  cat "$work/rows"
  echo
  echo "Before CONNECT: $flood_total connections from rotating loopback addresses each announce a 1 MiB"
  echo "CONNECT and send 32 KiB of it slowly (build/connection-flood.py); the broker closed $flood_closed of them"
  echo "itself (64 KiB packet limit and deadline before CONNECT, pending-connection caps). VmRSS: $(mb "$flood_before") MB"
  echo "before, $(mb "$flood_peak") MB at the peak, $(mb "$flood_after") MB 3 s after they closed (a fresh process: this"
  echo "includes code and runtime structures used for the first time). The same wave again on that process:"
  echo "$(mb "$flood2_before") MB before, $(mb "$flood2_peak") MB at the peak, $(mb "$flood2_after") MB 3 s after"
  echo "($(awk -v a="$flood2_after" -v b="$flood2_before" 'BEGIN { printf "%+.1f", (a - b) * 100 / b }') %)."
  echo "<!-- memory-bench:end -->"
} > "$section"
cat "$section"
if [ "$write_doc" = 1 ]; then
  "$repo/build/doc-section.sh" "$repo/docs/benchmarks.md" memory-bench "$section"
fi
