#!/usr/bin/env bash
# chaos.sh [MANAGERS] [OUTDIR] — how swarm2 rides out faults injected with `sis chaos`.
#
# On one swarm2 of 9 nodes with MANAGERS managers (default 3), one after the other:
#   kill       `sis chaos kill --target leader`, then `sis apply`:
#              s to a new leader (from the kill), s to all Ready (from the apply's start)
#   isolate    `sis chaos partition --shape isolate --target leader --duration 30s`:
#              s to a new leader (from the fault), s to all Ready again (from the heal)
#   workers    30 % of the workers (at least one) killed by name, then `sis apply`:
#              s until a manager lists them all Down (from the kill), s to all Ready
#              (from the apply's start)
#   grow       9 → 19 nodes with `sis apply`, s until swarm2 lists 19 Ready (from the
#              apply's start); then back to 9 (`sis apply`), `sis chaos netem --target managers
#              --rate 1mbit`, the same grow with the limit in place, `sis chaos heal`
# Before each fault it waits until swarm2 lists every node Ready and nothing else.
# Prints one line a measurement: `NAME VALUE_S` (tab-separated), and the run's files:
# `sis watch --interval 2s` records the whole series (the faults are events of the same file,
# `--events`) into OUTDIR/chaos-mMANAGERS.jsonl, every `sis apply --report` its phases and node
# milestones into OUTDIR/chaos-mMANAGERS-apply.jsonl, and `sis report` merges both into
# OUTDIR/chaos-mMANAGERS.html (OUTDIR default: a new directory under /tmp, kept).
#
# The readiness polls are `docker exec … docker node ls` every second on the first node that
# answers (a manager), so the times are ±1 s plus the exec's own time.
# Environment: BENCH_CHAOS_SUBNET (10.202.200.0/24), BENCH_CHAOS_PREFIX (bench-chaos: the cluster
# is PREFIX-PID), BENCH_SIS (a sis binary; default
# target/release/sis, built when missing), BENCH_IMAGE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

managers=${1:-3}
if ! [[ $managers =~ ^[1-9]$ ]] || [ "$managers" -gt 8 ]; then
    echo "usage: $0 [MANAGERS (1-8, default 3)] [OUTDIR]" >&2
    exit 2
fi
out=${2:-$(mktemp -d /tmp/bench-chaos.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cluster=${BENCH_CHAOS_PREFIX:-bench-chaos}-$$
subnet=${BENCH_CHAOS_SUBNET:-10.202.200.0/24}
work=$(mktemp -d /tmp/bench-chaos-spec.XXXXXX)
spec=$work/$cluster.yaml
run=$out/chaos-m$managers.jsonl
applies=$out/chaos-m$managers-apply.jsonl
sis=
watcher=

# shellcheck disable=SC2317 # run by the traps below
cleanup() {
    local rc=$?
    trap - EXIT
    trap '' INT TERM
    bench_stop_child
    if [ -n "$watcher" ]; then
        kill -INT "$watcher" 2>/dev/null || true
        wait "$watcher" 2>/dev/null || true
    fi
    if [ -x "$sis" ] && [ -f "$spec" ]; then
        "$sis" chaos "$spec" heal >&2 || true
    fi
    bench_log "removing $cluster"
    bench_sis_destroy "$sis" "$spec" "$cluster"
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

write_spec() {
    cat >"$spec" <<SPEC
version: 1
name: $cluster
hosts:
  - name: local
    endpoint: unix:///var/run/docker.sock
    nodes: $1
network:
  name: $cluster
  subnet: $subnet
  addresses_per_host: 32
swarm2:
  mode: swarm
  managers: $managers
  image: $BENCH_IMAGE
  privileged: false
  cap_drop: [SYS_RESOURCE]
SPEC
}

# node_ls [EXCEPT] → swarm2's node list as "HOSTNAME STATUS MANAGER-STATUS" lines, asked of
# the first running node (but EXCEPT) that answers; nothing when none does.
node_ls() {
    local node
    for node in $(bench_nodes "$cluster"); do
        [ "$node" = "${1:-}" ] && continue
        if docker exec "$node" docker node ls \
            --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}' 2>/dev/null; then
            return 0
        fi
    done
}

# leader [EXCEPT] → the leader's hostname as a manager other than EXCEPT sees it.
leader() { node_ls "${1:-}" | awk '$3 == "Leader" { print $1 }'; }

# all_ready N [EXCEPT] → true when swarm2 lists exactly N nodes, all Ready.
all_ready() {
    node_ls "${2:-}" | awk -v n="$1" '$2 == "Ready" { r++ } END { exit !(r == n && NR == n) }'
}

# wait_until WHAT TIMEOUT_S CMD… → polls CMD every second; fails with WHAT after TIMEOUT_S.
wait_until() {
    local what=$1 deadline=$((SECONDS + $2))
    shift 2
    until "$@"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            bench_log "timed out waiting for $what"
            return 1
        fi
        sleep 1
    done
}

new_leader_other_than() {
    local l
    l=$(leader "$1")
    [ -n "$l" ] && [ "$l" != "$1" ]
}

all_down() {
    local list name
    list=$(node_ls)
    for name in "$@"; do
        awk -v n="$name" '$1 == n && $2 == "Down" { f = 1 } END { exit !f }' <<<"$list" || return 1
    done
}

report() { printf '%s\t%s\n' "$1" "$2"; }

apply() { bench_run INT "$sis" apply "$spec" --quiet --report "$applies" >&2; }

chaos() { "$sis" chaos "$spec" "$@" --events "$run" >&2; }

bench_warn_if_busy
if [ -n "${BENCH_SIS:-}" ]; then sis=$BENCH_SIS; else sis=$(bench_sis "$repo"); fi
bench_log "chaos: 9 nodes, $managers managers, cluster $cluster, files in $out"
report machine "$(bench_machine)"
write_spec 9
apply
wait_until "9 Ready" 180 all_ready 9
"$sis" watch "$spec" --out "$run" --interval 2s >/dev/null 2>"$out/watch-m$managers.log" &
watcher=$!
sleep 6 # two samples of the calm cluster

# kill the leader
old=$(leader)
t0=$(bench_now)
chaos kill --target leader
wait_until "a new leader" 120 new_leader_other_than "$old"
report kill_new_leader_s "$(bench_elapsed "$t0")"
t1=$(bench_now)
apply
wait_until "9 Ready after the kill" 180 all_ready 9
report kill_apply_ready_s "$(bench_elapsed "$t1")"
"$sis" chaos "$spec" heal >&2 # the kill's marker: apply started the node again
sleep 10

# isolate the leader for 30 s
old=$(leader)
t0=$(bench_now)
chaos partition --shape isolate --target leader --duration 30s &
chaos_pid=$!
wait_until "a new leader" 60 new_leader_other_than "$old"
report isolate_new_leader_s "$(bench_elapsed "$t0")"
wait "$chaos_pid"
t1=$(bench_now)
wait_until "9 Ready after the partition" 180 all_ready 9
report isolate_healed_ready_s "$(bench_elapsed "$t1")"
report isolate_total_s "$(bench_elapsed "$t0")"
sleep 10

# 30 % of the workers
mapfile -t workers < <(node_ls | awk 'NF == 2 { print $1 }' | sort -V)
count=$(((${#workers[@]} * 3 + 5) / 10))
[ "$count" -ge 1 ] || count=1
victims=("${workers[@]:0:$count}")
target=$(printf 'node:%s,' "${victims[@]}")
t0=$(bench_now)
chaos kill --target "${target%,}"
wait_until "${victims[*]} Down" 180 all_down "${victims[@]}"
report workers_killed "$count of ${#workers[@]}"
report workers_down_s "$(bench_elapsed "$t0")"
t1=$(bench_now)
apply
wait_until "9 Ready after the workers" 180 all_ready 9
report workers_apply_ready_s "$(bench_elapsed "$t1")"
"$sis" chaos "$spec" heal >&2
sleep 10

# grow 9 → 19 without and with a 1 Mbit limit on the managers
write_spec 19
t0=$(bench_now)
apply
wait_until "19 Ready" 300 all_ready 19
report grow_s "$(bench_elapsed "$t0")"
write_spec 9
apply
wait_until "9 Ready after the shrink" 180 all_ready 9
sleep 10
chaos netem --target managers --rate 1mbit
write_spec 19
t0=$(bench_now)
apply
wait_until "19 Ready with 1mbit" 600 all_ready 19
report grow_1mbit_s "$(bench_elapsed "$t0")"
"$sis" chaos "$spec" heal >&2
sleep 6

kill -INT "$watcher"
wait "$watcher" || true
watcher=
"$sis" report "$run" "$applies" --out "$out/chaos-m$managers.html" >&2
report run_file "$run"
report apply_file "$applies"
report report_file "$out/chaos-m$managers.html"
