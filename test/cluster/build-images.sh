#!/usr/bin/env bash
# The images kubeadm runs the control plane from, tagged exactly as `kubeadm config images list`
# prints them for our version, plus the pause image containerd uses for every pod sandbox.
# Each is a docker import of a tiny rootfs holding one static binary, except kube-proxy, which
# shells out to iptables/conntrack and so sits on the node's Debian rootfs.
# Output: $CACHE/images/<key>.tar (docker save of all of them), ready for `ctr images import`.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

k8s="$("$CLUSTER_DIR/build-kubernetes.sh")"
etcd="$("$CLUSTER_DIR/build-etcd.sh")"
coredns="$("$CLUSTER_DIR/build-coredns.sh")"
pause="$("$CLUSTER_DIR/build-pause.sh")"
rootfs="$("$CLUSTER_DIR/build-rootfs.sh")"

key="$( { content_key "$0"; echo "$k8s $etcd $coredns $pause $rootfs"; } | sha256sum | cut -c1-16)"
out="$CACHE/images/$key.tar"
if [ -f "$out" ]; then echo "$out"; exit 0; fi
mkdir -p "$(dirname "$out")"

# import_binary TAG BINARY DEST ENTRYPOINT_JSON: an image whose rootfs is BINARY at DEST.
import_binary() {
  local tag=$1 bin=$2 dest=$3 entrypoint=$4 dir
  dir="$(mktemp -d)"
  install -D -m 0755 "$bin" "$dir$dest"
  mkdir -p "$dir/tmp" "$dir/etc"; chmod 1777 "$dir/tmp"
  echo 'root:x:0:0:root:/root:/sbin/nologin' >"$dir/etc/passwd"
  tar -C "$dir" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change "ENTRYPOINT $entrypoint" - "$tag" >/dev/null
  rm -rf "$dir"
}

# The list kubeadm itself gives for this version: apiserver, controller-manager, scheduler,
# proxy, coredns, pause, etcd.
mapfile -t wanted < <("$k8s/kubeadm" config images list --kubernetes-version "$K8S_VERSION" 2>/dev/null)
log "kubeadm wants: ${wanted[*]}"
tags=()
for image in "${wanted[@]}"; do
  name="${image%:*}"; name="${name##*/}"
  case "$name" in
    kube-apiserver | kube-controller-manager | kube-scheduler)
      import_binary "$image" "$k8s/$name" "/usr/local/bin/$name" "[\"/usr/local/bin/$name\"]" ;;
    kube-proxy)
      # Based on the node rootfs for iptables-restore, conntrack and friends.
      base="cortex-kind/rootfs:$(basename "$rootfs" .tar)"
      docker image inspect "$base" >/dev/null 2>&1 || docker import "$rootfs" "$base" >/dev/null
      ctx="$(mktemp -d)"; cp "$k8s/kube-proxy" "$ctx/"
      printf 'FROM %s\nCOPY kube-proxy /usr/local/bin/kube-proxy\nENTRYPOINT ["/usr/local/bin/kube-proxy"]\n' "$base" >"$ctx/Dockerfile"
      docker_build "$image" "$ctx"
      rm -rf "$ctx" ;;
    etcd) import_binary "$image" "$etcd" /usr/local/bin/etcd '["/usr/local/bin/etcd"]' ;;
    coredns) import_binary "$image" "$coredns" /coredns '["/coredns"]' ;;
    pause) import_binary "$image" "$pause" /pause '["/pause"]' ;;
    *) log "no recipe for $image"; exit 1 ;;
  esac
  tags+=("$image")
done
docker save -o "$out.tmp" "${tags[@]}"
mv "$out.tmp" "$out"
# The tarball is the artifact; the registry.k8s.io names need not linger in this host's docker.
docker rmi "${tags[@]}" >/dev/null
printf '%s\n' "${tags[@]}" >"$out.list"
prune_others "$CACHE/images" "$key.tar"
echo "$out"
