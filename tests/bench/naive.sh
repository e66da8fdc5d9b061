#!/usr/bin/env bash
# naive.sh N NAME SUBNET — the plain shell loop sis is compared with.
#
# On the local engine (which must be, or becomes, a swarm1 manager) it creates the attachable
# overlay network NAME with SUBNET, starts node NAME-1, waits for its dockerd, makes it swarm2's
# manager (`swarm init`), then runs `xargs -P 8` over nodes 2..N: `docker run -d` (capability
# profile, hostname = container name, on NAME, label sis.cluster=NAME) → poll
# `docker exec NODE docker info` until it answers → `docker swarm join`. A failed run or join is
# tried again (3 attempts), as a careful hand-written loop would. It ends when every node has
# joined and prints its wall time; exit 0 only when swarm2 lists at least N nodes.
#
# It never removes anything: clean up with
#   docker ps -aq --filter label=sis.cluster=NAME | xargs -r docker rm -f -v; docker network rm NAME
#
# Children do not outlive it: the worker pool runs in a process group of its own, which the
# script signals when it ends, however it ends. (Orphaned `until docker exec …` loops otherwise poll
# for containers that are gone, and keep cores busy for as long as nobody notices.)
set -euo pipefail

if [ $# -ne 3 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 N NAME SUBNET   (e.g. $0 6 bench-naive 10.240.0.0/22)" >&2
    exit 2
fi

pool=
end_pool() {
    local rc=$?
    trap - EXIT INT TERM
    [ -n "$pool" ] && kill -TERM -- "-$pool" 2>/dev/null
    exit "$rc"
}
trap end_pool EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export BENCH_LIB
BENCH_LIB="$(cd "$(dirname "$0")" && pwd)/lib.sh"
# shellcheck source=lib.sh
. "$BENCH_LIB"

export NAIVE_N=$1 NAIVE_NAME=$2 NAIVE_SUBNET=$3
export NAIVE_READY_TIMEOUT=${NAIVE_READY_TIMEOUT:-300}

# attempt N CMD… → runs CMD up to N times, 2 s apart.
attempt() {
    local tries=$1 i
    shift
    for i in $(seq 1 "$tries"); do
        "$@" && return 0
        [ "$i" -lt "$tries" ] && sleep 2
    done
    return 1
}

run_node() {
    docker rm -f -v "$1" >/dev/null 2>&1 || true
    docker run -d --name "$1" --hostname "$1" --network "$NAIVE_NAME" \
        --label "sis.cluster=$NAIVE_NAME" "${BENCH_PROFILE[@]}" "$BENCH_IMAGE" >/dev/null
}

wait_dockerd() {
    local deadline=$((SECONDS + NAIVE_READY_TIMEOUT))
    until docker exec "$1" docker info >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "naive: $1: dockerd did not answer within $NAIVE_READY_TIMEOUT s" >&2
            return 1
        fi
        sleep 0.5
    done
}

node_addr() {
    docker inspect -f "{{(index .NetworkSettings.Networks \"$NAIVE_NAME\").IPAddress}}" "$1"
}

# A join that timed out under load may still complete: a node that is pending or active is
# not joined again (that would leave a ghost entry in swarm2's node list).
join_swarm2() {
    local node=$1 addr state
    addr=$(node_addr "$node")
    docker exec "$node" docker swarm join --token "$NAIVE_TOKEN" --advertise-addr "$addr" \
        "$NAIVE_MANAGER_ADDR:2377" >/dev/null 2>&1 && return 0
    state=$(docker exec "$node" docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || true)
    [ "$state" = active ] || [ "$state" = pending ]
}

# One worker of the xargs loop: run → wait ready → join.
node_up() {
    local node=$1
    attempt 3 run_node "$node" || { echo "naive: $node: docker run failed" >&2; return 1; }
    wait_dockerd "$node" || return 1
    attempt 3 join_swarm2 "$node" || { echo "naive: $node: swarm join failed" >&2; return 1; }
}
# The xargs loop over nodes 2..N; each worker sources lib.sh for the profile (arrays do not
# cross exec).
pool_run() {
    # shellcheck disable=SC2016 # expanded by the worker
    seq 2 "$NAIVE_N" | xargs -P 8 -I '{}' bash -c '. "$BENCH_LIB"; node_up "$1"' _ "$NAIVE_NAME-{}"
}
export -f attempt run_node wait_dockerd node_addr join_swarm2 node_up pool_run

start=$(bench_now)
bench_ensure_swarm1
docker network create --driver overlay --attachable --subnet "$NAIVE_SUBNET" \
    --label "sis.cluster=$NAIVE_NAME" "$NAIVE_NAME" >/dev/null

manager="$NAIVE_NAME-1"
attempt 3 run_node "$manager"
wait_dockerd "$manager"
NAIVE_MANAGER_ADDR=$(node_addr "$manager")
docker exec "$manager" docker swarm init --advertise-addr "$NAIVE_MANAGER_ADDR" >/dev/null
NAIVE_TOKEN=$(docker exec "$manager" docker swarm join-token -q worker)
export NAIVE_MANAGER_ADDR NAIVE_TOKEN
bench_log "naive: swarm2 initialised on $manager ($NAIVE_MANAGER_ADDR) after $(bench_elapsed "$start") s"

failed=0
if [ "$NAIVE_N" -gt 1 ]; then
    # The pool leads its own process group (setsid, not forking: a script has no job control,
    # so this background job is no group leader), so one signal reaches every worker and its
    # polling loop. In the background, so that a signal to this script is handled at once.
    setsid bash -c pool_run &
    pool=$!
    wait "$pool" || failed=1
    pool=
fi

listed=$(docker exec "$manager" docker node ls -q | wc -l)
secs=$(bench_elapsed "$start")
echo "naive: $NAIVE_N nodes requested, swarm2 lists $listed, wall time $secs s"
if [ "$failed" -ne 0 ] || [ "$listed" -lt "$NAIVE_N" ]; then
    echo "naive: not every node joined swarm2 (see the errors above)" >&2
    exit 1
fi
