#!/usr/bin/env bash
# Builds eksctl from the Go module proxy (no GitHub release download), so the tests can have
# eksctl itself validate the ClusterConfig that src/cloud renders. eksctl's go.mod pins every
# k8s.io/* module with replace directives, which `go install pkg@version` refuses, so a wrapper
# module requires eksctl and repeats those replaces (with upstream's `cluster-bootstrapv` typo
# fixed). Prints the binary's path on stdout; everything else goes to stderr.
# Output: ${CORTEX_EKSCTL_CACHE:-~/.cache/cortex-eksctl}/<key>/eksctl
set -euo pipefail

EKSCTL_MODULE=github.com/weaveworks/eksctl   # the path its go.mod declares (the repo moved to eksctl-io)
EKSCTL_VERSION=v0.215.0
CACHE="${CORTEX_EKSCTL_CACHE:-$HOME/.cache/cortex-eksctl}"
export PATH="$PATH:/usr/local/go/bin"

log() { printf '[eksctl %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

key="$( { echo "$EKSCTL_VERSION"; cat "$0"; } | sha256sum | cut -c1-16)"
out="$CACHE/$key"
if [ -x "$out/eksctl" ] && [ -f "$out/.done" ]; then echo "$out/eksctl"; exit 0; fi
command -v go >/dev/null || { log "go is not installed: https://go.dev/dl/"; exit 1; }

work="$CACHE/work-$key"
mkdir -p "$work" "$out"
cd "$work"

log "resolving $EKSCTL_MODULE@$EKSCTL_VERSION"
upstream="$(GOFLAGS=-mod=mod go mod download -json "$EKSCTL_MODULE@$EKSCTL_VERSION" |
  sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
[ -f "$upstream" ] || { log "could not download $EKSCTL_MODULE@$EKSCTL_VERSION's go.mod"; exit 1; }
gover="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$upstream")"
{
  echo "module cortex.test/eksctl-build"
  echo
  echo "go $gover"
  echo
  echo "require $EKSCTL_MODULE $EKSCTL_VERSION"
  echo
  # The replace block, each `k8s.io/x => k8s.io/y v` rewritten to `k8s.io/x => k8s.io/x v`.
  awk '/^replace \(/{f=1; print; next} f&&/^\)/{print; f=0; next}
       f&&/=>/{ if ($1 ~ /^k8s\.io\//) { print "\t" $1 " => " $1 " " $4 } else print; next }
       f{print}' "$upstream"
} > go.mod

GOFLAGS=-mod=mod go get "$EKSCTL_MODULE@$EKSCTL_VERSION" >&2
log "building eksctl $EKSCTL_VERSION (several minutes cold on 2 cores)"
start=$(date +%s)
CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 19 go build -trimpath -ldflags "-s -w" -o "$out/eksctl" \
  "$EKSCTL_MODULE/cmd/eksctl"
touch "$out/.done"
log "built in $(( $(date +%s) - start ))s: $out/eksctl"
find "$CACHE" -mindepth 1 -maxdepth 1 ! -name "$key" ! -name "work-$key" -exec rm -rf {} + 2>/dev/null || true
echo "$out/eksctl"
