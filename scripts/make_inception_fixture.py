"""Writes crates/models/tests/data/inception_fixture.json: the FID Inception-v3 of pytorch-fid
(torchvision's inception_v3 with pytorch-fid's FIDInceptionA/C/E_1/E_2 blocks, 1008 classes)
with deterministic formula weights, run on a fixed batch of 32x32 images in [-1, 1] exactly as
`models::inception` runs it (bilinear resize to 299, align_corners=False; no further scaling),
and Frechet distances / Inception Scores computed by pytorch-fid / numpy on fixed inputs.

The weights are not stored: every parameter `name` of shape `shape` is filled by `formula`,
which the Rust test reimplements, so the fixture stays small (~200 kB).

    pip install torch torchvision pytorch-fid scipy
    python scripts/make_inception_fixture.py
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_fid.fid_score import calculate_frechet_distance
from pytorch_fid.inception import (FIDInceptionA, FIDInceptionC, FIDInceptionE_1,
                                   FIDInceptionE_2)
from torchvision.models.inception import inception_v3


def fnv1a(name: str) -> int:
    h = 0xCBF29CE484222325
    for b in name.encode():
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def formula(name: str, shape) -> np.ndarray:
    n = int(np.prod(shape)) if len(shape) else 1
    phase = (fnv1a(name) % 1000) / 1000.0 * 2 * math.pi
    i = np.arange(n, dtype=np.float64)
    s = np.sin(0.37 * i + phase)
    if name.endswith("running_var"):
        v = 1.0 + 0.25 * (s + 1.0)
    elif name.endswith("running_mean") or name.endswith("bn.bias"):
        v = 0.05 * s
    elif name.endswith("bn.weight"):
        v = 1.0 + 0.1 * s
    elif name == "fc.bias":
        v = 0.01 * s
    else:  # conv kernels [o, i, kh, kw] and fc.weight [1008, 2048]
        fan_in = int(np.prod(shape[1:]))
        v = math.sqrt(4.0 / fan_in) * s
    return v.reshape(shape).astype(np.float32)


def fid_inception():
    net = inception_v3(num_classes=1008, aux_logits=False, weights=None, init_weights=False)
    net.Mixed_5b = FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = FIDInceptionE_1(1280)
    net.Mixed_7c = FIDInceptionE_2(2048)
    return net.eval()


def forward(net, x):
    """pool3 features and logits, the path of pytorch-fid's InceptionV3 (resize, no
    normalisation since x is already in [-1, 1]) plus the fc layer."""
    x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    for name in ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"]:
        x = getattr(net, name)(x)
    x = F.max_pool2d(x, kernel_size=3, stride=2)
    x = net.Conv2d_3b_1x1(x)
    x = net.Conv2d_4a_3x3(x)
    x = F.max_pool2d(x, kernel_size=3, stride=2)
    for name in ["Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c",
                 "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"]:
        x = getattr(net, name)(x)
    pool3 = F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)
    return pool3, net.fc(pool3)


def inception_score(logits: np.ndarray, splits: int) -> tuple:
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    scores = []
    for part in np.array_split(p, splits):
        py = part.mean(0, keepdims=True)
        kl = (part * (np.log(part) - np.log(py))).sum(1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


def main():
    torch.set_num_threads(2)
    net = fid_inception()
    params = []
    state = net.state_dict()
    for name, tensor in state.items():
        if name.endswith("num_batches_tracked"):
            continue
        state[name] = torch.from_numpy(formula(name, tuple(tensor.shape)))
        params.append([name, list(tensor.shape)])
    net.load_state_dict(state)
    i = np.arange(2 * 3 * 32 * 32, dtype=np.float64)
    x = np.sin(0.05 * i) * np.cos(0.013 * i)
    x = x.astype(np.float32).reshape(2, 3, 32, 32)
    with torch.no_grad():
        pool3, logits = forward(net, torch.from_numpy(x))

    rng = np.random.default_rng(0)
    frechet = []
    for d, rank in [(16, 16), (16, 6), (64, 64)]:
        a = rng.normal(size=(d, rank))
        b = rng.normal(size=(d, d))
        s1 = a @ a.T / rank
        s2 = b @ b.T / d + 0.1 * np.eye(d)
        m1, m2 = rng.normal(size=d), rng.normal(size=d)
        frechet.append({"mu1": m1.tolist(), "sigma1": s1.ravel().tolist(), "mu2": m2.tolist(),
                        "sigma2": s2.ravel().tolist(), "dim": d,
                        "fid": float(calculate_frechet_distance(m1, s1, m2, s2))})
    logits_is = rng.normal(size=(50, 12)) * 3.0
    is_mean, is_std = inception_score(logits_is, 10)

    out = {
        "source": "scripts/make_inception_fixture.py (torch %s, pytorch-fid FID blocks)" % torch.__version__,
        "params": params,
        "input": x.ravel().tolist(),
        "pool3": pool3.numpy().ravel().tolist(),
        "logits": logits.numpy().ravel().tolist(),
        "frechet": frechet,
        "inception_score": {"logits": logits_is.ravel().tolist(), "classes": 12, "splits": 10,
                            "mean": is_mean, "std": is_std},
    }
    path = os.path.join(os.path.dirname(__file__), "..", "crates", "models", "tests", "data",
                        "inception_fixture.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print("pool3 mean |x| %.4g, max %.4g; logits std %.4g" % (
        pool3.abs().mean(), pool3.abs().max(), logits.std()))
    print("wrote", os.path.abspath(path), len(params), "tensors")


if __name__ == "__main__":
    main()
