"""Writes a small shape-correspondence folder in the official ULRSSM / EOT-Correspondence
layout, so configs/faust_corr.toml can run end to end without the FAUST download:

    <out>/off/shape_000.off, shape_001.off    two closed surfaces (642 vertices;
                                             --subdivision 4: 2 562) (a bumpy blob and
                                             a bent, re-jittered copy: near-isometric)
    <out>/corres/shape_00k.vts               1-based vertex of each template point (identity)
    <out>/dist/shape_00k.mat                 `dist` [V, V]: Dijkstra on the edge graph / sqrt(area),
                                             saved with scipy.io.savemat (MATLAB v5) like ULRSSM

Run:  python scripts/make_corr_layout.py data/corr_two [--subdivision 4]
then: experiments --config configs/faust_corr.toml --set data.folder='"data/corr_two"' \
        --set data.train='[0, 2]' --set data.test='[0, 2]' --set train.epochs=1 ...
Needs numpy and scipy.
"""
import argparse
import os
import sys

import numpy as np
import scipy.io as sio
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra


def icosphere(k):
    t = (1 + 5 ** 0.5) / 2
    v = [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t],
         [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]]
    f = [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2],
         [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5],
         [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]]
    v = [list(np.array(p) / np.linalg.norm(p)) for p in v]
    for _ in range(k):
        mid, nf = {}, []

        def m(a, b):
            key = (min(a, b), max(a, b))
            if key not in mid:
                p = (np.array(v[a]) + np.array(v[b])) / 2
                v.append(list(p / np.linalg.norm(p)))
                mid[key] = len(v) - 1
            return mid[key]

        for a, b, c in f:
            ab, bc, ca = m(a, b), m(b, c), m(c, a)
            nf += [[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]
        f = nf
    return np.array(v), np.array(f)


def embed(u, kappa):
    bumps = [([0, 0, 1], 0.45, 0.35), ([0.8, 0.6, 0], 0.3, 0.3), ([-0.6, 0.2, -0.77], 0.2, 0.45)]
    r = np.ones(len(u))
    for c, h, w in bumps:
        c = np.array(c) / np.linalg.norm(c)
        r += h * np.exp(-np.sum((u - c) ** 2, 1) / (2 * w * w))
    p = r[:, None] * u * np.array([1.0, 0.7, 1.3])
    if abs(kappa) > 1e-9:
        theta, rho = kappa * p[:, 2], 1 / kappa - p[:, 0]
        p = np.stack([1 / kappa - rho * np.cos(theta), p[:, 1], rho * np.sin(theta)], 1)
    return p


def area(v, f):
    return 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1).sum()


def geodesics(v, f):
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    w = np.linalg.norm(v[e[:, 0]] - v[e[:, 1]], axis=1)
    g = coo_matrix((w, (e[:, 0], e[:, 1])), shape=(len(v), len(v))).tocsr()
    return dijkstra(g, directed=False) / np.sqrt(area(v, f))


def main(out, subdivision):
    for sub in ("off", "corres", "dist"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    u0, f = icosphere(subdivision)
    rng = np.random.default_rng(7)
    for s, kappa in enumerate([0.0, 0.4]):
        u = u0 + (0.03 * (rng.random(u0.shape) - 0.5) if s else 0.0)
        u = u / np.linalg.norm(u, axis=1, keepdims=True)
        v = embed(u, kappa)
        name = f"shape_{s:03d}"
        path = os.path.join(out, "off", name + ".off")
        if os.path.exists(path):
            sys.exit(f"{path} exists; not overwriting")
        with open(path, "w") as fh:
            fh.write(f"OFF\n{len(v)} {len(f)} 0\n")
            fh.writelines(f"{x:.6f} {y:.6f} {z:.6f}\n" for x, y, z in v)
            fh.writelines(f"3 {a} {b} {c}\n" for a, b, c in f)
        np.savetxt(os.path.join(out, "corres", name + ".vts"), np.arange(1, len(v) + 1), fmt="%d")
        sio.savemat(os.path.join(out, "dist", name + ".mat"), {"dist": geodesics(v, f)})
    print(f"wrote 2 shapes of {len(u0)} vertices to {out}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="two shapes in the ULRSSM layout")
    ap.add_argument("out", nargs="?", default="data/corr_two")
    ap.add_argument("--subdivision", type=int, default=3, choices=range(1, 6),
                    help="icosphere level: 3 → 642 vertices (dense eigensolver), 4 → 2 562 "
                         "(FAUST_r-like size: the sparse shift-invert path with K = 200), "
                         "5 → 10 242 (the distance matrices take 800 MB each)")
    a = ap.parse_args()
    main(a.out, a.subdivision)
