#!/usr/bin/env bash
# The Self-Attention Amortized DSW table on a GPU: trains the four ShapeNet-55 autoencoders
# (SW, Max-SW, v-DSW, LA v-DSW; 300 epochs each) and evaluates each on ModelNet40
# (CD×100, SW×100, exact EMD; mean ± std over 3 seeds; latent linear probe).
#
#   scripts/shapenet_ae_gpu.sh [wgpu|cuda] [EXTRA --set ARGS...]
#
# Data (see datasets/README.md): data/shapenet57448xyzonly.npz and
# data/modelnet40_ply_hdf5_2048/ (or set SWBURN_DATA). Outputs: runs_gpu/shapenet_ae_*/…,
# with eval lines appended to runs_gpu/table.txt. `cuda` needs network at build time (Burn's
# CUDA runtime downloads LLVM); `wgpu` runs on Vulkan. Set BIN to use a prebuilt binary.
# Not yet run on a GPU by us: the wgpu build of the workspace is still to be verified (#8).
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE="${1:-wgpu}"
shift || true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/swburn-target}"
if [ -z "${BIN:-}" ]; then
  cargo build --release -p experiments --features "$DEVICE"
  BIN="$CARGO_TARGET_DIR/release/experiments"
fi
for f in data/shapenet57448xyzonly.npz; do
  [ -e "$f" ] || { echo "missing $f (see datasets/README.md)" >&2; exit 1; }
done
mkdir -p runs_gpu
for name in sw maxsw vdsw la_vdsw; do
  "$BIN" --device "$DEVICE" --out runs_gpu --config "configs/shapenet_ae_${name}.toml" "$@"
  run="$(ls -d runs_gpu/shapenet_ae_${name}/* | sort | tail -n 1)"
  { echo "== shapenet_ae_${name} ($run)"; "$BIN" --device "$DEVICE" eval-ae --run "$run" --seeds 3; } \
    | tee -a runs_gpu/table.txt
done
echo "table: runs_gpu/table.txt"
