"""The memory table of BENCHMARKS.md: peak RSS and seconds of one SW_2 forward + backward for
n in {1e4, 1e5, 1e6} x L in {100, 1000, 10000} in d = 3, and n = 128 in d = 8193, for sw-loss
(`cargo bench -p sw-loss --bench memory`, default 1 GiB budget) beside the PyTorch and POT
twins (`memory_twin.py`, run under a 20 GB virtual-memory limit so that a size that does not
fit fails as an exception).

    python3 scripts/bench/memory_table.py [--python VENV_PYTHON] [--only ours,torch,pot]
        [--sizes 10000x100x3,...] [--timeout 900]

Peak RSS is what /usr/bin/time -v reports for the whole process (inputs included).
"""
import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZES = [(n, l, 3) for n in (10_000, 100_000, 1_000_000) for l in (100, 1_000, 10_000)] + [(128, 1_000, 8193)]
LIMIT_KIB = 20_000_000


def bench_binary():
    # The test command's build (same profile and features: nothing is recompiled after it).
    out = subprocess.run(
        ["cargo", "test", "--release", "--workspace", "--features",
         "sw-loss/ndarray,sw-loss/wgpu,experiments/wgpu", "--benches", "--no-run",
         "--message-format=json"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "memory" \
                and msg.get("executable"):
            return msg["executable"]
    raise SystemExit("memory bench binary not found")


def timed(cmd, timeout, limit=False):
    shell = "ulimit -v %d; exec %s" % (LIMIT_KIB, " ".join(cmd)) if limit else "exec " + " ".join(cmd)
    try:
        p = subprocess.run(["/usr/bin/time", "-v", "bash", "-c", shell], capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": "timeout %d s" % timeout}
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    row = {}
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
    if not row:
        tail = p.stderr.strip().splitlines()[-3:]
        row = {"error": "exit %d: %s" % (p.returncode, " | ".join(tail)[:160])}
    row["peak_rss_mib"] = round(int(rss.group(1)) / 1024) if rss else None
    return row


def cell(r):
    if "error" in r:
        return r["error"] + (" (peak %s MiB)" % r["peak_rss_mib"] if r.get("peak_rss_mib") else "")
    return "%s MiB, %.2f s" % (r["peak_rss_mib"], r["forward_backward_s"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--only", default="ours,torch,pot")
    ap.add_argument("--sizes", default="")
    ap.add_argument("--timeout", type=int, default=900)
    a = ap.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in a.sizes.split(",") if s] or SIZES
    only = a.only.split(",")
    binary = bench_binary() if "ours" in only else None
    twin = os.path.join(ROOT, "scripts", "bench", "memory_twin.py")
    print("| n | L | d | sw-loss (chunk) | PyTorch | POT (torch backend) |")
    print("|---:|---:|---:|---|---|---|")
    for n, l, d in sizes:
        cells = []
        if binary:
            r = timed([binary, str(n), str(l), str(d)], a.timeout)
            cells.append(cell(r) + (" (%d)" % r["chunk"] if "chunk" in r else ""))
        else:
            cells.append("-")
        for impl in ("torch", "pot"):
            cells.append(cell(timed([a.python, twin, impl, str(n), str(l), str(d)], a.timeout, limit=True))
                         if impl in only else "-")
        print("| %d | %d | %d | %s |" % (n, l, d, " | ".join(cells)), flush=True)


if __name__ == "__main__":
    main()
