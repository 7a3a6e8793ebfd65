#!/usr/bin/env bash
# The pod sandbox ("pause") process: it only holds the pod's namespaces open, so it sleeps until
# containerd stops it. Static, so the image is the binary alone. Output: $CACHE/pause/<key>/pause
set -euo pipefail
. "$(dirname "$0")/lib.sh"

key="$(content_key "$0")"
out="$CACHE/pause/$key"
if [ -x "$out/pause" ]; then echo "$out/pause"; exit 0; fi
work="$CACHE/work/pause-$key"
mkdir -p "$work" "$out"
cd "$work"
printf 'module cortex.test/pause\n\ngo 1.24\n' > go.mod
cat > main.go <<'GO'
// pause: wait for SIGTERM or SIGINT, then exit 0.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
GO
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/pause" .
echo "$out/pause"
