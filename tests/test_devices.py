"""The same ops on "cpu" and "cuda" (real, or simulated with the kernel emulator) agree:
forward values and every input gradient, on the same random inputs (float32 rtol 1e-4,
float64 1e-10)."""
import numpy as np
import pytest

import gpugrad
import gpugrad.nn.functional as F

TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-10, atol=1e-12)}

CASES = {
    "arith": ([(3, 4), (4,)], lambda a, b: (a * b + a / (b.abs() + 1) - b ** 2).tanh()),
    "math": ([(3, 4)], lambda a: a.exp() + a.sin() * a.cos() + a.sigmoid() + (a.abs() + 1).log().sqrt()),
    "activations": ([(5, 6)], lambda a: F.relu(a) + F.leaky_relu(a, 0.2) + F.softplus(a) + a.clamp(-0.5, 0.5)),
    "gelu": ([(7, 33)], lambda a: F.gelu(a) * F.gelu(a, approximate="tanh")),
    "reductions": ([(3, 4, 5)], lambda a: a.sum(1) + a.mean((0, 2)).sum() + a.amax(-1).sum() + a.var(2).sum()
                   + a.max(1).values.sum() + a.logsumexp(0).sum() + a.std().sum()),
    "softmax": ([(4, 7)], lambda a: a.softmax(1) * a.log_softmax(0)),
    "shapes": ([(2, 3, 4)], lambda a: a.permute(2, 0, 1).reshape(4, 6).T[1:, ::2].unsqueeze(0).expand(2, 5, 2)),
    "indexing": ([(5, 4)], lambda a: a[gpugrad.tensor([0, 2, 2, 4], device=a.device)] * a[a.detach() > 0].sum()),
    "join": ([(2, 3), (2, 3)], lambda a, b: gpugrad.cat([a, b * 2], 0) * F.pad(a, (0, 0, 1, 1))
             + gpugrad.stack([a, b]).sum(0).split(1)[1]),
    "matmul": ([(2, 3, 4), (4, 5)], lambda a, b: a @ b),
    "conv": ([(2, 4, 9, 7), (6, 2, 3, 2)], lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=1, dilation=(1, 2),
                                                                  groups=2)),
    "conv_transpose": ([(2, 4, 5, 4), (4, 3, 3, 3)], lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1)),
    "pools": ([(2, 3, 9, 8)], lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True).sum((2, 3))
              + F.avg_pool2d(x, 2).mean((2, 3)) + F.adaptive_avg_pool2d(x, 3).amax((2, 3))),
    "batch_norm": ([(4, 3, 5, 5), (3,), (3,)], lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)),
    "losses": ([(6, 5), (6, 5)], lambda a, b: F.mse_loss(a, b) + F.binary_cross_entropy_with_logits(a, b.sigmoid())
               + F.cross_entropy(a, gpugrad.tensor([0, 4, 1, -100, 3, 3], device=a.device), label_smoothing=0.1)
               + F.nll_loss(a.log_softmax(1), gpugrad.tensor([1, 1, 0, 2, 3, 4], device=a.device))),
}


def _run(fn, arrays, device, dtype):
    ts = [gpugrad.tensor(a, dtype=dtype, device=device, requires_grad=True) for a in arrays]
    out = fn(*ts)
    seed = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(gpugrad.tensor(seed, dtype=out.dtype, device=device))
    return [out.detach().cpu().numpy()] + [t.grad.cpu().numpy() for t in ts]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", CASES)
def test_cuda_matches_cpu(name, dtype):
    shapes, fn = CASES[name]
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    arrays = [rng.standard_normal(s) for s in shapes]
    for ours, ref in zip(_run(fn, arrays, "cuda", dtype), _run(fn, arrays, "cpu", dtype)):
        np.testing.assert_allclose(ours, ref, **TOL[dtype])


def _lenet(x, p):
    x = F.max_pool2d(F.relu(F.conv2d(x, p["c1"], p["b1"], padding=2)), 2)
    x = F.max_pool2d(F.relu(F.conv2d(x, p["c2"], p["b2"])), 2)
    x = F.relu(F.linear(x.flatten(1), p["f1"], p["g1"]))
    x = F.gelu(F.linear(x, p["f2"], p["g2"]))
    return F.linear(x, p["f3"], p["g3"])


def test_lenet_loss_and_gradients_agree():
    rng = np.random.default_rng(0)
    shapes = dict(c1=(6, 1, 5, 5), b1=(6,), c2=(16, 6, 5, 5), b2=(16,), f1=(120, 400), g1=(120,),
                  f2=(84, 120), g2=(84,), f3=(10, 84), g3=(10,))
    params = {k: rng.standard_normal(s) * 0.2 for k, s in shapes.items()}
    x, y = rng.standard_normal((4, 1, 28, 28)), rng.integers(0, 10, 4)
    results = {}
    for device in ("cpu", "cuda"):
        p = {k: gpugrad.tensor(v, dtype="float32", device=device, requires_grad=True) for k, v in params.items()}
        loss = F.cross_entropy(_lenet(gpugrad.tensor(x, dtype="float32", device=device), p),
                               gpugrad.tensor(y, device=device))
        loss.backward()
        results[device] = (loss.item(), {k: t.grad.cpu().numpy() for k, t in p.items()})
    assert results["cuda"][0] == pytest.approx(results["cpu"][0], rel=1e-4)
    for k in shapes:
        np.testing.assert_allclose(results["cuda"][1][k], results["cpu"][1][k], rtol=1e-3, atol=1e-4)


def test_device_copies_and_mixing_errors():
    x = gpugrad.randn(3, 4, requires_grad=True)
    c = x.cuda()
    assert c.device == "cuda:0" and c.to("cpu").device == "cpu"
    (c * 2).sum().backward()                     # the gradient flows back across the copy
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 4), 2.0))
    with pytest.raises(RuntimeError, match="cpu and cuda:0"):
        x + c


def test_no_cuda_error_says_what_to_do(monkeypatch):
    from gpugrad.backends.cuda import backend
    monkeypatch.setenv("GPUGRAD_CUDA_SIM", "0")
    try:
        import cupy  # noqa: F401
        pytest.skip("CuPy is installed here")
    except ImportError:
        pass
    with pytest.raises(RuntimeError, match=r"pip install \"gpugrad\[cuda\]\".*GPUGRAD_CUDA_SIM=1"):
        backend.make_cuda_backend()


def test_cuda_module_api():
    assert gpugrad.cuda.is_available() and gpugrad.cuda.device_count() >= 1
    gpugrad.cuda.manual_seed(0)
    a = gpugrad.randn(5, device="cuda")
    gpugrad.cuda.manual_seed(0)
    np.testing.assert_array_equal(a.cpu().numpy(), gpugrad.randn(5, device="cuda").cpu().numpy())
    gpugrad.cuda.synchronize()
    assert gpugrad.cuda.memory_allocated() >= 0 and gpugrad.cuda.max_memory_allocated() >= 0
    gpugrad.cuda.empty_cache()
