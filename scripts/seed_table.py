#!/usr/bin/env python3
"""Mean ± sample std (ddof = 1) over seeds of per-run CSV tables, as a markdown table.

    python3 scripts/seed_table.py RUN/seed-*/mesh_deform_folded/*/comparison.csv

Rows are grouped by their text columns (the loss, or variant × refinement); every numeric column
is averaged over the files. Each file is one seed's run; a group missing from a file is an error,
so a table never mixes seed counts silently. Standard library only.
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


def main(paths):
    if not paths:
        sys.exit("seed_table.py: give the per-seed CSV files")
    groups = {}
    header = None
    for path in paths:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            sys.exit(f"seed_table.py: {path} has no rows")
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
    print(f"{n} seeds, mean ± std (ddof 1)\n")
    print("| " + " | ".join(text + numeric) + " |")
    print("|" + "---|" * len(text) + "---:|" * len(numeric))
    for keys, rows in groups.items():
        cells = list(keys)
        for c in numeric:
            xs = [float(r[c]) for _, r in rows]
            m = sum(xs) / n
            sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1)) if n > 1 else float("nan")
            cells.append(f"{m:.4g} ± {sd:.2g}")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
