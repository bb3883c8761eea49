#!/usr/bin/env python3
"""Times the official eigensolve on the matrices `datasets/benches/eigensolver.rs` dumped.

    python scripts/bench/eigsh_anchor.py DUMP_DIR

EOT-Correspondence `utils/geometry_util.py` (`compute_operators`):
`scipy.sparse.linalg.eigsh(L + eps*I, k, M=diag(mass), sigma=eps)`, eps = 1e-8, eigenvalues
clipped at 0. Prints one JSON line per (mesh, K) like the Rust bench. Needs numpy and scipy.
"""
import glob
import json
import os
import sys
import time

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

EPS = 1e-8


def main(folder):
    for path in sorted(glob.glob(os.path.join(folder, "mass*.npy"))):
        v = int(os.path.basename(path)[4:-4])
        mass = np.load(path)
        rows, cols, vals = (np.load(os.path.join(folder, f"L{v}_{n}.npy")) for n in ("rows", "cols", "vals"))
        L = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(v, v))
        for k in (128, 200):
            t = time.perf_counter()
            evals, _ = scipy.sparse.linalg.eigsh(L + EPS * scipy.sparse.identity(v), k,
                                                 M=scipy.sparse.diags(mass), sigma=EPS)
            secs = time.perf_counter() - t
            evals = np.sort(np.clip(evals, 0.0, None))
            print(json.dumps({"vertices": v, "k": k, "solver": "scipy eigsh (official)",
                              "seconds": round(secs, 4), "lambda_1": float(evals[1]),
                              "lambda_last": float(evals[k - 1])}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
