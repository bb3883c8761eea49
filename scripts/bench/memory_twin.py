"""The PyTorch and POT twins of `cargo bench -p sw-loss --bench memory`: one SW_2 forward +
backward between N(0, I) and N(1, I) clouds of N points in R^D with L uniform directions, the
gradient to x, f32 on the CPU.

    python memory_twin.py torch N L D
    python memory_twin.py pot N L D      # ot.sliced_wasserstein_distance on torch tensors

Both materialise the projections [N, L] of each cloud (PyTorch: x @ theta.T; POT 0.9.7 does
the same inside sliced_wasserstein_distance). Prints one JSON line; an allocation failure is
reported as {"error": "out of memory", ...} (memory_table.py runs this under a virtual-memory
limit so that the failure is an exception, not the OOM killer).
"""
import json
import resource
import sys
import time

import torch


def main():
    impl, n, l, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.manual_seed(0)
    torch.set_num_threads(2)
    x = torch.randn(n, d, dtype=torch.float32).requires_grad_(True)
    y = torch.randn(n, d, dtype=torch.float32) + 1.0
    out = {"impl": impl, "n": n, "l": l, "d": d}
    try:
        start = time.perf_counter()
        if impl == "torch":
            theta = torch.randn(l, d, dtype=torch.float32)
            theta = theta / theta.norm(dim=1, keepdim=True)
            sx, _ = torch.sort(x @ theta.T, dim=0)
            sy, _ = torch.sort(y @ theta.T, dim=0)
            value = (sx - sy).pow(2).mean().sqrt()
        else:
            import ot

            value = ot.sliced_wasserstein_distance(x, y, n_projections=l, p=2, seed=0)
        value.backward()
        out["forward_backward_s"] = round(time.perf_counter() - start, 3)
        out["sw2"] = float(value)
    except (RuntimeError, MemoryError) as e:
        out["error"] = "out of memory" if "memory" in str(e).lower() or isinstance(e, MemoryError) else str(e)[:200]
    out["peak_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out))


if __name__ == "__main__":
    main()
