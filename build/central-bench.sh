#!/usr/bin/env bash
# The central engine on MariaDB against the edge on SQLite, on this machine in one run (issue 19,
# item 7). Not part of the test run.
#
#   build/central-bench.sh [--reps N] [--seconds S] [--gateway-seconds G] [--gateways "50 100 ..."]
#                          [--binary PATH] [--out FILE]
#       defaults: N = 3, S = 10, G = 20, gateways doubling from 50 to 6400, docs/benchmarks.md
#   A smoke run: --reps 1 --seconds 2 --gateway-seconds 2 --gateways "10 20" --out /tmp/x.md
#
# Durable rates: pipebench (libmosquitto) publishes {"seq","t","a","b"} to /acme/run/rule at QoS 1,
# then at QoS 2, as fast as the engine answers with at most 100 outstanding, for S s; the stored script
# `rule` runs once per message and publishes {"seq","t","sum"} to /acme/out at the request's QoS,
# where pipebench's own subscriber and a persistent subscriber (mosquitto_sub, clean session off,
# QoS 2) receive it, so every output is stored for a persistent session before it is acknowledged.
# The same on `iotpe run` (SQLite in the data folder) and `iotpe run --mysql` (a MariaDB server of the
# benchmark's own, InnoDB with its durable defaults: innodb_flush_log_at_trx_commit = 1), alternating,
# medians of N. CPU per run = iotpe's CPU time / outputs (MariaDB's own CPU is given separately).
# Gateways: build/central-bench.js opens G-second steps of N simulated bridged gateways against the
# central, each a persistent MQTT 5.0 QoS 2 session publishing 1 msg/s, and one persistent QoS 2
# subscriber; N goes up until the p99 from publish to delivery exceeds 50 ms (or messages are lost),
# then is bisected twice between the last step that held and the first that did not.
# The report replaces the section between the central-bench markers of --out (docs/benchmarks.md).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
reps=3; seconds=10; gateway_seconds=20; gateways="50 100 200 400 800 1600 3200 6400"
binary=""; out="$repo/docs/benchmarks.md"; target_ms=50
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --gateway-seconds) gateway_seconds=$2; shift 2 ;;
    --gateways) gateways=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "central-bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

tools=${PIPEBENCH_DIR:-$repo/../shared/tools/pipebench}
[ -f "$tools/pipebench.c" ] || { echo "central-bench: pipebench not found in $tools (set PIPEBENCH_DIR)" >&2; exit 1; }
for program in mariadbd mariadb-install-db mariadb mosquitto_sub stdbuf node npm cc; do
  command -v "$program" >/dev/null || { echo "central-bench: $program is missing (build/setup.sh installs what the tests need)" >&2; exit 1; }
done
rid=$(./build/host-rid.sh)
if [ -z "$binary" ]; then
  [ -x "artifacts/$rid/iotpe" ] || ./build/publish.sh --rid "$rid" >/dev/null
  binary="$repo/artifacts/$rid/iotpe"
fi
mkdir -p artifacts/tools
cc -O2 -o artifacts/tools/pipebench "$tools/pipebench.c" -lmosquitto
export NODE_PATH; NODE_PATH=$(npm root -g)
ulimit -n 65536 2>/dev/null || true

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
db_port=18870; edge_port=18871; central_port=18872
results="$work/results.txt"; : > "$results"
steps="$work/gateways.txt"; : > "$steps"

wait_port() { for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "central-bench: nothing listens on $1" >&2; return 1; }
field() { echo "$2" | grep -oE "(^| )$1=[^ ]+" | head -1 | sed 's/.*=//'; }
cpu_s() { awk '{ printf "%.2f\n", ($14 + $15) / '"$(getconf CLK_TCK)"' }' "/proc/$1/stat"; }

# A MariaDB server of the benchmark's own, as the tests start one (tests/IoTPE.TestSupport/MariaDbServer.cs).
mariadb-install-db --no-defaults --datadir="$work/db" --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve > "$work/db-install.log" 2>&1
db_user=(); [ "$(id -u)" = 0 ] && db_user=(--user=root)
mariadbd --no-defaults --datadir="$work/db" --socket="$work/db.sock" --port=$db_port --bind-address=127.0.0.1 --skip-name-resolve \
  --log-error="$work/db.log" --pid-file="$work/db.pid" --innodb-buffer-pool-size=256M --max-connections=500 "${db_user[@]}" &
db_pid=$!; pids+=("$db_pid")
for _ in $(seq 1 600); do mariadb-admin --no-defaults --socket="$work/db.sock" -uroot ping >/dev/null 2>&1 && break; sleep 0.1; done
mariadb --no-defaults --socket="$work/db.sock" -uroot -e "
  CREATE USER 'iotpe'@'%' IDENTIFIED BY 'service-secret'; CREATE USER 'iotpe'@'localhost' IDENTIFIED BY 'service-secret';
  GRANT ALL PRIVILEGES ON *.* TO 'iotpe'@'%', 'iotpe'@'localhost' WITH GRANT OPTION;"
service="Server=127.0.0.1;Port=$db_port;User ID=iotpe;Password=service-secret;Database=iotpe;SslMode=None"

cat > "$work/rule.js" <<'EOF'
const { seq, t, a, b } = message.json;
publish('/acme/out', { seq, t, sum: a + b }, { qos: message.qos });
EOF

# The edge: everything in SQLite files in its data folder.
printf 'secret\n' | "$binary" account add acme --data "$work/edge" --password-stdin > /dev/null
"$binary" script load acme rule "$work/rule.js" --data "$work/edge" > /dev/null
"$binary" run --data "$work/edge" --listen "127.0.0.1:$edge_port" --log-level Warning > "$work/edge.log" 2>&1 &
edge_pid=$!; pids+=("$edge_pid")
# The central: the same binary with --mysql; acme is a MariaDB user, its script in the service database.
printf 'secret\n' | "$binary" account add acme --data "$work/central" --password-stdin --mysql "$service" > /dev/null
"$binary" run --data "$work/central" --listen "127.0.0.1:$central_port" --log-level Warning --mysql "$service" > "$work/central.log" 2>&1 &
central_pid=$!; pids+=("$central_pid")
"$binary" script load acme rule "$work/rule.js" --data "$work/central" --mysql "$service" > /dev/null
wait_port $edge_port; wait_port $central_port

# The persistent subscriber of each system: made once with -d to see its SUBACK, then resumed quietly.
for system in edge central; do
  port=$([ $system = edge ] && echo $edge_port || echo $central_port)
  stdbuf -oL mosquitto_sub -d -c -i durable-subscriber -q 2 -u acme -P secret -p "$port" -h 127.0.0.1 -t /acme/out > "$work/sub-$system.log" 2>&1 &
  first=$!; pids+=("$first")
  for _ in $(seq 1 300); do grep -q SUBACK "$work/sub-$system.log" && break; sleep 0.1; done
  grep -q SUBACK "$work/sub-$system.log" || { echo "central-bench: the persistent subscriber got no SUBACK from $system" >&2; exit 1; }
  kill "$first"; wait "$first" 2>/dev/null || true
  mosquitto_sub -c -i durable-subscriber -q 2 -u acme -P secret -p "$port" -h 127.0.0.1 -t /acme/out > /dev/null 2>&1 &
  pids+=("$!")
done
sleep 1 # let start-up's own work end before measuring
broker_state="SQLite (broker.db in the data folder)"
[ -f "$work/central/broker.db" ] || broker_state="MariaDB"

rate() { # system qos
  local system=$1 qos=$2 port pid line outputs db_before db_after
  port=$([ "$system" = edge ] && echo $edge_port || echo $central_port)
  pid=$([ "$system" = edge ] && echo $edge_pid || echo $central_pid)
  db_before=$(cpu_s $db_pid)
  line=$(artifacts/tools/pipebench -h 127.0.0.1 -p "$port" -u acme -P secret -q "$qos" -Q "$qos" -i /acme/run/rule -o /acme/out \
    -e '"sum":7' -w 100 -d "$seconds" -n 100000000 -D 5 -T 300 -B iotpe="$pid" 2>/dev/null | grep '^RESULT ' | sed 's/^RESULT //') || true
  db_after=$(cpu_s $db_pid)
  outputs=$(field outputs "$line")
  if [ -z "$outputs" ] || [ "$outputs" = 0 ]; then
    echo "central-bench: $system QoS $qos produced no output: $line" >&2
    return
  fi
  local us db_us
  us=$(awk -v c="$(field iotpe_cpu_s "$line")" -v n="$outputs" 'BEGIN { printf "%.1f", c * 1000000 / n }')
  db_us=$(awk -v a="$db_before" -v b="$db_after" -v n="$outputs" 'BEGIN { printf "%.1f", (b - a) * 1000000 / n }')
  echo "$system $qos $(field runs_per_s "$line") $(field p50_us "$line") $(field p99_us "$line") $us $db_us $(field lost "$line")" >> "$results"
  echo "  $system QoS $qos: $(field runs_per_s "$line") runs/s, p50 $(field p50_us "$line") µs, p99 $(field p99_us "$line") µs," \
    "iotpe $us µs CPU/run, MariaDB $db_us µs CPU/run, lost $(field lost "$line")"
}

for rep in $(seq 1 "$reps"); do
  echo "central-bench: durable rates, repetition $rep of $reps"
  for qos in 1 2; do
    rate edge "$qos"
    rate central "$qos"
  done
done

step() { # N: runs one gateway step against the central; prints its p99 (ms) and records the step
  local n=$1 line p99 lost
  line=$(node build/central-bench.js gateways "mqtt://127.0.0.1:$central_port" acme secret "$n" "$gateway_seconds" "/acme/gw$n" 2>"$work/gw-$n.err" | grep '^RESULT ' | sed 's/^RESULT //') || true
  p99=$(field p99_ms "$line"); lost=$(field lost "$line")
  [ -n "$p99" ] || { echo "central-bench: gateway step $n failed: $(cat "$work/gw-$n.err")" >&2; p99=inf; lost=-; }
  echo "$n $(field gateways "$line") $(field sent "$line") $lost $(field p50_ms "$line") $p99 $(field max_ms "$line") $(field ack_p99_ms "$line") $(field connect_failures "$line") $(field tool_cpu_s "$line")" >> "$steps"
  echo "  $n gateways: connected $(field gateways "$line"), sent $(field sent "$line"), lost $lost, p50 $(field p50_ms "$line") ms, p99 $p99 ms, PUBCOMP p99 $(field ack_p99_ms "$line") ms, tool CPU $(field tool_cpu_s "$line") s" >&2
  echo "$p99 $lost"
}
holds() { awk -v p="$1" -v l="$2" -v t=$target_ms 'BEGIN { exit !(p != "inf" && l == "0" && p + 0 <= t) }'; }

echo "central-bench: bridged gateways against the central, $gateway_seconds s per step"
good=0; bad=""
for n in $gateways; do
  read -r p99 lost < <(step "$n")
  if holds "$p99" "$lost"; then good=$n; else bad=$n; break; fi
done
if [ -n "$bad" ]; then
  for _ in 1 2; do
    mid=$(( (good + bad) / 2 ))
    [ "$mid" -gt "$good" ] && [ "$mid" -lt "$bad" ] || break
    read -r p99 lost < <(step "$mid")
    if holds "$p99" "$lost"; then good=$mid; else bad=$mid; fi
  done
fi

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
col() { awk -v s="$1" -v q="$2" -v c="$3" '$1==s && $2==q {print $c}' "$results" | median; }
section="$work/section.md"
{
  echo "<!-- central-bench:start -->"
  echo "## The central on MariaDB against the edge on SQLite (\`build/central-bench.sh\`)"
  echo
  echo "Generated by \`build/central-bench.sh --reps $reps --seconds $seconds --gateway-seconds $gateway_seconds\` on $(date -u +%Y-%m-%d) — $(nproc) cores,"
  echo "$(lscpu | sed -n 's/^Model name: *//p' | head -1), load average $(cut -d' ' -f1 /proc/loadavg) at the end. iotpe $("$binary" --version | sed 's/^iotpe //');"
  echo "$(mariadbd --version | sed 's/^.*Ver //') on the same machine (its own data directory, InnoDB durable as shipped:"
  echo "innodb_flush_log_at_trx_commit = 1, buffer pool 256 MiB). The central's broker state: $broker_state."
  echo
  echo "**Durable rates.** pipebench publishes to \`/acme/run/rule\` with at most 100 outstanding for $seconds s; the stored"
  echo "script runs once per message and publishes the result to \`/acme/out\` at the request's QoS, received by pipebench"
  echo "and by a persistent subscriber (clean session off, QoS 2), so each result is stored for that session before"
  echo "it is acknowledged. Medians of $reps; CPU per run: iotpe's and MariaDB's CPU time / results."
  echo
  echo "| QoS | edge (SQLite) runs/s | central (MariaDB) runs/s | central / edge | p50 / p99 edge (ms) | p50 / p99 central (ms) | iotpe µs/run edge / central | MariaDB µs/run | lost |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for qos in 1 2; do
    e=$(col edge $qos 3); c=$(col central $qos 3)
    ratio=$(echo "$c $e" | awk '{ if ($2 > 0 && $1 != "-") printf "%.2f", $1 / $2; else print "-" }')
    ms() { echo "$1" | awk '{ if ($1 == "-") print "-"; else printf "%.2f", $1 / 1000 }'; }
    echo "| $qos | $e | $c | $ratio | $(ms "$(col edge $qos 4)") / $(ms "$(col edge $qos 5)") | $(ms "$(col central $qos 4)") / $(ms "$(col central $qos 5)") |" \
      "$(col edge $qos 6) / $(col central $qos 6) | $(col central $qos 7) | $(awk -v q=$qos '$2==q {s+=$8} END {print s+0}' "$results") |"
  done
  echo
  echo "**Bridged gateways.** Each simulated gateway is a persistent MQTT 5.0 session (as a gateway's bridge keeps"
  echo "at the central) publishing one short QoS 2 message (index, sequence, send time) per second, phases spread over the second; one"
  echo "persistent QoS 2 subscriber receives them all (\`build/central-bench.js\`, MQTT.js, one process, one clock)."
  echo "Latency: publish to delivery at the subscriber; PUBCOMP: publish to the gateway's PUBCOMP. $gateway_seconds s per step after 3 s of warm-up."
  echo "Not received: sent in the step but not at the subscriber 10 s after the last publish (at an overloaded step, backlog still queued)."
  echo
  echo "| gateways | connected | messages | not received | p50 (ms) | p99 (ms) | max (ms) | PUBCOMP p99 (ms) | connect failures | tool CPU (s) |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  sort -n "$steps" | awk '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }'
  echo
  if [ -n "$bad" ]; then
    echo "One central on this machine serves **$good** such gateways with p99 ≤ $target_ms ms and nothing lost ($bad did not hold)."
  else
    echo "One central on this machine served every step up to **$good** gateways with p99 ≤ $target_ms ms and nothing lost (the limit lies above)."
  fi
  echo "<!-- central-bench:end -->"
} > "$section"
"$repo/build/doc-section.sh" "$out" central-bench "$section"
echo "central-bench: wrote $out"
cat "$section"
