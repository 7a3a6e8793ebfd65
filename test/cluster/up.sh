#!/usr/bin/env bash
# Build (or reuse) everything and create (or reuse) the single-node kind cluster the Kubernetes
# tests run against. Prints the kubeconfig path on stdout; everything else goes to stderr.
#   CORTEX_KIND_CACHE         cache dir (default ~/.cache/cortex-kind)
#   CORTEX_KIND_CLUSTER       cluster name (default cortex)
#   CORTEX_KIND_GATEWAY_PORT  host port mapped to the node's NodePort 30888 (default 8888)
#   CORTEX_SHARED_DIR         folder whose models/ is mounted read-only at /cortex/models
set -euo pipefail
. "$(dirname "$0")/lib.sh"
start=$SECONDS

kind="$("$CLUSTER_DIR/build-kind.sh")"
image="$("$CLUSTER_DIR/build-node-image.sh")"
log "artifacts ready in $((SECONDS - start))s: $image"

# kind must reach docker through the shim (see bin/docker for why).
export PATH="$CLUSTER_DIR/bin:$PATH"
kubeconfig="$CACHE/kubeconfig-$CLUSTER_NAME"
node="$CLUSTER_NAME-control-plane"

# The cluster's kind config; a cluster made from another one (or another image) is recreated.
shared="${CORTEX_SHARED_DIR:-/work/shared}"
wanted="$(
  cat <<YAML
# Written by test/cluster/up.sh.
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  # kindnet cannot be pulled here; the node image ships a bridge CNI config instead.
  disableDefaultCNI: true
# One control plane on a machine shared with other builds: etcd's fsyncs stall for seconds, the
# scheduler and controller-manager then lose their leader lease and restart. A test cluster needs
# neither the durability nor the election.
kubeadmConfigPatches:
- |
  kind: ClusterConfiguration
  etcd:
    local:
      extraArgs:
        unsafe-no-fsync: "true"
  controllerManager:
    extraArgs:
      leader-elect: "false"
  scheduler:
    extraArgs:
      leader-elect: "false"
nodes:
- role: control-plane
  extraPortMappings:
  # The gateway's NodePort (src/kube/render.ts) on the host's loopback, as `cortex cluster up` maps it.
  - containerPort: 30888
    hostPort: ${CORTEX_KIND_GATEWAY_PORT:-8888}
    listenAddress: 127.0.0.1
YAML
  if [ -d "$shared/models" ]; then
    cat <<YAML
  extraMounts:
  # The model mirror (CORTEX_MODEL_MIRROR) pods mount as a hostPath.
  - hostPath: $(cd "$shared/models" && pwd)
    containerPath: /cortex/models
    readOnly: true
YAML
  fi
)"
config="$CACHE/kind-config-$CLUSTER_NAME.yaml"

if "$kind" get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  running="$(docker inspect -f '{{.State.Running}} {{.Config.Image}}' "$node" 2>/dev/null || true)"
  if [ "$running" = "true $image" ] && [ -s "$kubeconfig" ] && [ "$(cat "$config" 2>/dev/null)" = "$wanted" ] &&
    docker exec "$node" kubectl --kubeconfig=/etc/kubernetes/admin.conf get --raw /readyz >/dev/null 2>&1; then
    log "reusing cluster $CLUSTER_NAME"
    echo "$kubeconfig"; exit 0
  fi
  log "cluster $CLUSTER_NAME is stale, down or made from another config (${running:-no node}); recreating"
  "$kind" delete cluster --name "$CLUSTER_NAME" --kubeconfig "$kubeconfig" >&2
fi


printf '%s\n' "$wanted" >"$config"
log "creating cluster $CLUSTER_NAME"
create=$SECONDS
"$kind" create cluster --name "$CLUSTER_NAME" --image "$image" --config "$config" \
  --kubeconfig "$kubeconfig" --wait 5m >&2
log "cluster created in $((SECONDS - create))s (up.sh total $((SECONDS - start))s)"
echo "$kubeconfig"
