"""batch_norm (training) and relu through the Tensor API on cpu and simulated cuda: they run
the backend's kernels (ctx.kernels), their gradients pass float64 gradcheck, and create_graph
still gives second derivatives."""
import numpy as np
import pytest

import gpugrad
import gpugrad.nn.functional as F
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.backends import get_backend
from gpugrad.device import device as as_device

SHAPES = [(4, 3), (3, 2, 5), (2, 3, 4, 5), (1, 3, 2, 2), (5, 1, 1, 1)]


def _t(rng, shape, device, offset=0.0):
    return gpugrad.tensor(rng.standard_normal(shape) + offset, dtype="float64", device=device, requires_grad=True)


@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, True), (False, False)])
@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_training_gradcheck(device, rng, shape, affine):
    c = shape[1]
    x = _t(rng, shape, device, offset=3.0)
    params = [_t(rng, (c,), device) if on else None for on in affine]

    def fn(x, *given):
        it = iter(given)
        w, b = (next(it) if on else None for on in affine)
        return F.batch_norm(x, None, None, w, b, training=True)

    assert gradcheck(fn, (x, *[p for p in params if p is not None]))


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 4, 2)])
def test_batch_norm_training_is_twice_differentiable(device, rng, shape):
    x, w, b = _t(rng, shape, device), _t(rng, shape[1:2], device), _t(rng, shape[1:2], device)
    fn = lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True) ** 2  # noqa: E731
    assert gradgradcheck(fn, (x, w, b))


def test_batch_norm_running_statistics(device, rng):
    x = _t(rng, (6, 3, 2, 2), device, offset=2.0)
    rm, rv = gpugrad.zeros(3, dtype="float64", device=device), gpugrad.ones(3, dtype="float64", device=device)
    F.batch_norm(x, rm, rv, training=True, momentum=0.25)
    a = x.detach().cpu().numpy()
    np.testing.assert_allclose(rm.cpu().numpy(), 0.25 * a.mean((0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(rv.cpu().numpy(), 0.75 + 0.25 * a.var((0, 2, 3), ddof=1), rtol=1e-12)


def test_relu_gradients(device, rng):
    data = rng.standard_normal((4, 7))
    data[np.abs(data) < 0.1] = 0.5  # away from the kink for finite differences
    x = gpugrad.tensor(data, device=device, requires_grad=True)
    assert gradcheck(F.relu, (x,))
    assert gradgradcheck(lambda x: F.relu(x) * x.tanh(), (x,))


def test_relu_gradient_at_zero_and_double_backward(device):
    """relu'(0) = 0 as in PyTorch; the gradient of the gradient flows to the incoming gradient
    (relu's backward is linear in it) and not to x."""
    x = gpugrad.tensor([-1.0, 0.0, 2.0], dtype="float64", device=device, requires_grad=True)
    v = gpugrad.tensor([3.0, 4.0, 5.0], dtype="float64", device=device, requires_grad=True)
    (gx,) = gpugrad.autograd.grad(F.relu(x), x, v, create_graph=True)
    np.testing.assert_array_equal(gx.detach().cpu().numpy(), [0, 0, 5])
    gv = gpugrad.autograd.grad((gx * gx).sum(), v)[0]
    np.testing.assert_array_equal(gv.cpu().numpy(), [0, 0, 10])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ops_run_the_backend_kernels(device, rng, monkeypatch, dtype):
    """Forward and backward of both ops go through ctx.kernels, so the kernel tests cover what
    the ops compute: here each kernel is wrapped to count its calls."""
    kernels = get_backend(as_device(device)).kernels
    calls = []
    for name in ("batch_norm_fwd", "batch_norm_bwd", "relu_fwd", "relu_bwd"):
        original = getattr(kernels, name)
        monkeypatch.setattr(kernels, name, lambda *a, _f=original, _n=name: calls.append(_n) or _f(*a))
    x = gpugrad.tensor(rng.standard_normal((3, 2, 4)), dtype=dtype, device=device, requires_grad=True)
    w = gpugrad.ones(2, dtype=dtype, device=device, requires_grad=True)
    F.relu(F.batch_norm(x, None, None, w, training=True)).sum().backward()
    assert calls == ["batch_norm_fwd", "relu_fwd", "relu_bwd", "batch_norm_bwd"]
    assert x.grad.dtype == w.grad.dtype == getattr(gpugrad, dtype)


def test_batch_norm_on_integers_computes_in_the_default_float(device):
    x = gpugrad.tensor([[1, 2], [3, 6]], device=device)
    y = F.batch_norm(x, None, None, training=True)
    assert y.dtype == gpugrad.float32
    np.testing.assert_allclose(y.cpu().numpy(), [[-1, -1], [1, 1]], atol=1e-3)
