#!/usr/bin/env python3
"""One markdown table from several `scripts/sngan_dynamics.py --json` files (RESULTS.md's SNGAN
dynamics table): every twin and ours run, the ratio of ours' mean to the twin's over all seeds,
the same ratio for consecutive seed pairs, the twin's seed spread, and Welch's t per window
(printed to stderr).

    python3 scripts/sngan_dynamics_table.py a.json b.json
"""
import math
import statistics as st
import sys

import json

WINDOWS = [("20-200", "d"), ("20-200", "g"), ("200-400", "d"), ("200-400", "g")]


def values(run):
    return [run["win"][w][k] for w, k in WINDOWS]


def means(runs, seeds=None):
    chosen = [r for r in runs if seeds is None or r["seed"] in seeds]
    return [st.mean(values(r)[i] for r in chosen) for i in range(len(WINDOWS))]


def main(paths):
    runs = [r for p in paths for r in json.load(open(p))["runs"]]
    twin = sorted((r for r in runs if r["kind"] == "twin"), key=lambda r: r["seed"])
    ours = sorted((r for r in runs if r["kind"] != "twin"), key=lambda r: r["seed"])
    if not twin or not ours:
        sys.exit("need twin and ours runs (sngan_dynamics.py --ours BINARY --json FILE)")
    print("| run | seed | D 20–200 | G 20–200 | D 200–400 | G 200–400 |")
    print("|---|---|---:|---:|---:|---:|")
    for name, rs in [("official twin", twin), ("ours", ours)]:
        for r in rs:
            print(f"| {name} | {r['seed']} | " + " | ".join(f"{v:.4f}" for v in values(r)) + " |")
    ratio = lambda o, t: " | ".join(f"{a / b:.2f}" for a, b in zip(o, t))
    n = len({r["seed"] for r in ours})
    print(f"| **ours / official, mean of {n} seeds each** | | "
          + " | ".join(f"**{x}**" for x in ratio(means(ours), means(twin)).split(" | ")) + " |")
    seeds = sorted({r["seed"] for r in ours} & {r["seed"] for r in twin})
    for a, b in zip(seeds[::2], seeds[1::2]):
        print(f"| ours / official, seeds {a}–{b} only | | "
              + ratio(means(ours, {a, b}), means(twin, {a, b})) + " |")
    tm = means(twin)
    spread = [(max(values(r)[i] for r in twin) - min(values(r)[i] for r in twin)) / tm[i]
              for i in range(len(WINDOWS))]
    print(f"| official twin seed spread (max − min)/mean, {len(twin)} seeds | | "
          + " | ".join(f"{100 * s:.0f} %" for s in spread) + " |")
    for i, (w, k) in enumerate(WINDOWS):
        a = [values(r)[i] for r in ours]
        b = [values(r)[i] for r in twin]
        t = (st.mean(a) - st.mean(b)) / math.sqrt(st.variance(a) / len(a) + st.variance(b) / len(b))
        print(f"Welch t, {k.upper()} {w}: {t:.2f}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
