#!/usr/bin/env bash
# CoreDNS for the cluster DNS addon kubeadm installs (its Deployment must find the image, or
# the cluster has no DNS). Built from the module proxy through a small main that links only the
# plugins kubeadm's Corefile uses (plus log, hosts, rewrite), not CoreDNS's full set with its
# cloud SDKs: the same server, minutes less to compile cold.
# Output: $CACHE/coredns/<key>/coredns
set -euo pipefail
. "$(dirname "$0")/lib.sh"

key="$(content_key "$0")"
out="$CACHE/coredns/$key"
if [ -x "$out/coredns" ]; then echo "$out/coredns"; exit 0; fi

work="$CACHE/work/coredns-$key"
mkdir -p "$work" "$out"
cd "$work"
printf 'module cortex.test/coredns-build\n\ngo 1.24\n' >go.mod
cat >main.go <<'GO'
// CoreDNS with the plugins of kubeadm's Corefile: errors, health, ready, kubernetes,
// prometheus, forward, cache, loop, reload, loadbalance.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/rewrite"
)

func main() { coremain.Run() }
GO
log "building coredns $COREDNS_MODULE_VERSION"
GOFLAGS=-mod=mod go get "github.com/coredns/coredns@$COREDNS_MODULE_VERSION"
CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 19 go build -trimpath -ldflags "-s -w" -o "$out/coredns" .
prune_others "$CACHE/coredns" "$key"
echo "$out/coredns"
