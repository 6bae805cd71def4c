#!/bin/sh
# Builds localhost/rustory-server:test from Debian packages only, for machines that cannot pull registry images:
# a bookworm base made with debootstrap, this machine's node (>= 20.19; bookworm's nodejs is 18) with its headers
# (better-sqlite3 builds against them when no prebuilt binary can be fetched) and CA bundle (for a proxied npm
# registry), then deploy/Containerfile on top of it. Needs root, debootstrap, podman and runc
# (apt-get install debootstrap podman runc). Run from the repository root.
set -eu
rootfs=${ROOTFS:-/tmp/rustory-rootfs}
# podman inside a container here: cgroups v1 hybrid and capped rlimits (see test/deploy/container.test.ts).
podman_global=${RUSTORY_PODMAN_GLOBAL:---runtime runc --cgroup-manager=cgroupfs}
if [ ! -x "$rootfs/bin/sh" ]; then
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian
fi
node_bin=$(command -v node)
cp "$node_bin" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules" "$rootfs/usr/local/include" "$rootfs/etc/ssl/certs"
rm -rf "$rootfs/usr/local/lib/node_modules/npm" "$rootfs/usr/local/include/node"
cp -r "$(dirname "$(dirname "$(readlink -f "$node_bin")")")/lib/node_modules/npm" "$rootfs/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
cp -r /usr/include/node "$rootfs/usr/local/include/node"
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
chroot "$rootfs" /usr/sbin/useradd -m -u 1000 -U node 2>/dev/null || true
# shellcheck disable=SC2086
tar -C "$rootfs" -c . | podman $podman_global import \
  --change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" \
  --change "ENV npm_config_nodedir=/usr/local" \
  --change "ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" - localhost/rustory-base:bookworm
# shellcheck disable=SC2086
podman $podman_global build --network host --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 \
  --build-arg NODE_IMAGE=localhost/rustory-base:bookworm -f deploy/Containerfile -t localhost/rustory-server:test .
