#!/usr/bin/env bash
# CPU per message at fixed, ordinary loads: iotpe against Mosquitto on this machine, in one run,
# with the neutral tool pipebench (libmosquitto). Not part of the test run.
#
#   build/cpu-bench.sh [--reps N] [--seconds S] [--min-messages M] [--rates "100 1000 5000"]
#                      [--binary PATH] [--qemu SYSROOT] [--out FILE] [--label TEXT]
#
# Two pipelines, each at every rate, QoS 1, 64-byte JSON:
#   broker alone:    pipebench → broker → pipebench           (input topic = output topic)
#   script pipeline: pipebench → /acme/run/rule → script → /acme/out → pipebench
#                    against Mosquitto + piperelay (pipebench's rule in C, one libmosquitto client)
# CPU per message = CPU time of the measured processes (pipebench's -B: the broker, and for
# Mosquitto's pipeline also piperelay) / outputs received. Medians of the repetitions.
# Each measurement lasts S s but sends at least M messages (default 2,000: 20 s at 100 msg/s), since
# the CPU times pipebench reads from /proc tick in 10 ms steps: 20 µs per message in 5 s at 100 msg/s.
# --binary and --qemu measure another iotpe build (e.g. the linux-arm64 one under qemu-aarch64,
# where only ratios between builds mean anything); Mosquitto still runs natively for reference.
# The report replaces the section between the cpu-bench markers of --out (docs/benchmarks.md).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
reps=3; seconds=10; min_messages=2000; rates="100 1000 5000"; out="$repo/docs/benchmarks.md"
binary=""; qemu_sysroot=""; label=""
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --min-messages) min_messages=$2; shift 2 ;;
    --rates) rates=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --qemu) qemu_sysroot=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --label) label=$2; shift 2 ;;
    *) echo "cpu-bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

tools=${PIPEBENCH_DIR:-$repo/../shared/tools/pipebench}
mqtttools=${MQTTBENCH_DIR:-$repo/../shared/tools/mqttbench}
[ -f "$tools/pipebench.c" ] || { echo "cpu-bench: pipebench not found in $tools (set PIPEBENCH_DIR)" >&2; exit 1; }
[ -f "$mqtttools/mosquitto-nodelay.conf" ] || { echo "cpu-bench: mosquitto-nodelay.conf not found in $mqtttools (set MQTTBENCH_DIR)" >&2; exit 1; }
./build/setup.sh
rid=$(./build/host-rid.sh)
if [ -z "$binary" ]; then
  ./build/publish.sh --rid "$rid" >/dev/null
  binary="$repo/artifacts/$rid/iotpe"
fi
iotpe=("$binary")
emulated=""
if [ -n "$qemu_sysroot" ]; then
  iotpe=(qemu-aarch64 -L "$qemu_sysroot" "$binary")
  emulated=" under qemu-aarch64"
fi
[ -n "$label" ] || label="iotpe $("${iotpe[@]}" --version | sed 's/^iotpe //')$emulated"
mkdir -p artifacts/tools
cc -O2 -o artifacts/tools/pipebench "$tools/pipebench.c" -lmosquitto
cc -O2 -o artifacts/tools/piperelay "$tools/piperelay.c" -lmosquitto

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mosquitto_port=18840
iotpe_port=18841
results="$work/results.txt"
: > "$results"

wait_port() { for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "cpu-bench: nothing listens on $1" >&2; return 1; }

# Mosquitto with the reference configuration plus TCP_NODELAY (without it, Nagle's algorithm
# turns low-rate round trips into ~40 ms stalls that say nothing about CPU), and piperelay as its rule (the same rule as the
# script below: {"seq","t","sum":a+b}).
sed "s/^listener 1883 /listener $mosquitto_port /" "$mqtttools/mosquitto-nodelay.conf" > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
mosquitto_pid=$!; pids+=("$mosquitto_pid")
wait_port $mosquitto_port
artifacts/tools/piperelay -p $mosquitto_port -i pipe/in -o pipe/out -q 1 > "$work/relay.log" 2>&1 &
relay_pid=$!; pids+=("$relay_pid")

# iotpe with one account and the rule as its stored script.
printf 'secret\n' | "${iotpe[@]}" account add acme --data "$work/iotpe-data" --password-stdin > /dev/null
cat > "$work/rule.js" <<'EOF'
const { seq, t, a, b } = message.json;
publish('/acme/out', { seq, t, sum: a + b }, { qos: 1 });
EOF
"${iotpe[@]}" script load acme rule "$work/rule.js" --data "$work/iotpe-data" > /dev/null
"${iotpe[@]}" run --data "$work/iotpe-data" --listen "127.0.0.1:$iotpe_port" --allow-anonymous --log-level Warning > "$work/iotpe.log" 2>&1 &
iotpe_pid=$!; pids+=("$iotpe_pid")
wait_port $iotpe_port
sleep 1 # the account is checked once; let start-up's own work end before measuring

field() { echo "$2" | grep -oE "(^| )$1=[^ ]+" | head -1 | sed 's/.*=//'; }

run() { # pipeline rate system args...
  local pipeline=$1 rate=$2 system=$3; shift 3
  local line n outputs cpu
  n=$((rate * seconds)); [ "$n" -ge "$min_messages" ] || n=$min_messages
  line=$(artifacts/tools/pipebench -h 127.0.0.1 -q 1 -r "$rate" -n "$n" -D 2 -T 120 -e '"seq"' "$@" 2>/dev/null | grep '^RESULT ' | sed 's/^RESULT //') || true
  outputs=$(field outputs "$line")
  cpu=$(echo "$line" | grep -oE '(^| )(broker|relay|engine)_cpu_s=[^ ]+' | sed 's/.*=//' | paste -sd+ | bc -l)
  if [ -z "$outputs" ] || [ "$outputs" = 0 ]; then
    echo "cpu-bench: $pipeline $rate $system produced no output: $line" >&2
    return
  fi
  local us; us=$(echo "scale=1; $cpu * 1000000 / $outputs" | bc -l)
  echo "$pipeline $rate $system $us $(field p50_us "$line") $(field p99_us "$line") $(field lost "$line")" >> "$results"
  echo "  $pipeline at $rate msg/s, $system: $us µs CPU/msg, p50 $(field p50_us "$line") µs, p99 $(field p99_us "$line") µs, lost $(field lost "$line")"
}

# The four configurations: where pipebench connects, publishes and listens.
broker_mosquitto=(-p $mosquitto_port -i pipe/loop -o pipe/loop)
broker_iotpe=(-p $iotpe_port -i pipe/loop -o pipe/loop)
pipeline_mosquitto=(-p $mosquitto_port -i pipe/in -o pipe/out)
pipeline_iotpe=(-p $iotpe_port -u acme -P secret -i /acme/run/rule -o /acme/out)

# One short unmeasured round first: the first measurement of a freshly started Mosquitto + piperelay
# came out about twice its later ones (pipeline at 100 msg/s: 425-435 µs against ~200, 2026-12-06).
warm() { artifacts/tools/pipebench -h 127.0.0.1 -q 1 -r 1000 -n 1000 -D 2 -T 60 "$@" > /dev/null 2>&1 || true; }
warm "${broker_mosquitto[@]}"
warm "${broker_iotpe[@]}"
warm "${pipeline_mosquitto[@]}"
warm "${pipeline_iotpe[@]}"

for rep in $(seq 1 "$reps"); do
  echo "cpu-bench: repetition $rep of $reps"
  for rate in $rates; do
    run broker "$rate" mosquitto "${broker_mosquitto[@]}" -B broker=$mosquitto_pid
    run broker "$rate" iotpe "${broker_iotpe[@]}" -B broker=$iotpe_pid
    run pipeline "$rate" mosquitto "${pipeline_mosquitto[@]}" -e '"sum":7' -B broker=$mosquitto_pid -B relay=$relay_pid
    run pipeline "$rate" iotpe "${pipeline_iotpe[@]}" -e '"sum":7' -B engine=$iotpe_pid
  done
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
section="$work/section.md"
{
  echo "<!-- cpu-bench:start -->"
  echo "## CPU per message at fixed rates (\`build/cpu-bench.sh\`)"
  echo
  echo "Generated by \`build/cpu-bench.sh --reps $reps --seconds $seconds --min-messages $min_messages\` on $(date -u +%Y-%m-%d) — $(nproc) cores,"
  echo "$(lscpu | sed -n 's/^Model name: *//p' | head -1), load average $(cut -d' ' -f1 /proc/loadavg) at the end. $label against Mosquitto"
  echo "$(mosquitto -h 2>/dev/null | head -1 | awk '{print $3}') (mosquitto-nodelay.conf) on the same machine, in the same run. Load tool: pipebench (libmosquitto), QoS 1,"
  echo "64-byte JSON, open loop at each rate for $seconds s and at least $min_messages messages (the CPU clock ticks in 10 ms). CPU per message = CPU time of the broker process (for"
  echo "Mosquitto's pipeline: Mosquitto + piperelay, pipebench's rule in C) / outputs received; pipebench's own"
  echo "CPU is not counted. The script pipeline does strictly more in iotpe: the run request is committed to the"
  echo "durable run queue (fsync) before PUBACK, and the rule runs in the JavaScript sandbox. Medians of $reps, after one"
  echo "unmeasured warm-up round of each configuration."
  echo
  echo "| pipeline | rate (msg/s) | Mosquitto µs/msg | iotpe µs/msg | ratio | iotpe p50 / p99 (µs) | Mosquitto p50 / p99 (µs) |"
  echo "|---|---|---|---|---|---|---|"
  for pipeline in broker pipeline; do
    for rate in $rates; do
      m=$(awk -v p=$pipeline -v r=$rate '$1==p && $2==r && $3=="mosquitto" {print $4}' "$results" | median)
      i=$(awk -v p=$pipeline -v r=$rate '$1==p && $2==r && $3=="iotpe" {print $4}' "$results" | median)
      ip50=$(awk -v p=$pipeline -v r=$rate '$1==p && $2==r && $3=="iotpe" {print $5}' "$results" | median)
      ip99=$(awk -v p=$pipeline -v r=$rate '$1==p && $2==r && $3=="iotpe" {print $6}' "$results" | median)
      mp50=$(awk -v p=$pipeline -v r=$rate '$1==p && $2==r && $3=="mosquitto" {print $5}' "$results" | median)
      mp99=$(awk -v p=$pipeline -v r=$rate '$1==p && $2==r && $3=="mosquitto" {print $6}' "$results" | median)
      ratio=$(echo "$i $m" | awk '{ if ($2 > 0 && $1 != "-") printf "%.2f×", $1 / $2; else print "-" }')
      name=$([ $pipeline = broker ] && echo "broker alone" || echo "script pipeline")
      echo "| $name | $rate | $m | $i | $ratio | $ip50 / $ip99 | $mp50 / $mp99 |"
    done
  done
  echo "<!-- cpu-bench:end -->"
} > "$section"
"$repo/build/doc-section.sh" "$out" cpu-bench "$section"
echo "cpu-bench: wrote $out"
cat "$section"
