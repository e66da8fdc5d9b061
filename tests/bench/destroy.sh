#!/usr/bin/env bash
# destroy.sh N [SIS …] — how long `sis destroy` takes for a swarm2 of N idle nodes.
#
# For each sis binary given (default: target/release/sis, built if missing): `sis apply` of N
# nodes with the first binary (the same nodes every time), a wait until swarm2 lists all N
# Ready, then `sis destroy` with that binary, timed. Prints one row per binary:
#   binary       the sis binary that destroyed
#   nodes        nodes in swarm2 before the destroy
#   load1        1-minute load average when the destroy began (the idle nodes' own load)
#   destroy s    wall time of `sis destroy` (the nodes, their volumes and the network)
#   left         containers of the cluster still there afterwards (0 expected)
# Comparing two builds: tests/bench/destroy.sh 60 OLD/sis NEW/sis.
# Environment: BENCH_DESTROY_SUBNET (10.243.0.0/22), BENCH_PREFIX (cluster names
# PREFIX-destroy-PID, default bench), BENCH_IMAGE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

n=${1:-}
if ! [[ $n =~ ^[1-9][0-9]*$ ]] || [ "$n" -gt 1021 ]; then
    echo "usage: $0 N [SIS …]   (N from 1 to 1021 nodes)" >&2
    exit 2
fi
shift
cluster=${BENCH_PREFIX:-bench}-destroy-$$
subnet=${BENCH_DESTROY_SUBNET:-10.243.0.0/22}
work=$(mktemp -d /tmp/bench-destroy.XXXXXX)
spec=$work/$cluster.yaml
sis=

# shellcheck disable=SC2317 # run by the traps below
cleanup() {
    local rc=$?
    trap - EXIT
    trap '' INT TERM # a second Ctrl-C must not leave nodes behind
    bench_stop_child
    bench_sis_destroy "$sis" "$spec" "$cluster"
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_remove_stale
bench_warn_if_busy
if [ $# -eq 0 ]; then
    set -- "$(bench_sis "$repo")"
fi
creator=$1
echo "machine: $(bench_machine)"
printf '%-40s %6s %6s %10s %5s\n' binary nodes load1 "destroy s" left
bench_write_spec "$spec" "$cluster" "$n" "$subnet"
for sis in "$@"; do
    bench_log "sis apply: $n nodes"
    if ! bench_run INT "$creator" apply "$spec" --quiet >&2 ||
        ! bench_wait_ready "$cluster" "$n" $((120 + 3 * n)); then
        bench_log "the cluster did not come up; no destroy measured"
        exit 1
    fi
    load1=$(cut -d' ' -f1 /proc/loadavg)
    start=$(bench_now)
    bench_run INT "$sis" destroy "$spec" --quiet >&2 || bench_log "sis destroy failed"
    destroy_s=$(bench_elapsed "$start")
    left=$(bench_containers "$cluster" | wc -l)
    printf '%-40s %6s %6s %10s %5s\n' "$sis" "$n" "$load1" "$destroy_s" "$left"
    bench_remove_cluster "$cluster" "$cluster"
    bench_wait_quiet 60
done
