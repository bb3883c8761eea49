#!/usr/bin/env bash
# The Self-Attention Amortized DSW table on a GPU: trains the four ShapeNet-55 autoencoders
# (SW, Max-SW, v-DSW, LA v-DSW; 300 epochs each) and evaluates each on ModelNet40
# (CD×100, SW×100, exact EMD; mean ± std over 3 seeds; latent linear probe).
#
#   scripts/shapenet_ae_gpu.sh [wgpu|cuda] [EXTRA --set ARGS...]
#
# Data (see datasets/README.md): $SWBURN_DATA (default data/) holds shapenet57448xyzonly.npz
# and modelnet40_ply_hdf5_2048/. Outputs: $RUNS (default runs_gpu/)/shapenet_ae_*/…, with
# each evaluation appended to $RUNS/table.txt. `cuda` needs network at build time (Burn's
# CUDA runtime downloads LLVM); `wgpu` runs on Vulkan. Set BIN to use a prebuilt binary and
# EVAL_ARGS for extra eval-ae flags (e.g. "--subset 500": the exact EMD is ~1 s per cloud).
# Checked end to end on lavapipe with tiny stand-in data (1 epoch); not yet run on a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE="${1:-wgpu}"
shift || true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/swburn-target}"
if [ -z "${BIN:-}" ]; then
  cargo build --release -p experiments --features "$DEVICE"
  BIN="$CARGO_TARGET_DIR/release/experiments"
fi
DATA="${SWBURN_DATA:-data}"
RUNS="${RUNS:-runs_gpu}"
for f in "$DATA/shapenet57448xyzonly.npz" "$DATA/modelnet40_ply_hdf5_2048"; do
  [ -e "$f" ] || { echo "missing $f (see datasets/README.md)" >&2; exit 1; }
done
mkdir -p "$RUNS"
for name in sw maxsw vdsw la_vdsw; do
  "$BIN" --device "$DEVICE" --out "$RUNS" --config "configs/shapenet_ae_${name}.toml" \
    --set "data.file=\"$DATA/shapenet57448xyzonly.npz\"" "$@"
  run="$(ls -d "$RUNS/shapenet_ae_${name}"/* | sort | tail -n 1)"
  # shellcheck disable=SC2086
  { echo "== shapenet_ae_${name} ($run)"
    "$BIN" --device "$DEVICE" eval-ae --run "$run" --data "$DATA" --seeds 3 ${EVAL_ARGS:-}; } \
    | tee -a "$RUNS/table.txt"
done
echo "table: $RUNS/table.txt"
