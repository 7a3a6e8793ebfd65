#!/usr/bin/env bash
# Delete the test cluster (the cached artifacts stay).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kind="$CACHE/kind/$KIND_VERSION/kind"
[ -x "$kind" ] || exit 0
export PATH="$CLUSTER_DIR/bin:$PATH"
"$kind" delete cluster --name "$CLUSTER_NAME" --kubeconfig "$CACHE/kubeconfig-$CLUSTER_NAME" >&2
