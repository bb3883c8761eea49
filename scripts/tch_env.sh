#!/usr/bin/env bash
# Creates the Python venv that Burn's LibTorch backend (`--features tch`) builds and runs against,
# and prints the environment variables to export.
#
#   scripts/tch_env.sh            # venv in $SWBURN_TORCH_VENV (default /var/tmp/swburn-torch)
#   eval "$(scripts/tch_env.sh)"  # … and export its variables into this shell
#
# tch 0.22 (burn-tch 0.22.1) expects exactly PyTorch 2.9.0 (torch-sys-0.22.0/build.rs,
# TORCH_VERSION). PyPI's Linux wheel of torch 2.9.0 is the CUDA 12.8 build: it runs on a CPU-only
# machine and on a GPU one alike, so `--device tch` and `--device tch-cuda:N` come from one venv.
# With LIBTORCH_USE_PYTORCH=1, torch-sys finds the headers and libraries inside that venv and
# downloads nothing at build time. numpy and POT come along for the PyTorch twins of scripts/bench.py.
set -euo pipefail
VENV="${SWBURN_TORCH_VENV:-/var/tmp/swburn-torch}"
TORCH_VERSION=2.9.0
if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  echo "scripts/tch_env.sh: creating $VENV with torch==$TORCH_VERSION (a few GB from PyPI, once)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip >&2
  "$VENV/bin/pip" install --quiet "torch==$TORCH_VERSION" numpy pot >&2
fi
LIBDIR="$("$VENV/bin/python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
echo "export VIRTUAL_ENV=$VENV"
echo "export PATH=$VENV/bin:$PATH"
echo "export LIBTORCH_USE_PYTORCH=1"
echo "export LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
