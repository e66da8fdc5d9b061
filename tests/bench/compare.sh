#!/usr/bin/env bash
# compare.sh [N] — the naive shell loop (naive.sh) against `sis apply`, N nodes each (default 100),
# one after the other on the local engine, in one run:
#
#   1. removes what killed earlier runs left behind (bench-{naive,sis,cap}-PID of dead PIDs);
#   2. naive.sh N → waits until swarm2 lists N Ready nodes (bounded) → wall time → removes its
#      containers with their volumes and its network;
#   3. writes a spec for N nodes (cluster bench-sis-PID, own subnet) →
#      `/usr/bin/time -v sis apply SPEC --quiet` → waits until N Ready → wall time, sis's peak
#      RSS → `sis apply` again, which must change nothing (its wall time) → `sis destroy`.
#
# Both wall times run from the first command until swarm2 lists N Ready nodes and no others.
# Ends with a table: machine, N, naive s, sis s, naive/sis, no-op apply s, sis peak RSS MB.
# Everything is removed at the end, also on failure or Ctrl-C. Exit 1 when a side failed.
#
# Environment: BENCH_NAIVE_SUBNET (10.240.0.0/22), BENCH_SIS_SUBNET (10.240.4.0/22),
# BENCH_SETTLE seconds of rest between the two runs (10), then until the machine is quiet
# (under 10 % busy over 5 s, at most 180 s), BENCH_IMAGE (sis-node:test).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

n=${1:-100}
if ! [[ $n =~ ^[1-9][0-9]*$ ]] || [ "$n" -gt 1000 ]; then
    echo "usage: $0 [N]   (1..1000 nodes, default 100; the subnets are /22)" >&2
    exit 2
fi
naive_name=bench-naive-$$
sis_name=bench-sis-$$
naive_subnet=${BENCH_NAIVE_SUBNET:-10.240.0.0/22}
sis_subnet=${BENCH_SIS_SUBNET:-10.240.4.0/22}
settle=${BENCH_SETTLE:-10}
ready_timeout=$((120 + 3 * n))
work=$(mktemp -d /tmp/bench-compare.XXXXXX)
spec=$work/$sis_name.yaml
sis=

# shellcheck disable=SC2317 # run by the traps below
cleanup() {
    local rc=$?
    trap - EXIT
    trap '' INT TERM # a second Ctrl-C must not leave nodes behind
    bench_stop_child
    bench_log "cleaning up $naive_name and $sis_name"
    bench_remove_cluster "$naive_name" "$naive_name"
    bench_sis_destroy "$sis" "$spec" "$sis_name"
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_remove_stale
bench_warn_if_busy
bench_wait_quiet
sis=$(bench_sis "$repo")
machine=$(bench_machine)
failed=0

# The naive loop.
bench_log "naive.sh: $n nodes ($naive_name, $naive_subnet)"
start=$(bench_now)
naive_s=fail
if bench_run TERM "$here/naive.sh" "$n" "$naive_name" "$naive_subnet" >&2 &&
    bench_wait_ready "$naive_name" "$n" "$ready_timeout"; then
    naive_s=$(bench_elapsed "$start")
else
    failed=1
fi
bench_log "naive: ${naive_s} s to $n Ready nodes; removing it"
bench_remove_cluster "$naive_name" "$naive_name"
sleep "$settle"
bench_wait_quiet

# sis.
bench_write_spec "$spec" "$sis_name" "$n" "$sis_subnet"
bench_log "sis apply: $n nodes ($sis_name, $sis_subnet)"
start=$(bench_now)
sis_s=fail rss_mb=- noop_s=-
if bench_run INT /usr/bin/time -v -o "$work/time.txt" "$sis" apply "$spec" --quiet >&2 &&
    bench_wait_ready "$sis_name" "$n" "$ready_timeout"; then
    sis_s=$(bench_elapsed "$start")
    rss_mb=$(awk -F: '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$work/time.txt")
    # The re-apply is timed as a no-op only if there is nothing left to do.
    plan_rc=0
    "$sis" plan "$spec" --detailed-exitcode >/dev/null 2>&1 || plan_rc=$?
    if [ "$plan_rc" -ne 0 ]; then
        bench_log "sis plan after apply: exit $plan_rc, not converged (0 = no changes)"
        failed=1
    fi
    bench_log "sis: ${sis_s} s to $n Ready nodes; applying again (nothing to do)"
    start=$(bench_now)
    if bench_run INT "$sis" apply "$spec" --quiet >&2; then
        noop_s=$(bench_elapsed "$start")
    else
        noop_s=fail
        failed=1
    fi
else
    failed=1
fi

ratio=$(awk -v a="$naive_s" -v b="$sis_s" \
    'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }')
echo "machine: $machine"
printf '%6s %9s %7s %10s %14s %16s\n' N "naive s" "sis s" naive/sis "no-op apply s" "sis peak RSS MB"
printf '%6s %9s %7s %10s %14s %16s\n' "$n" "$naive_s" "$sis_s" "$ratio" "$noop_s" "$rss_mb"
exit "$failed"
