"""The CPU's direct stride-1 convolutions (conv_direct.py) against the float64 definitions, on
random problems whose channel counts cross the 8-row register tile and the 4-channel jobs,
with every output of ours poisoned first (np.empty gives NaNs)."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gpugrad.backends.conv_params import conv_output_size
from gpugrad.backends.cpu import conv_direct
from gpugrad.backends.cpu import reference as ref
from tests.backends.cpu.cpu_cases import SETTINGS, assert_close, normal, pairs


@st.composite
def direct_cases(draw):
    """Stride 1, one group: batch 1-5, channels 1-12 in, 1-20 out, sizes 1-17, kernel 1-5,
    dilation 1-3, padding 0-4 (past the kernel's reach too: there dgrad hands over to im2col)."""
    n, c, f = draw(st.integers(1, 5)), draw(st.integers(1, 12)), draw(st.integers(1, 20))
    size, kernel = draw(pairs(st.integers(1, 17), st.integers(1, 17))), draw(pairs(st.integers(1, 5), st.integers(1, 5)))
    dilation, padding = draw(pairs(st.integers(1, 3), st.integers(1, 3))), draw(pairs(st.integers(0, 4), st.integers(0, 4)))
    out = tuple(conv_output_size(s, k, 1, p, d) for s, k, p, d in zip(size, kernel, padding, dilation))
    assume(min(out) >= 1)
    return dict(x_shape=(n, c) + size, w_shape=(f, c) + kernel, y_shape=(n, f) + out, padding=padding,
                dilation=dilation, seed=draw(st.integers(0, 2 ** 32 - 1)))


@pytest.fixture(autouse=True)
def poisoned(monkeypatch):
    """np.empty as NaNs, so an output element a kernel never writes fails the comparison. The
    kernels are compiled first: Numba must see the real np.empty inside them."""
    x, w = np.ones((1, 2, 4, 4), np.float32), np.ones((3, 2, 3, 3), np.float32)
    args = (1, 1), (1, 1), (1, 1), 1
    for dtype in (np.float32, np.float64):
        conv_direct.conv_dgrad(conv_direct.conv2d_forward(x.astype(dtype), w.astype(dtype), *args),
                               w.astype(dtype), x.shape, *args)
        for channels in (2, conv_direct.NR):  # the weight gradient's two kernels
            conv_direct.conv_wgrad(x.repeat(channels // 2, 1).astype(dtype), x[:, :1].repeat(3, 1).astype(dtype),
                                   3, 3, *args)
    empty = np.empty
    monkeypatch.setattr(np, "empty", lambda *a, **k: (lambda e: e.fill(np.nan) or e)(empty(*a, **k)))


def _problem(case):
    s = case["seed"]
    x, w, gy = (normal(s + i, case[k]) for i, k in enumerate(("x_shape", "w_shape", "y_shape")))
    return x, w, gy, ((1, 1), case["padding"], case["dilation"], 1)


@SETTINGS
@given(direct_cases())
def test_forward(case):
    x, w, _, args = _problem(case)
    assert_close(conv_direct.conv2d_forward(x.astype(np.float32), w.astype(np.float32), *args),
                 ref.conv2d_ref(x, w, *args), np.float32)


@SETTINGS
@given(direct_cases())
def test_dgrad(case):
    x, w, gy, args = _problem(case)
    assert_close(conv_direct.conv_dgrad(gy.astype(np.float32), w.astype(np.float32), x.shape, *args),
                 ref.conv_dgrad_ref(gy, w, x.shape, *args), np.float32)


@SETTINGS
@given(st.integers(1, 2), st.integers(1, 9), st.integers(1, 10), st.integers(1, 5), st.integers(12, 40),
       st.integers(1, 5), st.integers(0, 4), st.integers(1, 2), st.integers(0, 2 ** 32 - 1))
def test_forward_and_dgrad_on_wide_rows(n, c, f, height, width, kernel, padding, dilation, seed):
    """Rows of 12-40 columns: output rows of one, two or three vectors, taken as the rows' own
    vectors where they fit the padded width and along full-width positions where not."""
    out = [s + 2 * padding - dilation * (kernel - 1) for s in (height, width)]
    assume(min(out) >= 1)
    x, w, gy = normal(seed, (n, c, height, width)), normal(seed + 1, (f, c, kernel, kernel)), normal(seed + 2, (n, f, *out))
    args = (1, 1), (padding, padding), (dilation, dilation), 1
    assert_close(conv_direct.conv2d_forward(x.astype(np.float32), w.astype(np.float32), *args),
                 ref.conv2d_ref(x, w, *args), np.float32)
    assert_close(conv_direct.conv_dgrad(gy.astype(np.float32), w.astype(np.float32), x.shape, *args),
                 ref.conv_dgrad_ref(gy, w, x.shape, *args), np.float32)


@pytest.fixture(params=[1, float("inf")], ids=["lanes", "sums"])
def both_wgrads(request, monkeypatch):
    """Both weight-gradient kernels on every case: with the input channels on the lanes (from
    one channel on), and as 16 partial sums per weight (at every channel count)."""
    monkeypatch.setattr(conv_direct, "WIDE_CHANNELS", request.param)


@pytest.mark.usefixtures("both_wgrads")
@SETTINGS
@given(direct_cases())
def test_wgrad(case):
    x, w, gy, args = _problem(case)
    kh, kw = w.shape[2:]
    assert_close(conv_direct.conv_wgrad(x.astype(np.float32), gy.astype(np.float32), kh, kw, *args),
                 ref.conv_wgrad_ref(x, gy, kh, kw, *args), np.float32)


def test_hands_other_problems_to_im2col():
    """float64, strides and groups are computed by conv.py's kernels, to float64 precision."""
    x, w = normal(0, (2, 4, 9, 8)), normal(1, (6, 2, 3, 3))
    for args in [((1, 1), (1, 1), (1, 1), 1), ((2, 1), (1, 0), (1, 1), 1), ((1, 1), (0, 0), (1, 1), 2)]:
        if args[3] == 1:
            w_ = normal(1, (6, 4, 3, 3))
        else:
            w_ = w
        y = conv_direct.conv2d_forward(x, w_, *args)
        assert y.dtype == np.float64
        assert_close(y, ref.conv2d_ref(x, w_, *args), np.float64)
        gy = normal(2, y.shape)
        assert_close(conv_direct.conv_dgrad(gy, w_, x.shape, *args), ref.conv_dgrad_ref(gy, w_, x.shape, *args), np.float64)
        assert_close(conv_direct.conv_wgrad(x, gy, 3, 3, *args), ref.conv_wgrad_ref(x, gy, 3, 3, *args), np.float64)


@SETTINGS
@given(st.integers(1, 4), st.integers(30, 70), st.integers(1, 20), st.integers(1, 7), st.integers(1, 3),
       st.integers(0, 2), st.integers(0, 2 ** 32 - 1))
def test_wgrad_with_channels_past_the_lanes(n, c, f, size, kernel, padding, seed):
    """The lanes' kernel (the default from 32 channels) where the channels fill one tile of 32
    lanes, part of a second or a third."""
    out = size + 2 * padding - kernel + 1
    assume(out >= 1)
    x, gy = normal(seed, (n, c, size, size + 1)), normal(seed + 1, (n, f, out, out + 1))
    args = (1, 1), (padding, padding), (1, 1), 1
    assert_close(conv_direct.conv_wgrad(x.astype(np.float32), gy.astype(np.float32), kernel, kernel, *args),
                 ref.conv_wgrad_ref(x, gy, kernel, kernel, *args), np.float32)


def test_wgrad_sums_over_batch_chunks():
    """More samples than jobs per channel block: the chunks' partial sums add up."""
    x, gy = normal(3, (37, 3, 6, 5)), normal(4, (37, 5, 4, 3))
    args = (1, 1), (0, 0), (1, 1), 1
    assert_close(conv_direct.conv_wgrad(x.astype(np.float32), gy.astype(np.float32), 3, 3, *args),
                 ref.conv_wgrad_ref(x, gy, 3, 3, *args), np.float32)


def test_route_rule_takes_the_lanes_kernel_from_its_channel_count():
    """algorithms may not import this backend, so it states the lanes' threshold itself: the two
    agree, and from there the weight gradient goes direct however large its 16-sum form's sums."""
    from gpugrad.backends import algorithms
    assert algorithms._CPU_WIDE_CHANNELS == conv_direct.WIDE_CHANNELS
    args = 5, 5, (1, 1), (2, 2), (1, 1), 1
    for channels, direct in [(conv_direct.WIDE_CHANNELS - 1, False), (conv_direct.WIDE_CHANNELS, True)]:
        x, gy = np.zeros((2, channels, 8, 8), np.float32), np.zeros((2, 128, 8, 8), np.float32)
        assert channels * 13 * 1024 > algorithms._CPU_WGRAD_BYTES  # 13 pairs of taps
        assert algorithms._cpu_direct("conv_wgrad", (x, gy) + args) == direct
