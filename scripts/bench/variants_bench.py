"""PyTorch / POT twins of the SW variants for BENCHMARKS.md: forward + backward (gradient in x)
on the shapes of `crates/sw-loss/benches/variants.rs`. Usage: python variants_bench.py [THREADS]

Each twin is written the way the official code writes it, batched over B where the official
code is (the EBSW, RPSW, GSW and S3W repositories loop over nothing but torch ops):
  ebsw          khainb/EBSW: sort the projections, per-direction W_2^2, softmax weights, sum
  rpsw          khainb/RPSW: directions around x_i - y_j (power spherical, kappa 100), then SW
  gsw-poly3     kimiandj/gsw: cubic monomials, then SW on the features
  gsw-circular  kimiandj/gsw: ||x - r theta||, then SW
  max-gsw       kimiandj/gsw: 50 Adam steps (lr 1e-2) on one circular direction, then GSW
  s3w, ri-s3w   mint-vu/s3wd: cap, stereographic projection, h1, SW (ri: 5 Haar rotations)
  ssw           POT 0.9.7 ot.sliced_wasserstein_sphere (torch backend), looped over B
  lssot         POT 0.9.7 ot.linear_sliced_wasserstein_sphere (torch backend)
  plans         POT 0.9.7 ot.sliced.sliced_plans (torch backend) and the costs' backward
  suot, usot    POT 0.9.7 ot.sliced_unbalanced_ot / ot.unbalanced_sliced_ot (torch backend,
                reg_m 1, 10 Frank-Wolfe steps): FORWARD ONLY, POT cannot be differentiated in
                the points (emd_1d_dual_backprop calls backward() in every step)
Directions are drawn once outside the timed step (as the Rust bench), except rpsw and max-gsw.
Prints one JSON line per workload and op with median seconds (f32)."""
import json
import math
import sys
import time

import numpy as np
import ot
import torch

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
WORKLOADS = {"flow": (1, 2048, 3, 100), "pc_batch": (32, 2048, 3, 100), "large": (1, 65536, 3, 256)}
OPS = {
    "ebsw": ["flow", "pc_batch", "large"],
    "rpsw": ["flow", "pc_batch", "large"],
    "gsw-poly3": ["flow", "pc_batch", "large"],
    "gsw-circular": ["flow", "pc_batch", "large"],
    "max-gsw": ["flow"],
    "s3w": ["flow", "pc_batch", "large"],
    "ri-s3w": ["flow", "pc_batch", "large"],
    "ssw": ["flow"],
    "lssot": ["flow"],
    "plans": ["flow"],
    "suot": ["flow"],
    "usot": ["flow"],
}
UOT_RHO = 1.0  # as benches/variants.rs
CAP = float(np.float32(1.0 - 1e-6))


def unit(t, dim=-1):
    return t / t.norm(dim=dim, keepdim=True)


def wpp(px, py):
    """[B, n, L] projections -> per-direction W_2^2 [B, L] (equal sizes, sorted pairs)."""
    sx = torch.sort(px, dim=1).values
    sy = torch.sort(py, dim=1).values
    return ((sx - sy) ** 2).mean(dim=1)


def sw2(x, y, th):
    return wpp(x @ th.T, y @ th.T).mean()


def ebsw(x, y, th):
    w = wpp(x @ th.T, y @ th.T)
    return (torch.softmax(w, dim=1) * w).sum(dim=1).mean()


def power_spherical(mu, kappa, generator=None):
    """Power spherical samples around the unit rows mu [K, d] (De Cao & Aziz, 2020)."""
    k, d = mu.shape
    beta = torch.distributions.Beta((d - 1) / 2 + kappa, (d - 1) / 2)
    z = beta.sample((k,)).to(mu.dtype)
    t = 2 * z - 1
    v = unit(torch.randn(k, d - 1, dtype=mu.dtype))
    y = torch.cat([t[:, None], (1 - t[:, None] ** 2).clamp_min(0).sqrt() * v], dim=1)
    e1 = torch.zeros_like(mu)
    e1[:, 0] = 1
    u = unit(e1 - mu)
    return y - 2 * (y * u).sum(1, keepdim=True) * u


def rpsw(x, y, l):
    b, n, d = x.shape
    i = torch.randint(0, n, (b, l))
    j = torch.randint(0, n, (b, l))
    diff = (x.detach()[torch.arange(b)[:, None], i] - y[torch.arange(b)[:, None], j]).reshape(b * l, d)
    th = power_spherical(unit(diff), 100.0).reshape(b, l, d)
    return wpp(x @ th.transpose(1, 2), y @ th.transpose(1, 2)).mean()


def poly3(z):
    d = z.shape[-1]
    cols = []
    for a in range(d):
        for b_ in range(a, d):
            for c in range(b_, d):
                cols.append(z[..., a] * z[..., b_] * z[..., c])
    return torch.stack(cols, dim=-1)


def circular(z, centres):
    return torch.cdist(z, centres[None].expand(z.shape[0], -1, -1))


def max_gsw(x, y):
    th = unit(torch.randn(1, x.shape[-1])) * 2.0
    th.requires_grad_(True)
    opt = torch.optim.Adam([th], lr=1e-2)
    xd, yd = x.detach(), y.detach()
    for _ in range(50):
        opt.zero_grad()
        (-wpp(circular(xd, th), circular(yd, th)).mean()).backward()
        opt.step()
        with torch.no_grad():
            th.data = unit(th.data) * 2.0
    return wpp(circular(x, th.detach()), circular(y, th.detach())).mean()


def s3w_features(x):
    d = x.shape[-1] - 1
    xc = x.clone()
    last = x[..., d:].clamp(max=CAP)
    head = x[..., :d]
    scale = ((1 - last ** 2) / (head ** 2).sum(-1, keepdim=True)).sqrt()
    capped = torch.cat([head * torch.nan_to_num(scale, nan=1.0), last], dim=-1)
    xc = x + (capped - x).detach()
    s = 2 * xc[..., :d] / (1 - xc[..., d:])
    q = (s ** 2).sum(-1, keepdim=True).clamp(min=1e-8)
    c = (-((q - 1) / (q + 1)).clamp(-1, 1)).clamp(-1 + 1e-6, 1 - 1e-6)
    return torch.arccos(c) / math.pi * s / q.sqrt()


def haar(k, r):
    g = torch.randn(r, k, k)
    q, rr = torch.linalg.qr(g)
    q = q * torch.sign(torch.diagonal(rr, dim1=1, dim2=2))[:, None, :]
    neg = torch.linalg.det(q) < 0
    q[neg, :, 0] = -q[neg, :, 0]
    return q


def s3w(x, y, th):
    return sw2(s3w_features(x), s3w_features(y), th)


def ri_s3w(x, y, th, rots):
    total = 0
    for r in rots:
        total = total + s3w(x @ r.T, y @ r.T, th)
    return total / rots.shape[0]


def time_op(op, name):
    b, n, d, l = WORKLOADS[name]
    torch.manual_seed(0)
    spherical = op in ("s3w", "ri-s3w", "ssw", "lssot")
    x0, y0 = torch.randn(b, n, d), torch.randn(b, n, d) + 1
    if spherical:
        x0, y0 = unit(x0), unit(y0)
    th3 = unit(torch.randn(l, d))
    th_poly = unit(torch.randn(l, 10))
    th_s3w = unit(torch.randn(l, d - 1))
    centres = 2.0 * th3
    rots = haar(d, 5)
    frames = torch.linalg.qr(torch.randn(l, d, 2)).Q

    def step():
        x = x0.clone().requires_grad_(True)
        if op == "ebsw":
            v = ebsw(x, y0, th3)
        elif op == "rpsw":
            v = rpsw(x, y0, l)
        elif op == "gsw-poly3":
            v = sw2(poly3(x), poly3(y0), th_poly)
        elif op == "gsw-circular":
            v = wpp(circular(x, centres), circular(y0, centres)).mean()
        elif op == "max-gsw":
            v = max_gsw(x, y0)
        elif op == "s3w":
            v = s3w(x, y0, th_s3w)
        elif op == "ri-s3w":
            v = ri_s3w(x, y0, th_s3w, rots)
        elif op == "ssw":
            v = sum(ot.sliced_wasserstein_sphere(x[i], y0[i], n_projections=l, projections=frames, p=2)
                    for i in range(b))
        elif op == "lssot":
            v = sum(ot.linear_sliced_wasserstein_sphere(x[i], y0[i], n_projections=l, projections=frames)
                    for i in range(b))
        elif op == "plans":
            plans, costs = ot.sliced.sliced_plans(x[0], y0[0], projections=th3.T)
            v = costs.mean()
        elif op == "suot":
            ot.sliced_unbalanced_ot(x0[0], y0[0], UOT_RHO, projections=th3.T)
            return
        elif op == "usot":
            ot.unbalanced_sliced_ot(x0[0], y0[0], UOT_RHO, projections=th3.T)
            return
        else:
            raise ValueError(op)
        v.backward()
        _ = x.grad[0, 0, 0].item()

    step()
    reps = 5 if b * n * l > 1_000_000 or op in ("ssw", "max-gsw") else 11
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def main():
    only = set(sys.argv[2].split(",")) if len(sys.argv) > 2 else None
    for op, names in OPS.items():
        for name in names:
            if only and name not in only:
                continue
            b, n, d, l = WORKLOADS[name]
            s = time_op(op, name)
            print(json.dumps({"workload": name, "op": op, "twin": "pytorch/pot", "B": b, "n": n,
                              "d": d, "L": l, "median_s": round(s, 6)}), flush=True)


if __name__ == "__main__":
    main()
