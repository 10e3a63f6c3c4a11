#!/usr/bin/env bash
# Benchmarks the bridge edge -> central on this machine: iotpe -> iotpe, and Mosquitto's bridge
# (Mosquitto -> Mosquitto) measured the same way in the same run. Not part of the test run.
#
#   build/bridge-bench.sh [--messages N] [--rate R] [--latency-messages M] [--out FILE]
#                         [--iotpe BINARY] [--only iotpe|mosquitto]
#       defaults: N = 100000, R = 1000 msg/s, M = 10000, docs/benchmarks.md, the published binary, both
#       --iotpe and --only compare two builds in one minute on a shared machine, e.g.
#       build/bridge-bench.sh --only iotpe --iotpe /tmp/before/iotpe --out /tmp/before.md
#
# Drain: the central is down; N QoS 2 messages (64 bytes, mqttbench) are published to the edge, which
# queues them for the bridge; the central starts, and the drain rate is N / (time from the first to the
# N-th distinct message at a persistent QoS 2 subscriber on the central); the reconnection before the
# first (central start-up, the bridge's next probe) and the total from the central's start are reported
# beside it. Messages that never arrive (within 120 s) are reported as lost.
# Latency: both up and connected; M QoS 2 messages at R msg/s to the edge, each carrying its send
# time; p50/p99 from publish at the edge to delivery at the central's subscriber (one process, one clock).
# iotpe runs at its default durability (sync full) on both sides. Mosquitto keeps its bridge queue in
# memory (edge: max_queued_messages 10,000,000, max_inflight_messages 1000; central: persistence on,
# so the subscriber's session survives the central's restart). Also reported: CPU time (user + system)
# per drained message of the edge during the drain and of the central since its start, which a shared
# machine's load does not change as much as the rate. A smoke run: --messages 2000 --latency-messages 2000.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
messages=100000; rate=1000; latency_messages=10000; out="$repo/docs/benchmarks.md"; iotpe=""; kinds="iotpe mosquitto"
while [ $# -gt 0 ]; do
  case "$1" in
    --messages) messages=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --latency-messages) latency_messages=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --iotpe) iotpe=$(realpath "$2"); shift 2 ;;
    --only) kinds=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "bridge-bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

tools=${MQTTBENCH_DIR:-$repo/../shared/tools/mqttbench}
[ -f "$tools/mqttbench.c" ] || { echo "bridge-bench: mqttbench not found in $tools (set MQTTBENCH_DIR)" >&2; exit 1; }
rid=$(./build/host-rid.sh)
[ -n "$iotpe" ] || [ -x "artifacts/$rid/iotpe" ] || ./build/publish.sh --rid "$rid" >/dev/null
mkdir -p artifacts/tools
[ -x artifacts/tools/mqttbench ] || cc -O2 -std=gnu11 -pthread -o artifacts/tools/mqttbench "$tools/mqttbench.c" -lmosquitto
bench="$repo/artifacts/tools/mqttbench"
iotpe=${iotpe:-$repo/artifacts/$rid/iotpe}
export NODE_PATH
NODE_PATH=$(npm root -g)
js="$repo/build/bridge-bench.js"

work=$(mktemp -d)
chmod 777 "$work" # Mosquitto started as root runs as the user mosquitto and writes its persistence here
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "bridge-bench: nothing listens on $1" >&2; return 1; }
stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
now_ms() { date +%s%3N; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; } # utime + stime of a process, in clock ticks

# drain_subscriber PORT COUNT CLIENT_ID TIMEOUT_S: resumes the persistent QoS 2 session CLIENT_ID (MQTT 3.1.1,
# clean session off) and reads until COUNT distinct messages arrived or TIMEOUT_S passed; prints
# "RESULT unique=U dup=D first_ms=F last_ms=T" (wall clock, Unix ms, of the first and the last new message).
# mosquitto_sub stamps each message as it receives it; being C on libmosquitto, it takes a small share of the
# two cores the edge and the central compete for (MQTT.js took more CPU per message than the central).
# mqttbench payloads are told apart by their publisher index and sequence (bytes 4-15).
drain_subscriber() {
  local fifo="$work/drain.fifo"
  rm -f "$fifo"; mkfifo "$fifo"
  stdbuf -oL mosquitto_sub -p "$1" -i "$3" -c -q 2 -t 'mqttbench/#' -F '%U %x' -W "$4" > "$fifo" 2>/dev/null &
  local sub=$!
  awk -v count="$2" '
    { key = substr($2, 9, 24); if (key in seen) { dup++; next }
      seen[key] = 1; unique++; ms = sprintf("%.0f", $1 * 1000); if (first == "") first = ms; last = ms
      if (unique >= count) exit }
    END { printf "RESULT unique=%d dup=%d first_ms=%s last_ms=%s\n", unique, dup, (first == "" ? 0 : first), (last == "" ? 0 : last) }' < "$fifo"
  kill "$sub" 2>/dev/null || true; wait "$sub" 2>/dev/null || true
}

# start_central KIND PORT: starts the central (its data in $work/KIND-central); sets central_pid.
start_central() {
  if [ "$1" = iotpe ]; then
    "$iotpe" run --data "$work/iotpe-central" --listen "127.0.0.1:$2" --allow-anonymous --log-level Warning >> "$work/iotpe-central.log" 2>&1 &
  else
    mkdir -p "$work/mosquitto-central"; chmod 777 "$work/mosquitto-central"
    printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 1000\nmax_queued_messages 10000000\npersistence true\npersistence_location %s/\n' \
      "$2" "$work/mosquitto-central" > "$work/mosquitto-central.conf"
    mosquitto -c "$work/mosquitto-central.conf" >> "$work/mosquitto-central.log" 2>&1 &
  fi
  central_pid=$!; pids+=("$central_pid")
  wait_port "$2"
}

# start_edge KIND PORT CENTRAL_PORT: the edge, bridging mqttbench/# to the central; sets edge_pid.
start_edge() {
  if [ "$1" = iotpe ]; then
    cat > "$work/iotpe-edge.json" <<JSON
{ "bridges": [ { "name": "central", "address": "127.0.0.1", "port": $3, "clientId": "bench-edge", "userName": "", "password": "",
                 "forward": ["mqttbench/#"], "receive": [], "maxQueuedMessages": 10000000, "maxQueuedBytes": 4294967296 } ] }
JSON
    "$iotpe" run --data "$work/iotpe-edge" --listen "127.0.0.1:$2" --allow-anonymous --log-level Warning --config "$work/iotpe-edge.json" > "$work/iotpe-edge.log" 2>&1 &
  else
    printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 1000\nmax_queued_messages 10000000\npersistence false\n%s\n' "$2" \
      "connection central
address 127.0.0.1:$3
clientid bench-edge
topic mqttbench/# out 2
cleansession false
restart_timeout 1" > "$work/mosquitto-edge.conf"
    mosquitto -c "$work/mosquitto-edge.conf" > "$work/mosquitto-edge.log" 2>&1 &
  fi
  edge_pid=$!; pids+=("$edge_pid")
  wait_port "$2"
}

results="$work/results.txt"
: > "$results"
measure() { # KIND CENTRAL_PORT EDGE_PORT
  local kind=$1 cport=$2 eport=$3
  echo "bridge-bench: $kind drain of $messages"
  start_central "$kind" "$cport"
  mosquitto_sub -p "$cport" -i "bench-sub-$kind" -c -q 2 -t 'mqttbench/#' -E # registers the session
  stop "$central_pid"
  start_edge "$kind" "$eport" "$cport"
  "$bench" -h 127.0.0.1 -p "$eport" -q 2 -P 1 -S 0 -n "$messages" -T 600 > "$work/$kind-backlog.txt" 2>&1 || true
  local edge_cpu0; edge_cpu0=$(cpu_ticks "$edge_pid")
  local started; started=$(now_ms)
  start_central "$kind" "$cport"
  drain_subscriber "$cport" "$messages" "bench-sub-$kind" 120 > "$work/$kind-drain.txt"
  local line unique dup first last seconds reconnect
  line=$(grep '^RESULT' "$work/$kind-drain.txt" || echo "RESULT unique=0 dup=0 first_ms=0 last_ms=0")
  unique=$(echo "$line" | sed 's/.*unique=\([0-9]*\).*/\1/'); dup=$(echo "$line" | sed 's/.*dup=\([0-9]*\).*/\1/')
  first=$(echo "$line" | sed 's/.*first_ms=\([0-9]*\).*/\1/'); last=$(echo "$line" | sed 's/.*last_ms=\([0-9]*\).*/\1/')
  seconds=$(awk -v a="$started" -v b="$last" 'BEGIN { printf "%.2f", (b - a) / 1000 }')
  # Reconnection (the central's start-up, the bridge's next probe, the subscriber's session) is reported apart
  # from the drain proper: the rate is over the time from the first message to the last.
  reconnect=$(awk -v a="$started" -v b="$first" 'BEGIN { printf "%.2f", (b > 0 ? (b - a) / 1000 : 0) }')
  # CPU time per drained message (user + system, all threads): on a shared machine the rate follows the
  # CPU share the processes get, this does not. The central's includes its start-up.
  local edge_us central_us
  edge_us=$(awk -v t="$(( $(cpu_ticks "$edge_pid") - edge_cpu0 ))" -v hz="$(getconf CLK_TCK)" -v n="$unique" 'BEGIN { printf "%.0f", (n > 0 ? t / hz * 1e6 / n : 0) }')
  central_us=$(awk -v t="$(cpu_ticks "$central_pid")" -v hz="$(getconf CLK_TCK)" -v n="$unique" 'BEGIN { printf "%.0f", (n > 0 ? t / hz * 1e6 / n : 0) }')
  echo "$kind drain unique=$unique dup=$dup lost=$((messages - unique)) seconds=$seconds reconnect=$reconnect rate=$(awk -v n="$unique" -v f="$first" -v l="$last" 'BEGIN { r = 0; if (l > f) r = n / ((l - f) / 1000); printf "%.0f", r }') overall=$(awk -v n="$unique" -v s="$seconds" 'BEGIN { r = 0; if (s > 0) r = n / s; printf "%.0f", r }') edge_cpu_us=$edge_us central_cpu_us=$central_us" | tee -a "$results"

  echo "bridge-bench: $kind latency, $latency_messages at $rate msg/s"
  sleep 2 # the bridge reconnects after the central's start; no event to wait for from outside
  line=$(node "$js" latency "mqtt://127.0.0.1:$eport" "mqtt://127.0.0.1:$cport" mqttbench/latency "$rate" "$latency_messages" 120 2>&1 | grep '^RESULT' || echo "RESULT failed")
  echo "$kind latency ${line#RESULT }" | tee -a "$results"
  stop "$edge_pid"; stop "$central_pid"
}

case " $kinds " in *" iotpe "*) measure iotpe 18850 18851 ;; esac
case " $kinds " in *" mosquitto "*) measure mosquitto 18852 18853 ;; esac

field() { grep "^$1 $2 " "$results" | grep -oE "$3=[^ ]+" | cut -d= -f2; }
section="$work/section.md"
{
  echo "<!-- bridge-bench:start -->"
  echo "## Bridge: iotpe -> iotpe and Mosquitto's bridge, edge to central"
  echo
  echo "Generated by \`build/bridge-bench.sh --messages $messages --rate $rate --latency-messages $latency_messages\` on $(date -u +%Y-%m-%d) —"
  echo "$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(uname -sr), iotpe $("$iotpe" --version | sed 's/^iotpe //') (sync full on both sides),"
  echo "Mosquitto $(mosquitto -h 2>/dev/null | head -1 | awk '{print $3}') (bridge: MQTT 3.1.1, QoS 2, cleansession false; central with persistence). Edge and central on one machine, loopback."
  echo "Drain: a backlog of $messages QoS 2 messages (64 bytes) queued at the edge while the central was down; drain msg/s ="
  echo "messages at a persistent QoS 2 subscriber on the central / seconds from the first to the last; reconnect s = from the"
  echo "central's start to the first message (its start-up and the bridge's next probe: iotpe probes every second, Mosquitto has"
  echo "restart_timeout 1); total s = from the central's start to the last message. Latency: $latency_messages QoS 2"
  echo "messages at $rate msg/s, publish at the edge to delivery at the central's subscriber."
  echo
  echo "| bridge | drain msg/s | reconnect s | total s | lost | duplicated | edge CPU µs/msg | central CPU µs/msg | latency p50 ms | p99 ms | lost at $rate msg/s |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for kind in $kinds; do
    echo "| $kind | $(field "$kind" drain rate) | $(field "$kind" drain reconnect) | $(field "$kind" drain seconds) | $(field "$kind" drain lost) | $(field "$kind" drain dup) | $(field "$kind" drain edge_cpu_us) | $(field "$kind" drain central_cpu_us) | $(field "$kind" latency p50_ms) | $(field "$kind" latency p99_ms) | $(field "$kind" latency lost) |"
  done
  echo "<!-- bridge-bench:end -->"
} > "$section"
"$repo/build/doc-section.sh" "$out" bridge-bench "$section"
echo "bridge-bench: section bridge-bench written to $out"
