#!/usr/bin/env bash
# The sw-loss and SNGAN tests on Burn's LibTorch backend (`--features tch`), against the
# PyTorch 2.9.0 of scripts/tch_env.sh's venv (created on first use; nothing is downloaded at
# build time: LIBTORCH_USE_PYTORCH=1). Not part of CI (scripts/test.sh): the venv is a
# multi-GB install and the tch build recompiles Burn with one more backend.
#
#   scripts/test_tch.sh
#
# What runs on tch:
# * sw-loss: the POT fixture values (SW, per-direction W_p^p, LCV/UCV) and the finite-difference
#   gradients (`tests/common::test_devices` adds tch beside flex);
# * models: the SNGAN unit tests (init statistics, spectral norm, blocks, EMA) with
#   SWBURN_TEST_DEVICE=tch;
# * experiments: the SNGAN end-to-end tests (a tiny run, the bit-identical resumed run, periodic
#   scoring) with `--device tch` (SWBURN_TEST_DEVICE=tch).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/swburn-target}"
eval "$(scripts/tch_env.sh)"
FEATURES=sw-loss/tch,models/tch,experiments/tch
PKGS=(-p sw-loss -p models -p experiments)
cargo test --release "${PKGS[@]}" --features "$FEATURES" --no-run
cargo test --release "${PKGS[@]}" --features "$FEATURES" --test pot_fixtures --test gradients
# Every test whose path names sngan (models' sngan:: unit tests and experiments/tests/sngan.rs),
# the generator's batch norm and the blocks' resampling (models' norm:: and resample:: tests: on
# tch they check Burn's ops on LibTorch, our running-stat update, and the adjointness).
SWBURN_TEST_DEVICE=tch cargo test --release "${PKGS[@]}" --features "$FEATURES" --lib --test sngan -- sngan norm:: resample:: conv::
