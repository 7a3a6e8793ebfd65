# Shared by every step in test/cluster: the versions we build, where the cache lives, and a
# content key so a step reruns only when its inputs (these versions, its own script) change.
# Source it; it sets no shell options of its own.

KIND_VERSION=v0.30.0          # kind's go.mod-installable CLI; its releases support v1.34 nodes
K8S_VERSION=v1.34.12          # k8s.io/kubernetes module; staging modules are v0.34.12
K8S_STAGING_VERSION=v0.34.12
ETCD_MODULE_VERSION=v3.6.5    # go.etcd.io/etcd/server/v3 that we build; tagged as kubeadm asks
COREDNS_MODULE_VERSION=v1.12.1
DEBIAN_SUITE=bookworm

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${CORTEX_KIND_CACHE:-$HOME/.cache/cortex-kind}"
CLUSTER_NAME="${CORTEX_KIND_CLUSTER:-cortex}"
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"

log() { printf '[cluster %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# content_key FILE... : a short hash of the versions above and the given files.
content_key() {
  { grep -E '^[A-Z_]+_VERSION=|^DEBIAN_SUITE=' "$CLUSTER_DIR/lib.sh"; cat "$@"; } | sha256sum | cut -c1-16
}

# docker_build TAG DIR: a classic (non-BuildKit) docker build, quiet unless it fails. No registry
# is involved: every FROM here is an image this machine already has.
docker_build() {
  local out
  if ! out="$(DOCKER_BUILDKIT=0 docker build -q -t "$1" "$2" 2>&1)"; then
    printf '%s\n' "$out" >&2; return 1
  fi
}

# prune_others DIR KEEP: drop the cached builds in DIR other than KEEP (a file or folder name),
# so that changing a version or a script does not leave gigabytes behind.
prune_others() {
  find "$1" -mindepth 1 -maxdepth 1 ! -name "$2" ! -name "$2.*" -exec rm -rf {} + 2>/dev/null || true
}
