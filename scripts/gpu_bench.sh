#!/usr/bin/env bash
# sw-loss on a GPU through wgpu (Vulkan) next to PyTorch CUDA, in one table.
#
#   scripts/gpu_bench.sh prepare   # on a build machine (Rust, the CI target dir): writes gpu_bundle/
#   scripts/gpu_bench.sh run       # on the GPU machine (NVIDIA driver + PyTorch; no Rust, no
#                                  # network, no Vulkan loader): ≤ 8 minutes
#
# `prepare` builds the `workloads` bench of sw-loss with the wgpu feature (the CI feature set,
# so the warm target dir is reused), strips and gzips it, and puts Debian's Vulkan loader
# (libvulkan1: `apt-get download`, or this machine's copy) next to it: ~15 MB in gpu_bundle/
# (git-ignored; carry it to the GPU machine). `run` unpacks the binary, points the loader at
# the NVIDIA Vulkan driver (writing an ICD file if the driver ships none), runs the four
# workloads (flow, pc_batch, gen_feat, large; SW / LCV-SW / UCV-SW forward+backward, and SW
# with Burn's host-round-trip sort for comparison) on wgpu, then scripts/torch_cuda_bench.py
# on CUDA, and prints one Markdown table. Outputs go to $OUT (or gpu_bench_out/):
# swburn.jsonl, torch.jsonl, table.md, and the logs. SWBURN_BENCH_ONLY=flow,… limits the
# workloads (both sides); TORCH_DEVICE=cpu tries the script without a GPU (lavapipe + CPU torch).
set -euo pipefail
cd "$(dirname "$0")/.."
BUNDLE=gpu_bundle
FEATURES="sw-loss/ndarray,sw-loss/wgpu,experiments/wgpu"

prepare() {
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/swburn-target}"
  local exe
  exe="$(cargo bench --workspace --features "$FEATURES" --bench workloads --no-run 2>&1 \
    | sed -n 's/.*Executable benches\/workloads.rs (\(.*\))/\1/p' | tail -n 1)"
  [ -x "$exe" ] || { echo "could not build the workloads bench" >&2; exit 1; }
  rm -rf "$BUNDLE"
  mkdir -p "$BUNDLE/lib"
  strip -o "$BUNDLE/workloads" "$exe"
  gzip -9 "$BUNDLE/workloads"
  local tmp
  tmp="$(mktemp -d)"
  if (cd "$tmp" && apt-get download libvulkan1 >/dev/null 2>&1); then
    dpkg-deb -x "$tmp"/libvulkan1_*.deb "$tmp/x"
    cp -L "$tmp"/x/usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$BUNDLE/lib/libvulkan.so.1"
  elif [ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ]; then
    cp -L /usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$BUNDLE/lib/libvulkan.so.1"
  else
    echo "no libvulkan1: apt-get download failed and none is installed" >&2; exit 1
  fi
  rm -rf "$tmp"
  du -sh "$BUNDLE"
  echo "bundle ready: carry $BUNDLE/ to the GPU machine and run: scripts/gpu_bench.sh run"
}

# Finds the NVIDIA Vulkan ICD, or writes one for the driver library the machine has.
nvidia_icd() {
  local f lib
  for f in /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json \
           /usr/local/share/vulkan/icd.d/nvidia_icd*.json; do
    [ -e "$f" ] && { echo "$f"; return; }
  done
  lib="$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia.so.0/ {print $NF; exit}')"
  [ -n "$lib" ] || lib="$(find / -xdev -name 'libGLX_nvidia.so.0' 2>/dev/null | head -n 1)"
  [ -n "$lib" ] || return 0
  f="$(mktemp -d)/nvidia_icd.json"
  printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' \
    "$lib" > "$f"
  echo "$f"
}

run() {
  [ -e "$BUNDLE/workloads.gz" ] || {
    echo "no $BUNDLE/workloads.gz: run 'scripts/gpu_bench.sh prepare' on a build machine" >&2
    exit 1
  }
  local out="${OUT:-gpu_bench_out}" bin icd
  mkdir -p "$out"
  bin="$(mktemp -d)/workloads"
  gunzip -c "$BUNDLE/workloads.gz" > "$bin"
  chmod +x "$bin"
  export LD_LIBRARY_PATH="$PWD/$BUNDLE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  [ -n "${XDG_RUNTIME_DIR:-}" ] || { XDG_RUNTIME_DIR="$(mktemp -d)"; export XDG_RUNTIME_DIR; }
  icd="$(nvidia_icd)"
  if [ -n "$icd" ]; then
    export VK_ICD_FILENAMES="$icd"
    echo "Vulkan ICD: $icd"
  else
    echo "no NVIDIA Vulkan driver library found; wgpu will use whatever Vulkan it finds" >&2
  fi
  nvidia-smi -L 2>/dev/null || true
  echo "== swburn (wgpu)"
  SWBURN_BENCH_DEVICE=wgpu SWBURN_BENCH_BURN_SORT=1 \
    timeout "${SWBURN_GPU_BENCH_TIMEOUT:-300}" "$bin" --bench \
    > "$out/swburn.jsonl" 2> "$out/swburn.err" || echo "swburn bench failed or timed out (rc $?)" >&2
  grep -v XDG_RUNTIME "$out/swburn.err" | tail -n 5 >&2 || true
  cat "$out/swburn.jsonl"
  echo "== PyTorch (cuda)"
  timeout 150 python3 scripts/torch_cuda_bench.py --device "${TORCH_DEVICE:-cuda}" --only "${SWBURN_BENCH_ONLY:-}" \
    > "$out/torch.jsonl" 2> "$out/torch.err" || echo "torch bench failed (rc $?)" >&2
  tail -n 3 "$out/torch.err" >&2 || true
  cat "$out/torch.jsonl"
  echo "== table"
  python3 scripts/gpu_table.py "$out/swburn.jsonl" "$out/torch.jsonl" | tee "$out/table.md"
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: scripts/gpu_bench.sh prepare|run" >&2; exit 2 ;;
esac
