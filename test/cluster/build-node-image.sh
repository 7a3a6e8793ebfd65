#!/usr/bin/env bash
# The kind node image, laid out as kind's images/base + pkg/build/nodeimage lay theirs out:
#   1. base: our Debian rootfs plus the node files in ./node (units, containerd and CNI config,
#      entrypoint), with systemd trimmed to what a node in a container needs;
#   2. Kubernetes: kubelet/kubeadm/kubectl in /usr/bin and /kind/version, which kind reads;
#   3. images: the control-plane images imported into containerd's k8s.io namespace (pinned where
#      containerd can pin), so kubeadm never pulls (these machines cannot).
# Prints the image tag, cortex-kind/node:<key>, and reuses it when its inputs have not changed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

rootfs="$("$CLUSTER_DIR/build-rootfs.sh")"
k8s="$("$CLUSTER_DIR/build-kubernetes.sh")"
images="$("$CLUSTER_DIR/build-images.sh")"

# The node files by their path inside test/cluster, so that a checkout elsewhere (CI's clean clone) has the same key.
key="$( { content_key "$0"; echo "$rootfs $k8s $images"; (cd "$CLUSTER_DIR" && find node -type f | sort | xargs sha256sum); } | sha256sum | cut -c1-16)"
tag="cortex-kind/node:$key"
if docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag"; exit 0; fi

base="cortex-kind/rootfs:$(basename "$rootfs" .tar)"
docker image inspect "$base" >/dev/null 2>&1 || { log "importing rootfs"; docker import "$rootfs" "$base" >/dev/null; }

ctx="$CACHE/work/node-$key"
rm -rf "$ctx"; mkdir -p "$ctx/bin"
cp -a "$CLUSTER_DIR/node" "$ctx/files"
cp "$k8s"/{kubelet,kubeadm,kubectl} "$ctx/bin/"
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $base
COPY files/ /
COPY bin/ /usr/bin/
# systemd in a container: no udev, no getty, no tmpfiles wiping /tmp mounts, no kernel log
# reading (kind's base image trims the same); then the three units a node runs.
RUN find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete \\
 && rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \\
    /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \\
    /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/* \\
 && echo "ReadKMsg=no" >>/etc/systemd/journald.conf \\
 && ln -sf /lib/systemd/systemd /sbin/init \\
 && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \\
 && systemctl mask systemd-binfmt.service \\
 && mkdir -p /etc/kubernetes/manifests /opt/cni \\
 && ln -s /usr/lib/cni /opt/cni/bin \\
 && echo "$K8S_VERSION" >/kind/version
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
DOCKERFILE
log "building node base"
docker_build "cortex-kind/node-base:$key" "$ctx"

# Import the images with the node's own containerd, as kind's nodeimage build does, then commit.
log "importing control-plane images into the node's containerd"
name="cortex-kind-build-$key"
docker rm -f "$name" >/dev/null 2>&1 || true
docker run -d --name "$name" --entrypoint sleep -v "$images:/kind/images.tar:ro" "cortex-kind/node-base:$key" infinity >/dev/null
docker exec "$name" bash -euc '
  nohup containerd >/tmp/containerd.log 2>&1 &
  for i in $(seq 1 30); do ctr version >/dev/null 2>&1 && break; sleep 1; done
  # containerd 1.7+ honours the pinned label (kubelet never garbage-collects those images); 1.6
  # has no pinning, and kind'"'"'s kubelet config (imageGCHighThresholdPercent: 100) keeps them anyway.
  pin=(); ctr images import --help 2>&1 | grep -q -- --label && pin=(--label=io.cri-containerd.pinned=pinned)
  ctr -n k8s.io images import --all-platforms --no-unpack "${pin[@]}" /kind/images.tar >/dev/null
  ctr -n k8s.io images list -q >&2
  pkill containerd; sleep 1
  rm -rf /tmp/* /var/log/*.log
'
docker commit \
  --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
  "$name" "$tag" >/dev/null
docker rm -f "$name" >/dev/null
docker rmi "cortex-kind/node-base:$key" >/dev/null 2>&1 || true
rm -rf "$ctx"
# Older node images go too, unless a cluster still runs on one.
docker images --format '{{.Repository}}:{{.Tag}}' cortex-kind/node | grep -vx "$tag" | xargs -r docker rmi >/dev/null 2>&1 || true
docker images --format '{{.Repository}}:{{.Tag}}' cortex-kind/rootfs | grep -vx "$base" | xargs -r docker rmi >/dev/null 2>&1 || true
log "node image $tag"
echo "$tag"
