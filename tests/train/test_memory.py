"""Training steps free their graphs: resident memory stays flat after warm-up."""
import os

import gpugrad
import gpugrad.nn.functional as F
from gpugrad import nn, optim


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_rss_is_flat_over_many_steps():
    gpugrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x, y = gpugrad.randn(256, 64), gpugrad.randint(0, 10, (256,))

    def steps(n):
        for _ in range(n):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

    steps(50)
    before = _rss_bytes()
    steps(300)
    # a leaked graph holds ~0.5 MB of activations per step: 300 steps would add ~150 MB
    assert _rss_bytes() - before < 8 * 2 ** 20
