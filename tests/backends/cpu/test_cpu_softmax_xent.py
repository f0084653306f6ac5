"""Softmax cross-entropy kernels against the float64 reference and finite differences."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.backends.cpu.cpu_cases import SETTINGS, assert_close, both_forms, normal
from gpugrad.backends.cpu import reference as ref
from gpugrad.backends.cpu import softmax_xent as sx

form = both_forms(sx._fwd, sx._bwd)

IGNORE = -100


@st.composite
def xent_cases(draw):
    n, k, seed = draw(st.integers(1, 9)), draw(st.integers(1, 12)), draw(st.integers(0, 2 ** 32 - 1))
    target = np.random.default_rng(seed).integers(0, k, n)
    target[np.random.default_rng(seed + 1).random(n) < 0.25] = IGNORE
    return normal(seed, (n, k), scale=3), target, draw(st.sampled_from([0.0, 0.1, 0.37]))


@SETTINGS
@given(xent_cases(), st.sampled_from([np.float64, np.float32]))
def test_against_reference(case, dtype):
    x, target, eps = case
    x = x.astype(dtype)
    loss, lse = sx.softmax_xent_fwd(x, target, IGNORE, eps)
    loss_ref, lse_ref = ref.softmax_xent_fwd_ref(x, target, IGNORE, eps)
    assert_close(loss, loss_ref, dtype)
    assert_close(lse, lse_ref, dtype)
    gloss = normal(1, len(target), dtype)
    assert_close(sx.softmax_xent_bwd(x, target, lse, gloss, IGNORE, eps),
                 ref.softmax_xent_bwd_ref(x, target, lse_ref, gloss, IGNORE, eps), dtype)


@SETTINGS
@given(xent_cases())
def test_backward_is_derivative_of_forward(case):
    x, target, eps = case
    gloss, h = normal(7, len(target)), 1e-6
    g = sx.softmax_xent_bwd(x, target, sx.softmax_xent_fwd(x, target, IGNORE, eps)[1], gloss, IGNORE, eps)
    for idx in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[idx] = h
        fd = (sx.softmax_xent_fwd(x + d, target, IGNORE, eps)[0] - sx.softmax_xent_fwd(x - d, target, IGNORE, eps)[0]) @ gloss / (2 * h)
        assert abs(g[idx] - fd) < 1e-7


def test_large_logits_are_stable():
    x = np.array([[1000.0, 0.0, -1000.0]], np.float32)
    loss, lse = sx.softmax_xent_fwd(x, np.array([1]), IGNORE, 0.0)
    np.testing.assert_allclose(loss, [1000.0])
    np.testing.assert_allclose(lse, [1000.0])
