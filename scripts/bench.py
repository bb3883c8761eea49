#!/usr/bin/env python3
"""Regenerates every CPU table of BENCHMARKS.md (and the timings the README quotes) in one sitting.

    python3 scripts/bench.py                 # all sections, PyTorch anchors included
    python3 scripts/bench.py --only sw,flow  # some sections
    python3 scripts/bench.py --no-write      # print the tables, leave BENCHMARKS/README alone

What it does, in this order, on an otherwise idle machine:
1. builds the benches and the `experiments` binary with the test command's features and profile
   (`cargo test --release --workspace --features ... --benches --no-run`), so nothing is rebuilt;
2. runs each section: the Rust bench binaries (JSON lines) and, beside them, the PyTorch twins
   (`scripts/bench/anchor_bench.py`, `scripts/sngan_torch_bench.py`) with the same thread count;
3. writes every raw line to `bench_out/<timestamp>/raw.jsonl` and replaces the text between
   `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in BENCHMARKS.md and README.md.

PyTorch: `--python` (default: $SWBURN_BENCH_PYTHON, else `python3`) must import torch, numpy
and POT (`pip install torch numpy pot`); the script says so and skips the anchors otherwise.
The GPU table comes from `scripts/gpu_bench.sh` on a GPU machine and is not touched here.
Only the standard library is used.
"""
import argparse
import csv
import datetime
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
FEATURES = "sw-loss/ndarray,sw-loss/wgpu,experiments/wgpu"
SECTIONS = ["sw", "variants", "datasets", "eigen", "mesh", "sngan", "inception", "flow"]


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def bench_executables(cargo_json):
    """{bench name: executable} from cargo's `--message-format=json` output."""
    benches = {}
    for line in cargo_json.splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg.get("executable"):
            if "bench" in msg["target"]["kind"]:
                benches[msg["target"]["name"]] = msg["executable"]
    return benches


def build():
    """Builds benches + binary; returns {bench name: executable}."""
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", "/var/tmp/swburn-target")
    cmd = ["cargo", "test", "--release", "--workspace", "--features", FEATURES,
           "--benches", "--no-run", "--message-format=json-render-diagnostics"]
    log(" ".join(cmd))
    out = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, check=True, text=True)
    benches = bench_executables(out.stdout)
    subprocess.run(["cargo", "build", "--release", "--workspace", "--features", FEATURES],
                   cwd=ROOT, env=env, check=True)
    binary = ROOT / env["CARGO_TARGET_DIR"] / "release" / "experiments"  # cargo ran in ROOT
    return benches, binary


# The feature set of scripts/test_tch.sh (no wgpu: one Burn build with flex + LibTorch).
FEATURES_TCH = "sw-loss/tch,models/tch,experiments/tch"


def tch_env():
    """The variables scripts/tch_env.sh prints (it creates the venv on first use)."""
    out = subprocess.run([str(ROOT / "scripts/tch_env.sh")], stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    env = {}
    for line in out.splitlines():
        m = re.match(r"^export (\w+)=(.*)$", line)
        if m:
            env[m.group(1)] = os.path.expandvars(m.group(2).replace("\\$", "$"))
    return env


def build_tch():
    """The sw-loss and SNGAN benches with Burn's LibTorch backend (`--tch`); {name: exe}, env."""
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", "/var/tmp/swburn-target")
    extra = tch_env()
    env.update(extra)
    cmd = ["cargo", "test", "--release", "-p", "sw-loss", "-p", "models", "-p", "experiments",
           "--features", FEATURES_TCH,
           "--benches", "--no-run", "--message-format=json-render-diagnostics"]
    log(" ".join(cmd) + "  (LibTorch from " + extra.get("VIRTUAL_ENV", "?") + ")")
    out = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, check=True, text=True)
    return bench_executables(out.stdout), extra


def run_lines(cmd, env_extra=None, cwd=ROOT):
    """Runs `cmd`, echoes stderr, returns stdout lines."""
    env = dict(os.environ)
    env.update(env_extra or {})
    log(" ".join(str(c) for c in cmd))
    out = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, stdout=subprocess.PIPE,
                         text=True, check=True)
    return out.stdout.splitlines()


def json_lines(lines):
    rows = []
    for line in lines:
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))
    return rows


def md_rows(lines):
    """`| name | number |` rows (the SNGAN step benches print Markdown)."""
    rows = {}
    for line in lines:
        m = re.match(r"^\|\s*([^|]+?)\s*\|\s*([0-9.]+)\s*\|\s*$", line)
        if m:
            rows[m.group(1)] = float(m.group(2))
    return rows


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def ms(s):
    return "—" if s is None else f"{s * 1e3:.2f}"


def can_import(python, modules):
    """Whether `python` imports every module named (comma-separated)."""
    try:
        subprocess.run([python, "-c", f"import {modules}"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return True
    except (OSError, subprocess.CalledProcessError):
        return False


def has_torch(python):
    return can_import(python, "torch, numpy, ot")


# --- sections: each returns (raw rows, {marker: markdown}) ----------------------------------

def section_sw(benches, binary, args):
    ours = json_lines(run_lines([benches["workloads"]], {"SWBURN_BENCH_DEVICE": "flex"}))
    if args.tch_benches:
        # Burn's LibTorch backend runs the plain-Burn reference path (no fused kernels).
        ours += json_lines(run_lines([args.tch_benches["workloads"]],
                                     dict(args.tch_env, SWBURN_BENCH_DEVICE="tch",
                                          OMP_NUM_THREADS=str(args.threads))))
    torch = []
    if args.torch:
        torch = json_lines(run_lines([args.python, ROOT / "scripts/bench/anchor_bench.py",
                                      str(args.threads)]))
    anchor = {r["workload"]: r for r in torch}
    twin = {"sw": "torch_contig_fwd_bwd_s", "lcv-sw": "torch_lcv_fwd_bwd_s",
            "ucv-sw": "torch_ucv_fwd_bwd_s"}
    rows = []
    for r in ours:
        a = anchor.get(r["workload"], {})
        # A direction variant (`sw-rqmc`) is compared with its plain estimator's twin.
        base = r["estimator"].removesuffix("-rqmc")
        theirs = a.get(twin.get(base, ""), None)
        if base == "sw" and a:
            theirs = min(a["torch_contig_fwd_bwd_s"], a["torch_paper_fwd_bwd_s"])
        ratio = f"{r['median_s'] / theirs:.2f}" if theirs else "—"
        rows.append([f"`{r['workload']}`", r["B"], r["n"], r["d"], r["L"], r["estimator"],
                     r.get("device", "flex"), ms(r["median_s"]), ms(theirs), ratio])
    md = table(["workload", "B", "n", "d", "L", "estimator", "device", "swburn (ms)",
                "PyTorch twin (ms)", "swburn / PyTorch"], rows)
    pot = [[f"`{w}`", ms(a.get("torch_paper_fwd_bwd_s")), ms(a.get("torch_contig_fwd_bwd_s")),
            ms(a.get("torch_lcv_fwd_bwd_s")), ms(a.get("torch_ucv_fwd_bwd_s")),
            ms(a.get("pot_fwd_s"))] for w, a in anchor.items()]
    md_anchor = table(["workload", "torch sw paper (ms)", "torch sw contig (ms)",
                       "torch lcv-sw (ms)", "torch ucv-sw (ms)", "POT sw fwd, f64 (ms)"], pot)
    return ours + torch, {"sw": md, "sw-anchor": md_anchor if pot else "(PyTorch not run)"}


def section_datasets(benches, binary, args):
    rows = json_lines(run_lines([benches["throughput"]]))
    md = table(["path", "items", "rate (items/s)"],
               [[r["bench"], r["items"], f"{next(v for k, v in r.items() if k.endswith('_per_s')):,.0f}"]
                for r in rows])
    return rows, {"datasets": md}


def section_eigen(benches, binary, args):
    """Laplace–Beltrami eigenpairs: ours (dense, shift-invert) beside the official scipy eigsh
    on the same dumped matrices."""
    with tempfile.TemporaryDirectory() as dump:
        rows = json_lines(run_lines([benches["eigensolver"], dump]))
        if can_import(args.python, "numpy, scipy.sparse.linalg"):
            rows += json_lines(run_lines([args.python, ROOT / "scripts/bench/eigsh_anchor.py", dump],
                                         {"OMP_NUM_THREADS": str(args.threads)}))
        else:
            log(f"{args.python} cannot import numpy and scipy: eigsh anchor skipped")
    by = {(r["vertices"], r["k"], r["solver"]): r for r in rows}
    solvers = list(dict.fromkeys(r["solver"] for r in rows))
    out = []
    for v, k in sorted({(r["vertices"], r["k"]) for r in rows}):
        ref = by.get((v, k, "scipy eigsh (official)"))
        cells = []
        for sname in solvers:
            r = by.get((v, k, sname))
            cells.append("—" if r is None else f"{r['seconds']:.2f}")
        ours = by.get((v, k, "shift-invert"))
        agree = "—"
        if ref and ours:
            agree = f"{abs(ours['lambda_last'] - ref['lambda_last']) / ref['lambda_last']:.1e}"
        out.append([f"{v:,}", k] + cells + [agree])
    md = table(["vertices", "K"] + [f"{s} (s)" for s in solvers] + ["λ_K rel. diff. vs eigsh"], out)
    return rows, {"eigen": md}


def section_mesh(benches, binary, args):
    rows = json_lines(run_lines([benches["mesh_losses"]]))
    losses = list(dict.fromkeys(r["loss"] for r in rows))
    by = {(r["vertices"], r["loss"]): r["median_s"] for r in rows}
    sizes = sorted({r["vertices"] for r in rows})
    md = table(["vertices"] + [f"{l} (s)" for l in losses],
               [[f"{n:,}"] + [("—" if by.get((n, l)) is None else f"{by[(n, l)]:.4f}")
                              for l in losses] for n in sizes])
    return rows, {"mesh": md}


def section_sngan(benches, binary, args):
    """Flex with the GEMM convolution (models::conv, the default), flex with Burn's conv2d, tch
    (LibTorch CPU, with --tch) and the PyTorch twin, same networks and threads."""
    raw, out = [], {}
    for label, cfg in [("sngan", ["64", "64", "128", "2"]), ("sngan-synthetic", ["16", "16", "32", "10"])]:
        ours = md_rows(run_lines([benches["sngan_steps"]] + cfg, {"SWBURN_BENCH_DEVICE": "flex"}))
        burn_conv = md_rows(run_lines([benches["sngan_steps"]] + cfg,
                                      {"SWBURN_BENCH_DEVICE": "flex-burn-conv"}))
        tch = {}
        if args.tch_benches:
            tch = md_rows(run_lines([args.tch_benches["sngan_steps"]] + cfg,
                                    dict(args.tch_env, SWBURN_BENCH_DEVICE="tch",
                                         OMP_NUM_THREADS=str(args.threads))))
        theirs = {}
        if args.torch:
            theirs = md_rows(run_lines([args.python, ROOT / "scripts/sngan_torch_bench.py"] + cfg,
                                       {"OMP_NUM_THREADS": str(args.threads)}))
        raw.append({"bench": label, "config": cfg, "swburn_ms": ours, "burn_conv_ms": burn_conv,
                    "tch_ms": tch, "torch_ms": theirs})
        rows = []
        ratio = lambda v, t: "—" if not t or v is None else f"{v / t:.2f}"
        num = lambda v: "—" if v is None else f"{v:,.1f}"
        for name, v in ours.items():
            t = theirs.get(name)
            rows.append([name, num(v), num(burn_conv.get(name)), num(tch.get(name)), num(t),
                         ratio(v, t), ratio(tch.get(name), t)])
        out[label] = table([f"part (G {cfg[0]} ch, D {cfg[1]} ch, batch {cfg[2]})",
                            "swburn flex, GEMM conv (ms)", "swburn flex, Burn conv (ms)",
                            "swburn tch (ms)", "PyTorch CPU (ms)", "flex / PyTorch",
                            "tch / PyTorch"], rows)
    return raw, out


def section_inception(benches, binary, args):
    rows = json_lines(run_lines([benches["inception"], "16", "3"]))
    if args.tch_benches:
        rows += json_lines(run_lines([args.tch_benches["inception"], "16", "3"],
                                     dict(args.tch_env, SWBURN_BENCH_DEVICE="tch",
                                          OMP_NUM_THREADS=str(args.threads))))
    md = table(["network", "batch", "device", "seconds per image (CPU)"],
               [["FID Inception-v3 forward (pool3 + logits)", r["batch"], r.get("device", "flex"),
                 f"{r['seconds_per_image']:.3f}"] for r in rows])
    return rows, {"inception": md, "readme-inception": f"{rows[0]['seconds_per_image']:.2f} s"}


def section_flow(benches, binary, args):
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        run_lines([binary, "--config", ROOT / "configs/gradient_flow.toml", "--out", tmp])
        wall = time.perf_counter() - t
        run = next(pathlib.Path(tmp, "gradient_flow").iterdir())
        with open(run / "metrics.csv") as f:
            metrics = list(csv.DictReader(f))
    cols = list(metrics[0].keys())
    est_key, step_key, w2_key = cols[0], cols[1], cols[2]
    secs_key = cols[3] if len(cols) > 3 else None
    steps = list(dict.fromkeys(int(m[step_key]) for m in metrics))
    ests = list(dict.fromkeys(m[est_key] for m in metrics))
    w2 = {(m[est_key], int(m[step_key])): float(m[w2_key]) for m in metrics}
    secs = {e: max(float(m[secs_key]) for m in metrics if m[est_key] == e) for e in ests} if secs_key else {}
    rows = [[e] + [f"{w2[(e, s)]:.6g}" for s in steps] + [f"{secs.get(e, float('nan')):.1f}"]
            for e in ests]
    md = table(["estimator"] + [f"W₂² at step {s}" for s in steps] + ["seconds of flow"], rows)
    md += f"\n\nWhole command, wall clock (exact W₂² evaluations, renders and PLY files included): {wall:.0f} s."
    raw = [{"bench": "gradient_flow", "wall_s": wall, "metrics": metrics}]
    return raw, {"flow": md, "readme-flow-time": f"{wall:.0f} s", "readme-flow": md}


def section_variants(benches, binary, args):
    """The SW variants (EBSW, RPSW, GSW, max-GSW, S3W, RI-S3W, SSW, linear SSW, sliced plans)
    beside their PyTorch / POT twins (`scripts/bench/variants_bench.py`)."""
    ours = json_lines(run_lines([benches["variants"]]))
    theirs = []
    if args.torch:
        theirs = json_lines(run_lines([args.python, ROOT / "scripts/bench/variants_bench.py",
                                       str(args.threads)]))
    twin = {(r["workload"], r["op"]): r["median_s"] for r in theirs}
    rows = []
    for r in ours:
        t = twin.get((r["workload"], r["op"]))
        ratio = f"{r['median_s'] / t:.2f}" if t else "—"
        rows.append([f"`{r['workload']}`", r["B"], r["n"], r["d"], r["L"], r["op"],
                     ms(r["median_s"]), ms(t), ratio])
    md = table(["workload", "B", "n", "d", "L", "op", "swburn (ms)", "PyTorch/POT twin (ms)",
                "swburn / twin"], rows)
    return ours + theirs, {"variants": md}


def replace_markers(path, blocks):
    text = path.read_text()
    changed = []
    for name, body in blocks.items():
        pattern = re.compile(rf"(<!-- bench:{re.escape(name)} -->)(.*?)(<!-- /bench:{re.escape(name)} -->)", re.S)
        inline = "\n" not in body
        new = body if inline else f"\n{body}\n"
        text, n = pattern.subn(lambda m: m.group(1) + new + m.group(3), text)
        if n:
            changed.append(name)
    path.write_text(text)
    return changed


def main():
    # The Vulkan loader (compiled in with wgpu) complains without one.
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp())
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: " + ",".join(SECTIONS))
    p.add_argument("--python", default=os.environ.get("SWBURN_BENCH_PYTHON", "python3"))
    p.add_argument("--threads", type=int, default=2, help="PyTorch threads (match the cores)")
    p.add_argument("--no-write", action="store_true", help="print only")
    p.add_argument("--tch", action="store_true",
                   help="also build and time the LibTorch backend (scripts/tch_env.sh's venv)")
    args = p.parse_args()
    only = [s for s in args.only.split(",") if s]
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        p.error(f"unknown section(s) {unknown}; choose from {SECTIONS}")
    args.torch = has_torch(args.python)
    if not args.torch and any(s in only for s in ("sw", "variants", "sngan")):
        log(f"{args.python} cannot import torch, numpy and ot: PyTorch anchors skipped "
            "(pip install torch numpy pot, then --python)")
    benches, binary = build()
    args.tch_benches, args.tch_env = build_tch() if args.tch else ({}, {})
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H%M%S")
    out_dir = ROOT / "bench_out" / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    raw, blocks = [], {}
    for name in only:
        rows, md = globals()[f"section_{name}"](benches, binary, args)
        raw += rows
        blocks.update(md)
    machine = f"{os.cpu_count()} cores, {stamp[:10]}"
    if set(only) == set(SECTIONS):
        blocks["sitting"] = f"{machine}, `python3 scripts/bench.py`"
    else:
        # a partial sitting dates its own tables and leaves the global line alone
        for name in list(blocks):
            blocks[name] += f"\n\n_Measured {machine}, `python3 scripts/bench.py --only {','.join(only)}`._"
    with open(out_dir / "raw.jsonl", "w") as f:
        for r in raw:
            f.write(json.dumps(r) + "\n")
    for name, body in blocks.items():
        print(f"\n### {name}\n\n{body}")
    if not args.no_write:
        for doc in ["BENCHMARKS.md", "README.md"]:
            changed = replace_markers(ROOT / doc, blocks)
            log(f"{doc}: updated {', '.join(changed) or 'nothing'}")
    log(f"raw output: {out_dir / 'raw.jsonl'}")


if __name__ == "__main__":
    main()
