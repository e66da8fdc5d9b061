#!/usr/bin/env bash
# capacity.sh [STEP] [MAX] [CALM_SECONDS] — how many idle nodes this machine holds calmly.
#
# Grows one swarm2 with `sis apply` in steps of STEP nodes (default 50) up to MAX (default 300).
# After each step it waits until swarm2 lists every node Ready, then watches the idle cluster
# for CALM_SECONDS (default 60) and prints one row:
#   nodes        nodes in swarm2 after the step
#   apply s      wall time of the step's `sis apply` plus the wait until all were Ready
#   busy %       CPU the whole machine used over the window, as a share of all cores
#                (from /proc/stat: 1 - (idle + iowait) / total). The cluster does nothing,
#                so this is its idle cost (plus whatever else runs on the machine).
#   busy cores   the same in cores
#   node cores   CPU the cluster's own containers used over the window, from their cgroups:
#                unlike busy %, other work on the machine does not count
#   load1        1-minute load average at the end of the window
#   drops        lines with "memberlist: handler queue full" or "dropping message" in the
#                nodes' dockerd logs since the step began (swarm2's gossip falling behind)
#   ready        "yes" when every sample during the window (every 10 s, and at both ends)
#                listed all nodes Ready and no other entries
#
# A step is CALM when busy % < 60, drops = 0 and ready = yes: the machine keeps the idle
# cluster with room to spare, and swarm2's gossip keeps up. The run stops after the first step
# that is not calm (and at MAX), then removes the cluster. A row 0 before the first step measures
# the machine without the cluster: if it is not near 0, neighbours are part of every figure.
#
# The readiness samples are `docker exec`s (tens of ms of CPU each), counted in busy %.
# Environment: BENCH_CAP_SUBNET (10.240.8.0/21, room for 2045 nodes), BENCH_IMAGE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

step=${1:-50} max=${2:-300} calm=${3:-60}
for v in "$step" "$max" "$calm"; do
    if ! [[ $v =~ ^[1-9][0-9]*$ ]]; then
        echo "usage: $0 [STEP] [MAX] [CALM_SECONDS]   (default 50 300 60)" >&2
        exit 2
    fi
done
if [ "$max" -gt 2045 ]; then
    echo "capacity: MAX $max does not fit the /21 subnet (2045 nodes)" >&2
    exit 2
fi
cluster=bench-cap-$$
subnet=${BENCH_CAP_SUBNET:-10.240.8.0/21}
work=$(mktemp -d /tmp/bench-capacity.XXXXXX)
spec=$work/$cluster.yaml
sis=

# shellcheck disable=SC2317 # run by the traps below
cleanup() {
    local rc=$?
    trap - EXIT
    trap '' INT TERM # a second Ctrl-C must not leave nodes behind
    bench_stop_child
    bench_log "removing $cluster"
    bench_sis_destroy "$sis" "$spec" "$cluster"
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

# row NODES APPLY_S BUSY NODE_CORES LOAD1 DROPS READY CALM
row() {
    awk -v n="$1" -v a="$2" -v b="$3" -v nc="$4" -v l="$5" -v d="$6" -v r="$7" -v c="$8" \
        -v cores="$(nproc)" \
        'BEGIN {
            p = "-"; k = "-"
            if (b != "-") { p = sprintf("%.1f", 100 * b); k = sprintf("%.2f", b * cores) }
            printf "%6s %8s %7s %11s %11s %6s %6s %6s %5s\n", n, a, p, k, nc, l, d, r, c
        }'
}

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
printf '%6s %8s %7s %11s %11s %6s %6s %6s %5s\n' nodes "apply s" "busy %" "busy cores" \
    "node cores" load1 drops ready calm

read -r busy _ _ < <(window "$cluster" 0 "$calm")
row 0 - "$busy" - "$(cut -d' ' -f1 /proc/loadavg)" - - -
if awk -v b="$busy" 'BEGIN { exit !(b >= 0.30) }'; then
    bench_log "warning: without the cluster the machine already uses $(awk -v b="$busy" \
        'BEGIN { printf "%.0f", 100 * b }') % of its cores; the steps measure that work too"
fi

largest=0
for ((n = step; n <= max; n += step)); do
    since=$(date +%s)
    start=$(bench_now)
    bench_write_spec "$spec" "$cluster" "$n" "$subnet"
    bench_log "sis apply: $n nodes"
    if ! bench_run INT "$sis" apply "$spec" --quiet >&2 ||
        ! bench_wait_ready "$cluster" "$n" $((120 + 3 * step)); then
        row "$n" fail - - "$(cut -d' ' -f1 /proc/loadavg)" "$(drops "$cluster" "$since")" no no
        break
    fi
    apply_s=$(bench_elapsed "$start")
    read -r busy ready node_cores < <(window "$cluster" "$n" "$calm")
    load1=$(cut -d' ' -f1 /proc/loadavg)
    dropped=$(drops "$cluster" "$since")
    verdict=$(awk -v b="$busy" -v d="$dropped" -v r="$ready" \
        'BEGIN { print (b < 0.60 && d == 0 && r == "yes") ? "yes" : "no" }')
    row "$n" "$apply_s" "$busy" "$node_cores" "$load1" "$dropped" "$ready" "$verdict"
    [ "$verdict" = yes ] || break
    largest=$n
done
echo "largest calm step: $largest nodes"
