#!/usr/bin/env bash
# Builds the tiny offline workload image `sis-workload:test` (~2 MB): Debian's static busybox
# and nothing else, `docker import`ed with `sleep 3600` as its command. The tests preload it
# into swarm2's nodes (`swarm2.preload`) and run services of it there, with no registry.
# Skipped when an image built from the same recipe exists.
#
# Usage: tests/workload-image/build.sh [IMAGE]   (default: sis-workload:test)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${1:-sis-workload:test}
recipe=$(sha256sum <"$here/build.sh" | cut -c1-16)

if [ "$(docker image inspect -f '{{index .Config.Labels "sis.recipe"}}' "$image" 2>/dev/null)" = "$recipe" ]; then
    echo "workload image $image is up to date (recipe $recipe)"
    exit 0
fi

work=$(mktemp -d /var/tmp/sis-workload.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
# Needs the package lists; `apt-get update` first on a fresh machine.
apt-get download -qq busybox-static 2>/dev/null || {
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt-get download -qq busybox-static 2>/dev/null
}
dpkg-deb -x busybox-static_*.deb pkg
mkdir -p rootfs/bin rootfs/tmp
install -m 0755 pkg/bin/busybox rootfs/bin/busybox
for applet in $(rootfs/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "rootfs/bin/$applet"
done
tar -C rootfs -c . | docker import \
    -c 'ENV PATH=/bin' \
    -c 'CMD ["sleep", "3600"]' \
    -c "LABEL sis.recipe=$recipe" \
    - "$image" >/dev/null
echo "built $image (recipe $recipe)"
