#!/usr/bin/env bash
# capacity.sh [STEP] [MAX] [CALM_SECONDS] [HOLD_SECONDS] — how many idle nodes this machine
# holds calmly.
#
# Grows one swarm2 with `sis apply` in steps of STEP nodes (default 50) up to MAX (default 300).
# After each step it waits until swarm2 lists every node Ready, then watches the idle cluster
# for CALM_SECONDS (default 60) and prints one row:
#   nodes        nodes in swarm2 after the step
#   apply s      wall time of the step's `sis apply` plus the wait until all were Ready
#   peak load    highest 1-minute load average during that time (sampled every 2 s)
#   busy %       CPU the whole machine used over the window, as a share of all cores
#                (from /proc/stat: 1 - (idle + iowait) / total). The cluster does nothing,
#                so this is its idle cost (plus whatever else runs on the machine).
#   busy cores   the same in cores
#   node cores   CPU the cluster's own containers used over the window, from their cgroups:
#                unlike busy %, other work on the machine does not count
#   mc/node      node cores per node, in millicores: the idle cost of one node
#   load1        1-minute load average at the end of the window
#   drops        lines with "memberlist: handler queue full" or "dropping message" in the
#                nodes' dockerd logs since the step began (swarm2's gossip falling behind)
#   ready        "yes" when every sample during the window (every 10 s, and at both ends)
#                listed all nodes Ready and no other entries
#
# A step is CALM when busy % < 60, drops = 0 and ready = yes: the machine keeps the idle
# cluster with room to spare, and swarm2's gossip keeps up. The run stops after the first step
# that is not calm (and at MAX). With HOLD_SECONDS (default 0: none), the last count whose
# nodes all became Ready (where pacing stopped, when it did) is then watched that long (row "hold": the same columns, every 10 s
# a readiness sample). Last it removes the cluster with `sis destroy` and prints the time.
# A row 0 before the first step measures the machine without the cluster: if it is not
# near 0, neighbours are part of every figure.
#
# `sis apply` runs with its default pacing and --ignore-capacity (the point is to find the
# machine's real limit, not the estimate's); when pacing stops it for lack of headroom, the
# step's row says "stop" and apply's message is printed.
#
# The readiness samples are `docker exec`s (tens of ms of CPU each), counted in busy %.
# Environment: BENCH_CAP_SUBNET (10.240.8.0/21, room for 2045 nodes), BENCH_IMAGE,
# BENCH_CAP_CSV (also write the rows to this CSV file, for plot-capacity.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

step=${1:-50} max=${2:-300} calm=${3:-60} hold=${4:-0}
for v in "$step" "$max" "$calm" "$((hold + 1))"; do
    if ! [[ $v =~ ^[1-9][0-9]*$ ]]; then
        echo "usage: $0 [STEP] [MAX] [CALM_SECONDS] [HOLD_SECONDS]   (default 50 300 60 0)" >&2
        exit 2
    fi
done
csv=${BENCH_CAP_CSV:-}
if [ "$max" -gt 2045 ]; then
    echo "capacity: MAX $max does not fit the /21 subnet (2045 nodes)" >&2
    exit 2
fi
cluster=bench-cap-$$
subnet=${BENCH_CAP_SUBNET:-10.240.8.0/21}
work=$(mktemp -d /tmp/bench-capacity.XXXXXX)
spec=$work/$cluster.yaml
sis=
loadmon=

# shellcheck disable=SC2317 # run by the traps below
cleanup() {
    local rc=$?
    trap - EXIT
    trap '' INT TERM # a second Ctrl-C must not leave nodes behind
    bench_stop_child
    [ -z "$loadmon" ] || kill "$loadmon" 2>/dev/null || true
    local n start
    n=$(bench_nodes "$cluster" | wc -l)
    bench_log "removing $cluster ($n nodes)"
    start=$(bench_now)
    bench_sis_destroy "$sis" "$spec" "$cluster"
    echo "destroy: $n nodes removed in $(bench_elapsed "$start") s"
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# drops CLUSTER SINCE_EPOCH → gossip drop lines in the nodes' dockerd logs since then.
drops() {
    # shellcheck disable=SC2016 # expanded by the sh of each log
    bench_nodes "$1" |
        xargs -r -P 4 -I '{}' sh -c 'docker logs --since "$1" "$2" 2>&1 |
            grep -c -E "memberlist: handler queue full|dropping message" || true' _ "$2" '{}' |
        awk '{ s += $1 } END { print s + 0 }'
}

# nodes_cpu_ns CLUSTER → CPU time (ns) the cluster's containers have used, from their cgroups
# (v1 cpuacct, or v2 cpu.stat). Unlike busy %, other work on the machine does not count.
nodes_cpu_ns() {
    docker ps -q --no-trunc --filter "label=sis.cluster=$1" | while read -r id; do
        v1=/sys/fs/cgroup/cpuacct/docker/$id/cpuacct.usage
        v2=/sys/fs/cgroup/system.slice/docker-$id.scope/cpu.stat
        if [ -r "$v1" ]; then
            cat "$v1"
        elif [ -r "$v2" ]; then
            awk '/^usage_usec/ { print $2 * 1000 }' "$v2"
        fi
    done | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# window CLUSTER N SECONDS → "BUSY_FRACTION ALL_READY NODE_CORES": the machine's CPU over the
# window, whether each readiness sample listed exactly N Ready nodes (N = 0: CPU only), and
# the cores the cluster's own containers used.
window() {
    local cluster=$1 want=$2 end=$((SECONDS + $3)) cpu0 ok=yes ready total left n0 t0
    cpu0=$(bench_cpu_sample)
    n0=$(nodes_cpu_ns "$cluster")
    t0=$(date +%s.%N)
    while :; do
        if [ "$want" -gt 0 ]; then
            read -r ready total < <(bench_swarm2_status "$cluster")
            [ "$ready" -eq "$want" ] && [ "$total" -eq "$want" ] || ok=no
        fi
        left=$((end - SECONDS))
        [ "$left" -gt 0 ] || break
        sleep $((left < 10 ? left : 10))
    done
    echo "$(bench_busy_fraction "$cpu0" "$(bench_cpu_sample)") $ok \
$(awk -v a="$n0" -v b="$(nodes_cpu_ns "$cluster")" -v t0="$t0" -v t1="$(date +%s.%N)" \
        'BEGIN { printf "%.3f", (b - a) / 1e9 / (t1 - t0) }')"
}

# row NODES APPLY_S PEAK_LOAD BUSY NODE_CORES LOAD1 DROPS READY CALM
row() {
    local line
    line=$(awk -v n="$1" -v a="$2" -v pk="$3" -v b="$4" -v nc="$5" -v l="$6" -v d="$7" \
        -v r="$8" -v c="$9" -v cores="$(nproc)" \
        'BEGIN {
            p = "-"; k = "-"; m = "-"
            if (b != "-") { p = sprintf("%.1f", 100 * b); k = sprintf("%.2f", b * cores) }
            if (nc != "-" && n + 0 > 0) { m = sprintf("%.1f", 1000 * nc / n) }
            printf "%6s %8s %6s %7s %6s %6s %7s %6s %6s %6s %5s\n", n, a, pk, p, k, nc, m, l, d, r, c
        }')
    echo "$line"
    [ -z "$csv" ] || awk -v OFS=, '{ $1 = $1; print }' <<<"$line" >>"$csv"
}

# peak FILE → the highest value in FILE (one number a line), "-" when empty.
peak() { sort -g "$1" 2>/dev/null | tail -n 1 | grep . || echo -; }

bench_remove_stale
bench_warn_if_busy
# ~50 MB per idle node, measured; more while they start.
avail_mb=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
if [ $((max * 60)) -gt "$avail_mb" ]; then
    bench_log "warning: $max nodes need about $((max * 60)) MB; $avail_mb MB are available"
fi
sis=$(bench_sis "$repo")
echo "machine: $(bench_machine)"
echo "calm: busy < 60 % of all cores, no gossip drops, all nodes Ready; window ${calm} s"
printf '%6s %8s %6s %7s %6s %6s %7s %6s %6s %6s %5s\n' nodes "apply_s" peak "busy%" \
    busy nodes mc/node load1 drops ready calm
echo "(busy, nodes: cores; peak: highest load1 while growing)"
[ -z "$csv" ] || echo "nodes,apply_s,peak_load,busy_pct,busy_cores,node_cores,mc_per_node,load1,drops,ready,calm" >"$csv"

read -r busy _ _ < <(window "$cluster" 0 "$calm")
row 0 - - "$busy" - "$(cut -d' ' -f1 /proc/loadavg)" - - -
if awk -v b="$busy" 'BEGIN { exit !(b >= 0.30) }'; then
    bench_log "warning: without the cluster the machine already uses $(awk -v b="$busy" \
        'BEGIN { printf "%.0f", 100 * b }') % of its cores; the steps measure that work too"
fi

largest=0 reached=0
for ((n = step; n <= max; n += step)); do
    since=$(date +%s)
    start=$(bench_now)
    bench_write_spec "$spec" "$cluster" "$n" "$subnet"
    bench_log "sis apply: $n nodes"
    (while :; do cut -d' ' -f1 /proc/loadavg; sleep 2; done) >"$work/load.$n" &
    loadmon=$!
    rc=0
    bench_run INT "$sis" apply "$spec" --quiet --ignore-capacity 2>"$work/apply.$n" >&2 || rc=$?
    if [ "$rc" -ne 0 ]; then
        cat "$work/apply.$n" >&2
        kill "$loadmon"
        loadmon=
        what=fail
        grep -q -E "no (CPU|idle) headroom" "$work/apply.$n" && what=stop
        row "$n" "$what" "$(peak "$work/load.$n")" - - "$(cut -d' ' -f1 /proc/loadavg)" \
            "$(drops "$cluster" "$since")" no no
        grep -h -E "no (CPU|idle) headroom" "$work/apply.$n" || true
        if [ "$what" = stop ]; then
            # Pacing stopped short: what it made is the count to hold, once all are Ready.
            got=$(bench_nodes "$cluster" | wc -l)
            bench_log "pacing stopped at $got nodes"
            if bench_wait_ready "$cluster" "$got" 180; then reached=$got; fi
        fi
        break
    fi
    if ! bench_wait_ready "$cluster" "$n" $((120 + 3 * step)); then
        kill "$loadmon"
        loadmon=
        row "$n" fail "$(peak "$work/load.$n")" - - "$(cut -d' ' -f1 /proc/loadavg)" \
            "$(drops "$cluster" "$since")" no no
        break
    fi
    apply_s=$(bench_elapsed "$start")
    kill "$loadmon"
    loadmon=
    reached=$n
    read -r busy ready node_cores < <(window "$cluster" "$n" "$calm")
    load1=$(cut -d' ' -f1 /proc/loadavg)
    dropped=$(drops "$cluster" "$since")
    verdict=$(awk -v b="$busy" -v d="$dropped" -v r="$ready" \
        'BEGIN { print (b < 0.60 && d == 0 && r == "yes") ? "yes" : "no" }')
    row "$n" "$apply_s" "$(peak "$work/load.$n")" "$busy" "$node_cores" "$load1" "$dropped" \
        "$ready" "$verdict"
    [ "$verdict" = yes ] || break
    largest=$n
done
echo "largest calm step: $largest nodes"
if [ "$hold" -gt 0 ] && [ "$reached" -gt 0 ]; then
    bench_log "holding $reached nodes for $hold s"
    since=$(date +%s)
    read -r busy ready node_cores < <(window "$cluster" "$reached" "$hold")
    dropped=$(drops "$cluster" "$since")
    verdict=$(awk -v b="$busy" -v d="$dropped" -v r="$ready" \
        'BEGIN { print (b < 0.60 && d == 0 && r == "yes") ? "yes" : "no" }')
    echo "hold: $reached nodes for $hold s"
    row "$reached" hold - "$busy" "$node_cores" "$(cut -d' ' -f1 /proc/loadavg)" "$dropped" \
        "$ready" "$verdict"
fi
