#!/usr/bin/env bash
# Builds the offline K/V store image `sis-etcd:test` (~40 MB): the etcd binary of Debian's
# `etcd-server` package (3.4, which still serves the v2 API that dockerd's and classic
# Swarm's libkv use, with --enable-v2), the C library it links and the loader, `docker
# import`ed with etcd as its entrypoint. Real users pull an etcd or consul image instead.
# Skipped when an image built from the same recipe exists.
#
# Usage: tests/etcd-image/build.sh [IMAGE]   (default: sis-etcd:test)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${1:-sis-etcd:test}
recipe=$(sha256sum <"$here/build.sh" | cut -c1-16)

if [ "$(docker image inspect -f '{{index .Config.Labels "sis.recipe"}}' "$image" 2>/dev/null)" = "$recipe" ]; then
    echo "etcd image $image is up to date (recipe $recipe)"
    exit 0
fi

work=$(mktemp -d /var/tmp/sis-etcd.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
# Only the package's files, not an installed service: `apt-get download` + `dpkg-deb -x`.
apt-get download -qq etcd-server 2>/dev/null || {
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt-get download -qq etcd-server 2>/dev/null
}
dpkg-deb -x etcd-server_*.deb pkg
mkdir -p rootfs/usr/bin rootfs/tmp rootfs/var/lib/etcd
install -m 0755 pkg/usr/bin/etcd rootfs/usr/bin/etcd
# The libraries ldd names (libc and the loader), at the paths the binary asks for.
for lib in $(ldd pkg/usr/bin/etcd | grep -o '/[^ ]*'); do
    mkdir -p "rootfs$(dirname "$lib")"
    cp -L "$lib" "rootfs$lib"
done
tar -C rootfs -c . | docker import \
    -c 'ENTRYPOINT ["/usr/bin/etcd"]' \
    -c 'VOLUME /var/lib/etcd' \
    -c "LABEL sis.recipe=$recipe" \
    - "$image" >/dev/null
echo "built $image (recipe $recipe, $(pkg/usr/bin/etcd --version | head -1))"
