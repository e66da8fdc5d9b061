# shellcheck shell=bash
# Helpers shared by the benchmark scripts; sourced, not run.
# Everything here uses the docker CLI against the local engine (DOCKER_HOST if set).

# The node image and the capability profile (this kernel refuses --privileged; see README.md).
BENCH_IMAGE=${BENCH_IMAGE:-sis-node:test}
# shellcheck disable=SC2034 # used by naive.sh
BENCH_PROFILE=(
    --cap-add ALL --cap-drop SYS_RESOURCE
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined
    --security-opt systempaths=unconfined
    --device-cgroup-rule 'a *:* rwm'
)

bench_now() { date +%s.%N; }

# bench_elapsed START → seconds since START, one decimal.
bench_elapsed() { awk -v a="$1" -v b="$(bench_now)" 'BEGIN { printf "%.1f", b - a }'; }

bench_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Containers of a cluster (label sis.cluster=NAME), by name in index order.
bench_containers() {
    docker ps -a --filter "label=sis.cluster=$1" --format '{{.Names}}' | sort -V
}

# Running dind nodes of a cluster: sis labels them sis.role=node; naive.sh sets no role.
bench_nodes() {
    docker ps --filter "label=sis.cluster=$1" --format '{{.Names}} {{.Label "sis.role"}}' |
        awk '$2 == "" || $2 == "node" { print $1 }' | sort -V
}

# bench_swarm2_status CLUSTER → "READY TOTAL" of swarm2's node list, asked of the first node
# that answers `docker node ls` (a manager); "0 0" when none does. One exec per node tried.
bench_swarm2_status() {
    local node out
    for node in $(bench_nodes "$1"); do
        if out=$(docker exec "$node" docker node ls --format '{{.Status}}' 2>/dev/null); then
            awk '$1 == "Ready" { r++ } END { printf "%d %d\n", r, NR }' <<<"$out"
            return 0
        fi
    done
    echo "0 0"
}

# bench_wait_all WHO STATE N TIMEOUT_S CMD [ARG...] → 0 once CMD prints "GOOD TOTAL" with both
# N (N listed, all in STATE), 1 after TIMEOUT_S, saying what WHO listed. Polls every 2 s.
bench_wait_all() {
    local who=$1 state=$2 want=$3 timeout=$4 deadline=$((SECONDS + $4)) good total
    shift 4
    while :; do
        read -r good total < <("$@")
        [ "$good" -eq "$want" ] && [ "$total" -eq "$want" ] && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            bench_log "$who: $good $state of $total listed, wanted $want (gave up after $timeout s)"
            return 1
        fi
        sleep 2
    done
}

# bench_wait_ready CLUSTER N TIMEOUT_S → 0 once swarm2 lists N Ready nodes (and no others),
# 1 after TIMEOUT_S. Each poll is a `docker exec`, which is not free.
bench_wait_ready() {
    bench_wait_all "swarm2 of $1" Ready "$2" "$3" bench_swarm2_status "$1"
}

# bench_remove_cluster CLUSTER [NETWORK] — removes the cluster's containers with their
# anonymous volumes (/var/lib/docker of each node), then the network. Quiet, never fails.
bench_remove_cluster() {
    local cluster=$1 network=${2:-} ids _
    ids=$(docker ps -aq --filter "label=sis.cluster=$cluster")
    if [ -n "$ids" ]; then
        # shellcheck disable=SC2086 # one id a word
        printf '%s\n' $ids | xargs -r -n 50 docker rm -f -v >/dev/null 2>&1 || true
    fi
    [ -n "$network" ] || return 0
    # A swarm-scoped network cannot be removed for a moment after its last container is gone,
    # and stays listed for a moment after it was removed.
    for _ in $(seq 1 30); do
        [ -z "$(docker network ls -q --filter "name=^$network\$")" ] && return 0
        docker network rm "$network" >/dev/null 2>&1 || true
        sleep 1
    done
    bench_log "could not remove network $network; remove it with: docker network rm $network"
}

# The local engine must be in a swarm (swarm1) for attachable overlay networks.
bench_ensure_swarm1() {
    local state
    state=$(docker info --format '{{.Swarm.LocalNodeState}}')
    [ "$state" = active ] && return 0
    bench_log "the local engine is in no swarm: swarm init --advertise-addr 127.0.0.1"
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null
}

# One line about the machine: nproc, memory, kernel, docker version.
bench_machine() {
    local mem
    mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    printf '%s cores, %s, kernel %s, docker %s' "$(nproc)" "$mem" "$(uname -r)" \
        "$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"
}

# bench_cpu_sample → "BUSY TOTAL" jiffies of all cores from /proc/stat (idle = idle + iowait;
# guest time is already inside user time, so only the first eight fields count).
bench_cpu_sample() {
    awk '/^cpu / { t = $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; print t - $5 - $6, t; exit }' /proc/stat
}

# bench_busy_fraction "BUSY0 TOTAL0" "BUSY1 TOTAL1" → busy share of all cores between the samples.
bench_busy_fraction() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        dt = y[2] - x[2]
        printf "%.3f", (dt > 0 ? (y[1] - x[1]) / dt : 0)
    }'
}

# bench_wait_quiet [MAX_SECONDS] → waits until the machine used under 10 % of its cores over
# 5 s (the kernel and dockerd go on tearing down a removed cluster's namespaces and volumes
# for a while), at most MAX_SECONDS (default 180); logs how long it waited.
bench_wait_quiet() {
    local max=${1:-180} start=$SECONDS a busy
    while :; do
        a=$(bench_cpu_sample)
        sleep 5
        busy=$(bench_busy_fraction "$a" "$(bench_cpu_sample)")
        if awk -v b="$busy" 'BEGIN { exit !(b < 0.10) }'; then
            bench_log "quiet after $((SECONDS - start)) s (busy $busy)"
            return 0
        fi
        if [ $((SECONDS - start)) -ge "$max" ]; then
            bench_log "warning: still busy ($busy) after $max s; going on"
            return 0
        fi
    done
}

# Other containers on the engine: a benchmark on a busy machine measures the neighbours too.
bench_warn_if_busy() {
    local others load
    others=$(docker ps -q | wc -l)
    load=$(cut -d' ' -f1 /proc/loadavg)
    if [ "$others" -gt 0 ] || awk -v l="$load" 'BEGIN { exit !(l >= 0.5) }'; then
        bench_log "warning: the machine is not quiet ($others containers running, load $load);" \
            "the numbers will include that work"
    fi
}

# bench_sis PATH-TO-REPO → path of the release sis binary, built if missing (or $BENCH_SIS).
bench_sis() {
    local repo=$1 bin=$1/target/release/sis
    # BENCH_SIS names another binary (a debug build, an older one to compare with).
    if [ -n "${BENCH_SIS:-}" ]; then
        echo "$BENCH_SIS"
        return
    fi
    if [ ! -x "$bin" ]; then
        bench_log "building $bin (cargo build --release -p sis)"
        (cd "$repo" && cargo build --release -p sis >&2)
    fi
    echo "$bin"
}

# Children run in process groups of their own (setsid: a script's background job is no group
# leader, so setsid does not fork and $! is the group), so that Ctrl-C on the terminal reaches
# only the benchmark script, which then stops the child deliberately: sis wants one SIGINT to
# finish its running actions and release its lock (a second one makes it exit at once),
# naive.sh wants SIGTERM (a background script ignores SIGINT).
bench_child=
bench_child_signal=TERM

# bench_run SIGNAL CMD… → runs CMD in its own process group and waits; SIGNAL stops it.
bench_run() {
    local rc=0
    bench_child_signal=$1
    shift
    setsid "$@" &
    bench_child=$!
    wait "$bench_child" || rc=$?
    bench_child=
    return "$rc"
}

# Stops the running child, if any: its signal, up to 60 s to finish, then SIGKILL.
bench_stop_child() {
    local pid=$bench_child _
    [ -n "$pid" ] || return 0
    bench_child=
    kill -"$bench_child_signal" -- "-$pid" 2>/dev/null || return 0
    for _ in $(seq 1 120); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# bench_remove_stale — removes what earlier benchmark runs left behind when they were killed
# hard: clusters and networks named bench-{naive,sis,cap,destroy,classic,swarm}-PID whose PID is gone.
bench_remove_stale() {
    local name pid
    {
        docker ps -a --filter label=sis.cluster --format '{{.Label "sis.cluster"}}'
        docker network ls --format '{{.Name}}'
    } | sort -u | while read -r name; do
        [[ $name =~ ^bench-(naive|sis|cap|destroy|classic|swarm)-([0-9]+)$ ]] || continue
        pid=${BASH_REMATCH[2]}
        kill -0 "$pid" 2>/dev/null && continue
        bench_log "removing $name, left behind by an earlier run (pid $pid is gone)"
        bench_remove_cluster "$name" "$name" </dev/null
    done
}

# bench_sis_destroy SIS SPEC CLUSTER — sis destroy; after a run that was stopped hard, unlock
# first. Whatever sis leaves, the labels find.
bench_sis_destroy() {
    local sis=$1 spec=$2 cluster=$3
    if [ -x "$sis" ] && [ -f "$spec" ]; then
        "$sis" destroy "$spec" --quiet >&2 ||
            { "$sis" unlock "$spec" >&2 && "$sis" destroy "$spec" --quiet >&2; } ||
            bench_log "sis destroy failed; removing $cluster by its labels"
    fi
    bench_remove_cluster "$cluster" "$cluster"
}

# bench_write_spec FILE CLUSTER NODES SUBNET — a one-host spec for the local engine; the
# network is named after the cluster. Same node profile as naive.sh.
bench_write_spec() {
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
  addresses_per_host: $(( $3 > 128 ? $3 : 128 ))
swarm2:
  mode: swarm
  managers: 1
  image: $BENCH_IMAGE
  privileged: false
  cap_drop: [SYS_RESOURCE]
SPEC
}
