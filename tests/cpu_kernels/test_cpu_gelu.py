"""Fused gelu kernels against the float64 reference, SciPy's erf and finite differences."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpu_cases import SETTINGS, assert_close, normal
from gpugrad.backends.cpu import gelu
from gpugrad.backends.cpu import reference as ref

FORMS = st.sampled_from(["none", "tanh"])
SHAPES = st.lists(st.integers(1, 40), min_size=0, max_size=3).map(tuple)


@SETTINGS
@given(SHAPES, FORMS, st.sampled_from([np.float64, np.float32]), st.integers(0, 2 ** 32 - 1))
def test_against_reference(shape, form, dtype, seed):
    x, gy = normal(seed, shape, dtype, scale=3), normal(seed + 1, shape, dtype)
    assert_close(gelu.gelu_fwd(x, form), ref.gelu_fwd_ref(x, form), dtype)
    assert_close(gelu.gelu_bwd(x, gy, form), ref.gelu_bwd_ref(x, gy, form), dtype)


def test_erf_form_against_scipy():
    special = pytest.importorskip("scipy.special")
    x, gy = normal(0, 5000, scale=4), normal(1, 5000)
    np.testing.assert_allclose(gelu.gelu_fwd(x, "none"), 0.5 * x * (1 + special.erf(x / math.sqrt(2))), rtol=1e-14, atol=1e-15)
    d = 0.5 * (1 + special.erf(x / math.sqrt(2))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(gelu.gelu_bwd(x, gy, "none"), gy * d, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("form", ["none", "tanh"])
def test_backward_is_derivative_of_forward(form):
    x, h = normal(2, 2000, scale=3), 1e-6
    fd = (gelu.gelu_fwd(x + h, form) - gelu.gelu_fwd(x - h, form)) / (2 * h)
    np.testing.assert_allclose(gelu.gelu_bwd(x, np.ones_like(x), form), fd, rtol=1e-7, atol=1e-8)


def test_extremes_and_bad_form():
    x = np.array([-1e300, -40.0, 40.0, 1e300, np.inf, -np.inf])
    for form in ("none", "tanh"):
        np.testing.assert_array_equal(gelu.gelu_fwd(x, form), [-0.0, -0.0, 40.0, 1e300, np.inf, np.nan])  # as PyTorch: -inf * 0
    with pytest.raises(ValueError, match="approximate"):
        gelu.gelu_fwd(x, "erf")


@pytest.mark.parametrize("form", ["none", "tanh"])
def test_float32_kernels_agree_with_float64_at_the_extremes(form):
    """float32 has its own polynomial erf/exp: past their clamps (|x| > 4 for erf, exp below
    -87 or above 88) and at inf/NaN it must give what the float64 kernels give. Absolute error
    up to |x| * 4e-7 in the left tail is float32's own: 1 + erf(x) cancels there."""
    x = np.array([-1e30, -90, -40, -13, -9, -4.5, -4, -1e-30, 0, 1e-30, 4, 4.5, 9, 13, 40, 90, 1e30,
                  np.inf, -np.inf, np.nan])
    gy = np.linspace(0.5, 1.5, x.size)
    # tanh form's backward at |x| = 1e30: x**3 overflows float32 and gives NaN, as in PyTorch
    b = np.abs(x) != 1e30 if form == "tanh" else np.ones(x.size, bool)
    for got, want in ((gelu.gelu_fwd(x.astype(np.float32), form), gelu.gelu_fwd(x, form)),
                      (gelu.gelu_bwd(x[b].astype(np.float32), gy[b].astype(np.float32), form), gelu.gelu_bwd(x[b], gy[b], form))):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want.astype(np.float32), rtol=1e-6, atol=2e-6)
