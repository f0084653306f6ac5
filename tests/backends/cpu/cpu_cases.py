"""Shared hypothesis strategies and helpers for the CPU kernel tests."""
import contextlib

import numpy as np
from hypothesis import assume, settings
from hypothesis import strategies as st

from gpugrad.backends.conv_params import conv_output_size, pool_output_size

SETTINGS = settings(max_examples=40, deadline=None)
pairs = st.tuples


def normal(seed, shape, dtype=np.float64, scale=1.0):
    """Random normal data: never zeros, so a kernel that drops a term cannot pass by luck."""
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def assert_close(got, ref, dtype):
    """float64: tight; float32: loose, relative to the largest reference magnitude."""
    assert got.shape == ref.shape and got.dtype == dtype
    tol = 1e-11 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * max(1.0, np.abs(ref).max()))


@st.composite
def conv_cases(draw):
    """A valid conv2d problem: batch 1-4, channels 1-8 (with groups), sizes 1-17, kernel 1-5,
    stride/dilation 1-3, padding 0-3, per axis independently."""
    groups = draw(st.integers(1, 4))
    c, f = groups * draw(st.integers(1, 8 // groups)), groups * draw(st.integers(1, 8 // groups))
    n = draw(st.integers(1, 4))
    size, kernel = draw(pairs(st.integers(1, 17), st.integers(1, 17))), draw(pairs(st.integers(1, 5), st.integers(1, 5)))
    stride, dilation = draw(pairs(st.integers(1, 3), st.integers(1, 3))), draw(pairs(st.integers(1, 3), st.integers(1, 3)))
    padding = draw(pairs(st.integers(0, 3), st.integers(0, 3)))
    for s, k, p, d in zip(size, kernel, padding, dilation):
        assume(d * (k - 1) + 1 <= s + 2 * p)
    out = tuple(conv_output_size(s, k, st_, p, d) for s, k, st_, p, d in zip(size, kernel, stride, padding, dilation))
    return dict(x_shape=(n, c) + size, w_shape=(f, c // groups) + kernel, y_shape=(n, f) + out, stride=stride,
                padding=padding, dilation=dilation, groups=groups, seed=draw(st.integers(0, 2 ** 32 - 1)))


@st.composite
def pool_cases(draw):
    """A max-pool problem PyTorch accepts (padding <= kernel//2) with no window entirely outside x."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 8))
    size, kernel = draw(pairs(st.integers(1, 17), st.integers(1, 17))), draw(pairs(st.integers(1, 5), st.integers(1, 5)))
    stride, dilation = draw(pairs(st.integers(1, 3), st.integers(1, 3))), draw(pairs(st.integers(1, 3), st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    ceil_mode = draw(st.booleans())
    for s, k, st_, p, d in zip(size, kernel, stride, padding, dilation):
        out = pool_output_size(s, k, st_, p, d, ceil_mode)
        assume(out >= 1)
        assume(all(any(0 <= a * st_ - p + t * d < s for t in range(k)) for a in range(out)))
    return dict(x_shape=(n, c) + size, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                ceil_mode=ceil_mode, seed=draw(st.integers(0, 2 ** 32 - 1)))


@contextlib.contextmanager
def cols_budget(module, nbytes, threads=1):
    """Shrink the conv patch-buffer budget so small problems also run in several batch chunks,
    on `threads` of our threads (serial kernels) or, with 1, in turn (parallel kernels)."""
    from gpugrad.backends.cpu import blas
    saved = module.COLS_BUDGET_BYTES, module.CACHE_CHUNK_BYTES, module.THREADED_MIN_BYTES, blas.workers
    module.COLS_BUDGET_BYTES = module.CACHE_CHUNK_BYTES = nbytes
    module.THREADED_MIN_BYTES, blas.workers = 0, lambda: threads
    try:
        yield
    finally:
        module.COLS_BUDGET_BYTES, module.CACHE_CHUNK_BYTES, module.THREADED_MIN_BYTES, blas.workers = saved


def both_forms(*kernels):
    """An autouse fixture running each test twice: with `kernels` always in parallel, and
    always in their serial form (small problems take the serial one, see _numba.parallel_kernel)."""
    import pytest

    @pytest.fixture(autouse=True, params=["parallel", "serial"])
    def form(request, monkeypatch):
        for k in kernels:
            monkeypatch.setattr(k, "serial_below", 0 if request.param == "parallel" else float("inf"))
        return request.param
    return form
