#!/usr/bin/env bash
# classic.sh [N ...] — classic Swarm over etcd against swarm mode, N nodes each (default 50),
# one cluster after the other on the local engine; several N run in turn (classic.sh 10 25 50).
#
# For each N:
#   1. classic: writes a spec (cluster bench-classic-PID, swarm2.mode classic, etcd K/V store
#      sis-etcd:test, manager sis-swarm:test published on a free port) → `sis apply SPEC --quiet`
#      → waits until the manager (`docker -H tcp://127.0.0.1:PORT info`) lists N nodes, all
#      Healthy → wall time from the start of the apply → watches BENCH_REST seconds more (60)
#      → `sis destroy`. Meanwhile, every BENCH_EVERY seconds (5), etcd's /metrics is read from
#      inside a running node (the store is on ring2net only) with its container's CPU share.
#   2. swarm mode: the same N in cluster bench-swarm-PID → wall time until swarm2 lists N Ready
#      nodes → `sis destroy`.
#
# Ends with a table: N, classic s to N Healthy, swarm s to N Ready, and for etcd during the join
# wave (start to N Healthy) and at rest (the BENCH_REST seconds after): v2 HTTP requests a
# second, store operations a second (reads + writes of the v2 store), p99 of the v2 requests'
# latency inside etcd (its histogram's bucket bound, `<= X ms`; watches are not timed there),
# and the K/V container's mean CPU share of one core. Everything is removed at the end, also on
# failure or Ctrl-C. Exit 1 when a run failed.
#
# Environment: BENCH_CLASSIC_SUBNET (10.240.16.0/22), BENCH_SWARM_SUBNET (10.240.20.0/22),
# BENCH_REST (60), BENCH_EVERY (5), BENCH_SETTLE (10, then until the machine is quiet),
# BENCH_IMAGE (sis-node:test), BENCH_SIS (a sis binary; default target/release/sis, built if
# missing), BENCH_SWARM_IMAGE (sis-swarm:test), BENCH_ETCD_IMAGE (sis-etcd:test), BENCH_KEEP (a
# directory to keep the etcd samples in, etcd-N.txt: one line a sample, see sample_etcd),
# BENCH_CLASSIC_TLS (true: the nodes' API over TLS, the spec's default, the manager asked with
# the client certificate from the CA's container; false: plain TCP as in the seed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(50)
for n in "${sizes[@]}"; do
    if ! [[ $n =~ ^[1-9][0-9]*$ ]] || [ "$n" -gt 500 ]; then
        echo "usage: $0 [N ...]   (1..500 nodes each, default 50; the subnets are /22)" >&2
        exit 2
    fi
done
classic_name=bench-classic-$$
swarm_name=bench-swarm-$$
classic_subnet=${BENCH_CLASSIC_SUBNET:-10.240.16.0/22}
swarm_subnet=${BENCH_SWARM_SUBNET:-10.240.20.0/22}
rest=${BENCH_REST:-60}
every=${BENCH_EVERY:-5}
settle=${BENCH_SETTLE:-10}
swarm_image=${BENCH_SWARM_IMAGE:-sis-swarm:test}
etcd_image=${BENCH_ETCD_IMAGE:-sis-etcd:test}
# swarm2.classic.tls of the classic clusters: true (the default of the spec) or false.
BENCH_CLASSIC_TLS=${BENCH_CLASSIC_TLS:-true}
work=$(mktemp -d /tmp/bench-classic.XXXXXX)
classic_spec=$work/$classic_name.yaml
swarm_spec=$work/$swarm_name.yaml
sis=
sampler=

# shellcheck disable=SC2317 # run by the traps below
cleanup() {
    local rc=$?
    trap - EXIT
    trap '' INT TERM
    stop_sampler
    bench_stop_child
    bench_log "cleaning up $classic_name and $swarm_name"
    bench_sis_destroy "$sis" "$classic_spec" "$classic_name"
    bench_sis_destroy "$sis" "$swarm_spec" "$swarm_name"
    if [ -n "${BENCH_KEEP:-}" ]; then
        mkdir -p "$BENCH_KEEP" && cp "$work"/etcd-*.txt "$BENCH_KEEP"/ 2>/dev/null || true
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stop_sampler() {
    [ -n "$sampler" ] || return 0
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    sampler=
}

free_port() {
    local port
    for port in $(shuf -i 20000-29999 -n 50); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    echo "no free port" >&2
    return 1
}

# write_classic_spec FILE CLUSTER NODES SUBNET PORT
write_classic_spec() {
    cat >"$1" <<SPEC
version: 1
name: $2
hosts:
  - name: local
    endpoint: unix:///var/run/docker.sock
    nodes: $3
network:
  name: $2
  subnet: $4
kvstore:
  kind: etcd
  host: local
  image: $etcd_image
swarm2:
  mode: classic
  publish: $5
  image: $BENCH_IMAGE
  privileged: false
  cap_drop: [SYS_RESOURCE]
  classic:
    image: $swarm_image
    tls: $BENCH_CLASSIC_TLS
SPEC
}

# classic_status PORT → "HEALTHY TOTAL" of the nodes the manager lists ("0 0" before it answers).
# With TLS the manager is asked with the client certificate kept in the CA's container (copied
# once into $work/client).
classic_status() {
    local out args=()
    if [ "$BENCH_CLASSIC_TLS" = true ]; then
        [ -f "$work/client/key.pem" ] ||
            docker cp "$classic_name.sis-ca:/tls/client" "$work/client" >/dev/null 2>&1 || true
        args=(--tlsverify --tlscacert "$work/client/ca.pem" --tlscert "$work/client/cert.pem"
            --tlskey "$work/client/key.pem")
    fi
    out=$(docker "${args[@]}" -H "tcp://127.0.0.1:$1" info --format '{{json .SystemStatus}}' 2>/dev/null) ||
        out=
    printf '%s %s\n' "$(grep -o '└ Status","Healthy"' <<<"$out" | wc -l)" \
        "$(grep -o '└ Status"' <<<"$out" | wc -l)"
}

# classic_wait_healthy PORT N TIMEOUT_S → 0 once the manager lists N nodes, all Healthy.
classic_wait_healthy() {
    bench_wait_all "classic manager" Healthy "$2" "$3" classic_status "$1"
}

# The buckets of etcd's v2 request histogram (seconds), in its order.
BUCKETS="0.0005 0.001 0.002 0.004 0.008 0.016 0.032 0.064 0.128 0.256 0.512 1.024 2.048 +Inf"

# sample_etcd CLUSTER KV_ADDR OUT — every $every s until killed, one line to OUT:
# EPOCH RECEIVED STORE_OPS CPU_PCT BUCKET_COUNTS… (v2 HTTP requests received, v2 store reads +
# writes, the K/V container's CPU share of one core, the cumulative histogram counts summed
# over methods). Read from inside the first running node: etcd is on ring2net only.
sample_etcd() {
    local cluster=$1 kv=$2 out=$3 node metrics cpu
    while :; do
        node=$(docker ps --filter "label=sis.cluster=$cluster" --filter label=sis.role=node \
            --format '{{.Names}}' | sort -V | head -n 1)
        if [ -n "$node" ]; then
            # shellcheck disable=SC2016 # expanded inside the node
            metrics=$(docker exec "$node" bash -c 'exec 3<>"/dev/tcp/$0/2379" &&
                printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && cat <&3' "$kv" 2>/dev/null) || metrics=
            cpu=$(docker stats --no-stream --format '{{.CPUPerc}}' "$cluster.kvstore" 2>/dev/null |
                tr -d '%') || cpu=
            if [ -n "$metrics" ]; then
                awk -v t="$(bench_now)" -v cpu="${cpu:-0}" -v buckets="$BUCKETS" '
                    /^etcd_http_received_total/ { recv += $NF }
                    /^etcd_debugging_store_(reads|writes)_total/ { ops += $NF }
                    /^etcd_http_successful_duration_seconds_bucket/ {
                        match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
                        b[le] += $NF
                    }
                    END {
                        n = split(buckets, k, " ")
                        printf "%s %d %d %s", t, recv, ops, cpu
                        for (i = 1; i <= n; i++) printf " %d", b[k[i]]
                        printf "\n"
                    }' <<<"$metrics" >>"$out"
            fi
        fi
        sleep "$every"
    done
}

# window FILE FROM TO → "REQ/S OPS/S P99 CPU%" between the first sample at or after FROM and
# the last at or before TO; "- - - -" with fewer than two samples.
window() {
    awk -v a="$2" -v b="$3" -v buckets="$BUCKETS" '
        $1 >= a && $1 <= b {
            if (!have) { split($0, f0, " "); have = 1 }
            split($0, f1, " "); n++; cpu += $4
        }
        END {
            if (n < 2 || f1[1] <= f0[1]) { print "- - - -"; exit }
            dt = f1[1] - f0[1]
            nb = split(buckets, k, " ")
            total = f1[4 + nb] - f0[4 + nb]
            p99 = "-"
            for (i = 1; i <= nb && total > 0; i++) {
                if (f1[4 + i] - f0[4 + i] >= 0.99 * total) {
                    p99 = (k[i] == "+Inf") ? ">2048" : sprintf("<=%g", k[i] * 1000)
                    break
                }
            }
            printf "%.1f %.1f %s %.1f\n", (f1[2] - f0[2]) / dt, (f1[3] - f0[3]) / dt, p99, cpu / n
        }' "$1"
}

bench_remove_stale
bench_warn_if_busy
bench_wait_quiet 60
sis=${BENCH_SIS:-$(bench_sis "$repo")}
machine=$(bench_machine)
failed=0
results=()

for n in "${sizes[@]}"; do
    timeout_s=$((180 + 6 * n))

    # Classic.
    port=$(free_port)
    write_classic_spec "$classic_spec" "$classic_name" "$n" "$classic_subnet" "$port"
    kv=$(awk -F/ '{ split($1, o, "."); printf "%s.%s.%s.%d", o[1], o[2], o[3], o[4] + 2 }' \
        <<<"$classic_subnet")
    metrics=$work/etcd-$n.txt
    : >"$metrics"
    bench_log "classic: $n nodes ($classic_name, $classic_subnet, manager on port $port)"
    sample_etcd "$classic_name" "$kv" "$metrics" &
    sampler=$!
    start=$(bench_now)
    classic_s=fail
    if bench_run INT "$sis" apply "$classic_spec" --quiet >&2 &&
        classic_wait_healthy "$port" "$n" "$timeout_s"; then
        classic_s=$(bench_elapsed "$start")
        healthy_at=$(bench_now)
        bench_log "classic: $n Healthy after $classic_s s; at rest for $rest s"
        sleep "$rest"
        rest_end=$(bench_now)
    else
        failed=1
        healthy_at=$(bench_now)
        rest_end=$healthy_at
    fi
    stop_sampler
    wave=$(window "$metrics" "$start" "$healthy_at")
    calm=$(window "$metrics" "$healthy_at" "$rest_end")
    bench_log "classic: etcd samples in $metrics: $(wc -l <"$metrics")"
    bench_sis_destroy "$sis" "$classic_spec" "$classic_name"
    rm -rf "$work/client"
    sleep "$settle"
    bench_wait_quiet 60

    # Swarm mode.
    bench_write_spec "$swarm_spec" "$swarm_name" "$n" "$swarm_subnet"
    bench_log "swarm mode: $n nodes ($swarm_name, $swarm_subnet)"
    start=$(bench_now)
    swarm_s=fail
    if bench_run INT "$sis" apply "$swarm_spec" --quiet >&2 &&
        bench_wait_ready "$swarm_name" "$n" "$timeout_s"; then
        swarm_s=$(bench_elapsed "$start")
        bench_log "swarm mode: $n Ready after $swarm_s s"
    else
        failed=1
    fi
    bench_sis_destroy "$sis" "$swarm_spec" "$swarm_name"
    results+=("$n $classic_s $swarm_s $wave $calm")
    if [ "$n" != "${sizes[-1]}" ]; then
        sleep "$settle"
        bench_wait_quiet 60
    fi
done

echo "machine: $machine"
echo "etcd (v2 API) during the join wave | at rest ($rest s): requests/s, store ops/s, p99 ms, CPU % of a core"
printf '%4s %10s %9s | %7s %7s %7s %5s | %7s %7s %7s %5s\n' N "classic s" "swarm s" \
    "req/s" "ops/s" "p99" "cpu%" "req/s" "ops/s" "p99" "cpu%"
for r in "${results[@]}"; do
    # shellcheck disable=SC2086 # one field a word
    printf '%4s %10s %9s | %7s %7s %7s %5s | %7s %7s %7s %5s\n' $r
done
exit "$failed"
