"""Merges the JSON lines of the sw-loss `workloads` bench and scripts/torch_cuda_bench.py into
one Markdown table (milliseconds, forward+backward medians).

    python scripts/gpu_table.py swburn.jsonl torch.jsonl [DEVICE]

DEVICE is the bench's device name of the swburn rows (default `wgpu`; `tch-cuda` for Burn's
LibTorch backend, whose rows sort with LibTorch's own sort and so fill the first column).
"""
import json
import sys


def read(path):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    rows.append(json.loads(line))
    except FileNotFoundError:
        pass
    return rows


def ms(v):
    return "—" if v is None else f"{1000 * v:.3f}"


def main():
    ours, theirs = read(sys.argv[1]), read(sys.argv[2])
    device = sys.argv[3] if len(sys.argv) > 3 else "wgpu"
    order = ["flow", "pc_batch", "gen_feat", "large"]
    cols = [("sw", "device"), ("sw", "burn-host"), ("lcv-sw", "device"), ("ucv-sw", "device")]
    adapter = next((r.get("adapter") for r in ours if r.get("device") == device), "?")
    torch_dev = next((t.get("torch_device") for t in theirs), "?")
    torch_ver = next((t.get("torch") for t in theirs), "?")
    print(f"swburn on {device}: {adapter}; PyTorch {torch_ver} on: {torch_dev}. "
          "Milliseconds, median of forward+backward.")
    print()
    print("| workload | B | n | d | L | swburn sw (device sort) | swburn sw (Burn host sort) "
          "| swburn lcv-sw | swburn ucv-sw | torch paper | torch contig | torch best / swburn sw |")
    print("| --- " * 12 + "|")
    for wl in order:
        mine = {(r["estimator"], "device" if r.get("sort") == "cpu" else r.get("sort")): r["median_s"]
                for r in ours if r["workload"] == wl and r.get("device") == device}
        t = next((r for r in theirs if r["workload"] == wl), {})
        shape = next((r for r in ours + theirs if r["workload"] == wl), None)
        if shape is None:
            continue
        tp, tc = t.get("torch_paper_fwd_bwd_s"), t.get("torch_contig_fwd_bwd_s")
        best = min([v for v in (tp, tc) if v is not None], default=None)
        sw = mine.get(("sw", "device"))
        ratio = f"{best / sw:.2f}×" if best and sw else "—"
        cells = [ms(mine.get(c)) for c in cols]
        print(f"| `{wl}` | {shape['B']} | {shape['n']} | {shape['d']} | {shape['L']} | "
              + " | ".join(cells) + f" | {ms(tp)} | {ms(tc)} | {ratio} |")


if __name__ == "__main__":
    main()
