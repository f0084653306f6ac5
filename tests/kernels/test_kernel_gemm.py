"""Our GEMM and implicit-GEMM convolutions on the emulator against the float64 references:
awkward sizes, transposed and broadcast operands, vector and scalar loads, the fused conv
epilogue, the split weight gradient, and the TF32 tensor-core routes.  The implicit GEMMs are
the KernelSet's default conv routes, checked on every CONV_CASE in test_kernel_set.test_conv."""

import numpy as np
import pytest

import gpugrad.backends.cuda as cuda_flags
from gpugrad.backends.cpu import reference as ref
from gpugrad.backends.cuda import kernels as cuda_kernels
from kernel_helpers import tol
from test_kernel_set import CONV_CASES, DTYPES, _conv_inputs

# batch dims of a and b, M, K, N
GEMM_CASES = [
    ((), (), 1, 1, 1),
    ((), (), 5, 7, 3),
    ((), (), 70, 20, 65),         # 64-tiles (double, TF32): two each way, partial K slices
    ((), (), 130, 9, 150),        # 128-tiles (float): two each way
    ((2,), (), 3, 8, 4),          # b shared by the batch (stride 0)
    ((3, 1), (1, 2), 4, 12, 8),   # both broadcast
]


def _operand(rng, batch, rows, cols, dtype, transposed):
    """A (batch..., rows, cols) array; `transposed` makes it a view of a (cols, rows) array."""
    if transposed:
        return rng.standard_normal(batch + (cols, rows)).astype(dtype).swapaxes(-1, -2)
    return rng.standard_normal(batch + (rows, cols)).astype(dtype)


@pytest.fixture
def tf32(monkeypatch):
    monkeypatch.setattr(cuda_flags, "allow_tf32", True)


def _tf32_tol(k):
    """float32 accumulation of k exact TF32 products of O(1) values."""
    return dict(rtol=1e-5, atol=2e-6 * k)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["nn", "tn", "nt", "tt"])
@pytest.mark.parametrize("case", GEMM_CASES)
def test_gemm(kernels, order, rng, case, layout, dtype):
    ba, bb, m, k, n = case
    a = _operand(rng, ba, m, k, dtype, layout[0] == "t")
    b = _operand(rng, bb, k, n, dtype, layout[1] == "t")
    c = kernels.matmul(a, b)
    assert c.dtype == dtype and c.shape == np.broadcast_shapes(ba, bb) + (m, n)
    np.testing.assert_allclose(c, ref.matmul_ref(a, b), **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_vector_and_scalar_loads(kernels, order, rng, dtype):
    """Aligned operands whose contiguous extent is a multiple of the 16-byte vector load it;
    the same data 1 element off alignment, or with an odd extent, takes the scalar path."""
    m, k, n = 9, 12, 20
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    shifted = np.empty(a.size + 1, dtype)[1:].reshape(m, k)
    shifted[...] = a
    cases = [(a, b, True, True), (shifted, b, False, True), (a, b.T.copy().T, True, True),
             (a[:, :11], b[:11, :19], False, False)]
    for x, y, vec_x, vec_y in cases:
        assert kernels._gemm_operand(x, ())[-1] is vec_x
        assert kernels._gemm_operand(y, ())[-1] is vec_y
        np.testing.assert_allclose(kernels.matmul(x, y), ref.matmul_ref(x, y), **tol(dtype))


def test_matmul_of_integers_is_exact(kernels, rng):
    """Our GEMM is float32/float64 only; integer operands take xp.matmul inside the default route."""
    a, b = rng.integers(-2**40, 2**40, (3, 4)), rng.integers(-5, 5, (4, 2))
    c = kernels.matmul(a, b)
    assert c.dtype == np.int64
    np.testing.assert_array_equal(c, a @ b)


def test_gemm_empty_and_k0(kernels):
    assert kernels.matmul(np.ones((0, 3)), np.ones((3, 4))).shape == (0, 4)
    np.testing.assert_array_equal(kernels.matmul(np.ones((2, 0), np.float32), np.ones((0, 3), np.float32)),
                                  np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("layout", ["nn", "tt"])
def test_gemm_tf32(kernels, order, rng, tf32, layout):
    """Tensor-core route: exactly the float64 product of the TF32-rounded inputs, up to float32
    accumulation, and measurably not the float32 product."""
    m, k, n = 37, 40, 19
    a = _operand(rng, (), m, k, np.float32, layout[0] == "t")
    b = _operand(rng, (), k, n, np.float32, layout[1] == "t")
    c = kernels.matmul(a, b)
    np.testing.assert_allclose(c, ref.matmul_ref(ref.tf32_round_ref(a), ref.tf32_round_ref(b)), **_tf32_tol(k))
    assert np.abs(c - ref.matmul_ref(a, b)).max() > 1e-4
    np.testing.assert_allclose(kernels.matmul(a.astype(np.float64), b.astype(np.float64)), ref.matmul_ref(a, b),
                               **tol(np.float64))  # float64 never takes it


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("relu", [False, True])
def test_conv_igemm_fused_bias_relu(kernels, rng, relu, dtype):
    x, w, geo = _conv_inputs(rng, CONV_CASES[1], dtype)
    bias = rng.standard_normal(w.shape[0]).astype(dtype)
    want = ref.conv2d_ref(x, w, groups=2, **geo) + bias[:, None, None]
    y = kernels._conv2d_forward_igemm(x, w, groups=2, bias=bias, relu=relu, **geo)
    np.testing.assert_allclose(y, np.maximum(want, 0) if relu else want, **tol(dtype))


@pytest.mark.parametrize("blocks", [1, 10**6])
def test_conv_wgrad_igemm_split_over_k(kernels, monkeypatch, rng, blocks):
    """One split, and as many 128-deep splits as the batch*positions allow (here 3, the last
    one partial): the host sums the splits' partial products."""
    monkeypatch.setattr(cuda_kernels, "WGRAD_BLOCKS", blocks)
    x, w, geo = _conv_inputs(rng, (3, 2, 9, 10, 3, 1, (3, 3), (1, 1), (1, 1), (1, 1)), np.float64)
    gy = rng.standard_normal((3, 3, 9, 10))
    np.testing.assert_allclose(kernels.conv_wgrad(x, gy, 3, 3, groups=1, **geo),
                               ref.conv_wgrad_ref(x, gy, 3, 3, groups=1, **geo), **tol(np.float64))


@pytest.mark.parametrize("case", [CONV_CASES[0], CONV_CASES[1], CONV_CASES[2]])
def test_conv_igemm_tf32(kernels, order, rng, tf32, case):
    x, w, geo = _conv_inputs(rng, case, np.float32)
    groups, (kh, kw) = case[5], case[6]
    r = ref.tf32_round_ref
    k = x.shape[1] // groups * kh * kw
    y = kernels.conv2d_forward(x, w, groups=groups, **geo)
    np.testing.assert_allclose(y, ref.conv2d_ref(r(x), r(w), groups=groups, **geo), **_tf32_tol(k))
    gy = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_allclose(kernels.conv_wgrad(x, gy, kh, kw, groups=groups, **geo),
                               ref.conv_wgrad_ref(r(x), r(gy), kh, kw, groups=groups, **geo),
                               **_tf32_tol(gy[:, 0].size))
    np.testing.assert_allclose(kernels.conv_dgrad(gy, w, x.shape, groups=groups, **geo),
                               ref.conv_dgrad_ref(r(gy), r(w), x.shape, groups=groups, **geo),
                               **_tf32_tol(w.shape[0] * kh * kw))
