#!/usr/bin/env bash
# CPU per message at fixed, ordinary loads: iotpe against Mosquitto on this machine, in one run,
# with the neutral tool pipebench (libmosquitto). Not part of the test run.
#
#   build/cpu-bench.sh [--reps N] [--seconds S] [--min-messages M] [--lead L] [--rates "100 1000 5000"]
#                      [--binary PATH] [--qemu SYSROOT] [--out FILE] [--label TEXT]
#
# Two pipelines, each at every rate, QoS 1, 64-byte JSON:
#   broker alone:    pipebench → broker → pipebench           (input topic = output topic)
#   script pipeline: pipebench → /acme/run/rule → script → /acme/out → pipebench
#                    against Mosquitto + piperelay (pipebench's rule in C, one libmosquitto client)
# Paired: each measurement drives Mosquitto and iotpe at the same time, one pipebench each, so
# both meet the same machine (its other load, its frequency, its caches' weather) and the ratio is
# taken within the pair. Measured one after the other, the 100 msg/s ratio of the same builds
# wandered 0.83-1.32x between runs of a day; paired, rounds still spread, but around one median.
# CPU per message = CPU time of the measured processes (the broker; for Mosquitto's pipeline also
# piperelay), read in nanoseconds from the process clock (build/process-cpu.c) before and after
# the measurement, / outputs received. Medians of the repetitions; the ratio column is the median
# of the per-pair ratios, with their range.
# Each measurement lasts S s but sends at least M messages (default 1,000: 10 s at 100 msg/s), after
# L s at the same rate unmeasured (--lead, default 3): a steady state, not the way from the rate
# before (iotpe's core packing takes three 1-second ticks to pack its threads after a busy spell).
# --binary and --qemu measure another iotpe build (e.g. the linux-arm64 one under qemu-aarch64,
# where only ratios between builds mean anything); Mosquitto still runs natively for reference.
# The report replaces the section between the cpu-bench markers of --out (docs/benchmarks.md).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
reps=3; seconds=10; min_messages=1000; lead=3; rates="100 1000 5000"; out="$repo/docs/benchmarks.md"
binary=""; qemu_sysroot=""; label=""
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --min-messages) min_messages=$2; shift 2 ;;
    --lead) lead=$2; shift 2 ;;
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
cc -O2 -o artifacts/tools/process-cpu build/process-cpu.c

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
# turns low-rate round trips into ~40 ms stalls that say nothing about CPU), and piperelay as its
# rule: in C what iotpe's script build/pipebench-rule.js does ({"seq","t","sum":a+b}).
sed "s/^listener 1883 /listener $mosquitto_port /" "$mqtttools/mosquitto-nodelay.conf" > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
mosquitto_pid=$!; pids+=("$mosquitto_pid")
wait_port $mosquitto_port
artifacts/tools/piperelay -p $mosquitto_port -i pipe/in -o pipe/out -q 1 > "$work/relay.log" 2>&1 &
relay_pid=$!; pids+=("$relay_pid")

# iotpe with one account and the rule as its stored script.
printf 'secret\n' | "${iotpe[@]}" account add acme --data "$work/iotpe-data" --password-stdin > /dev/null
"${iotpe[@]}" script load acme rule build/pipebench-rule.js --data "$work/iotpe-data" > /dev/null
"${iotpe[@]}" run --data "$work/iotpe-data" --listen "127.0.0.1:$iotpe_port" --allow-anonymous --log-level Warning > "$work/iotpe.log" 2>&1 &
iotpe_pid=$!; pids+=("$iotpe_pid")
wait_port $iotpe_port
sleep 1 # the account is checked once; let start-up's own work end before measuring

field() { echo "$2" | grep -oE "(^| )$1=[^ ]+" | head -1 | sed 's/.*=//'; }
cpu_ns() { artifacts/tools/process-cpu "$@" | paste -sd+ | bc; }

# The four configurations: where pipebench connects, publishes and listens.
broker_mosquitto=(-p $mosquitto_port -i pipe/loop -o pipe/loop)
broker_iotpe=(-p $iotpe_port -i pipe/loop -o pipe/loop)
pipeline_mosquitto=(-p $mosquitto_port -i pipe/in -o pipe/out -e '"sum":7')
pipeline_iotpe=(-p $iotpe_port -u acme -P secret -i /acme/run/rule -o /acme/out -e '"sum":7')

measure() { # name n rate "pids" pipebench-args... : one side of a pair, into $work/name.{line,cpu}
  local name=$1 n=$2 rate=$3 pids=$4; shift 4
  local before after
  before=$(cpu_ns $pids)
  artifacts/tools/pipebench -h 127.0.0.1 -q 1 -r "$rate" -n "$n" -D 1 -T 120 "$@" 2>/dev/null | grep '^RESULT ' | sed 's/^RESULT //' > "$work/$name.line" || true
  after=$(cpu_ns $pids)
  echo $((after - before)) > "$work/$name.cpu"
}

us_per_output() { # name : µs of CPU per output of one side, empty if it produced none
  local outputs; outputs=$(field outputs "$(cat "$work/$1.line")")
  [ -n "$outputs" ] && [ "$outputs" != 0 ] && echo "scale=1; $(cat "$work/$1.cpu") / 1000 / $outputs" | bc -l
}

pair() { # pipeline rate : Mosquitto and iotpe driven at once
  local pipeline=$1 rate=$2 n m i m_pids i_pids
  local -a m_args i_args
  n=$((rate * seconds)); [ "$n" -ge "$min_messages" ] || n=$min_messages
  if [ "$pipeline" = broker ]; then
    m_args=("${broker_mosquitto[@]}"); i_args=("${broker_iotpe[@]}"); m_pids=$mosquitto_pid
  else
    m_args=("${pipeline_mosquitto[@]}"); i_args=("${pipeline_iotpe[@]}"); m_pids="$mosquitto_pid $relay_pid"
  fi
  i_pids=$iotpe_pid
  if [ "$lead" -gt 0 ]; then
    artifacts/tools/pipebench -h 127.0.0.1 -q 1 -r "$rate" -n $((rate * lead)) -D 1 -T 60 "${m_args[@]}" > /dev/null 2>&1 & m=$!
    artifacts/tools/pipebench -h 127.0.0.1 -q 1 -r "$rate" -n $((rate * lead)) -D 1 -T 60 "${i_args[@]}" > /dev/null 2>&1 & i=$!
    wait "$m" "$i" || true
  fi
  measure mosquitto "$n" "$rate" "$m_pids" "${m_args[@]}" & m=$!
  measure iotpe "$n" "$rate" "$i_pids" "${i_args[@]}" & i=$!
  wait "$m" "$i" # not a bare wait: that would wait for the brokers too
  local -A us
  local system line
  for system in mosquitto iotpe; do
    line=$(cat "$work/$system.line")
    us[$system]=$(us_per_output $system) || true
    if [ -z "${us[$system]}" ]; then
      echo "cpu-bench: $pipeline $rate $system produced no output: $line" >&2
      continue
    fi
    echo "$pipeline $rate $system ${us[$system]} $(field p50_us "$line") $(field p99_us "$line") $(field lost "$line")" >> "$results"
  done
  if [ -n "${us[mosquitto]}" ] && [ -n "${us[iotpe]}" ]; then
    local ratio; ratio=$(echo "scale=3; ${us[iotpe]} / ${us[mosquitto]}" | bc -l)
    echo "$pipeline $rate ratio $ratio" >> "$results"
    echo "  $pipeline at $rate msg/s: Mosquitto ${us[mosquitto]} µs CPU/msg, iotpe ${us[iotpe]} µs (ratio $ratio); lost $(field lost "$(cat "$work/mosquitto.line")") / $(field lost "$(cat "$work/iotpe.line")")"
  fi
}

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
    pair broker "$rate"
    pair pipeline "$rate"
  done
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
column() { awk -v p="$1" -v r="$2" -v s="$3" -v c="$4" '$1==p && $2==r && $3==s {print $c}' "$results" | median; } # pipeline rate system field
section="$work/section.md"
{
  echo "<!-- cpu-bench:start -->"
  echo "## CPU per message at fixed rates (\`build/cpu-bench.sh\`)"
  echo
  echo "Generated by \`build/cpu-bench.sh --reps $reps --seconds $seconds --min-messages $min_messages --lead $lead\` on $(date -u +%Y-%m-%d) — $(nproc) cores,"
  echo "$(lscpu | sed -n 's/^Model name: *//p' | head -1), load average $(cut -d' ' -f1 /proc/loadavg) at the end. $label against Mosquitto"
  echo "$(mosquitto -h 2>/dev/null | head -1 | awk '{print $3}') (mosquitto-nodelay.conf) on the same machine, in the same run. Load tool: pipebench (libmosquitto), QoS 1,"
  echo "64-byte JSON, open loop at each rate for $seconds s and at least $min_messages messages, after $lead s at that rate unmeasured. Paired: each measurement drives Mosquitto and iotpe at"
  echo "the same time, one pipebench each. CPU per message = CPU time of the broker process (for Mosquitto's pipeline: Mosquitto +"
  echo "piperelay, pipebench's rule in C), in nanoseconds from the process clock, / outputs received; pipebench's own CPU is not"
  echo "counted. The script pipeline does strictly more in iotpe: the run request is committed to the durable run queue (fsync)"
  echo "before PUBACK, and the rule runs in the JavaScript sandbox. µs columns: medians of $reps; ratio: the median of the $reps"
  echo "per-pair ratios (their range); after one unmeasured warm-up round of each configuration."
  echo
  echo "| pipeline | rate (msg/s) | Mosquitto µs/msg | iotpe µs/msg | ratio (range) | iotpe p50 / p99 (µs) | Mosquitto p50 / p99 (µs) |"
  echo "|---|---|---|---|---|---|---|"
  for pipeline in broker pipeline; do
    for rate in $rates; do
      ratio=$(awk -v p=$pipeline -v r=$rate '$1==p && $2==r && $3=="ratio" {print $4}' "$results" | sort -n \
        | awk '{a[NR]=$1} END { if (NR==0) { print "-"; exit }
                                m = NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2
                                printf "%.2f× (%.2f–%.2f)", m, a[1], a[NR] }')
      name=$([ $pipeline = broker ] && echo "broker alone" || echo "script pipeline")
      echo "| $name | $rate | $(column $pipeline $rate mosquitto 4) | $(column $pipeline $rate iotpe 4) | $ratio | $(column $pipeline $rate iotpe 5) / $(column $pipeline $rate iotpe 6) | $(column $pipeline $rate mosquitto 5) / $(column $pipeline $rate mosquitto 6) |"
    done
  done
  echo "<!-- cpu-bench:end -->"
} > "$section"
"$repo/build/doc-section.sh" "$out" cpu-bench "$section"
echo "cpu-bench: wrote $out"
cat "$section"
