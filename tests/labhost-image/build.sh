#!/usr/bin/env bash
# Builds the lab host image `sis-labhost:test` for `sis lab up --ssh`: the node image
# (tests/node-image/build.sh) plus openssh-server from Debian's mirror, and an entrypoint that
# starts sshd before dockerd. Only lab hosts run it; nodes keep the node image. Skipped when
# an image built from the same recipe and node image exists.
#
# Usage: tests/labhost-image/build.sh [IMAGE] [NODE_IMAGE]
#        (defaults: sis-labhost:test sis-node:test)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${1:-sis-labhost:test}
base=${2:-sis-node:test}
base_id=$(docker image inspect -f '{{.Id}}' "$base")
recipe=$( (cat "$here/build.sh" "$here/entrypoint.sh"; echo "$base_id") | sha256sum | cut -c1-16)

if [ "$(docker image inspect -f '{{index .Config.Labels "sis.recipe"}}' "$image" 2>/dev/null)" = "$recipe" ]; then
    echo "lab host image $image is up to date (recipe $recipe)"
    exit 0
fi
echo "building $image from $base (recipe $recipe)"
start=$(date +%s)
context=$(mktemp -d /var/tmp/sis-labhost.XXXXXX)
trap 'rm -rf "$context"' EXIT
cp "$here/entrypoint.sh" "$context/"
cat >"$context/Dockerfile" <<DOCKERFILE
FROM $base
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server >/dev/null \
 && rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_*
COPY entrypoint.sh /usr/local/bin/sis-labhost-entrypoint
ENTRYPOINT ["/usr/local/bin/sis-labhost-entrypoint"]
LABEL sis.recipe=$recipe
DOCKERFILE
chmod 0755 "$context/entrypoint.sh"
docker build -q -t "$image" "$context" >/dev/null
echo "built $image in $(( $(date +%s) - start )) s"
