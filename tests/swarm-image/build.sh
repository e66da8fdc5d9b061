#!/usr/bin/env bash
# Builds the offline classic Swarm image `sis-swarm:test`: `swarm` 1.2.9 (the standalone
# `swarm manage` / `swarm join` of the seed) compiled from the source archive in the shared
# fixtures (never copied into this repository) with Debian's golang-go, as a static binary,
# `docker import`ed with it as the entrypoint. Real users pull `swarm:1.2.9` instead.
# Skipped when an image built from the same recipe and source exists.
#
# Usage: tests/swarm-image/build.sh [IMAGE]   (default: sis-swarm:test)
#        SIS_FIXTURES=DIR overrides where the source archive is (default: ../shared/fixtures
#        beside the repository).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${1:-sis-swarm:test}
fixtures=${SIS_FIXTURES:-$(cd "$here/../../.." && pwd)/shared/fixtures}
source="$fixtures/classicswarm-1.2.9-src.tar.gz"
[ -f "$source" ] || {
    echo "swarm-image: no classic Swarm source at $source (set SIS_FIXTURES)" >&2
    exit 1
}
recipe=$(cat "$here/build.sh" "$source" | sha256sum | cut -c1-16)

if [ "$(docker image inspect -f '{{index .Config.Labels "sis.recipe"}}' "$image" 2>/dev/null)" = "$recipe" ]; then
    echo "swarm image $image is up to date (recipe $recipe)"
    exit 0
fi
command -v go >/dev/null || {
    echo "swarm-image: installing golang-go (Debian)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null 2>&1 || {
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null
    }
}

work=$(mktemp -d /var/tmp/sis-swarm.XXXXXX)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
# GOPATH mode, as the 2016 source expects (its dependencies are vendored).
export GOPATH="$work/go" GOCACHE="$work/cache" GO111MODULE=off CGO_ENABLED=0
mkdir -p "$GOPATH/src/github.com/docker"
tar xzf "$source" -C "$GOPATH/src/github.com/docker"
mv "$GOPATH/src/github.com/docker/classicswarm-1.2.9" "$GOPATH/src/github.com/docker/swarm"
(cd "$GOPATH/src/github.com/docker/swarm" && go build -tags netgo -ldflags "-w -s" -o "$work/swarm" .)
mkdir -p "$work/rootfs/usr/bin" "$work/rootfs/tmp"
install -m 0755 "$work/swarm" "$work/rootfs/usr/bin/swarm"
tar -C "$work/rootfs" -c . | docker import \
    -c 'ENTRYPOINT ["/usr/bin/swarm"]' \
    -c "LABEL sis.recipe=$recipe" \
    - "$image" >/dev/null
echo "built $image in $(( $(date +%s) - start )) s ($("$work/swarm" --version))"
