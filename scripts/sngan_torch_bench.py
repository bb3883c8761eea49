"""PyTorch-CPU reference for `cargo bench -p models --bench sngan_steps`: the same SNGAN
networks (the sngan.pytorch design of the CV-SW code: G 256 ch, D 128 ch with spectral norm,
Xavier init), one discriminator step (hinge) and one generator step (feature-space SW, L = 10,
through D) at the same batch size, Adam(0, 0.9), median of N runs.

    python scripts/sngan_torch_bench.py [CH_G CH_D BATCH REPS]     # TORCH_DEVICE=cuda for a GPU
"""
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SN = nn.utils.spectral_norm


class GenBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.b1, self.b2 = nn.BatchNorm2d(c), nn.BatchNorm2d(c)
        self.c1, self.c2 = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1)
        self.sc = nn.Conv2d(c, c, 1)

    def forward(self, x):
        up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")
        h = self.c1(up(F.relu(self.b1(x))))
        h = self.c2(F.relu(self.b2(h)))
        return h + self.sc(up(x))


class Generator(nn.Module):
    def __init__(self, ch, z=128):
        super().__init__()
        self.ch = ch
        self.l1 = nn.Linear(z, 16 * ch)
        self.blocks = nn.Sequential(*[GenBlock(ch) for _ in range(3)])
        self.bn, self.out = nn.BatchNorm2d(ch), nn.Conv2d(ch, 3, 3, padding=1)

    def forward(self, z):
        h = self.blocks(self.l1(z).view(-1, self.ch, 4, 4))
        return torch.tanh(self.out(F.relu(self.bn(h))))


class DisBlock(nn.Module):
    def __init__(self, cin, c, down, first=False):
        super().__init__()
        self.first, self.down = first, down
        self.c1 = SN(nn.Conv2d(cin, c if first else cin, 3, padding=1))
        self.c2 = SN(nn.Conv2d(c if first else cin, c, 3, padding=1))
        self.sc = SN(nn.Conv2d(cin, c, 1)) if (first or down or cin != c) else None

    def forward(self, x):
        pool = lambda t: F.avg_pool2d(t, 2) if self.down else t
        h = x if self.first else F.relu(x)
        h = pool(self.c2(F.relu(self.c1(h))))
        if self.sc is None:
            return h + x
        return h + (self.sc(F.avg_pool2d(x, 2)) if self.first else pool(self.sc(x)))


class Discriminator(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.blocks = nn.ModuleList([DisBlock(3, ch, True, True), DisBlock(ch, ch, True),
                                     DisBlock(ch, ch, False), DisBlock(ch, ch, False)])
        self.l5 = SN(nn.Linear(ch, 1, bias=False))

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        out = self.l5(F.relu(x).sum((2, 3)))
        return out, x


DEV = torch.device(os.environ.get("TORCH_DEVICE", "cpu"))
SYNC = torch.cuda.synchronize if DEV.type == "cuda" else (lambda: None)


def sw(x, y, L=10):
    theta = torch.randn(x.shape[1], L, device=x.device)
    theta = theta / theta.norm(dim=0, keepdim=True)
    px, _ = torch.sort(x @ theta, dim=0)
    py, _ = torch.sort(y @ theta, dim=0)
    return ((px - py) ** 2).mean().sqrt()


# Row names as the Rust bench prints them, so scripts/bench.py pairs every row.
D_STEP = "discriminator step (G fwd + 2 D fwd + bwd + Adam)"
G_STEP = "generator step (2 D fwd + G fwd + SW + bwd + Adam)"


def timed(reps, f):
    f()
    SYNC()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        SYNC()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    args = [int(a) for a in sys.argv[1:]]
    ch_g, ch_d, b, reps = (args + [256, 128, 128, 3][len(args):])[:4]
    if DEV.type == "cpu":
        torch.set_num_threads(2)
    torch.manual_seed(0)
    g, d = Generator(ch_g), Discriminator(ch_d)
    for m in list(g.modules()) + list(d.modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            w = m.weight_orig if hasattr(m, "weight_orig") else m.weight
            nn.init.xavier_uniform_(w)
    og = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.0, 0.9))
    od = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.0, 0.9))
    g, d = g.to(DEV), d.to(DEV)
    real = torch.rand(b, 3, 32, 32, device=DEV) * 2 - 1

    def d_step():
        od.zero_grad()
        with torch.no_grad():
            fake = g(torch.randn(b, 128, device=DEV))
        loss = F.relu(1 - d(real)[0]).mean() + F.relu(1 + d(fake)[0]).mean()
        loss.backward()
        od.step()

    def g_step():
        og.zero_grad()
        r_out, r_f = d(real)
        f_out, f_f = d(g(torch.randn(b, 128, device=DEV)))
        x = torch.cat([r_f.flatten(1), r_out], 1).detach()
        y = torch.cat([f_f.flatten(1), f_out], 1)
        sw(x, y).backward()
        og.step()

    def g_fwd():
        with torch.no_grad():
            g(torch.randn(b, 128, device=DEV))

    # The parts of a D step, as the Rust bench (crates/models/benches/sngan_steps.rs) times them.
    def d_fwd():
        d(real)[0].sum().item()

    def d_fwd_bwd():
        od.zero_grad()
        d(real)[0].mean().backward()

    def d_fwd_bwd_adam():
        d_fwd_bwd()
        od.step()

    rows = [("G forward (no graph)", timed(reps, g_fwd)),
            ("D forward", timed(reps, d_fwd)),
            ("D forward+backward", timed(reps, d_fwd_bwd)),
            ("D forward+backward+Adam", timed(reps, d_fwd_bwd_adam)),
            (D_STEP, timed(reps, d_step)),
            (G_STEP, timed(reps, g_step))]
    by_name = dict(rows)
    rows.append(("generator step + 5 discriminator steps",
                 by_name[G_STEP] + 5 * by_name[D_STEP]))
    where = torch.cuda.get_device_name(DEV) if DEV.type == "cuda" else "CPU, 2 threads"
    print(f"PyTorch {torch.__version__} {where}, G {ch_g} ch, D {ch_d} ch, batch {b}, median of {reps}")
    for name, s in rows:
        print(f"| {name} | {s * 1e3:.1f} |")


if __name__ == "__main__":
    main()
