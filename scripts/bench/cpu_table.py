"""Merges the JSON lines of the sw-loss `workloads` bench (Flex, CPU) and of
../shared/bench/anchor_bench.py (PyTorch CPU, same sitting) into one Markdown table:
milliseconds (forward+backward medians) and the ratio ours / PyTorch per estimator.

    python scripts/bench/cpu_table.py swburn.jsonl torch.jsonl

PyTorch twins: sw → the faster of torch_paper / torch_contig, lcv-sw → torch_lcv,
ucv-sw → torch_ucv; the `-rqmc` rows (fresh RQMC directions drawn inside the timed step) are
compared with the same twins (PyTorch reuses one set of directions).
"""
import json
import sys


def read(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip().startswith("{")]


def main():
    ours, theirs = read(sys.argv[1]), read(sys.argv[2])
    torch = {t["workload"]: t for t in theirs}
    order = ["flow", "pc_batch", "gen_feat", "large"]
    estimators = ["sw", "lcv-sw", "ucv-sw", "sw-rqmc", "lcv-sw-rqmc", "ucv-sw-rqmc"]
    twin = {
        "sw": lambda t: min(t["torch_paper_fwd_bwd_s"], t["torch_contig_fwd_bwd_s"]),
        "lcv-sw": lambda t: t["torch_lcv_fwd_bwd_s"],
        "ucv-sw": lambda t: t["torch_ucv_fwd_bwd_s"],
    }
    print("| workload | estimator | swburn (ms) | PyTorch twin (ms) | ours / PyTorch |")
    print("| --- | --- | ---: | ---: | ---: |")
    for wl in order:
        if wl not in torch:
            continue
        for est in estimators:
            row = next((r for r in ours if r["workload"] == wl and r["estimator"] == est
                        and r.get("device", "flex") == "flex"), None)
            if row is None:
                continue
            base = est.removesuffix("-rqmc")
            t = twin[base](torch[wl])
            ratio = row["median_s"] / t
            mark = "" if ratio <= 0.5 else " ✗"
            print(f"| `{wl}` | {est} | {1000 * row['median_s']:.2f} | {1000 * t:.2f} "
                  f"| {ratio:.2f}{mark} |")


if __name__ == "__main__":
    main()
