"""PyTorch twin of the sw-loss workloads on one device (CUDA by default): forward+backward
median seconds of SW_2 with `torch.sort`, in the two layouts of scripts/bench/anchor_bench.py
("paper": x @ θᵀ sorted along points; "contig": [B, L, n] rows). One JSON line per workload.

    python scripts/torch_cuda_bench.py [--device cuda] [--only flow,large]
"""
import argparse
import json
import time

import torch

CASES = {
    "flow": dict(B=1, n=2048, d=3, L=100),
    "pc_batch": dict(B=32, n=2048, d=3, L=100),
    "gen_feat": dict(B=1, n=128, d=8193, L=10),
    "large": dict(B=1, n=65536, d=3, L=256),
}


def sw_paper(x, y, th, p=2):
    sx, _ = torch.sort(x @ th.T, dim=1)
    sy, _ = torch.sort(y @ th.T, dim=1)
    return (sx - sy).abs().pow(p).mean(dim=1).mean(dim=1).pow(1 / p).mean()


def sw_contig(x, y, th, p=2):
    px = (th @ x.transpose(1, 2)).contiguous()
    py = (th @ y.transpose(1, 2)).contiguous()
    sx, _ = torch.sort(px, dim=2)
    sy, _ = torch.sort(py, dim=2)
    return (sx - sy).abs().pow(p).mean(dim=2).mean(dim=1).pow(1 / p).mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    only = [w for w in a.only.split(",") if w]
    for wl, c in CASES.items():
        if only and wl not in only:
            continue
        g = torch.Generator().manual_seed(0)
        x = torch.randn(c["B"], c["n"], c["d"], generator=g).to(dev).requires_grad_(True)
        y = (torch.randn(c["B"], c["n"], c["d"], generator=g) + 1).to(dev)
        th = torch.randn(c["L"], c["d"], generator=g)
        th = (th / th.norm(dim=1, keepdim=True)).to(dev)
        r = {}
        for label, fn in [("torch_paper", sw_paper), ("torch_contig", sw_contig)]:
            def step():
                x.grad = None
                fn(x, y, th).backward()
                sync()

            for _ in range(3):
                step()
            ts = []
            for _ in range(20):
                t = time.perf_counter()
                step()
                ts.append(time.perf_counter() - t)
            ts.sort()
            r[label + "_fwd_bwd_s"] = round(ts[len(ts) // 2], 6)
        print(json.dumps({"workload": wl, **c, "torch_device": name,
                          "torch": torch.__version__, **r}), flush=True)


if __name__ == "__main__":
    main()
