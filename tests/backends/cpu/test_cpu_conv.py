"""CPU conv kernels against the float64 definitions, the adjoint identity and the formulas of
adamtiger/autograd's derivation of the convolution gradients."""
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.backends.cpu.cpu_cases import SETTINGS, assert_close, cols_budget, conv_cases, normal
from gpugrad.backends.cpu import conv
from gpugrad.backends.cpu import reference as ref

DTYPES = st.sampled_from([np.float64, np.float32])
# (patch bytes per chunk, threads): 1 byte is one sample per chunk; 1 thread runs the chunks in
# turn with Numba's parallel kernels, more run them on our threads with the serial kernels
BUDGETS = st.sampled_from([(1, 1), (conv.COLS_BUDGET_BYTES, 1), (1, 2), (4096, 3)])


def _problem(case, dtype):
    s = case["seed"]
    return (normal(s, case["x_shape"], dtype), normal(s + 1, case["w_shape"], dtype),
            normal(s + 2, case["y_shape"], dtype))


def _args(case):
    return case["stride"], case["padding"], case["dilation"]


@SETTINGS
@given(conv_cases())
def test_patch_gather(case):
    """The patch buffer (C, kh, kw, N, OH, OW) holds im2col's columns with the batch inside."""
    x, w, _ = _problem(case, np.float64)
    kh, kw = case["w_shape"][2:]
    oh, ow = conv._out_hw(x.shape, kh, kw, *_args(case))
    cols = conv._patches(x, kh, kw, oh, ow, *_args(case))
    np.testing.assert_array_equal(cols.transpose(3, 0, 1, 2, 4, 5).reshape(x.shape[0], -1, oh * ow),
                                  ref.im2col_ref(x, kh, kw, *_args(case)))


@SETTINGS
@given(conv_cases(), DTYPES, BUDGETS)
def test_forward(case, dtype, budget):
    x, w, _ = _problem(case, dtype)
    with cols_budget(conv, *budget):
        y = conv.conv2d_forward(x, w, *_args(case), case["groups"])
    assert_close(y, ref.conv2d_ref(x, w, *_args(case), case["groups"]), dtype)


@SETTINGS
@given(conv_cases(), DTYPES, BUDGETS)
def test_wgrad(case, dtype, budget):
    x, w, gy = _problem(case, dtype)
    kh, kw = w.shape[2:]
    with cols_budget(conv, *budget):
        gw = conv.conv_wgrad(x, gy, kh, kw, *_args(case), case["groups"])
    assert_close(gw, ref.conv_wgrad_ref(x, gy, kh, kw, *_args(case), case["groups"]), dtype)


@SETTINGS
@given(conv_cases(), DTYPES, BUDGETS)
@example(dict(x_shape=(2, 3, 8, 9), w_shape=(4, 3, 3, 2), y_shape=(2, 4, 2, 3), stride=(3, 3), padding=(0, 0),
              dilation=(1, 1), groups=1, seed=0), np.float64, (1, 1))  # forward never reads rows 6-7, column 8
def test_dgrad(case, dtype, budget):
    x, w, gy = _problem(case, dtype)
    with cols_budget(conv, *budget):
        gx = conv.conv_dgrad(gy, w, x.shape, *_args(case), case["groups"])
    assert_close(gx, ref.conv_dgrad_ref(gy, w, x.shape, *_args(case), case["groups"]), dtype)
    (sh, sw), (ph, pw), (dh, dw) = _args(case)
    (oh, ow), (kh, kw) = gy.shape[2:], w.shape[2:]
    assert not gx[:, :, (oh - 1) * sh + (kh - 1) * dh - ph + 1:].any()  # rows never read get exactly 0
    assert not gx[:, :, :, (ow - 1) * sw + (kw - 1) * dw - pw + 1:].any()


@SETTINGS
@given(conv_cases())
def test_adjoint(case):
    """<conv(x, w), g> == <x, dgrad(g, w)> == <w, wgrad(x, g)>: all three kernels describe one bilinear map."""
    x, w, g = _problem(case, np.float64)
    a = np.vdot(conv.conv2d_forward(x, w, *_args(case), case["groups"]), g)
    b = np.vdot(x, conv.conv_dgrad(g, w, x.shape, *_args(case), case["groups"]))
    c = np.vdot(w, conv.conv_wgrad(x, g, *w.shape[2:], *_args(case), case["groups"]))
    assert b == pytest.approx(a, rel=1e-10, abs=1e-10) and c == pytest.approx(a, rel=1e-10, abs=1e-10)


@SETTINGS
@given(conv_cases().filter(lambda c: c["groups"] == 1))
def test_wgrad_is_the_dilated_convolution_of_adamtiger_autograd(case):
    """adamtiger/autograd: dW = Conv(X with batch<->channel, G with batch<->channel, stride'=dilation,
    dilation'=stride), cropped to the kernel size, with batch<->channel swapped back."""
    x, w, gy = _problem(case, np.float64)
    (sh, sw), padding, (dh, dw) = _args(case)
    kh, kw = w.shape[2:]
    eff = ref.conv2d_ref(x.transpose(1, 0, 2, 3), gy.transpose(1, 0, 2, 3), (dh, dw), padding, (sh, sw), 1)
    assert eff.shape[2] >= kh and eff.shape[3] >= kw
    np.testing.assert_allclose(conv.conv_wgrad(x, gy, kh, kw, *_args(case), 1),
                               eff[:, :, :kh, :kw].transpose(1, 0, 2, 3), rtol=1e-11, atol=1e-11)


@SETTINGS
@given(conv_cases().filter(lambda c: c["groups"] == 1))
def test_dgrad_is_adamtiger_autograd_convolution_of_dilated_padded_g(case):
    """adamtiger/autograd: dX = Conv(Pad(G dilated by stride), Rot180(W with f<->c), stride 1, dilation d),
    read from the padding offset, zero-extended on the bottom/right to X's shape."""
    x, w, gy = _problem(case, np.float64)
    (sh, sw), (ph, pw), (dh, dw) = _args(case)
    (n, f, oh, ow), (kh, kw) = gy.shape, w.shape[2:]
    gd = np.zeros((n, f, (oh - 1) * sh + 1, (ow - 1) * sw + 1))
    gd[:, :, ::sh, ::sw] = gy
    eh, ew = dh * (kh - 1), dw * (kw - 1)
    full = ref.conv2d_ref(np.pad(gd, ((0, 0), (0, 0), (eh, eh), (ew, ew))),
                          w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1], (1, 1), (0, 0), (dh, dw), 1)
    h, wd = x.shape[2:]
    full = np.pad(full, ((0, 0), (0, 0), (0, max(0, ph + h - full.shape[2])), (0, max(0, pw + wd - full.shape[3]))))
    np.testing.assert_allclose(conv.conv_dgrad(gy, w, x.shape, *_args(case), 1),
                               full[:, :, ph:ph + h, pw:pw + wd], rtol=1e-11, atol=1e-11)


def test_non_contiguous_inputs():
    x, w, g = normal(0, (3, 4, 9, 7)), normal(1, (5, 4, 3, 2)), normal(2, (3, 5, 7, 6))
    xf, wf, gf = np.asfortranarray(x), w[:, ::-1].copy()[:, ::-1], np.asfortranarray(g)
    args = (1, 1), (0, 0), (1, 1), 1
    np.testing.assert_allclose(conv.conv2d_forward(xf, wf, *args), ref.conv2d_ref(x, w, *args), rtol=1e-12)
    np.testing.assert_allclose(conv.conv_wgrad(xf, gf, 3, 2, *args), ref.conv_wgrad_ref(x, g, 3, 2, *args), rtol=1e-12)
    np.testing.assert_allclose(conv.conv_dgrad(gf, wf, x.shape, *args), ref.conv_dgrad_ref(g, w, x.shape, *args),
                               rtol=1e-12)
