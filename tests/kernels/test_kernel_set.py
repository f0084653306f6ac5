"""The CUDA backend's KernelSet, run on the emulator, against the float64 references."""

import numpy as np
import pytest

import gpugrad.backends.cuda as cuda_flags
from gpugrad.backends import algorithms
from gpugrad.backends.cpu import reference as ref
from kernel_helpers import tol

DTYPES = [np.float32, np.float64]

# N, C, H, W, F, groups, (kh, kw), stride, padding, dilation
CONV_CASES = [
    (2, 3, 7, 5, 4, 1, (3, 2), (2, 1), (1, 0), (1, 2)),
    (1, 4, 6, 9, 6, 2, (2, 3), (3, 2), (2, 1), (2, 1)),
    (1, 1, 1, 1, 1, 1, (1, 1), (1, 1), (0, 0), (1, 1)),
    (3, 2, 5, 4, 2, 2, (3, 3), (2, 2), (1, 1), (1, 1)),
    (2, 3, 8, 7, 5, 1, (3, 3), (2, 3), (0, 2), (2, 1)),  # stride skips input rows and columns
    (2, 2, 9, 9, 3, 1, (3, 3), (1, 1), (1, 1), (1, 1)),  # 162 taps: multi-warp wgrad reduction
]

# N, C, H, W, kernel, stride, padding, dilation, ceil_mode
POOL_CASES = [
    (2, 3, 7, 6, (3, 2), (2, 2), (1, 0), (1, 1), False),
    (1, 2, 7, 6, (3, 3), (2, 2), (1, 1), (1, 1), True),
    (1, 1, 1, 1, (1, 1), (1, 1), (0, 0), (1, 1), False),
    (2, 2, 9, 8, (2, 3), (3, 2), (1, 1), (2, 2), True),
    (1, 2, 5, 5, (2, 2), (2, 2), (0, 0), (1, 1), True),
    (1, 2, 2, 2, (2, 2), (1, 1), (1, 1), (3, 3), False),  # a window with no input element
    (2, 2, 2, 3, (1, 2), (1, 1), (0, 1), (1, 3), False),  # empty windows beside full ones
]


def _conv_inputs(rng, case, dtype):
    n, c, h, w, f, groups, k, stride, padding, dilation = case
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((f, c // groups, *k)).astype(dtype)
    return x, wt, dict(stride=stride, padding=padding, dilation=dilation)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv(kernels, order, rng, case, dtype):
    x, w, geo = _conv_inputs(rng, case, dtype)
    groups, (kh, kw) = case[5], case[6]
    y = kernels.conv2d_forward(x, w, groups=groups, **geo)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, ref.conv2d_ref(x, w, groups=groups, **geo), **tol(dtype))
    np.testing.assert_allclose(kernels.conv2d_forward_cublas(x, w, groups=groups, **geo),
                               ref.conv2d_ref(x, w, groups=groups, **geo), **tol(dtype))
    gy = rng.standard_normal(y.shape).astype(dtype)
    gw_ref = ref.conv_wgrad_ref(x, gy, kh, kw, groups=groups, **geo)
    for wgrad in (kernels.conv_wgrad, kernels.conv_wgrad_cublas, kernels.conv_wgrad_direct):
        np.testing.assert_allclose(wgrad(x, gy, kh, kw, groups=groups, **geo), gw_ref, **tol(dtype))
    gx_ref = ref.conv_dgrad_ref(gy, w, x.shape, groups=groups, **geo)
    for dgrad in (kernels.conv_dgrad, kernels.conv_dgrad_cublas, kernels.conv_dgrad_direct):
        np.testing.assert_allclose(dgrad(gy, w, x.shape, groups=groups, **geo), gx_ref, **tol(dtype))


@pytest.mark.parametrize("case", [CONV_CASES[1], CONV_CASES[4]])
def test_conv_gemm_route_in_batch_chunks(kernels, monkeypatch, rng, case):
    """With a column budget of about one image the im2col + cuBLAS routes loop over batch chunks: forward
    fills each slice of y, wgrad sums the chunks' GEMMs, dgrad folds each chunk into its slice;
    then two chunks of unequal size."""
    dtype = np.float64
    _, c, _, _, _, groups, (kh, kw) = case[:7]
    x, w, geo = _conv_inputs(rng, (3,) + case[1:], dtype)
    y_ref = ref.conv2d_ref(x, w, groups=groups, **geo)
    per_image = c * kh * kw * y_ref[0, 0].size * 8
    monkeypatch.setattr(kernels, "COLS_BUDGET", per_image + 7)
    assert len(kernels._batch_chunks(3, c * kh * kw, y_ref[0, 0].size, dtype)) == 3
    np.testing.assert_allclose(kernels.conv2d_forward_cublas(x, w, groups=groups, **geo), y_ref, **tol(dtype))
    gy = rng.standard_normal(y_ref.shape)
    np.testing.assert_allclose(kernels.conv_wgrad_cublas(x, gy, kh, kw, groups=groups, **geo),
                               ref.conv_wgrad_ref(x, gy, kh, kw, groups=groups, **geo), **tol(dtype))
    np.testing.assert_allclose(kernels.conv_dgrad_cublas(gy, w, x.shape, groups=groups, **geo),
                               ref.conv_dgrad_ref(gy, w, x.shape, groups=groups, **geo), **tol(dtype))
    monkeypatch.setattr(kernels, "COLS_BUDGET", 2 * per_image)
    assert [b - a for a, b in kernels._batch_chunks(3, c * kh * kw, y_ref[0, 0].size, dtype)] == [2, 1]
    np.testing.assert_allclose(kernels.conv_wgrad_cublas(x, gy, kh, kw, groups=groups, **geo),
                               ref.conv_wgrad_ref(x, gy, kh, kw, groups=groups, **geo), **tol(dtype))


@pytest.mark.parametrize("use_cublas", [False, True])
def test_conv_empty_batch(kernels, monkeypatch, use_cublas):
    """Our kernels and (use_cublas) the im2col + cuBLAS routes, as the ops reach them."""
    monkeypatch.setattr(cuda_flags, "use_cublas", use_cublas)
    assert algorithms.choose(kernels, "conv_wgrad") == ("cublas" if use_cublas else "igemm")
    x, w = np.zeros((0, 2, 5, 5)), np.ones((4, 1, 3, 3))
    geo = ((1, 1), (1, 1), (1, 1), 2)  # stride, padding, dilation, groups
    assert algorithms.run(kernels, "conv2d_forward", x, w, *geo).shape == (0, 4, 5, 5)
    np.testing.assert_array_equal(algorithms.run(kernels, "conv_wgrad", x, np.zeros((0, 4, 5, 5)), 3, 3, *geo),
                                  np.zeros((4, 1, 3, 3)))
    assert algorithms.run(kernels, "conv_dgrad", np.zeros((0, 4, 5, 5)), w, x.shape, *geo).shape == x.shape


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape", [(1,), (3,), (4,), (2, 7), (5, 205)])
def test_gelu(kernels, order, rng, shape, approximate, dtype):
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    np.testing.assert_allclose(kernels.gelu_fwd(x, approximate), ref.gelu_fwd_ref(x, approximate), **tol(dtype))
    np.testing.assert_allclose(kernels.gelu_bwd(x, gy, approximate), ref.gelu_bwd_ref(x, gy, approximate),
                               **tol(dtype))


def test_gelu_misaligned_float32_takes_scalar_path(kernels, rng):
    """A float32 view 4 bytes off 16-byte alignment cannot use float4 loads."""
    base = rng.standard_normal(1 + 1027).astype(np.float32)
    x = base[1:]
    assert x.ctypes.data % 16 != 0
    np.testing.assert_allclose(kernels.gelu_fwd(x, "none"), ref.gelu_fwd_ref(x, "none"), **tol(np.float32))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES)
def test_maxpool(kernels, order, rng, case, dtype):
    n, c, h, w, *geo = case
    x = rng.integers(-3, 4, (n, c, h, w)).astype(dtype)  # small integers: many ties
    x[rng.random(x.shape) < 0.1] = np.nan  # a NaN wins, the last one in scan order
    y, argmax = kernels.maxpool2d_fwd(x, *geo)
    y_ref, arg_ref = ref.maxpool2d_fwd_ref(x, *geo)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(argmax, arg_ref)
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = kernels.maxpool2d_bwd(gy, argmax, x.shape)
    np.testing.assert_allclose(gx, ref.maxpool2d_bwd_ref(gy, arg_ref, x.shape), **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("n,k", [(1, 1), (3, 5), (4, 37), (5, 300)])
def test_softmax_xent(kernels, order, rng, n, k, eps, dtype):
    logits = (4 * rng.standard_normal((n, k))).astype(dtype)
    target = rng.integers(0, k, n)
    target[1::3] = -100  # ignored rows
    loss, lse = kernels.softmax_xent_fwd(logits, target, -100, eps)
    loss_ref, lse_ref = ref.softmax_xent_fwd_ref(logits, target, -100, eps)
    np.testing.assert_allclose(lse, lse_ref, **tol(dtype))
    np.testing.assert_allclose(loss, loss_ref, **tol(dtype))
    gloss = rng.standard_normal(n).astype(dtype)
    g = kernels.softmax_xent_bwd(logits, target, lse, gloss, -100, eps)
    np.testing.assert_allclose(g, ref.softmax_xent_bwd_ref(logits, target, lse_ref, gloss, -100, eps), **tol(dtype))
