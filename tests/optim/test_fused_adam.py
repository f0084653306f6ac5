"""fused=True Adam/AdamW: the same steps as the per-parameter update and as PyTorch's fused
optimizer, on cpu and simulated cuda; one launch for the whole group (captured in a graph:
tests/backends/cuda/test_graphs.py)."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import profiler

SHAPES = [(3, 4), (5,), (2, 1, 3)]
OPTIONS = [dict(weight_decay=0.0), dict(weight_decay=0.1), dict(weight_decay=0.1, amsgrad=True),
           dict(weight_decay=0.0, maximize=True), dict(weight_decay=0.05, amsgrad=True, maximize=True)]


def _grads(steps, dtype, seed=3):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]


def _run(make, device, dtype, grads, **kwargs):
    rng = np.random.default_rng(7)
    params = [gg.tensor(rng.standard_normal(s).astype(dtype), device=device, requires_grad=True) for s in SHAPES]
    opt = make(params, lr=0.05, betas=(0.8, 0.99), **kwargs)
    for step in grads:
        for p, g in zip(params, step):
            p.grad = gg.tensor(g, device=device)
        opt.step()
    return [p.detach().numpy() for p in params], opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("make", [gg.optim.Adam, gg.optim.AdamW], ids=["adam", "adamw"])
def test_fused_steps_equal_unfused_steps(device, make, options, dtype):
    grads = _grads(4, dtype)
    want, _ = _run(make, device, dtype, grads, **options)
    got, opt = _run(make, device, dtype, grads, fused=True, **options)
    assert not np.allclose(want[0], _run(make, device, dtype, grads[:0])[0][0])  # the steps moved the params
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    for g, w in zip(got, want):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, w, **tol)
    assert all(float(s["step"]) == 4 for s in opt.state.values())


@pytest.mark.parametrize("amsgrad", [False, True])
def test_fused_matches_torchs_fused_adamw(amsgrad):
    torch = pytest.importorskip("torch")
    grads = _grads(3, np.float32)
    got, _ = _run(gg.optim.AdamW, "cpu", np.float32, grads, fused=True, amsgrad=amsgrad)
    rng = np.random.default_rng(7)
    params = [torch.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in SHAPES]
    opt = torch.optim.AdamW(params, lr=0.05, betas=(0.8, 0.99), fused=True, amsgrad=amsgrad)
    for step in grads:
        for p, g in zip(params, step):
            p.grad = torch.tensor(g)
        opt.step()
    for g, p in zip(got, params):
        np.testing.assert_allclose(g, p.detach().numpy(), rtol=2e-5, atol=2e-6)


def test_one_launch_updates_the_whole_group():
    params = [gg.zeros(s, device="cuda", requires_grad=True) for s in SHAPES]
    opt = gg.optim.Adam(params, fused=True)
    for p in params:
        p.grad = gg.ones(p.shape, device="cuda")
    with profiler.profile() as prof:
        opt.step()
    kernels = [e.name for e in prof.events() if e.kind == "kernel"]
    assert kernels == ["adam_count_steps<float>", "adam_fused<float>"]


def test_fused_with_foreach_or_half_params_raises():
    w = gg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together"):
        gg.optim.Adam([w], fused=True, foreach=True)
    h = gg.zeros(3, dtype=gg.float16, requires_grad=True)
    h.grad = gg.ones(3, dtype=gg.float16)
    with pytest.raises(RuntimeError, match="float32 or float64 params, but one is float16"):
        gg.optim.AdamW([h], fused=True).step()

