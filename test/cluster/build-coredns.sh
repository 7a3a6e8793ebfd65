#!/usr/bin/env bash
# CoreDNS for the cluster DNS addon kubeadm installs (its Deployment must find the image, or
# the node never runs it). Built from the module proxy; its module root is package main.
# Output: $CACHE/coredns/<version>/coredns
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out="$CACHE/coredns/$COREDNS_MODULE_VERSION"
if [ -x "$out/coredns" ]; then echo "$out/coredns"; exit 0; fi
mkdir -p "$out"
log "go install github.com/coredns/coredns@$COREDNS_MODULE_VERSION"
CGO_ENABLED=0 GOBIN="$out" GOFLAGS=-trimpath nice -n 19 go install -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_MODULE_VERSION"
echo "$out/coredns"
