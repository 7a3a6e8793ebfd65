#!/usr/bin/env bash
# The kind CLI, by its documented install path (`go install sigs.k8s.io/kind@<version>`).
# Output: $CACHE/kind/<version>/kind
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out="$CACHE/kind/$KIND_VERSION"
if [ -x "$out/kind" ]; then echo "$out/kind"; exit 0; fi
mkdir -p "$out"
log "go install sigs.k8s.io/kind@$KIND_VERSION"
CGO_ENABLED=0 GOBIN="$out" nice -n 19 go install "sigs.k8s.io/kind@$KIND_VERSION"
echo "$out/kind"
