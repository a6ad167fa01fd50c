#!/usr/bin/env bash
# VRRP failover and scale benchmark: dsas-node vs keepalived (see README.md).
# Usage: sudo bench/vrrp/run.sh [bench.py options], e.g. --runs 3 --window 10
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/vrrpbench}"
if [[ -z "${DSAS_NODE_BIN:-}" ]]; then
    (cd "$root" && cargo build --release -p dsas-node --bin dsas-node >&2)
    DSAS_NODE_BIN="$CARGO_TARGET_DIR/release/dsas-node"
fi
exec python3 "$here/bench.py" --node-bin "$DSAS_NODE_BIN" "$@"
