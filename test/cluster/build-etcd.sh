#!/usr/bin/env bash
# etcd for the control plane's static pod. go.etcd.io/etcd/server/v3's go.mod replaces its sibling
# modules with ../ paths, so `go install` refuses it; a tiny main module that calls etcdmain.Main
# builds the same server from the published modules. Output: $CACHE/etcd/<key>/etcd
set -euo pipefail
. "$(dirname "$0")/lib.sh"

key="$(content_key "$0")"
out="$CACHE/etcd/$key"
if [ -x "$out/etcd" ]; then echo "$out/etcd"; exit 0; fi

work="$CACHE/work/etcd-$key"
mkdir -p "$work" "$out"
cd "$work"
cat > go.mod <<MOD
module cortex.test/etcd-build

go 1.24
MOD
cat > main.go <<'GO'
// etcd, exactly as upstream's own main does it.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
log "building etcd $ETCD_MODULE_VERSION"
GOFLAGS=-mod=mod go get "go.etcd.io/etcd/server/v3@$ETCD_MODULE_VERSION"
CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 19 go build -trimpath -ldflags "-s -w" -o "$out/etcd" .
echo "$out/etcd"
