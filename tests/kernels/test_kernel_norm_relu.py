"""Batch norm and ReLU kernels, CPU (Numba) and CUDA (emulated), against the float64 references
on awkward shapes: odd channel counts, N = 1, one value per plane, (N, C) and (N, C, L) inputs,
channels longer than a block, with and without weight and bias. Outputs start poisoned (NaN)."""

import numpy as np
import pytest

from gpugrad.backends.cpu import batch_norm as cpu_batch_norm
from gpugrad.backends.cpu import kernels as cpu_kernels
from gpugrad.backends.cpu import reference as ref
from gpugrad.backends.cpu import relu as cpu_relu
from tests.kernels.kernel_helpers import poisoned_numpy, tol

DTYPES = [np.float32, np.float64]
BN_SHAPES = [(2, 3, 4, 5), (1, 5, 7), (7, 3), (2, 7, 1, 1), (1, 3, 5, 6), (3, 1, 9, 10), (2, 3, 17, 19),
             (40, 33), (5, 130), (2, 2, 3, 2, 2)]  # (5, 130): the CPU's (N, C) kernels' blocks of 64 channels
AFFINE = [(True, True), (True, False), (False, True), (False, False)]
EPS = 1e-3


@pytest.fixture(params=["cpu", "cuda"])
def impl(request, kernels, monkeypatch):
    """The kernel functions of one backend, every output array poisoned: the emulated KernelSet
    allocates from poisoned_numpy; the CPU wrappers do once their Numba kernels are compiled
    (warmed up here, so no compilation sees the patched module). The CPU's relu takes its
    parallel kernels at every size here (test_cpu_relu_below_the_parallel_size: the serial ones)."""
    if request.param == "cuda":
        return kernels
    monkeypatch.setattr(cpu_relu, "PARALLEL_FROM", 0)
    rng = np.random.default_rng(0)
    for dtype in DTYPES:
        for shape in [(2, 3, 4), (2, 3)]:  # (N, C) has kernels of its own
            x = rng.standard_normal(shape).astype(dtype)
            _, mean, _, invstd = cpu_kernels.batch_norm_fwd(x, None, None, EPS)
            cpu_kernels.batch_norm_bwd(x, x, mean, invstd, None)
            cpu_kernels.relu_bwd(cpu_kernels.relu_fwd(x), x)
    monkeypatch.setattr(cpu_batch_norm, "np", poisoned_numpy)
    monkeypatch.setattr(cpu_relu, "np", poisoned_numpy)
    return cpu_kernels


def _close(got, want, dtype):
    assert got.shape == want.shape and got.dtype == dtype
    np.testing.assert_allclose(got, want, **tol(dtype))


def _bn_input(rng, shape, dtype):
    """Each channel its own spread and an offset ten times that: a one-pass variance that
    cancels would fail here."""
    c = shape[1]
    scale = (0.5 + 4 * rng.random(c)).reshape((1, c) + (1,) * (len(shape) - 2))
    return (scale * (rng.standard_normal(shape) + 10)).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm(impl, order, rng, shape, affine, dtype):
    c = shape[1]
    x = _bn_input(rng, shape, dtype)
    weight, bias = (rng.standard_normal(c).astype(dtype) if on else None for on in affine)
    got = impl.batch_norm_fwd(x, weight, bias, EPS)
    want = ref.batch_norm_fwd_ref(x, weight, bias, EPS)
    for g, w in zip(got, want):
        _close(g, w, dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    mean, invstd = got[1], got[3]
    for g, w in zip(impl.batch_norm_bwd(x, gy, mean, invstd, weight),
                    ref.batch_norm_bwd_ref(x, gy, mean, invstd, weight)):
        _close(g, w, dtype)


def test_batch_norm_takes_any_layout(impl, rng):
    """A transposed (non-contiguous) input, float64 weight and bias for a float32 input."""
    x = _bn_input(rng, (5, 3, 4, 2), np.float32).transpose(0, 1, 3, 2)
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    y, mean, var, invstd = impl.batch_norm_fwd(x, w, b, EPS)
    for g, want in zip((y, mean, var, invstd), ref.batch_norm_fwd_ref(x, w, b, EPS)):
        _close(g, want, np.float32)
    gy = rng.standard_normal(x.shape).astype(np.float32)[:, :, ::-1]
    for g, want in zip(impl.batch_norm_bwd(x, gy, mean, invstd, w), ref.batch_norm_bwd_ref(x, gy, mean, invstd, w)):
        _close(g, want, np.float32)


def test_batch_norm_without_channels_and_without_values(impl):
    y, mean, var, invstd = impl.batch_norm_fwd(np.zeros((4, 0, 3)), None, None, EPS)
    assert y.shape == (4, 0, 3) and mean.shape == var.shape == invstd.shape == (0,)
    for shape in [(0, 3, 2), (2, 3, 0), (3,)]:
        with pytest.raises(ValueError, match=r"batch_norm_fwd: x must be \(N, C, \.\.\.\) with a value per channel"):
            impl.batch_norm_fwd(np.zeros(shape), None, None, EPS)
        with pytest.raises(ValueError, match="batch_norm_bwd"):
            impl.batch_norm_bwd(np.zeros(shape), np.zeros(shape), np.zeros(3), np.ones(3), None)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 5), (2, 3, 4, 5), (1000,)])
def test_relu(impl, order, rng, shape, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    x.reshape(-1)[::5] = 0  # the kink: relu(0) = 0 and no gradient there
    gy = rng.standard_normal(shape).astype(dtype)
    _close(impl.relu_fwd(x), ref.relu_fwd_ref(x), dtype)
    _close(impl.relu_bwd(x, gy), ref.relu_bwd_ref(x, gy), dtype)


def test_relu_nan_and_inf(impl):
    """As PyTorch: NaN passes forward; backward gives 0 where x is not > 0, even for NaN or inf gy."""
    x = np.array([np.nan, -np.inf, np.inf, -0.0, 0.0, -2.0, 3.0])
    gy = np.array([1.0, np.inf, 2.0, np.nan, np.nan, 5.0, np.nan])
    np.testing.assert_array_equal(impl.relu_fwd(x), [np.nan, 0, np.inf, 0, 0, 0, 3])
    np.testing.assert_array_equal(impl.relu_bwd(x, gy), [0, 0, 2, 0, 0, 0, np.nan])


@pytest.fixture
def serial_relu(monkeypatch):
    """The CPU's relu at its default PARALLEL_FROM, so below it the one-core loops, outputs
    poisoned (after a warm-up call, as in `impl`)."""
    for dtype in DTYPES:
        x = np.ones(3, dtype)
        cpu_relu.relu_bwd(cpu_relu.relu_fwd(x), x)
    monkeypatch.setattr(cpu_relu, "np", poisoned_numpy)
    return cpu_relu


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, 33, cpu_relu.PARALLEL_FROM - 1])
def test_cpu_relu_below_the_parallel_size(serial_relu, rng, size, dtype):
    x = rng.standard_normal(size).astype(dtype)
    x[::5], x[1::7] = 0, np.nan
    gy = rng.standard_normal(size).astype(dtype)
    gy[2::3] = np.nan
    np.testing.assert_array_equal(serial_relu.relu_fwd(x), ref.relu_fwd_ref(x).astype(dtype))
    np.testing.assert_array_equal(serial_relu.relu_bwd(x, gy), ref.relu_bwd_ref(x, gy).astype(dtype))
    assert serial_relu.relu_fwd(x).dtype == serial_relu.relu_bwd(x, gy).dtype == dtype


def test_relu_keeps_integer_dtypes(impl):
    x = np.array([[-3, 0, 4]], np.int64)
    y = impl.relu_fwd(x)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, [[0, 0, 4]])
