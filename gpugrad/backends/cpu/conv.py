"""CPU conv2d kernels: forward, weight gradient and input gradient (NCHW, float32/float64).

All three are an im2col-style Numba gather plus one BLAS GEMM per group, run over the batch
in chunks: on our threads (gpugrad.backends.cpu.blas), chunks of L2 size, each a serial gather
and a one-thread GEMM; otherwise chunks in turn with the gather parallel over batch x
channels, each below COLS_BUDGET_BYTES whatever the batch size. Arguments are validated by the op layer
(gpugrad.backends.conv_params.check_conv2d_args); stride/padding/dilation are (h, w) pairs.

The patch buffer is laid out (C, kh, kw, N, OH, OW): rows are (channel, tap), columns are
(sample, output position), so one GEMM covers a whole chunk of the batch.
"""
import numpy as np

from . import blas
from ..conv_params import conv_output_size
from ._numba import numba, parallel_kernel

# Patch-buffer bound per chunk: below glibc's 32 MiB mmap ceiling a freed buffer is reused
# rather than page-faulted in afresh on every call (filling 36 MiB fresh measured 6x slower).
COLS_BUDGET_BYTES = 30 << 20
# A chunk's patches on our threads: a quarter of a 2 MiB L2, so the GEMM reads them from the
# cache (OpenBLAS ran 32x144 @ 144xN at 75-90 GFLOP/s for N of 196-784, 58 at 6272).
CACHE_CHUNK_BYTES = 512 << 10
# Smaller problems run as one chunk on Numba's threads: a hand-off to ours costs about 20 us.
THREADED_MIN_BYTES = 256 << 10


_U = numba.uint64


@numba.njit(inline="always")
def _copy(dst, d0, src, s0, m, step):
    """dst[d0 + b] = src[s0 + b*step] for b < m. Indices are unsigned so Numba skips its
    negative-index wraparound check, which otherwise blocks vectorisation (5x on short rows)."""
    d0, s0 = _U(d0), _U(s0)
    if step == 1:
        for b in range(_U(m)):
            dst[d0 + b] = src[s0 + b]
    else:
        for b in range(_U(m)):
            dst[d0 + b] = src[s0 + b * _U(step)]


@numba.njit(inline="always")
def _add(dst, d0, step, src, s0, m):
    """dst[d0 + b*step] += src[s0 + b] for b < m (unsigned indices, as in _copy)."""
    d0, s0 = _U(d0), _U(s0)
    if step == 1:
        for b in range(_U(m)):
            dst[d0 + b] += src[s0 + b]
    else:
        for b in range(_U(m)):
            dst[d0 + b * _U(step)] += src[s0 + b]


@numba.njit(inline="always")
def _zero(dst, d0, m):
    for b in range(_U(m)):
        dst[_U(d0) + b] = 0


@numba.njit(inline="always")
def _inside_columns(j, sw, pw, dw, width, ow_):
    """For tap column j: off = j*dw - pw and the output columns lo <= b < hi whose input column
    b*sw + off lies inside 0..width-1."""
    off = j * dw - pw
    lo = min(ow_, max(0, (-off + sw - 1) // sw))
    hi = max(lo, min(ow_, (width - 1 - off) // sw + 1))
    return off, lo, hi


@parallel_kernel
def _gather_patches(x, out, sh, sw, ph, pw, dh, dw):
    """out[c, i, j, n, a, b] = x[n, c, a*sh + i*dh - ph, b*sw + j*dw - pw], 0 outside x."""
    n_batch, channels, height, width = x.shape
    kh, kw, oh_, ow_ = out.shape[1], out.shape[2], out.shape[4], out.shape[5]
    src, dst = x.reshape(-1), out.reshape(-1)
    for nc in numba.prange(n_batch * channels):
        n, c = nc // channels, nc % channels
        for i in range(kh):
            for j in range(kw):
                off, lo, hi = _inside_columns(j, sw, pw, dw, width, ow_)
                d0 = (((c * kh + i) * kw + j) * n_batch + n) * oh_ * ow_
                for a in range(oh_):
                    h = a * sh + i * dh - ph
                    if h < 0 or h >= height:
                        _zero(dst, d0, ow_)
                    else:
                        _zero(dst, d0, lo)
                        _copy(dst, d0 + lo, src, (nc * height + h) * width + lo * sw + off, hi - lo, sw)
                        _zero(dst, d0 + hi, ow_ - hi)
                    d0 += ow_


@parallel_kernel
def _col2im(dcols, gx, sh, sw, ph, pw, dh, dw):
    """Transposed-conv accumulation: each dcols entry (c, i, j, n, a, b) is added to
    gx[n, c, a*sh + i*dh - ph, b*sw + j*dw - pw] when that lies inside gx. A thread owns whole
    (n, c) planes (zeroed first), so nothing races; it adds a tap's output rows one at a time,
    in the same (i, j) order for every element as a gather would. (The gather form, one input
    row at a time with a divisibility test per tap, was 2-5x slower on short rows.)"""
    n_batch, channels, height, width = gx.shape
    kh, kw, oh_, ow_ = dcols.shape[1], dcols.shape[2], dcols.shape[4], dcols.shape[5]
    src, dst = dcols.reshape(-1), gx.reshape(-1)
    for nc in numba.prange(n_batch * channels):
        n, c = nc // channels, nc % channels
        plane = nc * height * width
        _zero(dst, plane, height * width)
        for i in range(kh):
            for j in range(kw):
                off, lo, hi = _inside_columns(j, sw, pw, dw, width, ow_)
                s0 = (((c * kh + i) * kw + j) * n_batch + n) * oh_ * ow_
                for a in range(oh_):
                    h = a * sh + i * dh - ph
                    if 0 <= h < height:
                        _add(dst, plane + h * width + lo * sw + off, sw, src, s0 + a * ow_ + lo, hi - lo)


def _batch_chunks(n_batch, per_sample_bytes):
    """The (n0, n1) batch ranges a convolution works in, and whether they run on our threads.

    On our threads (blas.workers() > 1, the problem not tiny) each chunk is one thread's gather
    and GEMM, sized so its patches stay in that core's L2 cache between the two. Otherwise the
    chunks run in turn, each with Numba's parallel kernels, as large as COLS_BUDGET_BYTES allows;
    either way they are of equal size, so no GEMM is left with a small remainder."""
    threads, total = blas.workers(), n_batch * per_sample_bytes
    threaded = threads > 1 and n_batch > 1 and total >= THREADED_MIN_BYTES
    if threaded:
        n_chunks = min(n_batch, -(-max(threads, -(-total // CACHE_CHUNK_BYTES)) // threads) * threads)
    else:
        n_chunks = -(-n_batch // max(1, COLS_BUDGET_BYTES // max(1, per_sample_bytes)))
    size = -(-n_batch // max(1, n_chunks))
    return [(n0, min(n0 + size, n_batch)) for n0 in range(0, n_batch, max(1, size))], threaded


def _over_batch(part, n_batch, per_sample_bytes, *kernels):
    """[part(n0, n1, *kernels) for each batch chunk]: on our threads with the kernels' serial
    forms, or in turn with their parallel forms (see _batch_chunks)."""
    chunks, threaded = _batch_chunks(n_batch, per_sample_bytes)
    if threaded:
        serial = [k.serial for k in kernels]
        return blas.run_parts(lambda c: part(*c, *serial), chunks)
    return [part(*c, *kernels) for c in chunks]


def _out_hw(shape, kh, kw, stride, padding, dilation):
    return (conv_output_size(shape[2], kh, stride[0], padding[0], dilation[0]),
            conv_output_size(shape[3], kw, stride[1], padding[1], dilation[1]))


def _patches(x, kh, kw, oh, ow, stride, padding, dilation):
    out = np.empty((x.shape[1], kh, kw, x.shape[0], oh, ow), x.dtype)
    _gather_patches(x, out, *stride, *padding, *dilation)
    return out


def _batch_major(a2d, n_batch):
    """(F, nb*L) GEMM result -> (nb, F, L)."""
    return a2d.reshape(a2d.shape[0], n_batch, -1).transpose(1, 0, 2)


def _feature_major(g):
    """(nb, F, OH, OW) gradient chunk -> contiguous (F, nb*OH*OW) GEMM operand."""
    return np.ascontiguousarray(g.reshape(g.shape[0], g.shape[1], -1).transpose(1, 0, 2)).reshape(g.shape[1], -1)


def conv2d_forward(x, w, stride, padding, dilation, groups):
    """y = conv2d(x, w): per chunk, im2col then one GEMM per group W_g (F/g, C/g*kh*kw) @ cols_g.

    Arrays that are not C-contiguous are copied once (the gathers index them flat)."""
    x, w = np.ascontiguousarray(x), np.ascontiguousarray(w)
    n_batch, channels = x.shape[:2]
    f, cg, kh, kw = w.shape
    oh, ow = _out_hw(x.shape, kh, kw, stride, padding, dilation)
    y = np.empty((n_batch, f, oh, ow), x.dtype)
    w2 = w.reshape(groups, f // groups, -1)

    def part(n0, n1, gather):
        cols = np.empty((channels, kh, kw, n1 - n0, oh, ow), x.dtype)
        gather(x[n0:n1], cols, *stride, *padding, *dilation)
        y2 = blas.gemm(w2, cols.reshape(groups, w2.shape[2], -1)).reshape(f, -1)
        y[n0:n1] = _batch_major(y2, n1 - n0).reshape(-1, f, oh, ow)
    _over_batch(part, n_batch, channels * kh * kw * oh * ow * x.itemsize, _gather_patches)
    return y


def conv_wgrad(x, gy, kh, kw, stride, padding, dilation, groups):
    """dL/dW by the dilated weight-gradient convolution of adamtiger/autograd's derivation.

    gw[f, c, r] = sum_{b,i} X'[c, b, r*s' + i*d' - p] * G'[f, b, i] with X' = x (batch <-> channel),
    G' = gy (batch <-> channel), stride s' = dilation, dilation d' = stride, and the effective
    output r cropped to the kernel size. Its im2col gathers X'[c, b, r*dilation + i*stride - p]
    at (c, r, b, i) -- exactly the forward's patch buffer -- so the effective convolution is
    _gather_patches plus one GEMM per group, G'_g (F/g, N*OH*OW) @ patches_g^T, summed over chunks.
    Each GEMM is computed transposed, patches_g @ G'_g^T: OpenBLAS runs that order 1.2-1.6x
    faster on these shapes (patches 144 x 784, G' 32 x 784: 89 against 124 us).
    """
    x, gy = np.ascontiguousarray(x), np.ascontiguousarray(gy)
    n_batch, channels = x.shape[:2]
    f, oh, ow = gy.shape[1:]
    rows = channels // groups * kh * kw

    def part(n0, n1, gather):
        cols = np.empty((channels, kh, kw, n1 - n0, oh, ow), x.dtype)
        gather(x[n0:n1], cols, *stride, *padding, *dilation)
        g2 = _feature_major(gy[n0:n1]).reshape(groups, f // groups, -1)
        return blas.gemm(cols.reshape(groups, rows, -1), g2.transpose(0, 2, 1))
    gw_t = np.zeros((groups, rows, f // groups), x.dtype)
    for partial in _over_batch(part, n_batch, channels * kh * kw * oh * ow * x.itemsize, _gather_patches):
        gw_t += partial
    return np.ascontiguousarray(gw_t.transpose(0, 2, 1)).reshape(f, channels // groups, kh, kw)


def conv_dgrad(gy, w, x_shape, stride, padding, dilation, groups):
    """dL/dX as the transposed convolution of gy with w: per chunk one GEMM per group
    W_g^T (C/g*kh*kw, F/g) @ G_g gives per-tap contributions, then _col2im sums them into
    each input element (each thread owns whole planes, no races), zero where never read."""
    gy, w = np.ascontiguousarray(gy), np.ascontiguousarray(w)
    n_batch, channels = x_shape[:2]
    f, cg, kh, kw = w.shape
    oh, ow = gy.shape[2:]
    gx = np.empty(x_shape, gy.dtype)
    wt = w.reshape(groups, f // groups, -1).transpose(0, 2, 1)

    def part(n0, n1, col2im):
        g2 = _feature_major(gy[n0:n1]).reshape(groups, f // groups, -1)
        dcols = blas.gemm(wt, g2).reshape(channels, kh, kw, n1 - n0, oh, ow)
        col2im(dcols, gx[n0:n1], *stride, *padding, *dilation)
    _over_batch(part, n_batch, channels * kh * kw * oh * ow * gy.itemsize, _col2im)
    return gx
