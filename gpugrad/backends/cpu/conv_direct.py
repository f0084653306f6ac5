"""Stride-1 float32 convolutions and their gradients from a zero-padded copy, with no patch buffer.

With stride 1, output position (a, b) reads input (a + i*dh, b + j*dw) for tap (i, j), so
sixteen consecutive outputs of a row read sixteen consecutive inputs of the padded row: one
vector load per tap. Where an output row takes whole vectors with no more lanes than the
padded width (16x16 outputs from 18-wide rows), the forward's vectors are the rows' own.
Otherwise positions are numbered along whole padded rows, p = a*Wp + b for b < Wp: tap (i, j)
of p is input p + i*dh*Wp + j*dw, and the columns b >= OW are computed too and dropped (for
14x14 images and 5x5 taps, 10 of every 14 are kept).

- forward: 8 output channels x 32 positions of accumulators in registers (simd.F32x16) while
  the kernel walks the channels and taps; per tap, two vector loads of the input and 8
  broadcast weights feed 16 FMAs, all from a sample's padded copy in the L1 cache;
- input gradient: the same computation, a convolution of the gradient padded by (k-1)*d - p
  with the flipped weights, their channel axes swapped;
- weight gradient: dot products along positions of the gradient's rows (widened with zeros)
  and the shifted input, 8 output channels x 2 taps at a time; with 16 input channels or more,
  the forward's tile instead, its lanes the input channels of a channels-last copy of the input
  and its sum along the output positions.

gpugrad.backends.algorithms chooses these (the "direct" routes) where they beat conv.py's
im2col + OpenBLAS; any other problem (stride, groups, float64) they hand to conv.py.
"""
import numpy as np

from . import conv, simd
from ._numba import numba, parallel_kernel

MR, NR = 8, 2 * simd.LANES  # register tile: output channels x lanes (two vectors)
BLOCK_FLOATS = 4096         # padded input per channel block of the forward: 16 KiB
WIDE_CHANNELS = simd.LANES  # input channels from which the weight gradient puts them on lanes
_U = numba.uint64


@numba.njit(inline="always")
def _tile(xv, c_lo, c_hi, plane, taps, wv, k_, f0, f_, v, ov, o_plane, add):
    """For output channels f0 <= f < f0 + 8 (below f_) and the tile's two vectors
    v = (q0, n0, o0, q1, n1, o1) of n0 and n1 lanes: ov[f*o_plane + o + l] (+)= the sum over
    channels c_lo <= c < c_hi and taps t of wv[f*k_ + c*T + t] * xv[c*plane + q + taps[t] + l]
    for lanes l < n, added to what ov holds if `add`. Rows past f_ compute row f0 again and are
    not stored."""
    q0, n0, o0, q1, n1, o1 = v
    ku = _U(k_)
    r0 = _U(f0) * ku
    r1 = r0 + ku * _U(1 if f0 + 1 < f_ else 0); r2 = r0 + ku * _U(2 if f0 + 2 < f_ else 0)
    r3 = r0 + ku * _U(3 if f0 + 3 < f_ else 0); r4 = r0 + ku * _U(4 if f0 + 4 < f_ else 0)
    r5 = r0 + ku * _U(5 if f0 + 5 < f_ else 0); r6 = r0 + ku * _U(6 if f0 + 6 < f_ else 0)
    r7 = r0 + ku * _U(7 if f0 + 7 < f_ else 0)
    step = _U(o_plane)
    a0, a1 = _U(f0 * o_plane + o0), _U(f0 * o_plane + o1)
    if not add:
        c00 = simd.zero(); c01 = simd.zero(); c10 = simd.zero(); c11 = simd.zero()
        c20 = simd.zero(); c21 = simd.zero(); c30 = simd.zero(); c31 = simd.zero()
        c40 = simd.zero(); c41 = simd.zero(); c50 = simd.zero(); c51 = simd.zero()
        c60 = simd.zero(); c61 = simd.zero(); c70 = simd.zero(); c71 = simd.zero()
    else:  # rows past f_ read row f0 (in range; never stored)
        c00 = simd.load_n(ov, a0, n0); c01 = simd.load_n(ov, a1, n1)
        d = step * _U(1 if f0 + 1 < f_ else 0); c10 = simd.load_n(ov, a0 + d, n0); c11 = simd.load_n(ov, a1 + d, n1)
        d = step * _U(2 if f0 + 2 < f_ else 0); c20 = simd.load_n(ov, a0 + d, n0); c21 = simd.load_n(ov, a1 + d, n1)
        d = step * _U(3 if f0 + 3 < f_ else 0); c30 = simd.load_n(ov, a0 + d, n0); c31 = simd.load_n(ov, a1 + d, n1)
        d = step * _U(4 if f0 + 4 < f_ else 0); c40 = simd.load_n(ov, a0 + d, n0); c41 = simd.load_n(ov, a1 + d, n1)
        d = step * _U(5 if f0 + 5 < f_ else 0); c50 = simd.load_n(ov, a0 + d, n0); c51 = simd.load_n(ov, a1 + d, n1)
        d = step * _U(6 if f0 + 6 < f_ else 0); c60 = simd.load_n(ov, a0 + d, n0); c61 = simd.load_n(ov, a1 + d, n1)
        d = step * _U(7 if f0 + 7 < f_ else 0); c70 = simd.load_n(ov, a0 + d, n0); c71 = simd.load_n(ov, a1 + d, n1)
    k = _U(c_lo * taps.shape[0])
    for c in range(c_lo, c_hi):
        base = _U(c * plane)
        for t in range(taps.shape[0]):
            at = base + _U(taps[t])
            b0 = simd.load_n(xv, at + q0, n0)
            b1 = simd.load_n(xv, at + q1, n1)
            x = simd.splat(wv[r0 + k]); c00 = simd.fma(x, b0, c00); c01 = simd.fma(x, b1, c01)
            x = simd.splat(wv[r1 + k]); c10 = simd.fma(x, b0, c10); c11 = simd.fma(x, b1, c11)
            x = simd.splat(wv[r2 + k]); c20 = simd.fma(x, b0, c20); c21 = simd.fma(x, b1, c21)
            x = simd.splat(wv[r3 + k]); c30 = simd.fma(x, b0, c30); c31 = simd.fma(x, b1, c31)
            x = simd.splat(wv[r4 + k]); c40 = simd.fma(x, b0, c40); c41 = simd.fma(x, b1, c41)
            x = simd.splat(wv[r5 + k]); c50 = simd.fma(x, b0, c50); c51 = simd.fma(x, b1, c51)
            x = simd.splat(wv[r6 + k]); c60 = simd.fma(x, b0, c60); c61 = simd.fma(x, b1, c61)
            x = simd.splat(wv[r7 + k]); c70 = simd.fma(x, b0, c70); c71 = simd.fma(x, b1, c71)
            k += _U(1)
    simd.store_n(ov, a0, n0, c00); simd.store_n(ov, a1, n1, c01)
    if f0 + 1 < f_: simd.store_n(ov, a0 + step, n0, c10); simd.store_n(ov, a1 + step, n1, c11)
    if f0 + 2 < f_: simd.store_n(ov, a0 + 2 * step, n0, c20); simd.store_n(ov, a1 + 2 * step, n1, c21)
    if f0 + 3 < f_: simd.store_n(ov, a0 + 3 * step, n0, c30); simd.store_n(ov, a1 + 3 * step, n1, c31)
    if f0 + 4 < f_: simd.store_n(ov, a0 + 4 * step, n0, c40); simd.store_n(ov, a1 + 4 * step, n1, c41)
    if f0 + 5 < f_: simd.store_n(ov, a0 + 5 * step, n0, c50); simd.store_n(ov, a1 + 5 * step, n1, c51)
    if f0 + 6 < f_: simd.store_n(ov, a0 + 6 * step, n0, c60); simd.store_n(ov, a1 + 6 * step, n1, c61)
    if f0 + 7 < f_: simd.store_n(ov, a0 + 7 * step, n0, c70); simd.store_n(ov, a1 + 7 * step, n1, c71)


@numba.njit(inline="always")
def _segment(g, n_rows, seg, in_row, out_row, length):
    """Vector g of `n_rows` rows of `length` lanes cut in `seg` vectors each: its start in the
    input (rows `in_row` apart), its lanes, and its start in the output (rows `out_row` apart);
    0 lanes past the last row."""
    a, s = g // seg, g % seg
    if a >= n_rows:
        return _U(0), _U(0), _U(0)
    return (_U(a * in_row + s * simd.LANES), _U(min(simd.LANES, length - s * simd.LANES)),
            _U(a * out_row + s * simd.LANES))


@numba.njit(inline="always")
def _pair(g, n_rows, seg, in_row, out_row, length):
    """The tile's two vectors, g and g + 1 (see _tile's `v`)."""
    q0, n0, o0 = _segment(g, n_rows, seg, in_row, out_row, length)
    q1, n1, o1 = _segment(g + 1, n_rows, seg, in_row, out_row, length)
    return q0, n0, o0, q1, n1, o1


@numba.njit(inline="always")
def _pad_sample(xp, x, n, ph, pw):
    """Sample n of x into the zeroed buffer xp, channel planes padded by (ph, pw)."""
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    hp, wp = height + 2 * ph, width + 2 * pw
    for c in range(channels):
        for h in range(height):
            conv._copy(xp, (c * hp + h + ph) * wp + pw, x[n, c, h], 0, width, 1)


@numba.njit(inline="always")
def _taps(kh, kw, dh, dw, wp):
    """Each tap's offset along full rows of width wp, row-major like a filter's taps."""
    taps = np.empty(kh * kw, np.int64)
    for i in range(kh):
        for j in range(kw):
            taps[i * kw + j] = i * dh * wp + j * dw
    return taps


@parallel_kernel
def _forward(x, w, y, ph, pw, dh, dw):
    """y = the stride-1 convolution of x zero-padded by (ph, pw) with w (F, C, kh, kw) dilated
    by (dh, dw). Per sample: pad into a local buffer, then the register tiles. Where whole
    vectors cover an output row with no more lanes than the padded row's width, the tiles
    take each row's vectors and write y; else they number positions along full padded rows,
    write into a buffer, and the first OW columns of each row are kept. The channels go in
    blocks of BLOCK_FLOATS of padded input, so the block every tile rereads stays in the L1
    cache (64 channels of 18x18 did not)."""
    n_batch, channels, height, width = x.shape
    f_, _, kh, kw = w.shape
    k_ = channels * kh * kw
    oh, ow = y.shape[2], y.shape[3]
    hp, wp = height + 2 * ph, width + 2 * pw
    plane = hp * wp
    taps = _taps(kh, kw, dh, dw, wp)
    seg = -(-ow // simd.LANES)
    by_rows = seg * simd.LANES <= wp
    # rows of vectors: oh rows of ow lanes; else one full-width row up to the last position kept
    n_rows, length = (oh, ow) if by_rows else (1, (oh - 1) * wp + ow)
    seg, out_row = (seg, ow) if by_rows else (-(-length // simd.LANES), 0)
    o_plane = oh * ow if by_rows else oh * wp
    block = max(1, BLOCK_FLOATS // plane)
    wv = w.reshape(-1)
    for n in numba.prange(n_batch):
        xp = np.zeros(channels * plane, np.float32)
        _pad_sample(xp, x, n, ph, pw)
        out = y[n].reshape(-1) if by_rows else np.empty(f_ * o_plane, np.float32)
        for c_lo in range(0, channels, block):
            for f0 in range(0, f_, MR):
                for g in range(0, n_rows * seg, 2):
                    _tile(xp, c_lo, min(c_lo + block, channels), plane, taps, wv, k_, f0, f_,
                          _pair(g, n_rows, seg, wp, out_row, length), out, o_plane, c_lo > 0)
        if not by_rows:
            for f in range(f_):
                for a in range(oh):
                    conv._copy(y[n, f, a], 0, out, (f * oh + a) * wp, ow, 1)


def _direct(x, w, stride, groups):
    """Whether these kernels compute the problem (else conv.py's im2col kernels do)."""
    return x.dtype == w.dtype == np.float32 and tuple(stride) == (1, 1) and groups == 1


def _conv(x, w, padding, dilation):
    f, _, kh, kw = w.shape
    oh = x.shape[2] + 2 * padding[0] - dilation[0] * (kh - 1)
    ow = x.shape[3] + 2 * padding[1] - dilation[1] * (kw - 1)
    y = np.empty((x.shape[0], f, oh, ow), np.float32)
    _forward(np.ascontiguousarray(x), np.ascontiguousarray(w), y, *padding, *dilation)
    return y


def conv2d_forward(x, w, stride, padding, dilation, groups):
    """conv2d(x, w) as conv.conv2d_forward; stride-1, one-group float32 problems here."""
    if not _direct(x, w, stride, groups):
        return conv.conv2d_forward(x, w, stride, padding, dilation, groups)
    return _conv(x, w, padding, dilation)


def conv_dgrad(gy, w, x_shape, stride, padding, dilation, groups):
    """dL/dx as conv.conv_dgrad. With stride 1 and one group it is a convolution: of gy padded
    by (k-1)*d - p with w flipped and its channel axes swapped (here when that padding is not
    negative, i.e. the forward padding did not exceed the kernel's reach)."""
    kh, kw = w.shape[2:]
    pad = ((kh - 1) * dilation[0] - padding[0], (kw - 1) * dilation[1] - padding[1])
    if not _direct(gy, w, stride, groups) or min(pad) < 0:
        return conv.conv_dgrad(gy, w, x_shape, stride, padding, dilation, groups)
    return _conv(gy, w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3), pad, dilation)


@parallel_kernel
def _wgrad(x, gy, ph, pw, dh, dw, parts):
    """parts[k, f, c, i, j] = sum over the samples n of batch chunk k and full-width positions p
    of gy[n, f, p] * x[n, c, p + tap (i, j)], x zero-padded by (ph, pw) and gy's rows widened to
    x's padded width with zeros. One job per 8 output channels and chunk: it pads a sample's x
    and its 8 gradient rows into buffers of its own, then for every input channel and pair of
    taps walks the positions with the 16 sums in registers (in `acc`, lane by lane, between
    walks). 8 channels x 2 taps beat 4 x 4: the 8 gradient rows load aligned, the shifted x
    rows (unaligned) only twice (32x16x14x14 -> 32 k3: 844 against 1081 us)."""
    n_batch, channels, height, width = x.shape
    f_, oh, ow = gy.shape[1], gy.shape[2], gy.shape[3]
    wp = width + 2 * pw
    plane, row = (height + 2 * ph) * wp, oh * wp
    n_pos = (oh - 1) * wp + ow
    n_chunks, kw = parts.shape[0], parts.shape[4]
    n_taps = parts.shape[3] * kw
    taps = _taps(parts.shape[3], kw, dh, dw, wp)
    pairs = (n_taps + 1) // 2
    for job in numba.prange(((f_ + 7) // 8) * n_chunks):
        f0, chunk = (job // n_chunks) * 8, job % n_chunks
        acc = np.zeros(channels * pairs * 16 * simd.LANES, np.float32)
        xv = np.zeros(channels * plane, np.float32)  # the padding stays 0
        gv = np.zeros(8 * row, np.float32)           # as do the widened columns and rows past f_
        for n in range(chunk * n_batch // n_chunks, (chunk + 1) * n_batch // n_chunks):
            _pad_sample(xv, x, n, ph, pw)
            for i in range(min(8, f_ - f0)):
                for a in range(oh):
                    conv._copy(gv, i * row + a * wp, gy[n, f0 + i, a], 0, ow, 1)
            for c in range(channels):
                for q in range(pairs):
                    t0 = _U(c * plane + taps[2 * q])
                    t1 = _U(c * plane + taps[min(2 * q + 1, n_taps - 1)])  # past the last tap: drop
                    a = _U((c * pairs + q) * 16 * simd.LANES)
                    s00, s01, s10, s11, s20, s21, s30, s31, s40, s41, s50, s51, s60, s61, s70, s71 = _load16(acc, a)
                    for p in range(0, n_pos, simd.LANES):
                        m, pu = _U(min(simd.LANES, n_pos - p)), _U(p)
                        u, v = simd.load_n(xv, t0 + pu, m), simd.load_n(xv, t1 + pu, m)
                        y = simd.load_n(gv, pu, m); s00 = simd.fma(y, u, s00); s01 = simd.fma(y, v, s01)
                        y = simd.load_n(gv, _U(row) + pu, m); s10 = simd.fma(y, u, s10); s11 = simd.fma(y, v, s11)
                        y = simd.load_n(gv, _U(2 * row) + pu, m); s20 = simd.fma(y, u, s20); s21 = simd.fma(y, v, s21)
                        y = simd.load_n(gv, _U(3 * row) + pu, m); s30 = simd.fma(y, u, s30); s31 = simd.fma(y, v, s31)
                        y = simd.load_n(gv, _U(4 * row) + pu, m); s40 = simd.fma(y, u, s40); s41 = simd.fma(y, v, s41)
                        y = simd.load_n(gv, _U(5 * row) + pu, m); s50 = simd.fma(y, u, s50); s51 = simd.fma(y, v, s51)
                        y = simd.load_n(gv, _U(6 * row) + pu, m); s60 = simd.fma(y, u, s60); s61 = simd.fma(y, v, s61)
                        y = simd.load_n(gv, _U(7 * row) + pu, m); s70 = simd.fma(y, u, s70); s71 = simd.fma(y, v, s71)
                    _store16(acc, a, s00, s01, s10, s11, s20, s21, s30, s31, s40, s41, s50, s51, s60, s61, s70, s71)
        for i in range(min(8, f_ - f0)):
            for c in range(channels):
                for t in range(n_taps):
                    at = (((c * pairs + t // 2) * 8 + i) * 2 + t % 2) * simd.LANES
                    parts[chunk, f0 + i, c, t // kw, t % kw] = simd.total(simd.load(acc, _U(at)))


@parallel_kernel
def _wgrad_wide(x, gy, ph, pw, dh, dw, parts):
    """The sums of _wgrad for inputs with many channels, with the input channels along the
    vector lanes: per tap, out[f, c] = sum over output positions (a, b) of gy[n, f, a, b] *
    x[n, c, a + i*dh, b + j*dw] is the forward's register tile (8 output channels x 32 input
    channels) over a channels-last copy of the padded sample, its sum running over the rows a
    and, as the tile's taps, the columns b (so no position outside the output is summed). The
    sums stay in registers for a whole sample and need no reduction across lanes, where
    _wgrad's 16 partial sums per weight outgrow the caches (128x64x16x16 -> 128: 320 KiB).
    One job per batch chunk, each with its own sums (parts[chunk])."""
    n_batch, channels, height, width = x.shape
    f_, oh, ow = gy.shape[1], gy.shape[2], gy.shape[3]
    wp = width + 2 * pw
    n_chunks, kh, kw = parts.shape[0], parts.shape[3], parts.shape[4]
    n_taps = kh * kw
    taps = _taps(kh, kw, dh, dw, wp)
    columns = np.empty((n_taps, ow), np.int64)  # tap t, column b: (tap + b) * channels
    for t in range(n_taps):
        for b in range(ow):
            columns[t, b] = (taps[t] + b) * channels
    for chunk in numba.prange(n_chunks):
        acc = np.empty(n_taps * f_ * channels, np.float32)
        xt = np.zeros((height + 2 * ph) * wp * channels, np.float32)  # the padding stays 0
        first = chunk * n_batch // n_chunks
        for n in range(first, (chunk + 1) * n_batch // n_chunks):
            xn = x[n].reshape(-1)
            for h in range(height):
                for b in range(width):  # the channels of (h, b), a plane apart in x
                    conv._copy(xt, ((h + ph) * wp + b + pw) * channels, xn, h * width + b, channels,
                               height * width)
            gv = gy[n].reshape(-1)
            for f0 in range(0, f_, MR):
                for t in range(n_taps):
                    for c0 in range(0, channels, NR):
                        _tile(xt, 0, oh, wp * channels, columns[t], gv, oh * ow, f0, f_,
                              _pair(c0 // simd.LANES, 1, -(-channels // simd.LANES), 0, 0, channels),
                              acc[t * f_ * channels:], channels, n > first)
        for f in range(f_):
            for c in range(channels):
                for t in range(n_taps):
                    parts[chunk, f, c, t // kw, t % kw] = acc[(t * f_ + f) * channels + c]


@numba.njit(inline="always")
def _load16(acc, a):
    """The 16 vectors at acc[a:], row-major (channel, tap)."""
    return (simd.load(acc, a), simd.load(acc, a + _U(16)), simd.load(acc, a + _U(32)), simd.load(acc, a + _U(48)),
            simd.load(acc, a + _U(64)), simd.load(acc, a + _U(80)), simd.load(acc, a + _U(96)), simd.load(acc, a + _U(112)),
            simd.load(acc, a + _U(128)), simd.load(acc, a + _U(144)), simd.load(acc, a + _U(160)), simd.load(acc, a + _U(176)),
            simd.load(acc, a + _U(192)), simd.load(acc, a + _U(208)), simd.load(acc, a + _U(224)), simd.load(acc, a + _U(240)))


@numba.njit(inline="always")
def _store16(acc, a, v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15):
    simd.store(acc, a, v0); simd.store(acc, a + _U(16), v1); simd.store(acc, a + _U(32), v2)
    simd.store(acc, a + _U(48), v3); simd.store(acc, a + _U(64), v4); simd.store(acc, a + _U(80), v5)
    simd.store(acc, a + _U(96), v6); simd.store(acc, a + _U(112), v7); simd.store(acc, a + _U(128), v8)
    simd.store(acc, a + _U(144), v9); simd.store(acc, a + _U(160), v10); simd.store(acc, a + _U(176), v11)
    simd.store(acc, a + _U(192), v12); simd.store(acc, a + _U(208), v13); simd.store(acc, a + _U(224), v14)
    simd.store(acc, a + _U(240), v15)


def conv_wgrad(x, gy, kh, kw, stride, padding, dilation, groups):
    """dL/dW as conv.conv_wgrad; stride-1, one-group float32 problems as sums over full-width
    positions of gy times the shifted, padded x: by _wgrad_wide when x has at least a vector's
    lanes of channels (WIDE_CHANNELS), else by _wgrad."""
    if not _direct(x, gy, stride, groups):
        return conv.conv_wgrad(x, gy, kh, kw, stride, padding, dilation, groups)
    f, channels = gy.shape[1], x.shape[1]
    if channels >= WIDE_CHANNELS:
        kernel, n_chunks = _wgrad_wide, min(x.shape[0], numba.get_num_threads())
    else:  # enough jobs for every thread twice over: batch chunks when the channel blocks are few
        kernel, n_chunks = _wgrad, min(x.shape[0], -(-2 * numba.get_num_threads() // -(-f // 8)))
    parts = np.empty((n_chunks, f, channels, kh, kw), np.float32)
    kernel(np.ascontiguousarray(x), np.ascontiguousarray(gy), *padding, *dilation, parts)
    return parts.sum(0)
