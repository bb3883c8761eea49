#!/usr/bin/env bash
# The long fuzz budget of the `datasets` readers (FUZZING.md; the quick budget runs in
# `cargo test`, crates/fuzz/tests/quick.rs).
#
# Builds the harness with the workspace's test feature set (so Burn is not rebuilt), then runs
# every reader until it has had at least MIN_INPUTS inputs (default 100 000) and its share of
# MINUTES (default 0), writes the table into FUZZING.md and findings into
# $FINDINGS (default /var/tmp/swburn-fuzz-findings).
#
# Extra arguments go to the harness, e.g. `scripts/fuzz.sh --target mesh_off`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/swburn-target}"
FEATURES=sw-loss/ndarray,sw-loss/wgpu,experiments/wgpu
MIN_INPUTS="${MIN_INPUTS:-100000}"
MINUTES="${MINUTES:-0}"
FINDINGS="${FINDINGS:-/var/tmp/swburn-fuzz-findings}"

# `cargo test --no-run` rather than `cargo build`: it resolves features as the test suite
# does (dev-dependencies included), so nothing is rebuilt; it builds the `fuzz` binary too,
# because the crate has an integration test.
cargo test --release --workspace --features "$FEATURES" --test quick --no-run
export FUZZ_COMMAND="MIN_INPUTS=$MIN_INPUTS MINUTES=$MINUTES scripts/fuzz.sh${*:+ $*}"
"$CARGO_TARGET_DIR/release/fuzz" --minutes "$MINUTES" --min-inputs "$MIN_INPUTS" \
  --out FUZZING.md --findings "$FINDINGS" "$@"
