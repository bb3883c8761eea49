#!/usr/bin/env python3
"""The SA-DSW seed table (RESULTS.md): held-out Chamfer, sqrt(N*SW_2^2) and approxmatch EMD of the
`best` checkpoint (lowest mean training loss, the official model selection) per row, mean +- std
over seeds, and the per-seed paired difference of each row against SW (mean +- std of the
differences, and how many seeds the row beats SW on).

    python3 scripts/sa_dsw_seed_table.py runs/sa_dsw_seeds   # OUT_ROOT of scripts/sa_dsw_seeds.sh

Standard library only. Prints a Markdown table.
"""
import csv
import glob
import os
import statistics
import sys

ROWS = [
    ("sw", "SW"),
    ("maxsw", "Max-SW"),
    ("vdsw", "v-DSW"),
    ("avdsw_attn", "amortized v-DSW, attention"),
    ("la_vdsw", "amortized v-DSW, linear attention"),
]
METRICS = [("chamfer_mean", "Chamfer", 100.0), ("sw_metric_mean", "SW", 100.0),
           ("emd_approxmatch_mean", "EMD", 1.0)]


def best_row(path):
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r["checkpoint"].startswith("best"):
                return r
    raise SystemExit(f"{path}: no best row")


def collect(root):
    out = {}
    for key, _ in ROWS:
        for path in glob.glob(os.path.join(root, "seed-*", f"shapenet50_split_ae_{key}", "*",
                                           "final_metrics.csv")):
            seed = int(path.split(os.sep)[-4].split("-")[1])
            r = best_row(path)
            out[(key, seed)] = {m: float(r[m]) * scale for m, _, scale in METRICS}
    return out


def fmt(v):
    if not v:
        return "n/a"
    if len(v) == 1:
        return f"{v[0]:.3f}"
    return f"{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "runs/sa_dsw_seeds"
    data = collect(root)
    seeds = sorted({s for (_, s) in data})
    print(f"Seeds found: {seeds}; values of the best checkpoint on the 10 held-out clouds "
          "(Chamfer and SW ×100, as the paper prints them).\n")
    head = "| row | seeds | " + " | ".join(n for _, n, _ in METRICS)
    head += " | " + " | ".join(f"Δ{n} vs SW (wins)" for _, n, _ in METRICS) + " |"
    print(head)
    print("|" + "---|" * (2 + 2 * len(METRICS)))
    for key, name in ROWS:
        have = [s for s in seeds if (key, s) in data]
        cells = [fmt([data[(key, s)][m] for s in have]) for m, _, _ in METRICS]
        diffs = []
        for m, _, _ in METRICS:
            paired = [data[(key, s)][m] - data[("sw", s)][m] for s in have if ("sw", s) in data]
            if key == "sw" or not paired:
                diffs.append("—")
            else:
                wins = sum(d < 0 for d in paired)
                diffs.append(f"{fmt(paired)} ({wins}/{len(paired)})")
        print(f"| {name} | {len(have)} | " + " | ".join(cells) + " | " + " | ".join(diffs) + " |")


if __name__ == "__main__":
    main()
