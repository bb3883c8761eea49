#!/usr/bin/env python3
"""Mean ± sample std (ddof = 1) over seeds of per-run CSV tables, as a markdown table.

    python3 scripts/seed_table.py RUN/seed-*/mesh_deform_folded/*/comparison.csv
    python3 scripts/seed_table.py --diff variant=no-sw,sw RUN/seed-*/shape_corr_synthetic/*/results.csv

Rows are grouped by their text columns (the loss, or variant × weights × refinement); every
numeric column is averaged over the files. Each file is one seed's run; a group missing from a
file is an error, so a table never mixes seed counts silently.

`--diff COL=A,B` prints paired differences instead: within each file, every row whose COL is B
minus the row with COL = A and the same other text columns, then mean ± std of those per-seed
differences and in how many seeds B is lower. Seeds that change the data (the synthetic
correspondence shapes) move both rows together; the paired difference is what tells an effect
from the seed spread. Standard library only.
"""
import csv
import math
import sys


def is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"seed_table.py: {path} has no rows")
    return rows


def mean_std(xs):
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else float("nan")
    return m, sd


def print_table(title, text, numeric, groups, cell):
    """A markdown table: one row per group key, `cell(values)` for each numeric column."""
    print(title + "\n")
    print("| " + " | ".join(text + numeric) + " |")
    print("|" + "---|" * len(text) + "---:|" * len(numeric))
    for key, values in groups.items():
        print("| " + " | ".join(list(key) + [cell(values[c]) for c in numeric]) + " |")


def diff(spec, paths):
    col, pair = spec.split("=", 1)
    a, b = pair.split(",", 1)
    per_group = {}
    numeric = None
    for path in paths:
        rows = read(path)
        if col not in rows[0]:
            sys.exit(f"seed_table.py: {path} has no column {col}")
        if numeric is None:
            numeric = [c for c in rows[0] if all(is_number(r[c]) for r in rows)]
        text = [c for c in rows[0] if c not in numeric and c != col]
        index = {(r[col],) + tuple(r[c] for c in text): r for r in rows}
        for key, r in index.items():
            if key[0] != b:
                continue
            base = index.get((a,) + key[1:])
            if base is None:
                sys.exit(f"seed_table.py: {path}: no {col} = {a} row for {key[1:]}")
            d = per_group.setdefault(key[1:], {c: [] for c in numeric})
            for c in numeric:
                d[c].append(float(r[c]) - float(base[c]))
    def cell(xs):
        m, sd = mean_std(xs)
        return f"{m:+.3g} ± {sd:.2g} [{sum(x < 0 for x in xs)}/{len(xs)}]"

    title = f"{len(paths)} seeds, paired difference ({col} {b}) − ({col} {a}): mean ± std (ddof 1), [seeds where it is < 0]"
    print_table(title, text, numeric, per_group, cell)


def main(paths):
    if paths and paths[0] == "--diff":
        if len(paths) < 3:
            sys.exit("seed_table.py: --diff COL=A,B FILES...")
        return diff(paths[1], paths[2:])
    if not paths:
        sys.exit("seed_table.py: give the per-seed CSV files")
    groups = {}
    header = None
    for path in paths:
        rows = read(path)
        if header is None:
            header = list(rows[0].keys())
        elif list(rows[0].keys()) != header:
            sys.exit(f"seed_table.py: {path} has columns {list(rows[0].keys())}, the first file {header}")
        for row in rows:
            keys = tuple(row[c] for c in header if not is_number(row[c]))
            groups.setdefault(keys, []).append((path, row))
    n = len(paths)
    for keys, rows in groups.items():
        if len(rows) != n:
            sys.exit(f"seed_table.py: group {keys} is in {len(rows)} of {n} files")
    numeric = [c for c in header if all(is_number(r[c]) for rows in groups.values() for _, r in rows)]
    text = [c for c in header if c not in numeric]
    values = {k: {c: [float(r[c]) for _, r in rows] for c in numeric} for k, rows in groups.items()}

    def cell(xs):
        m, sd = mean_std(xs)
        return f"{m:.4g} ± {sd:.2g}"

    print_table(f"{n} seeds, mean ± std (ddof 1)", text, numeric, values, cell)


if __name__ == "__main__":
    main(sys.argv[1:])
