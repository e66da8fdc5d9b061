#!/bin/sh
# Entrypoint of the offline sis node image (sis-node:test).
#
# Without --privileged the cgroup v1 hierarchies are mounted read-only in the
# container, and containers inside the node then fail to create their cgroups.
# Remounting each hierarchy read-write (a plain `remount,rw` fails with EBUSY)
# makes the node work with the capability profile as well as when privileged.
set -e
if [ -d /sys/fs/cgroup ] && ! [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    for dir in /sys/fs/cgroup/*; do
        [ -d "$dir" ] || continue
        controller=${dir##*/}
        [ -L "$dir" ] && continue
        if ! touch "$dir/.sis-rw" 2>/dev/null; then
            opts=$controller
            [ "$controller" = systemd ] && opts=none,name=systemd
            umount "$dir" 2>/dev/null || true
            mount -t cgroup -o "$opts" cgroup "$dir" 2>/dev/null || true
        else
            rm -f "$dir/.sis-rw"
        fi
    done
fi
# A node stopped uncleanly (docker kill, host crash) leaves pid files behind, and dockerd
# refuses to start next to a stale one: remove them, as docker:dind does.
find /run /var/run -iname 'docker*.pid' -delete 2>/dev/null || true
find /run /var/run -iname 'containerd*.pid' -delete 2>/dev/null || true

# Only the unix socket: with a TCP listener and no TLS, dockerd 20.10 sleeps
# 15 s at start-up. sis talks to nodes through `docker exec`.
exec dockerd --host=unix:///var/run/docker.sock "$@"
