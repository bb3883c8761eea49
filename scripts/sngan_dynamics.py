#!/usr/bin/env python3
"""SNGAN training dynamics: a PyTorch twin of the official CV-SW loop vs our Rust trainer.

The reference is khainb/CV-SW, folder Generative_model/ (cited below as `trainsw.py:N`,
`functions.py:N`, `models/sngan_cifar10.py:N`, `models/gen_resblock.py:N`, `datasets.py:N`,
`cfg.py:N`, `README.md:N`; line numbers of the repository's HEAD). The twin is our own code; it
mirrors those files' behaviour at a small size (G and D 16 channels, batch 32, 400 G steps) so a
run takes minutes on a CPU.

What it does
  1. Writes a deterministic synthetic data set in CIFAR-10's *binary* layout
     (`<root>/cifar-10-batches-bin/data_batch_{1..5}.bin`, `test_batch.bin`; one record = 1 label
     byte + 3072 bytes, R/G/B planes of 32×32, row-major) — what `datasets/src/cifar.rs` reads —
     so the twin and our binary train on the same pixels.
  2. Trains the twin (the official loop) on it, once per (variant, seed), logging the D hinge
     loss and the G loss at every G step. Each variant switches ONE behaviour to what our Rust
     trainer does (or a diagnostic), so its effect is measured inside the twin itself.
  3. With `--ours BINARY` runs our `experiments` binary on the same data and reads its
     metrics.csv (`train.log_every = 1`: one row per G step).
  4. Prints window means of D and G loss over G steps [20, 200) and [200, 400] (scaled with
     --steps), the ratio to the mean of the official-twin seeds, and that seeds' spread.

Examples
  python scripts/sngan_dynamics.py --init-check                       # the D-init question
  python scripts/sngan_dynamics.py --variants official --seeds 1,2 --threads 1
  python scripts/sngan_dynamics.py --variants official,g-last,sn-power15,d-xavier,ours --seeds 1
  python scripts/sngan_dynamics.py --variants official --seeds 1,2 \\
      --ours target/release/experiments --markdown             # side by side
  python scripts/sngan_dynamics.py --variants none --ours-metrics a.csv,b.csv   # existing CSVs

Twin logs are cached in --work (default /var/tmp/swburn-sngan-dyn/twin/*.csv) keyed by the
variant's settings, seed, seed mode and steps; --rerun ignores the cache.

Per-G-step D loss = the hinge loss of the D step immediately before that G step (what our
trainer logs: the last of its n_critic D steps); `d_group` (also logged) is the mean over the
D steps since the previous G step.
"""
import argparse
import csv
import glob
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import time
import types

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = "/var/tmp/swburn-sngan-dyn"

# --------------------------------------------------------------------------------------------
# 1. Synthetic CIFAR-format data (binary layout of datasets/src/cifar.rs)
# --------------------------------------------------------------------------------------------
RECORD = 1 + 3 * 32 * 32


def synth_images(n, seed):
    """n images [n, 3, 32, 32] uint8 and labels: one coloured shape (disc, square, triangle,
    ring, cross by label % 5) on a two-colour linear gradient, light (label < 5) or dark."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float64)
    imgs = np.empty((n, 3, 32, 32), np.uint8)
    labels = np.arange(n) % 10
    for i, lab in enumerate(labels):
        shape, dark = lab % 5, lab >= 5
        base = rng.uniform(15, 75) if dark else rng.uniform(165, 235)
        c0 = base + rng.uniform(-12, 12, 3)
        c1 = np.clip(c0 + rng.uniform(-45, 45, 3), 0, 255)
        a = rng.uniform(0, 2 * np.pi)
        t = (np.cos(a) * (xx - 15.5) + np.sin(a) * (yy - 15.5)) / 22.0 + 0.5
        t = np.clip(t, 0, 1)[None]
        bg = c0[:, None, None] * (1 - t) + c1[:, None, None] * t
        cx, cy = rng.uniform(9, 23, 2)
        r = rng.uniform(4.5, 9.5)
        dx, dy = xx - cx, yy - cy
        dist = np.hypot(dx, dy)
        if shape == 0:
            m = dist <= r
        elif shape == 1:
            m = (np.abs(dx) <= r * 0.85) & (np.abs(dy) <= r * 0.85)
        elif shape == 2:
            m = (dy <= r * 0.7) & (dy >= -r) & (np.abs(dx) <= (dy + r) * 0.6)
        elif shape == 3:
            m = (dist <= r) & (dist >= r * 0.55)
        else:
            w = max(r / 3.2, 1.2)
            m = ((np.abs(dx) <= w) & (np.abs(dy) <= r)) | ((np.abs(dy) <= w) & (np.abs(dx) <= r))
        fg = rng.uniform(0, 255, 3)
        img = np.where(m[None], fg[:, None, None], bg)
        img = img + rng.normal(0, 3.0, img.shape)  # a little pixel noise
        imgs[i] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return imgs, labels.astype(np.uint8)


def write_cifar_bin(root, n_train=2048, n_test=256, seed=20240611):
    """Writes the set (if absent) and returns its folder."""
    d = os.path.join(root, "cifar-10-batches-bin")
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    stamp = os.path.join(d, "SYNTHETIC.json")
    want = {"n_train": n_train, "n_test": n_test, "seed": seed, "generator": "sngan_dynamics.py v1"}
    if os.path.isfile(stamp) and all(os.path.isfile(os.path.join(d, f)) for f in names):
        with open(stamp) as f:
            if json.load(f) == want:
                return d
    os.makedirs(d, exist_ok=True)
    imgs, labels = synth_images(n_train + n_test, seed)
    parts = np.array_split(np.arange(n_train), 5)  # 2048 → 410, 410, 410, 409, 409
    parts.append(np.arange(n_train, n_train + n_test))
    for name, idx in zip(names, parts):
        rec = np.empty((len(idx), RECORD), np.uint8)
        rec[:, 0] = labels[idx]
        rec[:, 1:] = imgs[idx].reshape(len(idx), -1)  # CHW: R plane, G plane, B plane
        rec.tofile(os.path.join(d, name))
    with open(stamp, "w") as f:
        json.dump(want, f)
    return d


def read_cifar_train(root):
    """The training split as our loader reads it: data_batch_1..5 in order, [N, 3, 32, 32] u8."""
    d = os.path.join(root, "cifar-10-batches-bin")
    recs = [np.fromfile(os.path.join(d, f"data_batch_{i}.bin"), np.uint8).reshape(-1, RECORD)
            for i in range(1, 6)]
    rec = np.concatenate(recs)
    return rec[:, 1:].reshape(-1, 3, 32, 32)


# --------------------------------------------------------------------------------------------
# 2. The twin
# --------------------------------------------------------------------------------------------
# Settings of one twin run. "official" is the reference; each named variant overrides fields.
OFFICIAL = {
    "g_after": "first",    # G step after D step k with k % n_critic == 0 (functions.py:139)
    "sn_init": "random",   # u ~ N(0, I)/‖·‖, no warm-up (torch.nn.utils.spectral_norm)
    "sn_update": "forward",  # one power iteration per training-mode forward (n_power_iterations=1)
    "d_init": "official",  # weights_init after .cuda() (trainsw.py:43-63): misses SN kernels
    "data": "official",    # ToTensor + Normalize(0.5, 0.5): x/255·2−1, no flip (datasets.py:33-37)
    "ema": "on",           # gen_avg_param, decay 0.999, after each G step (functions.py:167-168)
    "sigma_grad": "on",    # gradient flows through σ = uᵀWv (torch's spectral_norm)
    "adam_eps": "1e-8",    # torch.optim.Adam's default eps (trainsw.py:66-69 passes lr, betas only)
}
VARIANTS = {
    "official": {},
    "g-last": {"g_after": "last"},          # ours: G after D steps 4, 9, … (k % 5 == 4)
    "sn-power15": {"sn_init": "power15"},   # ours: 15 power iterations at construction
    "d-xavier": {"d_init": "xavier"},       # xavier actually reaching D's SN kernels
    "d-default": {"d_init": "default"},     # D kernels explicitly PyTorch default (≡ official)
    "data-ours": {"data": "ours"},          # ours: p/127.5 − 1 (same values up to rounding)
    "data-flip": {"data": "flip"},          # random horizontal flip (neither side does this)
    "data-01": {"data": "unit"},            # [0, 1] instead of [−1, 1] (a scaling bug)
    "ema-off": {"ema": "off"},              # must give identical losses to official
    "sn-frozen": {"sn_update": "frozen"},   # diagnostic: u, v never updated after init
    "sn-frozen15": {"sn_update": "frozen", "sn_init": "power15"},  # diagnostic
    "sn-sigma-detached": {"sigma_grad": "off"},  # diagnostic: W/σ with σ a constant
    "adam-eps5": {"adam_eps": "1e-5"},      # diagnostic: Burn's default Adam eps
    "ours": {"g_after": "last", "sn_init": "power15"},  # every difference ours has now
}
ORDER = ["g_after", "sn_init", "sn_update", "d_init", "data", "ema", "sigma_grad", "adam_eps"]


def build_twin(torch, nn, F):
    """Model classes of models/sngan_cifar10.py and models/gen_resblock.py (our own code)."""
    SN = nn.utils.spectral_norm

    def up2(x):  # nn.UpsamplingNearest2d(scale_factor=2) (gen_resblock.py:28)
        return F.interpolate(x, scale_factor=2, mode="nearest")

    def down2(x):  # nn.AvgPool2d(kernel_size=2) (sngan_cifar10.py:35-37)
        return F.avg_pool2d(x, 2)

    class GBlock(nn.Module):
        # gen_resblock.py:10-48: BN → ReLU → up → conv3 → BN → ReLU → conv3, + conv1(up(x)).
        # Registration order c1, c2, b1, b2, c_sc as there (it fixes the CPU RNG draw order).
        def __init__(self, c):
            super().__init__()
            self.c1 = nn.Conv2d(c, c, 3, padding=1)
            self.c2 = nn.Conv2d(c, c, 3, padding=1)
            self.b1 = nn.BatchNorm2d(c)  # momentum 0.1, eps 1e-5 (PyTorch defaults)
            self.b2 = nn.BatchNorm2d(c)
            self.c_sc = nn.Conv2d(c, c, 1)  # learnable_sc: upsample=True (gen_resblock.py:16)

        def forward(self, x):
            h = self.c2(F.relu(self.b2(self.c1(up2(F.relu(self.b1(x)))))))
            return h + self.c_sc(up2(x))

    class Gen(nn.Module):
        # sngan_cifar10.py:5-29: l1 → view(ch, 4, 4) → 3 up-blocks → BN → ReLU → conv3 → tanh.
        def __init__(self, ch, latent, bw=4):
            super().__init__()
            self.ch, self.bw = ch, bw
            self.l1 = nn.Linear(latent, bw * bw * ch)
            self.block2, self.block3, self.block4 = GBlock(ch), GBlock(ch), GBlock(ch)
            self.b5 = nn.BatchNorm2d(ch)
            self.c5 = nn.Conv2d(ch, 3, 3, padding=1)

        def forward(self, z):
            h = self.l1(z).view(-1, self.ch, self.bw, self.bw)
            h = self.block4(self.block3(self.block2(h)))
            return torch.tanh(self.c5(F.relu(self.b5(h))))

    class DFirst(nn.Module):
        # OptimizedDisBlock (sngan_cifar10.py:40-65): conv3 → ReLU → conv3 → pool, + conv1(pool x)
        def __init__(self, cin, c):
            super().__init__()
            self.c1 = nn.Conv2d(cin, c, 3, padding=1)
            self.c2 = nn.Conv2d(c, c, 3, padding=1)
            self.c_sc = nn.Conv2d(cin, c, 1)
            self.c1, self.c2, self.c_sc = SN(self.c1), SN(self.c2), SN(self.c_sc)

        def forward(self, x):
            return down2(self.c2(F.relu(self.c1(x)))) + self.c_sc(down2(x))

    class DBlock(nn.Module):
        # DisBlock (sngan_cifar10.py:68-108): ReLU → conv3 → ReLU → conv3 [→ pool];
        # shortcut conv1 [→ pool] when downsampling (in == out channels here).
        def __init__(self, c, down):
            super().__init__()
            self.down = down
            self.c1 = nn.Conv2d(c, c, 3, padding=1)
            self.c2 = nn.Conv2d(c, c, 3, padding=1)
            self.c1, self.c2 = SN(self.c1), SN(self.c2)
            if down:
                self.c_sc = SN(nn.Conv2d(c, c, 1))

        def forward(self, x):
            h = self.c2(F.relu(self.c1(F.relu(x))))
            if not self.down:
                return h + x
            return down2(h) + down2(self.c_sc(x))

    class Dis(nn.Module):
        # sngan_cifar10.py:111-141; features f4 = block4's output before the final ReLU.
        def __init__(self, ch):
            super().__init__()
            self.block1 = DFirst(3, ch)
            self.block2 = DBlock(ch, True)
            self.block3 = DBlock(ch, False)
            self.block4 = DBlock(ch, False)
            self.l5 = SN(nn.Linear(ch, 1, bias=False))

        def forward(self, x, feats=False):
            f4 = self.block4(self.block3(self.block2(self.block1(x))))
            out = self.l5(F.relu(f4).sum(2).sum(2))
            return (out, f4) if feats else out

    return Gen, Dis


def emulate_cuda(module, how="clone"):
    """What `.cuda()` does to parameters (trainsw.py:43-44) without a GPU.

    `Module.cuda()` is `self._apply(lambda t: t.cuda())`. In `_apply` (PyTorch 1.9 as the
    official README:7 asks, and 2.x) a CPU and a CUDA tensor have compatible shallow-copy types and
    `torch.__future__.get_overwrite_module_params_on_conversion()` is False, so each parameter
    keeps its identity and gets `param.data = <new tensor>`: new storage. Buffers are replaced.
    Plain tensor attributes (spectral_norm's `weight`, a view of the old `weight_orig` storage)
    are not visited. Any `fn` returning a new tensor on the same device reproduces exactly that:
      how="clone": module._apply(lambda t: t.clone())
      how="f64":   module.to(torch.float64).to(torch.float32)  (two storage changes)
    """
    import torch
    if how == "clone":
        module._apply(lambda t: t.clone())
    elif how == "f64":
        module.to(torch.float64).to(torch.float32)
    elif how != "none":
        raise ValueError(how)
    return module


def weights_init_official(nn, m):
    """trainsw.py:47-60 with --init_type xavier_uniform (README.md:28): Conv2d → xavier on
    `m.weight.data` (gain 1); BatchNorm2d → γ ~ N(1, 0.02), β = 0; Linear untouched."""
    name = m.__class__.__name__
    if name.find("Conv2d") != -1:
        nn.init.xavier_uniform_(m.weight.data, 1.0)
    elif name.find("BatchNorm2d") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0.0)


def _weight_sigma_detached(self, module, do_power_iteration):
    """A SpectralNorm hook's weight with σ held constant in the backward (diagnostic only;
    torch's own compute_weight differentiates through σ)."""
    import torch
    import torch.nn.functional as F
    w = getattr(module, self.name + "_orig")
    u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
    W = self.reshape_weight_to_matrix(w)
    if do_power_iteration:
        with torch.no_grad():
            for _ in range(self.n_power_iterations):
                v.copy_(F.normalize(W.t() @ u, dim=0, eps=self.eps))
                u.copy_(F.normalize(W @ v, dim=0, eps=self.eps))
    sigma = torch.dot(u, W @ v)
    return w / sigma.detach()


def sn_hooks(module):
    """(layer, SpectralNorm hook) pairs of a module tree."""
    from torch.nn.utils.spectral_norm import SpectralNorm
    out = []
    for m in module.modules():
        for h in m._forward_pre_hooks.values():
            if isinstance(h, SpectralNorm):
                out.append((m, h))
    return out


def init_check(chs=(16, 128)):
    """Runs trainsw.py:43-63's order (build on CPU, .cuda(), weights_init) with .cuda()
    emulated, and reports what D's spectrally normalised kernels start from."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    Gen, Dis = build_twin(torch, nn, F)
    rows = []
    for ch in chs:
        for how in ("clone", "f64", "none"):
            torch.manual_seed(1)
            d = Dis(ch)
            before = {n: p.detach().clone() for n, p in d.named_parameters()}
            emulate_cuda(d, how)
            d.apply(lambda m: weights_init_official(nn, m))
            for name, p in d.named_parameters():
                if not name.endswith("weight_orig"):
                    continue
                w = p.detach()
                fan_in = w[0].numel()
                fan_out = w.shape[0] * (w[0, 0].numel() if w.dim() == 4 else 1)
                rows.append({
                    "ch": ch, "cuda_emulation": how, "param": name, "shape": list(w.shape),
                    "std": float(w.std()), "max_abs": float(w.abs().max()),
                    "default_std": 1 / math.sqrt(3 * fan_in), "default_bound": 1 / math.sqrt(fan_in),
                    "xavier_std": math.sqrt(2 / (fan_in + fan_out)),
                    "xavier_bound": math.sqrt(6 / (fan_in + fan_out)),
                    "unchanged_by_weights_init": bool(torch.equal(w, before[name])),
                })
    # A real device change (meta: no values, but the same _apply path) moves weight_orig and
    # leaves the plain `weight` attribute on the CPU — the tensor weights_init then writes into.
    c = nn.utils.spectral_norm(nn.Conv2d(4, 4, 3))
    shared = c.weight.data_ptr() == c.weight_orig.data_ptr()
    c.to("meta")
    print(f"spectral_norm conv: weight shares weight_orig's storage before: {shared}; after "
          f".to('meta'): weight_orig on {c.weight_orig.device}, weight on {c.weight.device}")
    # G: its kernels are plain parameters, so xavier lands (after .cuda() as well).
    torch.manual_seed(1)
    g = emulate_cuda(Gen(chs[-1], 128), "clone")
    g.apply(lambda m: weights_init_official(nn, m))
    w = g.block2.c1.weight.detach()
    fi = w[0].numel()
    grow = {"ch": chs[-1], "param": "G block2.c1.weight (after .cuda() emulation)",
            "std": float(w.std()), "default_std": 1 / math.sqrt(3 * fi),
            "xavier_std": math.sqrt(2 / (fi + w.shape[0] * 9))}
    return rows, grow


def print_init_check(rows, grow):
    print("D init check: std of weight_orig after trainsw.py's sequence (build → .cuda() → "
          "weights_init);\n`unchanged` = weight_orig bit-identical to its value before weights_init")
    print("| ch | .cuda() emulation | parameter | std | default std (U±1/√fan_in) | xavier std "
          "| max|w| | default bound | xavier bound | unchanged |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['ch']} | {r['cuda_emulation']} | {r['param']} | {r['std']:.4f} | "
              f"{r['default_std']:.4f} | {r['xavier_std']:.4f} | {r['max_abs']:.4f} | "
              f"{r['default_bound']:.4f} | {r['xavier_bound']:.4f} | {r['unchanged_by_weights_init']} |")
    print(f"\n{grow['param']} ch {grow['ch']}: std {grow['std']:.4f} (xavier {grow['xavier_std']:.4f},"
          f" default {grow['default_std']:.4f})")


def settings_key(s, seed, seed_mode, steps, a):
    parts = [f"{k}={s[k]}" for k in ORDER]
    parts += [f"seed={seed}", f"mode={seed_mode}", f"steps={steps}", f"ch={a.channels}",
              f"bs={a.batch}", f"L={a.projections}"]
    return "_".join(p.replace("=", "-") for p in parts)


def run_twin(s, seed, a, x_u8, log_path):
    """One twin run with settings `s`; writes a CSV (g_step, d_loss, d_group, g_loss) and
    returns its rows."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.set_num_threads(a.threads)
    Gen, Dis = build_twin(torch, nn, F)
    latent, B, nc, L = 128, a.batch, a.n_critic, a.projections

    # RNG streams. Official: np.random.seed(1) and torch.manual_seed(1) at import
    # (trainsw.py:27-28); --random_seed only seeds the CUDA generator (trainsw.py:35), which
    # only the SW projections draw from (functions.py:272, device="cuda" by default at :291).
    # So in "official" mode the seed changes the projections only; "all" reseeds everything.
    s_init = 1 if a.seed_mode == "official" else seed
    torch.manual_seed(s_init)
    np_rng = np.random.RandomState(s_init)  # the global np.random stream of the z's
    proj = torch.Generator().manual_seed(seed)
    data_gen = torch.Generator().manual_seed(1000 + s_init)
    flip_gen = torch.Generator().manual_seed(2000 + seed)

    G = Gen(a.channels, latent)  # trainsw.py:43 (args.gf_dim, latent_dim, bottom_width 4)
    D = Dis(a.channels)          # trainsw.py:44 (args.df_dim, d_spectral_norm True)
    if s["d_init"] == "official":
        emulate_cuda(G), emulate_cuda(D)  # .cuda() (trainsw.py:43-44), then weights_init
        G.apply(lambda m: weights_init_official(nn, m))  # trainsw.py:62
        D.apply(lambda m: weights_init_official(nn, m))  # trainsw.py:63 (lost on SN kernels)
    else:
        G.apply(lambda m: weights_init_official(nn, m))
        for m in D.modules():
            if isinstance(m, nn.Conv2d):
                if s["d_init"] == "xavier":
                    nn.init.xavier_uniform_(m.weight_orig, 1.0)
                # "default": keep Conv2d.reset_parameters' U(±1/√fan_in)
    for m, h in sn_hooks(D):
        if s["sn_init"] == "power15":  # ours (spectral_norm.rs:66-81): 15 steps at construction
            with torch.no_grad():
                W = h.reshape_weight_to_matrix(getattr(m, h.name + "_orig"))
                u = getattr(m, h.name + "_u")
                for _ in range(15):
                    v = F.normalize(W.t() @ u, dim=0, eps=h.eps)
                    u = F.normalize(W @ v, dim=0, eps=h.eps)
                getattr(m, h.name + "_u").copy_(u)
                getattr(m, h.name + "_v").copy_(v)
        if s["sn_update"] == "frozen":
            h.n_power_iterations = 0
        if s["sigma_grad"] == "off":
            h.compute_weight = types.MethodType(_weight_sigma_detached, h)
    # Adam(lr, (β1, β2)), PyTorch's eps 1e-8 (trainsw.py:66-69; README.md:28 lr 2e-4, 0.0, 0.9).
    # No --lr_decay in README.md:28, so no LinearLrDecay (trainsw.py:144).
    eps = float(s["adam_eps"])
    opt_g = torch.optim.Adam([p for p in G.parameters() if p.requires_grad], a.lr, (0.0, 0.9), eps=eps)
    opt_d = torch.optim.Adam([p for p in D.parameters() if p.requires_grad], a.lr, (0.0, 0.9), eps=eps)
    np_rng.normal(0, 1, (25, latent))  # fixed_z (trainsw.py:99) — advances the z stream
    avg = [p.detach().clone() for p in G.parameters()]  # gen_avg_param (trainsw.py:102)

    # datasets.py:32-37: Resize(32) (identity on 32²), ToTensor (/255), Normalize(0.5, 0.5).
    xt = torch.from_numpy(x_u8.astype(np.float32))
    if s["data"] in ("official", "flip"):
        data = (xt / 255.0 - 0.5) / 0.5
    elif s["data"] == "ours":
        data = xt / 127.5 - 1.0  # datasets/src/image.rs:47
    elif s["data"] == "unit":
        data = xt / 255.0
    else:
        raise ValueError(s["data"])
    N = data.shape[0]
    per_epoch = N // B  # DataLoader(shuffle=True) (datasets.py:111-114); a short last batch
    # ends the epoch without a step (functions.py:109-111), i.e. drop_last.

    G.train(), D.train()  # functions.py:105-106; never switched to eval during training
    rows, k, gsteps, group = [], 0, 0, []
    t0 = time.time()
    while gsteps < a.steps:
        order = torch.randperm(N, generator=data_gen)  # new order each epoch
        for b in range(per_epoch):
            real = data[order[b * B:(b + 1) * B]]
            if s["data"] == "flip":
                f = torch.rand(B, generator=flip_gen) < 0.5
                real = torch.where(f[:, None, None, None], real.flip(3), real)
            # z for D: N(0, 1) from np, batch = true_bs = dis_batch_size (functions.py:118)
            z = torch.from_numpy(np_rng.normal(0, 1, (B, latent)).astype(np.float32))
            # D step (functions.py:123-134): zero_grad, D(real), G(z).detach() in train mode
            # (batch statistics, grad enabled), D(fake), hinge, backward, step.
            opt_d.zero_grad()
            rv = D(real)
            fake = G(z).detach()
            fv = D(fake)
            d_loss = F.relu(1.0 - rv).mean() + F.relu(1.0 + fv).mean()
            d_loss.backward()
            opt_d.step()
            group.append(d_loss.item())
            due = (k % nc == 0) if s["g_after"] == "first" else (k % nc == nc - 1)
            if due:  # functions.py:139
                # D(real) with the updated D, features not detached (functions.py:140); the
                # real batch is this iteration's (the one D just stepped on).
                rv2, rf = D(real, feats=True)
                opt_g.zero_grad()
                gz = torch.from_numpy(np_rng.normal(0, 1, (B, latent)).astype(np.float32))
                gi = G(gz)  # fresh z, batch true_bs (functions.py:142-143)
                fv2, ff = D(gi, feats=True)  # D in train mode: SN power iteration runs here too
                X = torch.cat([rf.reshape(B, -1), rv2.reshape(B, -1)], 1)  # functions.py:146
                Y = torch.cat([ff.reshape(B, -1), fv2.reshape(B, -1)], 1)  # functions.py:147
                # SW (functions.py:271-295): θ ~ N(0, I) rows normalised, project, sort over
                # the batch, mean |Δ|^p over samples, mean over L, then ^(1/p); p = 2.
                th = torch.randn(L, X.shape[1], generator=proj)
                th = th / th.pow(2).sum(1, keepdim=True).sqrt()
                px = torch.sort(X @ th.t(), 0)[0]
                py = torch.sort(Y @ th.t(), 0)[0]
                g_loss = (px - py).abs().pow(2).mean(0).mean().pow(0.5)
                g_loss.backward()  # also fills D's .grad; zeroed before the next D step
                opt_g.step()
                if s["ema"] == "on":  # functions.py:167-168; only validate/checkpoints read it
                    with torch.no_grad():
                        for p, q in zip(G.parameters(), avg):
                            q.mul_(0.999).add_(p.detach(), alpha=0.001)
                gsteps += 1
                rows.append((gsteps, d_loss.item(), float(np.mean(group)), g_loss.item()))
                group = []
                if a.progress and gsteps % a.progress == 0:
                    el = time.time() - t0
                    print(f"    G step {gsteps}: D {rows[-1][1]:.4f} G {rows[-1][3]:.4f} "
                          f"({el / gsteps:.2f} s/step)", file=sys.stderr, flush=True)
                if gsteps >= a.steps:
                    break
            k += 1
    with open(log_path + ".tmp", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["g_step", "d_loss", "d_group", "g_loss"])
        w.writerows(rows)
    os.replace(log_path + ".tmp", log_path)
    return rows


def read_twin_log(path):
    with open(path) as f:
        r = csv.DictReader(f)
        return [(int(x["g_step"]), float(x["d_loss"]), float(x["d_group"]), float(x["g_loss"]))
                for x in r]


# --------------------------------------------------------------------------------------------
# 3. Ours
# --------------------------------------------------------------------------------------------
def toml_str(s):
    return json.dumps(s)  # a TOML basic string for ordinary paths


def run_ours(binary, root, seed, a):
    """Runs our binary on the synthetic set; returns (metrics.csv path, rows)."""
    out = tempfile.mkdtemp(prefix=f"ours-s{seed}-", dir=os.path.join(a.work, "ours"))
    cmd = [binary, "--config", os.path.join(REPO, "configs", "synthetic_sngan.toml"),
           "--set", f"data.dataset={toml_str('cifar10')}",
           "--set", f"data.root={toml_str(root)}",
           "--set", f"train.generator_steps={a.steps}",
           "--set", "train.log_every=1",
           "--set", "train.checkpoint_every=1000000",
           "--set", "train.sample_every=1000000",
           "--seed", str(seed), "--out", out] + a.ours_arg
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads), OMP_NUM_THREADS=str(a.threads))
    print("  $ " + shlex.join(cmd), file=sys.stderr, flush=True)
    t = time.time()
    p = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"ours failed (rc {p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    found = sorted(glob.glob(os.path.join(out, "**", "metrics.csv"), recursive=True),
                   key=os.path.getmtime)
    if not found:
        sys.exit(f"no metrics.csv under {out}; stdout:\n{p.stdout[-2000:]}")
    print(f"  ours seed {seed}: {time.time() - t:.0f} s, {found[-1]}", file=sys.stderr)
    return found[-1], read_ours_metrics(found[-1])


def read_ours_metrics(path):
    """metrics.csv (step, d_loss, g_loss, …) → [(step, d, d, g)]; needs log_every = 1."""
    with open(path) as f:
        r = csv.DictReader(f)
        rows = [(int(x["step"]), float(x["d_loss"]), float(x["d_loss"]), float(x["g_loss"]))
                for x in r]
    steps = [s for s, *_ in rows]
    if steps != list(range(steps[0], steps[0] + len(steps))):
        sys.exit(f"{path}: steps are not consecutive (log_every must be 1): {steps[:5]}…")
    return rows


# --------------------------------------------------------------------------------------------
# 4. Summary
# --------------------------------------------------------------------------------------------
def windows(steps):
    """[20, 200) and [200, 400] at 400 steps, scaled otherwise."""
    a, b = max(1, round(steps * 0.05)), max(2, round(steps * 0.5))
    return [(a, b, False), (b, steps, True)]


def wmean(rows, lo, hi, closed, col):
    v = [r[col] for r in rows if lo <= r[0] and (r[0] <= hi if closed else r[0] < hi)]
    return float(np.mean(v)) if v else float("nan")


def summarise(runs, steps):
    """runs: list of dicts {label, kind, seed, rows}. Adds window means and ratios."""
    ws = windows(steps)
    for r in runs:
        r["win"] = {}
        for lo, hi, cl in ws:
            tag = f"{lo}-{hi}"
            r["win"][tag] = {"d": wmean(r["rows"], lo, hi, cl, 1),
                             "d_group": wmean(r["rows"], lo, hi, cl, 2),
                             "g": wmean(r["rows"], lo, hi, cl, 3)}
    ref = [r for r in runs if r["label"] == "official"]
    refm, spread = {}, {}
    for lo, hi, _ in ws:
        tag = f"{lo}-{hi}"
        for q in ("d", "g"):
            vals = [r["win"][tag][q] for r in ref]
            if vals:
                m = float(np.mean(vals))
                refm[(tag, q)] = m
                spread[(tag, q)] = (max(vals) - min(vals)) / abs(m) if len(vals) > 1 else None
    for r in runs:
        r["ratio"] = {f"{t}/{q}": (r["win"][t][q] / refm[(t, q)] if (t, q) in refm else None)
                      for t in r["win"] for q in ("d", "g")}
    return ws, refm, spread


def print_table(runs, ws, refm, spread, markdown):
    tags = [f"{lo}-{hi}" for lo, hi, _ in ws]
    hdr = ["run", "seed"]
    for t in tags:
        hdr += [f"D {t}", f"G {t}"]
    for t in tags:
        hdr += [f"D/off {t}", f"G/off {t}"]
    lines = []
    for r in runs:
        row = [r["label"], str(r["seed"])]
        for t in tags:
            row += [f"{r['win'][t]['d']:.4f}", f"{r['win'][t]['g']:.4f}"]
        for t in tags:
            for q in ("d", "g"):
                x = r["ratio"][f"{t}/{q}"]
                row.append("—" if x is None else f"{x:.3f}")
        lines.append(row)
    if markdown:
        print("| " + " | ".join(hdr) + " |")
        print("|" + "---|" * len(hdr))
        for row in lines:
            print("| " + " | ".join(row) + " |")
    else:
        wd = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(hdr)]
        print("  ".join(h.ljust(w) for h, w in zip(hdr, wd)))
        for row in lines:
            print("  ".join(x.ljust(w) for x, w in zip(row, wd)))
    sp = [f"{q.upper()} {t}: {spread[(t, q)] * 100:.1f} %" for t in tags for q in ("d", "g")
          if spread.get((t, q)) is not None]
    if sp:
        print("\nofficial-twin seed spread (max − min)/mean: " + ", ".join(sp))
    print("windows: G steps " + ", ".join(f"[{lo}, {hi}{']' if cl else ')'}" for lo, hi, cl in ws)
          + "; D = hinge loss of the D step just before each G step")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Variants: " + ", ".join(
                                     f"{k} {v or '(reference)'}" for k, v in VARIANTS.items()))
    ap.add_argument("--root", default=os.path.join(WORK, "data"), help="synthetic data folder")
    ap.add_argument("--work", default=WORK, help="twin logs and our run folders")
    ap.add_argument("--variants", default="official",
                    help="comma list of twin variants, or 'none' (see below)")
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--variant-seeds", default=None,
                    help="seeds for variants other than official (default: --seeds)")
    ap.add_argument("--seed-mode", choices=["official", "all"], default="official",
                    help="official: the seed changes only the SW projections, as --random_seed "
                         "does there; all: it reseeds init, z, data order too")
    ap.add_argument("--steps", type=int, default=400, help="G steps")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--n-critic", type=int, default=5)
    ap.add_argument("--projections", type=int, default=10)
    ap.add_argument("--lr", type=float, default=2e-4)
    # single toggles on the base settings (a named variant's own overrides win)
    ap.add_argument("--g-after", choices=["first", "last"])
    ap.add_argument("--sn-init", choices=["random", "power15"])
    ap.add_argument("--sn-update", choices=["forward", "frozen"])
    ap.add_argument("--d-init", choices=["official", "default", "xavier"])
    ap.add_argument("--data", choices=["official", "ours", "flip", "unit"])
    ap.add_argument("--ema", choices=["on", "off"])
    ap.add_argument("--ours", metavar="BINARY", help="our experiments binary")
    ap.add_argument("--ours-arg", action="append", default=[],
                    help="extra argument for our binary (repeatable), e.g. --ours-arg=--device=flex")
    ap.add_argument("--ours-metrics", help="comma list of existing metrics.csv files (as seeds)")
    ap.add_argument("--init-check", action="store_true", help="only the D-init check")
    ap.add_argument("--rerun", action="store_true", help="ignore cached twin logs")
    ap.add_argument("--cached-only", action="store_true",
                    help="summarise the cached twin logs only (skip runs that have none)")
    ap.add_argument("--progress", type=int, default=50, help="print every N G steps (0: off)")
    ap.add_argument("--json", metavar="FILE", help="write all results as JSON")
    ap.add_argument("--markdown", action="store_true", help="markdown table")
    a = ap.parse_args()

    if a.init_check:
        print_init_check(*init_check())
        return
    os.makedirs(os.path.join(a.work, "twin"), exist_ok=True)
    os.makedirs(os.path.join(a.work, "ours"), exist_ok=True)
    root = os.path.abspath(a.root)
    write_cifar_bin(root)
    x_u8 = read_cifar_train(root)
    print(f"data: {x_u8.shape[0]} training images in {root}", file=sys.stderr)

    seeds = [int(s) for s in a.seeds.split(",") if s]
    vseeds = [int(s) for s in a.variant_seeds.split(",")] if a.variant_seeds else seeds
    base = dict(OFFICIAL)
    for k in ORDER:
        v = getattr(a, k, None)
        if v is not None:
            base[k] = v
    runs = []
    names = [] if a.variants == "none" else [v for v in a.variants.split(",") if v]
    for name in names:
        if name not in VARIANTS:
            sys.exit(f"unknown variant {name}; known: {', '.join(VARIANTS)}")
        s = dict(base, **VARIANTS[name])
        label = name if (name != "official" or s == OFFICIAL) else "base"
        for seed in (seeds if name == "official" else vseeds):
            key = settings_key(s, seed, a.seed_mode, a.steps, a)
            path = os.path.join(a.work, "twin", key + ".csv")
            if os.path.isfile(path) and not a.rerun:
                rows = read_twin_log(path)
                print(f"twin {label} seed {seed}: cached {path}", file=sys.stderr)
            elif a.cached_only:
                continue
            else:
                print(f"twin {label} seed {seed}: {s}", file=sys.stderr, flush=True)
                t = time.time()
                rows = run_twin(s, seed, a, x_u8, path)
                print(f"  {time.time() - t:.0f} s → {path}", file=sys.stderr, flush=True)
            runs.append({"label": label, "kind": "twin", "seed": seed, "settings": s,
                         "log": path, "rows": rows})
    if a.ours_metrics:
        for i, p in enumerate(a.ours_metrics.split(",")):
            runs.append({"label": "ours", "kind": "ours", "seed": seeds[i] if i < len(seeds) else i + 1,
                         "log": p, "rows": read_ours_metrics(p)})
    if a.ours:
        for seed in seeds:
            p, rows = run_ours(os.path.abspath(a.ours), root, seed, a)
            runs.append({"label": "ours", "kind": "ours", "seed": seed, "log": p, "rows": rows})
    if not runs:
        sys.exit("nothing to summarise")
    ws, refm, spread = summarise(runs, a.steps)
    print_table(runs, ws, refm, spread, a.markdown)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"steps": a.steps, "seed_mode": a.seed_mode,
                       "windows": [[lo, hi, cl] for lo, hi, cl in ws],
                       "official_mean": {f"{t}/{q}": v for (t, q), v in refm.items()},
                       "official_spread": {f"{t}/{q}": v for (t, q), v in spread.items()},
                       "runs": [{k: v for k, v in r.items() if k != "rows"} for r in runs]},
                      f, indent=1)


if __name__ == "__main__":
    main()
