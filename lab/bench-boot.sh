#!/bin/bash
# Boot-to-ready-shell time of the kernel lab (modules loaded, NICs up,
# command shell answering), several runs, median last. Not a timed test.
# Usage: lab/bench-boot.sh [RUNS]   (needs qemu-system-x86_64)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/lab}
cargo build -q -p testkit --bin dsas-lab
exec "$CARGO_TARGET_DIR/debug/dsas-lab" bench-boot -n "${1:-5}"
