#!/bin/sh
# A lab host with --ssh: sshd with the lab's host key and authorized key (mounted read-only
# at /etc/sis-lab/ssh by `sis lab up --ssh`), then the node image's entrypoint (dockerd).
set -e
keys=/etc/sis-lab/ssh
if [ -f "$keys/ssh_host_ed25519_key" ]; then
    mkdir -p /run/sshd
    /usr/sbin/sshd \
        -o HostKey="$keys/ssh_host_ed25519_key" \
        -o AuthorizedKeysFile="$keys/authorized_keys" \
        -o PasswordAuthentication=no \
        -o KbdInteractiveAuthentication=no \
        -o PermitRootLogin=prohibit-password \
        -o UseDNS=no
fi
exec /usr/local/bin/sis-node-entrypoint "$@"
