"""conv2d, conv_transpose2d, pooling and batch_norm through the Tensor API: float64 gradcheck
on hypothesis-drawn parameters, second derivatives, PyTorch agreement, and bad-input errors."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import gpugrad
import gpugrad.nn.functional as F
from gpugrad.autograd import gradcheck, gradgradcheck

from tests.helpers import rand_tensor


@st.composite
def conv_case(draw):
    groups = draw(st.integers(1, 2))
    c = groups * draw(st.integers(1, 2))
    f = groups * draw(st.integers(1, 2))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    assume(all(d * (kk - 1) + 1 <= n + 2 * p for d, kk, n, p in zip(dilation, k, (h, w), padding)))
    return dict(x=(draw(st.integers(1, 2)), c, h, w), w=(f, c // groups) + k,
                kw=dict(stride=stride, padding=padding, dilation=dilation, groups=groups),
                seed=draw(st.integers(0, 2**31)))


@given(case=conv_case())
def test_conv2d_gradcheck(case):
    rng = np.random.default_rng(case["seed"])
    x, w, b = rand_tensor(rng, case["x"]), rand_tensor(rng, case["w"]), rand_tensor(rng, case["w"][:1])
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, **case["kw"]), (x, w, b))


@given(case=conv_case())
def test_conv_transpose2d_gradcheck(case):
    rng = np.random.default_rng(case["seed"])
    kw = case["kw"]
    x = rand_tensor(rng, (case["x"][0], case["w"][0], 3, 2))
    w = rand_tensor(rng, case["w"])
    assert gradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=kw["stride"], padding=0,
                                                     groups=kw["groups"], dilation=kw["dilation"]), (x, w))


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_conv2d_bias_is_one_node(device, rng):
    """The bias is added inside the conv op: the same values as a broadcast add, one graph node,
    and differentiable twice."""
    x, w, b = (rand_tensor(rng, s).to(device) for s in ((2, 3, 6, 5), (4, 3, 3, 2), (4,)))
    y = F.conv2d(x, w, b, padding=1)
    assert y.grad_fn.name == "ConvBackward"
    want = F.conv2d(x, w, padding=1) + b.reshape(1, -1, 1, 1)
    np.testing.assert_allclose(y.detach().cpu().numpy(), want.detach().cpu().numpy(), rtol=1e-12)
    assert gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1), (x, w, b))


def test_conv2d_second_derivatives(rng):
    x, w = rand_tensor(rng, (2, 2, 5, 4)), rand_tensor(rng, (4, 1, 2, 3))
    assert gradgradcheck(lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=1, dilation=(1, 2), groups=2), (x, w))


def test_conv2d_same_padding_even_kernel(rng):
    x, w = rand_tensor(rng, (1, 2, 5, 6)), rand_tensor(rng, (3, 2, 2, 4))
    out = F.conv2d(x, w, padding="same")
    assert out.shape == (1, 3, 5, 6)
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding="same", dilation=(2, 1)), (x, w))
    assert F.conv2d(x, w, padding="valid").shape == (1, 3, 4, 3)


@given(seed=st.integers(0, 2**31), k=st.integers(1, 3), s=st.integers(1, 3), p=st.integers(0, 1),
       d=st.integers(1, 2), ceil=st.booleans())
def test_max_pool2d_gradcheck(seed, k, s, p, d, ceil):
    assume(p <= k // 2)
    x = rand_tensor(np.random.default_rng(seed), (2, 2, 6, 5))
    assert gradcheck(lambda x: F.max_pool2d(x, k, s, p, d, ceil_mode=ceil), (x,))
    assert gradgradcheck(lambda x: F.max_pool2d(x, k, s, p, d, ceil_mode=ceil) * x.sum(), (x,))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=(3, 2), stride=1, padding=(1, 0), count_include_pad=False)])
def test_avg_pool2d_gradcheck(kw, rng):
    assert gradcheck(lambda x: F.avg_pool2d(x, **kw), (rand_tensor(rng, (2, 3, 6, 4)),))


@pytest.mark.parametrize("size", [(1, 1), (3, 2), (4, 4), 5])
def test_adaptive_avg_pool2d_gradcheck(size, rng):
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, size), (rand_tensor(rng, (2, 2, 7, 4)),))


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 4, 5)])
def test_batch_norm(shape, rng):
    c = shape[1]
    x, w, b = rand_tensor(rng, shape), rand_tensor(rng, (c,)), rand_tensor(rng, (c,))
    rm, rv = gpugrad.zeros(c, dtype="float64"), gpugrad.ones(c, dtype="float64")
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (x, w, b))
    F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.5)
    a = x.detach().numpy()
    dims = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(rm.numpy(), 0.5 * a.mean(dims))
    np.testing.assert_allclose(rv.numpy(), 0.5 + 0.5 * a.var(dims, ddof=1))
    assert gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False), (x, w, b))


@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, False)])
def test_batch_norm_training_is_twice_differentiable(affine, rng):
    """Training batch norm is one fused Function; create_graph differentiates its composed form."""
    x = rand_tensor(rng, (3, 2, 4, 2))
    params = [rand_tensor(rng, (2,)) if on else None for on in affine]
    inputs = (x, *[p for p in params if p is not None])

    def fn(x, *affine_args):
        it = iter(affine_args)
        w, b = (next(it) if on else None for on in affine)
        return F.batch_norm(x, None, None, w, b, training=True) ** 2

    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_against_torch(rng):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x, w, b = rng.standard_normal((3, 4, 11, 9)), rng.standard_normal((6, 2, 3, 3)), rng.standard_normal(6)
    g = rng.standard_normal((3, 6, 6, 3))
    ours = [gpugrad.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = F.conv2d(*ours, stride=(2, 3), padding=1, dilation=(1, 2), groups=2)
    out.backward(gpugrad.tensor(g))
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    ref = tf.conv2d(*theirs, stride=(2, 3), padding=1, dilation=(1, 2), groups=2)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for t, r in zip(ours, theirs):
        np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), rtol=1e-10, atol=1e-12)
    y, idx = F.max_pool2d(gpugrad.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    ry, ridx = tf.max_pool2d(torch.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), ry.numpy())
    np.testing.assert_array_equal(idx.numpy(), ridx.numpy())


BAD = [
    (dict(x=(1, 3, 4, 4), w=(2, 3, 5, 5)), "kernel size"),
    (dict(x=(1, 3, 8, 8), w=(2, 3, 3, 3), stride=0), "stride"),
    (dict(x=(1, 3, 8, 8), w=(2, 3, 3, 3), padding=-1), "padding"),
    (dict(x=(1, 3, 8, 8), w=(2, 1, 3, 3), groups=2), "groups"),
    (dict(x=(1, 3, 8, 8), w=(2, 3, 3)), "weight must be 4-D"),
    (dict(x=(1, 8, 8, 3), w=(2, 3, 3, 3)), "NHWC"),
]


@pytest.mark.parametrize("case,message", BAD)
def test_bad_conv_arguments(case, message):
    case = dict(case)
    x, w = gpugrad.randn(*case.pop("x")), gpugrad.randn(*case.pop("w"))
    with pytest.raises(ValueError, match=message):
        F.conv2d(x, w, **case)


def test_conv_dtype_errors():
    with pytest.raises(TypeError, match="float64"):
        F.conv2d(gpugrad.randn(1, 1, 3, 3), gpugrad.randn(1, 1, 2, 2, dtype="float64"))
    with pytest.raises(ValueError, match="bias"):
        F.conv2d(gpugrad.randn(1, 1, 3, 3), gpugrad.randn(2, 1, 2, 2), gpugrad.randn(3))
    with pytest.raises(ValueError, match="larger than the padded input"):
        F.max_pool2d(gpugrad.randn(1, 1, 2, 2), 3)


ROUTE_SETS = [dict(conv2d_forward="igemm", conv_wgrad="igemm", conv_dgrad="direct"),
              dict(conv2d_forward="cublas", conv_wgrad="direct", conv_dgrad="igemm"),
              dict(conv2d_forward="igemm", conv_wgrad="cublas", conv_dgrad="cublas"),
              dict(conv2d_forward="cublas", conv_wgrad="direct", conv_dgrad="direct")]


@pytest.mark.parametrize("forced", ROUTE_SETS)
def test_conv_routes_on_cuda(forced, rng, monkeypatch):
    """Every route of gpugrad.backends.algorithms is reachable from conv2d and conv_transpose2d,
    passes gradcheck and gradgradcheck on cuda, and really runs when forced."""
    from gpugrad.backends import algorithms
    from gpugrad.backends.cuda.kernels import KernelSet
    calls = []
    for name in ("conv2d_forward", "conv_wgrad", "conv_dgrad"):
        for route in algorithms.routes(KernelSet, name):
            fname = algorithms.function_name(name, route)
            original = getattr(KernelSet, fname)
            monkeypatch.setattr(KernelSet, fname, lambda self, *a, _f=original, _n=fname: calls.append(_n) or _f(self, *a))
    x = gpugrad.tensor(rng.standard_normal((1, 4, 5, 4)), requires_grad=True, device="cuda")
    w = gpugrad.tensor(rng.standard_normal((6, 2, 3, 2)), requires_grad=True, device="cuda")
    xt = gpugrad.tensor(rng.standard_normal((1, 4, 3, 2)), requires_grad=True, device="cuda")
    wt = gpugrad.tensor(rng.standard_normal((4, 3, 3, 2)), requires_grad=True, device="cuda")
    kw = dict(stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
    with algorithms.use_route(**forced):
        assert gradcheck(lambda x, w: F.conv2d(x, w, **kw), (x, w))
        assert gradgradcheck(lambda x, w: F.conv2d(x, w, **kw), (x, w))
        assert gradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2, groups=2), (xt, wt))
    assert set(calls) == {algorithms.function_name(n, r) for n, r in forced.items()}
    calls.clear()
    F.conv2d(x, w, **kw).sum().backward()
    assert set(calls) == {"conv2d_forward", "conv_wgrad", "conv_dgrad"}  # the defaults again outside the block


def test_cpu_takes_the_direct_route_where_it_is_chosen(rng, monkeypatch):
    """float32 stride-1 convolutions on the CPU run the direct kernels where
    algorithms._cpu_direct says so, im2col otherwise, and both give the same training step."""
    from gpugrad.backends import algorithms
    from gpugrad.backends.cpu import kernels
    calls = []
    for name in ("conv2d_forward", "conv_wgrad", "conv_dgrad"):
        for fname in (name, name + "_direct"):
            original = getattr(kernels, fname)
            monkeypatch.setattr(kernels, fname, lambda *a, _f=original, _n=fname: calls.append(_n) or _f(*a))

    def step(x, w, **kw):
        x, w = (gpugrad.tensor(v, requires_grad=True) for v in (x, w))
        F.conv2d(x, w, **kw).square().sum().backward()
        return x.grad.numpy(), w.grad.numpy()
    x, w = rng.standard_normal((3, 6, 11, 9)).astype(np.float32), rng.standard_normal((12, 6, 3, 5)).astype(np.float32)
    direct = step(x, w, padding=(1, 2))
    assert calls == ["conv2d_forward_direct", "conv_dgrad_direct", "conv_wgrad_direct"]
    calls.clear()
    with algorithms.use_route(conv2d_forward="igemm", conv_wgrad="igemm", conv_dgrad="igemm"):
        im2col = step(x, w, padding=(1, 2))
    assert calls == ["conv2d_forward", "conv_dgrad", "conv_wgrad"]
    for a, b in zip(direct, im2col):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-4 * np.abs(b).max())
    calls.clear()
    step(x[:, :3], w[:, :3], stride=2)  # the rule leaves strided problems to im2col
    assert calls == ["conv2d_forward", "conv_dgrad", "conv_wgrad"]


def test_use_route_rejects_unknown_routes():
    from gpugrad.backends import algorithms
    with pytest.raises(ValueError, match="conv_wgrad has no route 'fft'"):
        with algorithms.use_route(conv_wgrad="fft"):
            pass
    with pytest.raises(ValueError, match="'gelu_fwd' has no alternative routes"):
        with algorithms.use_route(gelu_fwd="direct"):
            pass
