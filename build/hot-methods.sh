#!/usr/bin/env bash
# Regenerates src/IoTPE.Edge/hot-methods.txt: the methods iotpe runs for each message at ordinary
# loads, hottest first. The NativeAOT compiler lays them out first and together (IlcOrderFile):
# the socket loop's methods then sit on ~37 pages instead of ~175 scattered over 10 MB of managed
# code. At 100 msg/s each message meets caches and TLBs that other work used meanwhile, and the
# pages and lines it touches cost more than its instructions (docs/benchmarks.md, issue 14).
# Not part of the test run.
#
#   build/hot-methods.sh [--messages N]
#
# Runs a symbol-keeping build under callgrind (valgrind) through the loads cpu-bench measures,
# each at 100 msg/s after a warm-up: the broker alone at QoS 0, 1 and 2, and the script pipeline.
# Every managed method that ran while measured is listed: the broker's first, then those the
# pipeline adds; within each, thread by thread (busiest first: the socket loop), each thread's
# methods by their own instructions. So the loop's code is not spread among the script engine's.
# Re-run it after changes to the hot path: a renamed method (an async state machine is named by
# its position in its class) is no longer found, and ILC then places it among the rest, silently.
# tests/IoTPE.EndToEnd.Tests/HotMethodLayoutTests checks that nearly all names are still found.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
messages=500
while [ $# -gt 0 ]; do
  case "$1" in
    --messages) messages=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "hot-methods: unknown argument $1" >&2; exit 2 ;;
  esac
done
tools=${PIPEBENCH_DIR:-$repo/../shared/tools/pipebench}
[ -f "$tools/pipebench.c" ] || { echo "hot-methods: pipebench not found in $tools (set PIPEBENCH_DIR)" >&2; exit 1; }
./build/setup.sh
command -v valgrind >/dev/null 2>&1 || { sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo; $sudo apt-get install -y valgrind >/dev/null; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Valgrind 3.19 cannot read the DWARF that ILC writes: keep the symbol table, drop the debug sections.
./build/publish.sh --rid "$(./build/host-rid.sh)" --output "$work/publish" --keep-symbols >/dev/null
objcopy --strip-debug "$work/publish/iotpe" "$work/iotpe"
mkdir -p artifacts/tools
cc -O2 -o artifacts/tools/pipebench "$tools/pipebench.c" -lmosquitto

port=18845
printf 'hot-methods\n' | "$work/iotpe" account add acme --data "$work/data" --password-stdin > /dev/null
"$work/iotpe" script load acme rule build/pipebench-rule.js --data "$work/data" > /dev/null
valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes --callgrind-out-file="$work/callgrind.out" \
  "$work/iotpe" run --data "$work/data" --listen "127.0.0.1:$port" --allow-anonymous --log-level Warning > "$work/iotpe.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 1200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

broker() { # messages: the broker alone at QoS 0, 1 and 2 at once, each at 100 msg/s
  local w=()
  for q in 0 1 2; do
    artifacts/tools/pipebench -h 127.0.0.1 -p $port -q $q -r 100 -n "$1" -D 1 -T 300 -i "hot/q$q" -o "hot/q$q" > /dev/null 2>&1 & w+=($!)
  done
  wait "${w[@]}"
}
pipeline() { # messages: the script pipeline at 100 runs/s
  artifacts/tools/pipebench -h 127.0.0.1 -p $port -q 1 -r 100 -n "$1" -D 1 -T 300 -u acme -P hot-methods -i /acme/run/rule -o /acme/out -e '"sum":7' > /dev/null 2>&1
}
# Warm-up: what runs once (pools filling, tables growing, first connections) is not the steady state.
broker 200 & warm=$!
pipeline 200
wait "$warm"
# One profile each, per thread: the broker's first, then the pipeline's.
callgrind_control --instr=on "${pids[0]}" > /dev/null 2>&1
broker "$messages"
callgrind_control --dump "${pids[0]}" > /dev/null 2>&1 # dumping zeroes the counts
pipeline "$messages"
callgrind_control --dump "${pids[0]}" > /dev/null 2>&1
callgrind_control --instr=off "${pids[0]}" > /dev/null 2>&1

# The managed methods: the symbols of the __managedcode section, the only ones ILC lays out (the
# runtime's own C and assembly code is linked after it, in .text).
section=$(readelf -SW "$work/iotpe" | sed -nE 's/^ *\[ *([0-9]+)\] __managedcode .*/\1/p')
readelf -sW "$work/iotpe" | awk -v s="$section" '$4 == "FUNC" && $7 == s {print $2, $8}' > "$work/managed.txt"

# Each thread's methods by their own instructions (cost lines after a calls= line are the callee's);
# callgrind names a recursive call's levels NAME'2, NAME'3... A method with a second name (a runtime
# export) is listed under every name of its address: ILC knows it by one of them.
python3 - "$work/managed.txt" "$work"/callgrind.out.1-* -- "$work"/callgrind.out.2-* > "$work/hot-methods.txt" <<'EOF'
import collections, re, sys
address = dict(reversed(line.split()) for line in open(sys.argv[1]))
names_at = collections.defaultdict(list)
for n, a in address.items():
    names_at[a].append(n)
listed = set()
names = {}
def name(text):
    m = re.match(r'\((\d+)\)(?:\s+(.*))?$', text)
    if not m:
        return text
    if m.group(2):
        names[m.group(1)] = m.group(2)
    return names[m.group(1)]
def own_costs(path):
    """Each method's own instructions in one thread's profile."""
    names.clear() # each file compresses its names anew
    own = collections.Counter()
    fn = None; callee_cost_next = False
    for line in open(path):
        line = line.rstrip('\n')
        if line.startswith('fn='):
            fn = re.sub(r"'\d+$", '', name(line[3:]))
        elif line.startswith('cfn='):
            name(line[4:])
        elif line.startswith('calls='):
            callee_cost_next = True
        elif line[:1].isdigit() or line[:1] in '+-*':
            if callee_cost_next:
                callee_cost_next = False
            elif fn is not None:
                parts = line.split()
                if len(parts) > 1:
                    own[fn] += int(parts[1])
    return own
# Per profile, the busiest thread's methods first (the socket loop's, then the script workers'...).
args = sys.argv[2:]
split = args.index('--')
for profile in (args[:split], args[split + 1:]):
    threads = sorted((own_costs(path) for path in profile), key=lambda own: -sum(own.values()))
    for own in threads:
        for fn, cost in own.most_common():
            if cost > 0 and fn in address:
                for n in names_at[address[fn]]:
                    if n not in listed:
                        listed.add(n)
                        print(n)
EOF
ran=$(wc -l < "$work/hot-methods.txt")
if [ "$ran" -lt 100 ]; then
  echo "hot-methods: only $ran methods found in the profile; src/IoTPE.Edge/hot-methods.txt is left as it was" >&2
  exit 1
fi
{
  echo "# Generated by build/hot-methods.sh on $(date -u +%F) from $(git rev-parse --short HEAD): the methods run per message"
  echo "# at 100 msg/s, hottest first, for IlcOrderFile (src/IoTPE.Edge/IoTPE.Edge.csproj). Lines ILC does not know are skipped."
  cat "$work/hot-methods.txt"
} > src/IoTPE.Edge/hot-methods.txt
echo "hot-methods: $(grep -vc '^#' src/IoTPE.Edge/hot-methods.txt) methods into src/IoTPE.Edge/hot-methods.txt"
