#!/usr/bin/env bash
# Builds the offline node image `sis-node:test` (Debian bookworm + docker.io)
# without any registry: debootstrap from Debian's package mirror, then
# `docker import`. Skipped when an image built from the same recipe exists.
#
# Usage: tests/node-image/build.sh [IMAGE]   (default: sis-node:test)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${1:-sis-node:test}
recipe=$(cat "$here/build.sh" "$here/entrypoint.sh" | sha256sum | cut -c1-16)

if [ "$(docker image inspect -f '{{index .Config.Labels "sis.recipe"}}' "$image" 2>/dev/null)" = "$recipe" ]; then
    echo "node image $image is up to date (recipe $recipe)"
    exit 0
fi
command -v debootstrap >/dev/null || {
    echo "installing debootstrap" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

rootfs=$(mktemp -d /var/tmp/sis-node-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "building $image (recipe $recipe) in $rootfs"
start=$(date +%s)
debootstrap --variant=minbase \
    --include=docker.io,iptables,iproute2,procps,ca-certificates \
    bookworm "$rootfs" >"$rootfs.log" 2>&1 || { tail -20 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
install -m 0755 "$here/entrypoint.sh" "$rootfs/usr/local/bin/sis-node-entrypoint"
tar -C "$rootfs" -c . | docker import \
    -c 'ENTRYPOINT ["/usr/local/bin/sis-node-entrypoint"]' \
    -c 'VOLUME /var/lib/docker' \
    -c "LABEL sis.recipe=$recipe" \
    - "$image" >/dev/null
echo "built $image in $(( $(date +%s) - start )) s"
