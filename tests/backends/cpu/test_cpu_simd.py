"""The 16-lane float32 vector type the CPU's register-tiled kernels are written with."""
import numba
import numpy as np
import pytest

from gpugrad.backends.cpu import simd


@numba.njit
def _masked_copy(src, dst, start, count):
    simd.store_n(dst, numba.uint64(start), numba.uint64(count), simd.load_n(src, numba.uint64(start), numba.uint64(count)))


@numba.njit
def _fma_total(a, b, c):
    v = simd.fma(simd.load(a, numba.uint64(0)), simd.load(b, numba.uint64(0)), simd.splat(c))
    out = np.empty(16, np.float32)
    simd.store(out, numba.uint64(0), v)
    return out, simd.total(v), simd.total(simd.zero())


@pytest.mark.parametrize("count", [0, 1, 7, 15, 16, 20])
def test_masked_load_and_store_touch_only_their_lanes(count):
    src = np.arange(40, dtype=np.float32) + 1
    dst = np.full(40, -1.0, np.float32)
    _masked_copy(src, dst, 3, count)
    lanes = min(count, 16)
    np.testing.assert_array_equal(dst[3:3 + lanes], src[3:3 + lanes])
    assert (dst[:3] == -1).all() and (dst[3 + lanes:] == -1).all()


def test_fma_and_total():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(16).astype(np.float32), rng.standard_normal(16).astype(np.float32)
    out, total, zero = _fma_total(a, b, np.float32(0.5))
    np.testing.assert_allclose(out, a.astype(np.float64) * b + 0.5, rtol=1e-6)
    assert total == pytest.approx(float(out.astype(np.float64).sum()), rel=1e-5) and zero == 0
