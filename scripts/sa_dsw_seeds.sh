#!/usr/bin/env bash
# The SA-DSW seed study (RESULTS.md, "SA-DSW at CPU scale"): the five configs
# configs/shapenet50_split_ae_{sw,maxsw,vdsw,avdsw_attn,la_vdsw}.toml over seeds 1..N (default 5),
# seed by seed (every finished seed gives a paired row set), then the table.
#
#   scripts/sa_dsw_seeds.sh [OUT_ROOT [N]]        (default runs/sa_dsw_seeds, 5)
#
# Run folders are OUT_ROOT/seed-s/<config stem>/<time>/. A run with final_metrics.csv is done and
# skipped; a run folder without it (interrupted) is resumed from its checkpoint (`--resume`), so
# re-running the script after a stop continues where it was. The binary is $SWBURN_BIN, else the
# release build in $CARGO_TARGET_DIR (default /var/tmp/swburn-target); copy it aside to keep
# building while the study runs.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/sa_dsw_seeds}; n=${2:-5}
bin="${SWBURN_BIN:-${CARGO_TARGET_DIR:-/var/tmp/swburn-target}/release/experiments}"
[ -x "$bin" ] || { echo "sa_dsw_seeds.sh: build first (cargo build --release -p experiments): $bin" >&2; exit 1; }
rows="sw maxsw vdsw avdsw_attn la_vdsw"
mkdir -p "$out"
for s in $(seq 1 "$n"); do
  for row in $rows; do
    stem=shapenet50_split_ae_$row
    dir="$out/seed-$s"
    log="$out/seed-$s-$row.log"
    if compgen -G "$dir/$stem/*/final_metrics.csv" >/dev/null; then
      echo "seed $s $row: done already"; continue
    fi
    last=$(ls -d "$dir/$stem"/*/ 2>/dev/null | tail -n 1 || true)
    if [ -n "$last" ] && compgen -G "$last/checkpoints/*" >/dev/null; then
      echo "seed $s $row: resuming $last"
      args=(--resume "$last")
    else
      echo "seed $s $row: starting"
      # --set seed (not --seed): the run folder's config.toml keeps the seed for --resume.
      args=(--config "configs/$stem.toml" --set "seed=$s" --out "$dir")
    fi
    "$bin" "${args[@]}" 2>&1 | grep -v '^\S*: [0-9]*/[0-9]* *$' >>"$log" || {
      echo "seed $s $row failed: see $log" >&2; exit 1; }
    tail -n 3 "$log"
  done
done
python3 scripts/sa_dsw_seed_table.py "$out"
