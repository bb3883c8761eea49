#!/usr/bin/env bash
# Run one experiment config over seeds 1..N and print the mean ± std table (RESULTS.md's tables).
#
#   scripts/seeds.sh OUT_ROOT CONFIG N CSV [--set key=value ...]
#
# Each seed runs as `experiments --config CONFIG --seed s --out OUT_ROOT/seed-s ...`, so the run
# folders are OUT_ROOT/seed-s/<config stem>/<time>/. A seed whose run folder already holds CSV is
# skipped (re-running the script after an interruption finishes the missing seeds). CSV is the
# per-run table the experiment writes (`comparison.csv` for mesh_deform, `results.csv` for
# shape_corr); scripts/seed_table.py groups its rows by their text columns.
# The binary is the release build in $CARGO_TARGET_DIR (default /var/tmp/swburn-target).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 4 ] || { sed -n 2,10p "$0" >&2; exit 2; }
out=$1; config=$2; n=$3; csv=$4; shift 4
bin="${CARGO_TARGET_DIR:-/var/tmp/swburn-target}/release/experiments"
[ -x "$bin" ] || { echo "seeds.sh: build first (cargo build --release -p experiments): $bin" >&2; exit 1; }
stem=$(basename "$config" .toml)
mkdir -p "$out"
for s in $(seq 1 "$n"); do
  dir="$out/seed-$s"
  if compgen -G "$dir/$stem/*/$csv" >/dev/null; then
    echo "seed $s: done already ($dir)"; continue
  fi
  echo "seed $s: $config $*"
  "$bin" --config "$config" --seed "$s" --out "$dir" "$@" 2>&1 | grep -v '^\S*: [0-9]*/[0-9]* *$' >"$out/seed-$s.log" || {
    echo "seed $s failed: see $out/seed-$s.log" >&2; exit 1; }
  tail -n 8 "$out/seed-$s.log"
done
python3 scripts/seed_table.py "$out"/seed-*/"$stem"/*/"$csv"
