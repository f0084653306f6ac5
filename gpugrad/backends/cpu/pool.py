"""CPU max pooling (NCHW) with PyTorch's semantics, parallel over batch x channel planes.

Padding acts as -inf (a padded position is never the argmax), a window's scan is row-major
and only a strictly greater value or a NaN replaces the running max (so ties keep the
first, and NaN propagates), and argmax is the flat index h*W + w within the (n, c) plane.
A window with no input element (dilation stepping over the input from the padding) gives -inf
and argmax -1, and passes no gradient. (PyTorch gives an index outside the window there, and
its backward adds the gradient to that unrelated element or writes past the tensor.)
"""
import numpy as np

from ..conv_params import pool_output_size
from ._numba import numba, parallel_kernel


@numba.njit(inline="always")
def _first_inside(start, step):
    """The first of start, start + step, ... that is >= 0."""
    return start if start >= 0 else start + (-start + step - 1) // step * step


@numba.njit(inline="always")
def _pick(best, idx, v, i):
    """The running max after seeing v at i: a strictly greater value or a NaN replaces it.
    Selects rather than branches, which random data mispredicts half the time."""
    take = (v > best) | (v != v)
    return (v if take else best), (i if take else idx)


@numba.njit(inline="always")
def _maxpool_2x2_plane(src, dst, dst_arg, plane, out, width, oh_, ow_):
    """The common 2x2 window, stride 2, no padding or dilation, every window inside the plane:
    its four elements in the same row-major order, without the general loops (about 5x faster)."""
    u, width = numba.uint64, numba.uint64(width)
    for a in range(u(oh_)):
        r0, o0 = u(plane) + u(2) * a * width, u(out) + a * u(ow_)
        for b in range(u(ow_)):
            i = np.int64(u(2) * a * width + u(2) * b)
            s = r0 + u(2) * b
            best, idx = src[s], i
            best, idx = _pick(best, idx, src[s + u(1)], i + 1)
            best, idx = _pick(best, idx, src[s + width], i + np.int64(width))
            best, idx = _pick(best, idx, src[s + width + u(1)], i + np.int64(width) + 1)
            dst[o0 + b] = best
            dst_arg[o0 + b] = idx


@parallel_kernel(serial_below=1 << 15)
def _maxpool_fwd(x, y, arg, kh, kw, sh, sw, ph, pw, dh, dw):
    """Flat indexing and while loops: range() with a run-time step and Numba's checks on 4-D
    signed indices made the same loops 9x slower."""
    n_batch, channels, height, width = x.shape
    oh_, ow_ = y.shape[2], y.shape[3]
    src, dst, dst_arg = x.reshape(-1), y.reshape(-1), arg.reshape(-1)
    two_by_two = (kh == kw == sh == sw == 2 and ph == pw == 0 and dh == dw == 1
                  and 2 * oh_ <= height and 2 * ow_ <= width)
    for nc in numba.prange(n_batch * channels):
        plane, out = nc * height * width, nc * oh_ * ow_
        if two_by_two:
            _maxpool_2x2_plane(src, dst, dst_arg, plane, out, width, oh_, ow_)
            continue
        for a in range(oh_):
            h0 = a * sh - ph
            h1 = min(h0 + (kh - 1) * dh + 1, height)
            h0 = _first_inside(h0, dh)
            for b in range(ow_):
                w0 = b * sw - pw
                w1 = min(w0 + (kw - 1) * dw + 1, width)
                w0 = _first_inside(w0, dw)
                best, idx = -np.inf, h0 * width + w0 if h0 < h1 and w0 < w1 else -1
                h = h0
                while h < h1:
                    w = w0
                    while w < w1:
                        v = src[plane + h * width + w]
                        if v > best or v != v:  # v != v: NaN
                            best, idx = v, h * width + w
                        w += dw
                    h += dh
                dst[out + a * ow_ + b] = best
                dst_arg[out + a * ow_ + b] = idx


@parallel_kernel(serial_below=1 << 15)
def _maxpool_bwd(gy, arg, gx):
    """Each thread owns whole (n, c) planes, so accumulating into gx cannot race. Flat unsigned
    indices, as in the forward: Numba's negative-index checks made it about 1.5x slower."""
    u = numba.uint64
    size, out_size = u(gx.shape[2] * gx.shape[3]), u(gy.shape[2] * gy.shape[3])
    g, idx, dst = gy.reshape(-1), arg.reshape(-1), gx.reshape(-1)
    for nc in numba.prange(gy.shape[0] * gy.shape[1]):
        plane, out = u(nc) * size, u(nc) * out_size
        for k in range(size):
            dst[plane + k] = 0
        for k in range(out_size):
            i = idx[out + k]
            if i >= 0:  # -1: a window with no input element
                dst[plane + u(i)] += g[out + k]


def maxpool2d_fwd(x, kernel, stride, padding, dilation, ceil_mode):
    """(y, argmax) for (h, w) pairs kernel/stride/padding/dilation; argmax is int64."""
    x = np.ascontiguousarray(x)
    oh, ow = (pool_output_size(s, k, st, p, d, ceil_mode)
              for s, k, st, p, d in zip(x.shape[2:], kernel, stride, padding, dilation))
    y = np.empty(x.shape[:2] + (oh, ow), x.dtype)
    arg = np.empty(y.shape, np.int64)
    _maxpool_fwd(x, y, arg, *kernel, *stride, *padding, *dilation)
    return y, arg


def maxpool2d_bwd(gy, argmax, x_shape):
    """Route each output gradient to its argmax; overlapping windows accumulate."""
    gx = np.empty(x_shape, gy.dtype)
    _maxpool_bwd(np.ascontiguousarray(gy), np.ascontiguousarray(argmax), gx)
    return gx
