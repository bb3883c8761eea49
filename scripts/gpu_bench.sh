#!/usr/bin/env bash
# sw-loss on a GPU through wgpu (Vulkan) next to PyTorch CUDA, in one table.
#
#   scripts/gpu_bench.sh prepare   # on a build machine (Rust, the CI target dir): writes gpu_bundle/
#   scripts/gpu_bench.sh run       # on the GPU machine (NVIDIA driver + PyTorch; no Rust, no
#                                  # network, no Vulkan loader): ≤ 8 minutes
#
# `prepare` builds the `workloads` bench of sw-loss with the wgpu feature (the CI feature set,
# so the warm target dir is reused), strips and gzips it, and puts Debian's Vulkan loader
# (libvulkan1: `apt-get download`, or this machine's copy) next to it, with the SNGAN step
# bench likewise: ~30 MB in gpu_bundle/
# (git-ignored; carry it to the GPU machine). `run` unpacks the binary, points the loader at
# the NVIDIA Vulkan driver (writing an ICD file if the driver ships none), runs the four
# workloads (flow, pc_batch, gen_feat, large; SW / LCV-SW / UCV-SW forward+backward, and SW
# with Burn's host-round-trip sort for comparison) on wgpu, then scripts/torch_cuda_bench.py
# on CUDA, and prints one Markdown table; then SNGAN training-step times at the paper's size
# (models' sngan_steps bench on wgpu, scripts/sngan_torch_bench.py on CUDA; SNGAN_SIZE="G D
# BATCH REPS" to change). Outputs go to $OUT (or gpu_bench_out/): swburn.jsonl, torch.jsonl,
# table.md, sngan.md, and the logs. SWBURN_BENCH_ONLY=flow,… limits the
# workloads (both sides); TORCH_DEVICE=cpu tries the script without a GPU (lavapipe + CPU torch).
#
# LibTorch-CUDA (`tch-cuda`): `prepare` also builds both benches with `--features tch` against
# scripts/tch_env.sh's torch 2.9.0 (skipped with SWBURN_GPU_BENCH_TCH=0) as workloads_tch and
# sngan_steps_tch. They link libtorch dynamically (its libraries are GBs, not carried): `run`
# uses the GPU machine's own PyTorch when it is 2.9.x (LD_LIBRARY_PATH = its torch/lib) and says
# why it skips the tch-cuda rows otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
BUNDLE=gpu_bundle
FEATURES="sw-loss/ndarray,sw-loss/wgpu,experiments/wgpu"

# Builds one bench binary of the CI feature set (warm target dir) and prints its path.
bench_exe() {
  cargo bench --workspace --features "$FEATURES" --bench "$1" --no-run 2>&1 \
    | sed -n "s/.*Executable benches\/$1.rs (\(.*\))/\1/p" | tail -n 1
}

# The same with Burn's LibTorch backend, in scripts/tch_env.sh's environment (a subshell).
bench_exe_tch() {
  ( eval "$(scripts/tch_env.sh)"
    cargo bench -p sw-loss -p models -p experiments --features "sw-loss/tch,models/tch,experiments/tch" \
      --bench "$1" --no-run 2>&1 \
      | sed -n "s/.*Executable benches\/$1.rs (\(.*\))/\1/p" | tail -n 1 )
}

# `bundle_bench BUILDER NAME OUT`: builds bench NAME with BUILDER (bench_exe or bench_exe_tch),
# strips it to $BUNDLE/OUT and gzips it.
bundle_bench() {
  local exe
  exe="$("$1" "$2")"
  [ -x "$exe" ] || { echo "could not build the $2 bench ($1)" >&2; exit 1; }
  strip -o "$BUNDLE/$3" "$exe"
  gzip -9 "$BUNDLE/$3"
}

prepare() {
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/swburn-target}"
  rm -rf "$BUNDLE"
  mkdir -p "$BUNDLE/lib"
  local name
  for name in workloads sngan_steps; do
    bundle_bench bench_exe "$name" "$name"
    if [ "${SWBURN_GPU_BENCH_TCH:-1}" != 0 ]; then
      bundle_bench bench_exe_tch "$name" "${name}_tch"
    fi
  done
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
  local out="${OUT:-gpu_bench_out}" bins bin icd name
  bins="$(mktemp -d)"
  for name in workloads sngan_steps; do
    [ -e "$BUNDLE/$name.gz" ] || {
      echo "no $BUNDLE/$name.gz: run 'scripts/gpu_bench.sh prepare' on a build machine" >&2
      exit 1
    }
    gunzip -c "$BUNDLE/$name.gz" > "$bins/$name"
    chmod +x "$bins/$name"
  done
  bin="$bins/workloads"
  mkdir -p "$out"
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
    timeout "${SWBURN_GPU_BENCH_TIMEOUT:-200}" "$bin" --bench \
    > "$out/swburn.jsonl" 2> "$out/swburn.err" || echo "swburn bench failed or timed out (rc $?)" >&2
  grep -v XDG_RUNTIME "$out/swburn.err" | tail -n 5 >&2 || true
  cat "$out/swburn.jsonl"
  echo "== PyTorch (cuda)"
  timeout 90 python3 scripts/torch_cuda_bench.py --device "${TORCH_DEVICE:-cuda}" --only "${SWBURN_BENCH_ONLY:-}" \
    > "$out/torch.jsonl" 2> "$out/torch.err" || echo "torch bench failed (rc $?)" >&2
  tail -n 3 "$out/torch.err" >&2 || true
  cat "$out/torch.jsonl"
  echo "== table"
  python3 scripts/gpu_table.py "$out/swburn.jsonl" "$out/torch.jsonl" | tee "$out/table.md"
  # SNGAN steps at the paper's CIFAR-10 size (G 256 ch, D 128 ch, batch 128): swburn on wgpu,
  # then the PyTorch twin on CUDA.
  local size="${SNGAN_SIZE:-256 128 128 3}"
  echo "== SNGAN steps (ms)"
  # shellcheck disable=SC2086
  { SWBURN_BENCH_DEVICE=default timeout "${SWBURN_SNGAN_TIMEOUT:-120}" "$bins/sngan_steps" --bench $size \
      2>> "$out/sngan.err" || echo "swburn SNGAN bench failed or timed out (rc $?)"
    TORCH_DEVICE="${TORCH_DEVICE:-cuda}" timeout 60 python3 scripts/sngan_torch_bench.py $size \
      2>> "$out/sngan.err" || echo "torch SNGAN bench failed (rc $?)"
  } | tee "$out/sngan.md"
  run_tch "$out" "$size"
}

# LibTorch-CUDA through Burn (`tch-cuda`): the sw-loss workloads and the SNGAN steps, against
# the GPU machine's own torch 2.9.x (the version tch 0.22 is built for).
run_tch() {
  local out="$1" size="$2" bins libdir version name
  [ -e "$BUNDLE/workloads_tch.gz" ] || { echo "== tch-cuda: not in the bundle (prepared with SWBURN_GPU_BENCH_TCH=0)"; return 0; }
  version="$(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo none)"
  case "$version" in
    2.9.*) ;;
    *) echo "== tch-cuda: skipped: this machine's torch is $version, the bundle needs 2.9.x" | tee "$out/tch.md"; return 0 ;;
  esac
  libdir="$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
  bins="$(mktemp -d)"
  for name in workloads sngan_steps; do
    gunzip -c "$BUNDLE/${name}_tch.gz" > "$bins/$name"
    chmod +x "$bins/$name"
  done
  echo "== swburn (tch-cuda, torch $version)"
  LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" SWBURN_BENCH_DEVICE=tch-cuda \
    timeout "${SWBURN_GPU_BENCH_TIMEOUT:-200}" "$bins/workloads" --bench \
    > "$out/swburn_tch.jsonl" 2> "$out/swburn_tch.err" || echo "tch-cuda bench failed or timed out (rc $?)" >&2
  tail -n 5 "$out/swburn_tch.err" >&2 || true
  python3 scripts/gpu_table.py "$out/swburn_tch.jsonl" "$out/torch.jsonl" tch-cuda | tee "$out/table_tch.md"
  echo "== SNGAN steps, tch-cuda (ms)"
  # shellcheck disable=SC2086
  LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" SWBURN_BENCH_DEVICE=tch-cuda \
    timeout "${SWBURN_SNGAN_TIMEOUT:-120}" "$bins/sngan_steps" --bench $size 2>> "$out/sngan_tch.err" \
    | tee "$out/sngan_tch.md" || echo "tch-cuda SNGAN bench failed or timed out (rc $?)"
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: scripts/gpu_bench.sh prepare|run" >&2; exit 2 ;;
esac
