#!/usr/bin/env bash
# Benchmarks iotpe side by side with Debian's Mosquitto and with MQTTnet.Server (the broker a .NET user
# would host instead, tests/IoTPE.MqttNetServer) on this machine, with the neutral load tool
# ../shared/tools/mqttbench (libmosquitto). Not part of the test run.
#
#   build/bench.sh [--reps N] [--out FILE]      (default: 3 repetitions, docs/benchmarks.md)
#
# The brokers run on loopback; every configuration runs against Mosquitto, iotpe and MQTTnet.Server
# in turn, and the report gives medians and the iotpe/Mosquitto ratio. iotpe runs at its default
# durability (sync full). Mosquitto uses the reference configuration mosquitto-base.conf;
# MQTTnet.Server is configured to match it (nothing on disk, queues far above the largest run).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
reps=3
out="$repo/docs/benchmarks.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

tools=${MQTTBENCH_DIR:-$repo/../shared/tools/mqttbench}
[ -f "$tools/mqttbench.c" ] || { echo "bench: mqttbench not found in $tools (set MQTTBENCH_DIR)" >&2; exit 1; }
./build/setup.sh
rid=$(./build/host-rid.sh)
./build/publish.sh --rid "$rid" >/dev/null
# Built into its own folder and started through its apphost, so that the PID given to mqttbench -B is
# the broker's own process (dotnet run would be a parent process).
dotnet build tests/IoTPE.MqttNetServer/IoTPE.MqttNetServer.csproj -c Release -v quiet --nologo -o artifacts/mqttnet-server >/dev/null
mkdir -p artifacts/tools
cc -O2 -std=gnu11 -pthread -o artifacts/tools/mqttbench "$tools/mqttbench.c" -lmosquitto
bench="$repo/artifacts/tools/mqttbench"

work=$(mktemp -d)
mosquitto_port=18830
iotpe_port=18831
mqttnet_port=18832
results="$work/results.txt"
: > "$results"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

sed "s/^listener 1883 /listener $mosquitto_port /" "$tools/mosquitto-base.conf" > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
mosquitto_pid=$!; pids+=("$mosquitto_pid")
"artifacts/$rid/iotpe" run --data "$work/iotpe-data" --listen "127.0.0.1:$iotpe_port" --allow-anonymous --log-level Warning > "$work/iotpe.log" 2>&1 &
iotpe_pid=$!; pids+=("$iotpe_pid")
artifacts/mqttnet-server/IoTPE.MqttNetServer --port "$mqttnet_port" > "$work/mqttnet.log" 2>&1 &
mqttnet_pid=$!; pids+=("$mqttnet_pid")
for port in $mosquitto_port $iotpe_port $mqttnet_port; do
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done

run() { # label broker port pid args...
  local label=$1 broker=$2 port=$3 pid=$4; shift 4
  local line
  line=$("$bench" -h 127.0.0.1 -p "$port" "$@" -T 120 -B "$pid" 2>/dev/null | grep '^RESULT ' | sed 's/^RESULT //') || true
  echo "label=$label broker=$broker $line" >> "$results"
  echo "  $label $broker: $(echo "$line" | grep -oE '(deliver_rate|p50_us|p99_us|lost|dup|broker_rss0_kb|broker_rss_kb|conns)=[^ ]+' | tr '\n' ' ')"
}

echo "bench: idle connections (fresh brokers)"
run idle-1000 mosquitto $mosquitto_port $mosquitto_pid -C 1000 -H 5
run idle-1000 iotpe $iotpe_port $iotpe_pid -C 1000 -H 5
run idle-1000 mqttnet $mqttnet_port $mqttnet_pid -C 1000 -H 5

configs=(
  "q0-1p1s|-q 0 -P 1 -S 1 -n 500000"
  "q1-1p1s|-q 1 -P 1 -S 1 -n 200000"
  "q2-1p1s|-q 2 -P 1 -S 1 -n 100000"
  "q0-4p1s|-q 0 -P 4 -S 1 -n 200000"
  "q1-4p1s|-q 1 -P 4 -S 1 -n 60000"
  "q2-4p1s|-q 2 -P 4 -S 1 -n 30000"
  "rate5k-q0|-q 0 -P 1 -S 1 -n 20000 -r 5000"
  "rate5k-q1|-q 1 -P 1 -S 1 -n 20000 -r 5000"
  "rate5k-q2|-q 2 -P 1 -S 1 -n 20000 -r 5000"
)
for rep in $(seq 1 "$reps"); do
  echo "bench: repetition $rep of $reps"
  for c in "${configs[@]}"; do
    name=${c%%|*}; args=${c#*|}
    # shellcheck disable=SC2086
    run "$name" mosquitto $mosquitto_port $mosquitto_pid $args
    # shellcheck disable=SC2086
    run "$name" iotpe $iotpe_port $iotpe_pid $args
    # shellcheck disable=SC2086
    run "$name" mqttnet $mqttnet_port $mqttnet_pid $args
  done
done

# The same QoS 1/2 runs with one more subscriber holding a persistent session, so that every
# message must be kept for it: iotpe commits each one to SQLite (sync full) before PUBACK/PUBREC.
echo "bench: durable variant (a persistent-session subscriber on every message)"
durable_configs=(
  "durable-q1-1p1s|-q 1 -P 1 -S 1 -n 100000"
  "durable-q2-1p1s|-q 2 -P 1 -S 1 -n 50000"
  "durable-q1-rate5k|-q 1 -P 1 -S 1 -n 20000 -r 5000"
)
for rep in $(seq 1 "$reps"); do
  for c in "${durable_configs[@]}"; do
    name=${c%%|*}; args=${c#*|}
    for target in "mosquitto $mosquitto_port $mosquitto_pid" "iotpe $iotpe_port $iotpe_pid" "mqttnet $mqttnet_port $mqttnet_pid"; do
      set -- $target
      mosquitto_sub -h 127.0.0.1 -p "$2" -c -i "durable-$1" -q 2 -t 'mqttbench/#' > /dev/null 2>&1 &
      sub=$!
      sleep 0.5
      # shellcheck disable=SC2086
      run "$name" "$1" "$2" "$3" $args
      kill "$sub" 2>/dev/null || true; wait "$sub" 2>/dev/null || true
      # Drop the persistent session again so its queue does not grow between runs.
      mosquitto_sub -h 127.0.0.1 -p "$2" -i "durable-$1" -t 'mqttbench/#' -E > /dev/null 2>&1 || true
    done
  done
done

# The report replaces the section between the markers of the output file (other sections, such
# as the codec and script benchmarks, stay as they are).
section="$work/section.md"
{
  echo "<!-- broker-bench:start -->"
  echo "## Broker: iotpe, Mosquitto and MQTTnet.Server side by side"
  echo
  echo "Generated by \`build/bench.sh --reps $reps\` on $(date -u +%Y-%m-%d) — $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(free -g | awk '/^Mem:/{print $2}') GiB,"
  echo "$(uname -sr), Mosquitto $(mosquitto -h 2>/dev/null | head -1 | awk '{print $3}') (mosquitto-base.conf, persistence off), iotpe $("artifacts/$rid/iotpe" --version | sed 's/^iotpe //') at sync full,"
  echo "MQTTnet.Server $(sed -n 's/.*Include="MQTTnet.Server" Version="\([^"]*\)".*/\1/p' Directory.Packages.props) on .NET $(dotnet --list-runtimes | sed -n 's/^Microsoft.NETCore.App \([^ ]*\).*/\1/p' | tail -1) (tests/IoTPE.MqttNetServer: sessions in memory only, per-client queue limit 10,000,000 like Mosquitto's)."
  echo "Load tool: mqttbench (libmosquitto), 64-byte payloads, window 100, same machine, brokers run in turn."
  echo "Medians of $reps runs; ratio = iotpe / Mosquitto (for rates higher is better, for latency and memory lower is better)."
  echo "The \`durable-\` runs add a persistent-session subscriber on every message, so iotpe commits each one to"
  echo "SQLite (fsync) before acknowledging it; Mosquitto and MQTTnet.Server keep it in memory. The machine is shared: differences"
  echo "under about 20 % are noise."
  echo
  awk -f "$repo/build/bench-summary.awk" "$results"
  echo "<!-- broker-bench:end -->"
} > "$section"
"$repo/build/doc-section.sh" "$out" broker-bench "$section"
echo "bench: wrote $out"
cat "$section"
