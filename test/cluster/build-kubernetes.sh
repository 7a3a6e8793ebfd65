#!/usr/bin/env bash
# Builds the Kubernetes binaries the node needs from the k8s.io/kubernetes module on the Go module
# proxy (no git, no dl.k8s.io). k8s.io/kubernetes' own go.mod points every k8s.io/* staging module
# at ./staging/..., which a module dependency cannot use, so a wrapper module replaces each with
# its published v0.34.x. Static (CGO_ENABLED=0) so the same files run in the node and in the
# control-plane images' empty rootfs. Output: $CACHE/kubernetes/<key>/{kubelet,kubeadm,...}
set -euo pipefail
. "$(dirname "$0")/lib.sh"

key="$(content_key "$0")"
out="$CACHE/kubernetes/$key"
if [ -x "$out/kubeadm" ] && [ -f "$out/.done" ]; then echo "$out"; exit 0; fi

work="$CACHE/work/kubernetes-$key"
mkdir -p "$work" "$out"
cd "$work"

staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
  cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
  kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
  mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller)
{
  echo "module cortex.test/kubernetes-build"
  echo
  echo "go 1.25.0"
  echo
  # k8s.io/kubernetes' own go.mod builds with Go 1.24's GODEBUG defaults; keep them.
  echo "godebug default=go1.24"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  for m in "${staging[@]}"; do echo "	k8s.io/$m => k8s.io/$m $K8S_STAGING_VERSION"; done
  echo ")"
} > go.mod

# What `kubeadm version` and the apiserver report; kubeadm refuses a v0.0.0-master build.
minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
vars=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  vars+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  vars+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=0000000000000000000000000000000000000000"
  vars+=" -X $pkg.buildDate=2026-01-01T00:00:00Z"
done

cmds=(kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)
pkgs=(); for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done

log "resolving k8s.io/kubernetes $K8S_VERSION"
# Pin the module: a bare `go get` of its packages would move to the newest k8s.io/kubernetes.
GOFLAGS=-mod=mod go get "k8s.io/kubernetes@$K8S_VERSION"
log "building ${cmds[*]} (tens of minutes cold on 2 cores)"
# One invocation so the packages the binaries share compile once.
CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 19 go build -trimpath -ldflags "-s -w$vars" -o "$out/" "${pkgs[@]}"
touch "$out/.done"
prune_others "$CACHE/kubernetes" "$key"
log "kubernetes binaries in $out"
echo "$out"
