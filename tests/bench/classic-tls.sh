#!/usr/bin/env bash
# Classic mode, plain TCP against TLS on the nodes' API: time from `sis apply` to every node
# Healthy in the manager's `docker info`, ROUNDS times each (alternating).
#
#   tests/bench/classic-tls.sh [N] [ROUNDS]     # default 6 nodes, 2 rounds
#
# Prints one line a run and a summary; needs sis-etcd:test, sis-swarm:test (tests/engine-up.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
source tests/bench/lib.sh

N=${1:-6}
ROUNDS=${2:-2}
SIS=${SIS:-target/release/sis}
[ -x "$SIS" ] || SIS=target/debug/sis
[ -x "$SIS" ] || { echo "build sis first: cargo build -p sis" >&2; exit 1; }
TIMEOUT=${BENCH_TIMEOUT:-300}
DIR=$(mktemp -d)
CLUSTER=bench-ctls-$$
trap 'bench_remove_cluster "$CLUSTER" "$CLUSTER"; rm -rf "$DIR"' EXIT

# spec TLS PORT → the spec's path
spec() {
    local path=$DIR/spec-$1.yaml
    cat >"$path" <<YAML
version: 1
name: $CLUSTER
hosts:
  - name: local
    endpoint: unix:///var/run/docker.sock
    nodes: $N
network:
  name: $CLUSTER
  subnet: 10.203.240.0/24
swarm2:
  mode: classic
  image: $BENCH_IMAGE
  privileged: false
  cap_drop: [SYS_RESOURCE]
  publish: $2
  classic:
    image: sis-swarm:test
    tls: $1
kvstore:
  kind: etcd
  host: local
  image: sis-etcd:test
YAML
    echo "$path"
}

# healthy PORT TLS → how many nodes the manager lists as Healthy (0 when it does not answer)
healthy() {
    local args=(-H "tcp://127.0.0.1:$1")
    if [ "$2" = true ]; then
        args=(--tlsverify --tlscacert "$DIR/client/ca.pem" --tlscert "$DIR/client/cert.pem"
            --tlskey "$DIR/client/key.pem" "${args[@]}")
    fi
    docker "${args[@]}" info --format '{{json .SystemStatus}}' 2>/dev/null |
        grep -o '"Healthy"' | wc -l || true
}

declare -A RESULTS
for round in $(seq 1 "$ROUNDS"); do
    for tls in false true; do
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        path=$(spec "$tls" "$port")
        start=$(bench_now)
        "$SIS" apply "$path" --quiet >"$DIR/apply.log" 2>&1 || { cat "$DIR/apply.log" >&2; exit 1; }
        applied=$(bench_elapsed "$start")
        if [ "$tls" = true ]; then
            rm -rf "$DIR/client"
            docker cp "$CLUSTER.sis-ca:/tls/client" "$DIR/client"
        fi
        deadline=$((SECONDS + TIMEOUT))
        until [ "$(healthy "$port" "$tls")" -eq "$N" ]; do
            if [ "$SECONDS" -ge "$deadline" ]; then
                bench_log "tls=$tls: not $N Healthy after $TIMEOUT s"
                exit 1
            fi
            sleep 1
        done
        all=$(bench_elapsed "$start")
        echo "classic-tls: tls=$tls round $round: apply ${applied} s, $N Healthy after ${all} s"
        RESULTS[$tls]="${RESULTS[$tls]:-} $all"
        "$SIS" destroy "$path" --quiet >/dev/null 2>&1 || bench_remove_cluster "$CLUSTER" "$CLUSTER"
    done
done
echo "classic-tls: $N nodes, seconds to all Healthy: plain${RESULTS[false]}; TLS${RESULTS[true]}"
