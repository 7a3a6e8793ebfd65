#!/usr/bin/env bash
# The node's operating system: a Debian rootfs made by debootstrap from Debian's own mirror (the
# one package source these machines reach), with what kind's base image installs: systemd as
# PID 1, containerd + runc as the CRI, iptables/conntrack/socat/ethtool for kube-proxy and port
# forwarding, mount utilities for volumes, and the CNI plugins for pod networking.
# Output: $CACHE/rootfs/<key>.tar (a plain tarball of /, no Kubernetes in it yet).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

key="$(content_key "$0")"
out="$CACHE/rootfs/$key.tar"
if [ -f "$out" ]; then echo "$out"; exit 0; fi

command -v debootstrap >/dev/null || { log "installing debootstrap"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2; }
# The mirror apt is configured with (deb822 or one-line sources).
mirror="$(grep -hoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | head -1 | tr -d ' ' || true)"
mirror="${mirror:-http://deb.debian.org/debian}"

packages=(
  systemd systemd-sysv dbus          # PID 1 inside the node, as kind runs it
  containerd runc                    # the CRI runtime kubelet talks to (Debian's containerd 1.6)
  containernetworking-plugins        # bridge, host-local, loopback, portmap for our CNI
  iptables nftables conntrack ebtables # kube-proxy and portmap program these
  iproute2 ethtool socat kmod        # kubeadm preflight and kubectl port-forward need them
  util-linux mount                   # mount/nsenter for volumes
  ca-certificates procps jq bash     # kind's own create steps shell out to these
)
root="$CACHE/work/rootfs-$key"
rm -rf "$root"; mkdir -p "$root" "$(dirname "$out")"
log "debootstrap $DEBIAN_SUITE from $mirror"
nice -n 19 debootstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
  "$DEBIAN_SUITE" "$root" "$mirror" >&2
# Apt caches and docs are dead weight in the image.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" --numeric-owner -cf "$out.tmp" .
mv "$out.tmp" "$out"
rm -rf "$root"
prune_others "$CACHE/rootfs" "$key.tar"
echo "$out"
