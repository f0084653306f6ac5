"""Max pooling kernels against the float64 reference: PyTorch's window, tie and NaN rules."""
import numpy as np
from hypothesis import given

from tests.backends.cpu.cpu_cases import SETTINGS, both_forms, normal, pool_cases
from gpugrad.backends.cpu import pool
from gpugrad.backends.cpu import reference as ref

form = both_forms(pool._maxpool_fwd, pool._maxpool_bwd)


def _params(case):
    return case["kernel"], case["stride"], case["padding"], case["dilation"], case["ceil_mode"]


@SETTINGS
@given(pool_cases())
def test_forward_and_backward(case):
    x = normal(case["seed"], case["x_shape"], scale=3)
    y, arg = pool.maxpool2d_fwd(x, *_params(case))
    y_ref, arg_ref = ref.maxpool2d_fwd_ref(x, *_params(case))
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(arg, arg_ref)
    assert arg.dtype == np.int64
    gy = normal(case["seed"] + 1, y.shape)
    np.testing.assert_allclose(pool.maxpool2d_bwd(gy, arg, x.shape), ref.maxpool2d_bwd_ref(gy, arg, x.shape),
                               rtol=1e-12, atol=1e-12)


@SETTINGS
@given(pool_cases())
def test_ties_take_first_in_scan_order(case):
    """Values from {-1, 0, 1} tie in almost every window; float32 so the kernel's own dtype runs too."""
    x = np.random.default_rng(case["seed"]).integers(-1, 2, case["x_shape"]).astype(np.float32)
    y, arg = pool.maxpool2d_fwd(x, *_params(case))
    y_ref, arg_ref = ref.maxpool2d_fwd_ref(x, *_params(case))
    np.testing.assert_array_equal(arg, arg_ref)
    np.testing.assert_array_equal(y, y_ref.astype(np.float32))


def test_nan_wins_and_negative_infinity_beats_padding():
    x = np.array([[[[1.0, np.nan, 3.0, np.nan], [-np.inf, -np.inf, 0.0, 2.0]]]])
    y, arg = pool.maxpool2d_fwd(x, (2, 2), (2, 2), (1, 1), (1, 1), False)
    np.testing.assert_array_equal(arg, [[[[0, 1, 3], [4, 6, 7]]]])  # the last NaN wins; an all -inf window keeps its first
    assert np.isnan(y[0, 0, 0, 1]) and y[0, 0, 1, 0] == -np.inf


def test_window_with_no_input_element_is_harmless():
    """kernel 2, dilation 3, padding 1 on a 2x2 input: the one window's taps are rows/cols -1 and 2.
    The forward gives -inf and index -1 (PyTorch: an index past the plane); the backward ignores it."""
    x = normal(0, (1, 1, 2, 2))
    y, arg = pool.maxpool2d_fwd(x, (2, 2), (1, 1), (1, 1), (3, 3), False)
    assert y.shape == (1, 1, 1, 1) and y[0, 0, 0, 0] == -np.inf and arg[0, 0, 0, 0] == -1
    np.testing.assert_array_equal(pool.maxpool2d_bwd(np.ones_like(y), arg, x.shape), np.zeros_like(x))


@SETTINGS
@given(pool_cases().map(lambda c: dict(c, kernel=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1))
                        ).filter(lambda c: min(c["x_shape"][2:]) >= 2))
def test_two_by_two_fast_path(case):
    """The common 2x2/stride-2 window has its own loop: values, ties, NaN and odd sizes (floor drops
    the last row and column; ceil_mode's partial windows take the general loop) as the reference."""
    rng = np.random.default_rng(case["seed"])
    x = rng.integers(-1, 2, case["x_shape"]).astype(np.float64)
    x[rng.random(x.shape) < 0.05] = np.nan
    for dtype in (np.float64, np.float32):
        y, arg = pool.maxpool2d_fwd(x.astype(dtype), *_params(case))
        y_ref, arg_ref = ref.maxpool2d_fwd_ref(x, *_params(case))
        np.testing.assert_array_equal(arg, arg_ref)
        np.testing.assert_array_equal(y, y_ref.astype(dtype))
