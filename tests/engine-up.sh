#!/usr/bin/env bash
# Makes sure this machine can run sis and its tests against a real Docker engine:
#  - installs Docker (Debian's docker.io) when dockerd is missing,
#  - starts dockerd when it is not running (log: /var/log/sis-dockerd.log),
#  - builds the offline node image sis-node:test, the workload image sis-workload:test, and
#    for the classic swarm2 mode the K/V store image sis-etcd:test (Debian's etcd-server) and
#    the classic Swarm image sis-swarm:test (built from ../shared/fixtures with golang-go), and
#    the lab host image sis-labhost:test (the node image with sshd, for `sis lab up --ssh`)
#    (each skipped when up to date).
# Idempotent: a second run only checks. Needs root for the install and for dockerd.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v dockerd >/dev/null 2>&1; then
    echo "engine-up: installing docker.io (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker.io iptables debootstrap >/dev/null
fi
# Headless Chromium renders `sis report` pages in the chaos tests.
command -v chromium >/dev/null 2>&1 || {
    echo "engine-up: installing chromium (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
}
# ssh:// endpoints: sis runs the system's ssh; `sis lab up --ssh` makes keys with ssh-keygen.
command -v ssh-keygen >/dev/null 2>&1 || {
    echo "engine-up: installing openssh-client (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq openssh-client >/dev/null
}
command -v debootstrap >/dev/null 2>&1 || {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq debootstrap >/dev/null
}

if ! docker version >/dev/null 2>&1; then
    echo "engine-up: starting dockerd"
    nohup dockerd >/var/log/sis-dockerd.log 2>&1 &
    for _ in $(seq 1 150); do
        docker version >/dev/null 2>&1 && break
        sleep 0.2
    done
    docker version >/dev/null 2>&1 || {
        echo "engine-up: dockerd did not answer within 30 s; its log:" >&2
        tail -30 /var/log/sis-dockerd.log >&2
        exit 1
    }
fi
echo "engine-up: Docker engine $(docker version --format '{{.Server.Version}}') is running"

"$here/node-image/build.sh" sis-node:test
"$here/workload-image/build.sh" sis-workload:test
# Lab hosts with sshd for `sis lab up --ssh` (the node image plus openssh-server).
"$here/labhost-image/build.sh" sis-labhost:test sis-node:test
# The classic swarm2 mode's K/V store and Swarm images, offline.
"$here/etcd-image/build.sh" sis-etcd:test
"$here/swarm-image/build.sh" sis-swarm:test
