"""The kernel interface (gpugrad.backends.kernel_interface) on the RawKernels in kernels/*.cu.

`KernelSet(cupy, cupy.RawModule)` is the CUDA backend; `KernelSet(numpy, gpugrad.emu.RawModule)`
runs the very same launch code on the CPU emulator, which is how CI tests it.  Every launch
computes its grid from the problem size and passes scalars as the exact C type of the
kernel parameter (the emulator raises where CuPy would silently pass the wrong width).
"""

import functools
import math

import numpy as np

import gpugrad.backends.cuda as cuda_flags
from gpugrad import profiler
from gpugrad.backends.conv_params import conv_output_size, pool_output_size
from gpugrad.backends.fused_adam_args import check_fused_adam, fused_adam_result
from gpugrad.kernel_specs import kernel_dir, name_expressions, nvrtc_options

from . import sim_array

BLOCK = 256         # threads per block for elementwise and gather kernels
MAX_GRID = 1 << 20  # grid-stride loops cover the rest
_CTYPE = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
_APPROXIMATE = {"none": 0, "tanh": 1}

i32, i64 = np.int32, np.int64


def _grid(total, block=BLOCK):
    return (min(MAX_GRID, -(-total // block)),)


def _row_block(length):
    """Block for a per-row reduction: whole warps, no more threads than the row can use."""
    return (min(BLOCK, max(32, -(-length // 32) * 32)),)


def _address(a):
    return a.data.ptr if hasattr(a.data, "ptr") else a.ctypes.data  # CuPy, NumPy


# (BM, BN, BK) of each route's block tile: gemm_tile.cuh's gg_cfg<T, TF32>.
TILES = {"float": (128, 128, 8), "double": (64, 64, 16), "tf32": (64, 64, 16)}
TILE_THREADS = 256
MAX_GRID_YZ = 65535
WGRAD_BLOCKS = 264  # split the weight gradient's long K until about this many blocks run ...
WGRAD_MIN_SPLIT = 128  # ... each split at least this deep


def _tile_grid(tile, n, m, z):
    """The (N tiles, M tiles, z) grid of a tiled GEMM; a ValueError where CUDA cannot launch it."""
    grid = (-(-n // tile[1]), -(-m // tile[0]), z)
    if grid[1] > MAX_GRID_YZ or z > MAX_GRID_YZ:
        raise ValueError(f"GEMM of {m} rows and {z} groups/batches exceeds CUDA's grid limits")
    return grid


def _check_int32(what, *sizes):
    if max(sizes) >= 2 ** 31:
        raise ValueError(f"{what}: size {max(sizes)} exceeds the kernels' 32-bit index range")


class KernelSet:
    """The kernel interface for one array module, plus the CUDA-only routes of
    gpugrad.backends.algorithms (the *_cublas and *_direct methods).

    xp is numpy (under the emulator) or cupy; raw_module is a factory with cupy.RawModule's
    signature.  Each kernels/*.cu file is compiled once, on first use, with all its
    instantiations (see gpugrad.kernel_specs).
    """

    def __init__(self, xp, raw_module, directory=None):
        self.xp, self._raw_module = xp, raw_module
        self._dir = directory or kernel_dir()
        self._modules = {}
        self._tables = {}  # fused_adam's pointer tables, by the ids of the params they cover
        self._captured_sources = []  # host buffers that captured graphs copy from on every replay

    def _kernel(self, filename, name, dtype=None):
        expr = f"{name}<{_CTYPE[np.dtype(dtype)]}>" if dtype is not None else name
        return self._function(filename, expr)

    def _function(self, filename, expr):
        try:
            module = self._modules.get(filename)
            if module is None:
                module = self._raw_module(code=(self._dir / filename).read_text(),
                                          options=nvrtc_options(self._dir),
                                          name_expressions=name_expressions(filename))
                self._modules[filename] = module
            fn = module.get_function(expr)  # CuPy compiles here, lazily
        except Exception as e:
            raise RuntimeError(f"cannot load kernel {expr} from kernels/{filename}: {e}") from e
        if profiler._session is None:
            return fn
        return functools.partial(profiler.record_device, "kernel", expr, "cuda", self.xp, fn)

    def load_all(self):
        """Compile and load every kernel now: a CUDA graph capture can't load a module."""
        for path in sorted(self._dir.glob("*.cu")):
            for expr in name_expressions(path.name):
                self._function(path.name, expr)

    def _c(self, a, dtype=None):
        return self.xp.ascontiguousarray(a, dtype=dtype)

    # ---- convolution ---------------------------------------------------------------------
    # The *_cublas routes are im2col + GEMM (cuBLAS through xp.matmul) over the whole batch:
    # columns are laid out (C*kh*kw, N, OH*OW) by im2col_rows, so each group's convolution is
    # ONE GEMM with N*OH*OW as its long dimension instead of N small batched ones.  The batch
    # is processed in chunks whose columns stay under COLS_BUDGET bytes.
    COLS_BUDGET = 1 << 30

    def _batch_chunks(self, n, rows, length, dtype):
        """(n0, n1) batch ranges whose (rows, n1-n0, length) columns fit COLS_BUDGET."""
        per_item = max(1, rows * length * np.dtype(dtype).itemsize)
        step = max(1, min(n, self.COLS_BUDGET // per_item))
        return [(n0, min(n, n0 + step)) for n0 in range(0, n, step)]

    def _im2col_rows(self, x, kh, kw, oh, ow, stride, padding, dilation):
        """cols (C*kh*kw, N, OH*OW) of a contiguous x (N, C, H, W)."""
        n, c, h, w = x.shape
        cols = self.xp.empty((c * kh * kw, n, oh * ow), x.dtype)
        if cols.size:
            self._kernel("im2col.cu", "im2col_rows", x.dtype)(
                _grid(cols.size), (BLOCK,),
                (x, cols, i32(n), i32(c), i32(h), i32(w), i32(kh), i32(kw), i32(oh), i32(ow),
                 i32(stride[0]), i32(stride[1]), i32(padding[0]), i32(padding[1]),
                 i32(dilation[0]), i32(dilation[1]), i64(cols.size)))
        return cols

    def _col2im_rows(self, cols, gx, kh, kw, oh, ow, stride, padding, dilation):
        """gx (N, C, H, W) = the gather-form adjoint of _im2col_rows, from cols (C*kh*kw, N, L)."""
        n, c, h, w = gx.shape
        cols = self._c(cols)  # a no-op for matmul's output; RawKernels assume C order
        if gx.size:
            self._kernel("col2im.cu", "col2im", gx.dtype)(
                _grid(gx.size), (BLOCK,),
                (cols, gx, i32(c), i32(h), i32(w), i32(kh), i32(kw), i32(oh), i32(ow),
                 i32(stride[0]), i32(stride[1]), i32(padding[0]), i32(padding[1]),
                 i32(dilation[0]), i32(dilation[1]), i64(n * oh * ow), i64(oh * ow),
                 i64(gx.size)))
        return gx

    def _group_matmul(self, a, b):
        """Per-group a[g] @ b[g] for (G, M, K) @ (G, K, N): a plain 2-D GEMM when G == 1 (the
        common case, no batched path), one strided-batched GEMM over the groups otherwise."""
        if a.shape[0] == 1:
            a, b = a[0], b[0]
        out = profiler.record_device("library", "matmul", "cuda", self.xp, self.xp.matmul, a, b)
        return out if out.ndim == 3 else out[None]

    def _gy_rows(self, gy, n0, n1):
        """gy[n0:n1] (nb, F, L) as (F, nb*L): the one transpose copy the GEMMs need."""
        nb, f = n1 - n0, gy.shape[1]
        return self.xp.ascontiguousarray(gy[n0:n1].reshape(nb, f, -1).transpose(1, 0, 2)).reshape(f, -1)

    def conv2d_forward_cublas(self, x, w, stride, padding, dilation, groups):
        """Per batch chunk: im2col_rows, y_g (F/g, nb*L) = W_g (F/g, K) @ cols_g (K, nb*L),
        then one transpose into y's NCHW layout."""
        x = self._c(x)
        w = self._c(w, x.dtype)
        n, c = x.shape[:2]
        f, cg, kh, kw = w.shape
        oh, ow = (conv_output_size(s, k, st, p, d)
                  for s, k, st, p, d in zip(x.shape[2:], (kh, kw), stride, padding, dilation))
        k, fg, length = cg * kh * kw, f // groups, oh * ow
        wg = w.reshape(groups, fg, k)
        y = self.xp.empty((n, f, oh, ow), x.dtype)
        for n0, n1 in self._batch_chunks(n, c * kh * kw, length, x.dtype):
            cols = self._im2col_rows(x[n0:n1], kh, kw, oh, ow, stride, padding, dilation)
            yt = self._group_matmul(wg, cols.reshape(groups, k, -1))             # (G, F/g, nb*L)
            y[n0:n1] = yt.reshape(f, n1 - n0, oh, ow).transpose(1, 0, 2, 3)
        return y

    def conv_wgrad_cublas(self, x, gy, kh, kw, stride, padding, dilation, groups):
        """gw_g (F/g, K) = gy_g (F/g, N*L) @ cols_g^T (N*L, K): one GEMM per group (per batch
        chunk, summed), with the reduction over batch and positions inside cuBLAS."""
        x, gy = self._c(x), self._c(gy, x.dtype)
        n, c = x.shape[:2]
        _, f, oh, ow = gy.shape
        cg, fg = c // groups, f // groups
        k = cg * kh * kw
        gw = None
        for n0, n1 in self._batch_chunks(n, c * kh * kw, oh * ow, x.dtype):
            cols = self._im2col_rows(x[n0:n1], kh, kw, oh, ow, stride, padding, dilation)
            part = self._group_matmul(self._gy_rows(gy, n0, n1).reshape(groups, fg, -1),
                              cols.reshape(groups, k, -1).transpose(0, 2, 1))
            gw = part if gw is None else gw + part
        if gw is None:  # empty batch
            return self.xp.zeros((f, cg, kh, kw), x.dtype)
        return gw.reshape(f, cg, kh, kw)

    def conv_dgrad_cublas(self, gy, w, x_shape, stride, padding, dilation, groups):
        """dcols_g (K, N*L) = W_g^T (K, F/g) @ gy_g (F/g, N*L), then col2im gathers each input
        element's column entries (per batch chunk)."""
        gy = self._c(gy)
        w = self._c(w, gy.dtype)
        n, c = x_shape[:2]
        _, f, oh, ow = gy.shape
        fg, (cg, kh, kw) = f // groups, w.shape[1:]
        k = cg * kh * kw
        wt = w.reshape(groups, fg, k).transpose(0, 2, 1)                   # (G, K, F/g)
        gx = self.xp.empty(tuple(x_shape), gy.dtype)
        for n0, n1 in self._batch_chunks(n, c * kh * kw, oh * ow, gy.dtype):
            dcols = self._group_matmul(wt, self._gy_rows(gy, n0, n1).reshape(groups, fg, -1))
            self._col2im_rows(dcols.reshape(c * kh * kw, n1 - n0, oh * ow), gx[n0:n1],
                              kh, kw, oh, ow, stride, padding, dilation)
        return gx

    # ---- the default routes: our GEMM and implicit-GEMM convolutions ----------------------
    # They make no library call, so a CUDA graph can capture them (see algorithms.py).
    def conv2d_forward(self, x, w, stride, padding, dilation, groups):
        """y = conv(x, w) as one implicit GEMM per group (kernels/conv_igemm.cu)."""
        return self._conv2d_forward_igemm(x, w, stride, padding, dilation, groups)

    def matmul(self, a, b):
        """a @ b for operands of at least 2 dims, batch dims broadcast as in NumPy: our GEMM,
        or xp.matmul for what it lacks (mixed or non-float dtypes)."""
        if a.dtype != b.dtype or a.dtype not in _CTYPE:
            return self.matmul_cublas(a, b)
        return self._gemm(a, b)

    def matmul_cublas(self, a, b):
        """a @ b by cuBLAS (through xp.matmul)."""
        return profiler.record_device("library", "matmul", "cuda", self.xp, self.xp.matmul, a, b)

    def _tensor_cores(self):
        """Whether the current device has TF32 tensor cores (compute capability 8.0 and up); the
        emulator has them.  Like PyTorch, allow_tf32 is ignored on older GPUs."""
        cuda = getattr(self.xp, "cuda", None)
        return cuda is None or int(cuda.Device().compute_capability) >= 80

    def _tiled(self, filename, name, dtype):
        """(kernel, block tile): the TF32 tensor-core instantiation for float32 when allow_tf32
        is set and the GPU has tensor cores, else <T>."""
        if dtype == np.float32 and cuda_flags.allow_tf32 and self._tensor_cores():
            return self._kernel(filename, f"{name}_tf32"), TILES["tf32"]
        return self._kernel(filename, name, dtype), TILES[_CTYPE[np.dtype(dtype)]]

    def _gemm_operand(self, a, batch_shape):
        """(array, batch stride, leading dimension, transposed?, vector loads?) of a GEMM
        operand, in elements.  A transposed view is passed as its contiguous transpose (no
        copy); a batch of one gets batch stride 0."""
        rows, cols = a.shape[-2:]
        if math.prod(a.shape[:-2]) == 1:
            a, batch = a.reshape(rows, cols), 0
        else:
            if a.shape[:-2] != batch_shape:
                a = self.xp.broadcast_to(a, batch_shape + (rows, cols))
            batch = rows * cols
        transposed = not a.flags.c_contiguous and a.swapaxes(-1, -2).flags.c_contiguous
        base = a.swapaxes(-1, -2) if transposed else self._c(a)
        ld = rows if transposed else cols
        width = 16 // a.dtype.itemsize
        vec = ld % width == 0 and batch % width == 0 and _address(base) % 16 == 0
        return base, batch, ld, transposed, vec

    def _gemm(self, a, b):
        """Our tiled GEMM (kernels/gemm.cu): a @ b of one float dtype, batch dims broadcast."""
        (*ba, m, k), (*bb, _, n) = a.shape, b.shape
        batch_shape = tuple(np.broadcast_shapes(tuple(ba), tuple(bb)))
        nb = math.prod(batch_shape)
        c = self.xp.empty(batch_shape + (m, n), a.dtype)
        if c.size == 0:
            return c
        if k == 0:
            c[...] = 0
            return c
        _check_int32("matmul", m, n, k, nb)
        A, sab, lda, ta, vec_a = self._gemm_operand(a, batch_shape)
        B, sbb, ldb, tb, vec_b = self._gemm_operand(b, batch_shape)
        kernel, tile = self._tiled("gemm.cu", "gemm", a.dtype)
        kernel(_tile_grid(tile, n, m, min(nb, MAX_GRID_YZ)), (TILE_THREADS,),
               (A, B, c, i32(m), i32(n), i32(k), i32(nb), i64(sab), i64(sbb), i32(lda), i32(ldb),
                i32(ta | tb << 1 | vec_a << 2 | vec_b << 3)))
        return c

    @staticmethod
    def _conv_geometry(n, c, h, w, f, oh, ow, kh, kw, stride, padding, dilation, groups):
        return tuple(i32(v) for v in (n, c, h, w, f, oh, ow, kh, kw, *stride, *padding, *dilation, groups))

    def _conv2d_forward_igemm(self, x, w, stride, padding, dilation, groups, bias=None, relu=False):
        """y = conv(x, w) [+ bias[f]] [then ReLU] as one implicit GEMM per group: conv2d_forward,
        and the fused epilogue for callers that have a bias or a ReLU to apply."""
        x = self._c(x)
        w = self._c(w, x.dtype)
        n, c, h, wd = x.shape
        f, cg, kh, kw = w.shape
        oh, ow = (conv_output_size(s, k, st, p, d)
                  for s, k, st, p, d in zip((h, wd), (kh, kw), stride, padding, dilation))
        y = self.xp.empty((n, f, oh, ow), x.dtype)
        if y.size == 0:
            return y
        _check_int32("conv2d", x.size, y.size, n * oh * ow)
        bias = w if bias is None else self._c(bias, x.dtype)
        flags = i32((bias is not w) | (relu << 1))
        kernel, tile = self._tiled("conv_igemm.cu", "conv_fwd_igemm", x.dtype)
        kernel(
            _tile_grid(tile, n * oh * ow, f // groups, groups), (TILE_THREADS,),
            (x, w, bias, y, *self._conv_geometry(n, c, h, wd, f, oh, ow, kh, kw, stride, padding, dilation,
                                                 groups), flags))
        return y

    def conv_dgrad(self, gy, w, x_shape, stride, padding, dilation, groups):
        """gx = the transposed convolution of gy with w, gathered tile by tile (no col2im)."""
        gy = self._c(gy)
        w = self._c(w, gy.dtype)
        n, c, h, wd = x_shape
        _, f, oh, ow = gy.shape
        kh, kw = w.shape[2:]
        gx = self.xp.empty(tuple(x_shape), gy.dtype)
        if gx.size == 0:
            return gx
        _check_int32("conv_dgrad", gx.size, gy.size)
        kernel, tile = self._tiled("conv_igemm.cu", "conv_dgrad_igemm", gy.dtype)
        kernel(
            _tile_grid(tile, n * h * wd, c // groups, groups), (TILE_THREADS,),
            (gy, w, gx, *self._conv_geometry(n, c, h, wd, f, oh, ow, kh, kw, stride, padding, dilation,
                                             groups)))
        return gx

    def conv_wgrad(self, x, gy, kh, kw, stride, padding, dilation, groups):
        """gw as an implicit GEMM over the batch and output positions, split over that long K
        when the output alone gives too few blocks; the splits' partial sums are added here."""
        x, gy = self._c(x), self._c(gy, x.dtype)
        n, c, h, wd = x.shape
        _, f, oh, ow = gy.shape
        cg, fg = c // groups, f // groups
        cols, k = cg * kh * kw, n * oh * ow
        if k == 0 or f * cols == 0:
            return self.xp.zeros((f, cg, kh, kw), x.dtype)
        _check_int32("conv_wgrad", x.size, gy.size, k)
        kernel, tile = self._tiled("conv_igemm.cu", "conv_wgrad_igemm", x.dtype)
        blocks = -(-cols // tile[1]) * -(-fg // tile[0]) * groups
        splits = max(1, min(-(-k // WGRAD_MIN_SPLIT), -(-WGRAD_BLOCKS // blocks), MAX_GRID_YZ // groups))
        per_split = -(-k // splits)
        chunk = -(-per_split // tile[2]) * tile[2]  # whole K slices per split
        splits = -(-k // chunk)
        out = self.xp.empty((splits, f, cols), x.dtype)
        kernel(
            _tile_grid(tile, cols, fg, groups * splits), (TILE_THREADS,),
            (x, gy, out, *self._conv_geometry(n, c, h, wd, f, oh, ow, kh, kw, stride, padding, dilation,
                                              groups), i32(splits), i32(chunk)))
        gw = out[0] if splits == 1 else out.sum(axis=0)
        return gw.reshape(f, cg, kh, kw)

    # ---- the "direct" routes of conv_wgrad and conv_dgrad: one kernel each, no columns -----
    def conv_wgrad_direct(self, x, gy, kh, kw, stride, padding, dilation, groups):
        """adamtiger/autograd's dilated weight-gradient convolution, one block per weight element."""
        x, gy = self._c(x), self._c(gy, x.dtype)
        n, c, h, w = x.shape
        _, f, oh, ow = gy.shape
        gw = self.xp.empty((f, c // groups, kh, kw), x.dtype)
        self._kernel("conv_wgrad.cu", "conv_wgrad", x.dtype)(
            (min(MAX_GRID, gw.size),), _row_block(n * oh * ow),
            (x, gy, gw, i32(n), i32(c), i32(h), i32(w), i32(f), i32(oh), i32(ow), i32(kh),
             i32(kw), i32(stride[0]), i32(stride[1]), i32(padding[0]), i32(padding[1]),
             i32(dilation[0]), i32(dilation[1]), i32(groups)))
        return gw

    def conv_dgrad_direct(self, gy, w, x_shape, stride, padding, dilation, groups):
        """The transposed convolution as one gather kernel (no GEMM)."""
        gy, w = self._c(gy), self._c(w, gy.dtype)
        _, c, h, wd = x_shape
        _, f, oh, ow = gy.shape
        kh, kw = w.shape[2:]
        gx = self.xp.empty(tuple(x_shape), gy.dtype)
        if gx.size:
            self._kernel("conv_dgrad.cu", "conv_dgrad", gy.dtype)(
                _grid(gx.size), (BLOCK,),
                (gy, w, gx, i32(c), i32(h), i32(wd), i32(f), i32(oh), i32(ow), i32(kh), i32(kw),
                 i32(stride[0]), i32(stride[1]), i32(padding[0]), i32(padding[1]),
                 i32(dilation[0]), i32(dilation[1]), i32(groups), i64(gx.size)))
        return gx

    # ---- gelu ----------------------------------------------------------------------------
    def _gelu(self, name, arrays, out, approximate):
        """float4 kernel when every pointer is 16-byte aligned, else the scalar one."""
        n = out.size
        if n == 0:
            return out
        mode = i32(_APPROXIMATE[approximate])
        if out.dtype == np.float32 and n >= 4 and all(_address(a) % 16 == 0 for a in (*arrays, out)):
            kernel, grid = self._kernel("gelu.cu", f"{name}_f4"), _grid(-(-n // 4))
        else:
            kernel, grid = self._kernel("gelu.cu", name, out.dtype), _grid(n)
        kernel(grid, (BLOCK,), (*arrays, out, i64(n), mode))
        return out

    def gelu_fwd(self, x, approximate):
        x = self._c(x)
        return self._gelu("gelu_fwd", (x,), self.xp.empty_like(x), approximate)

    def gelu_bwd(self, x, gy, approximate):
        x = self._c(x)
        gy = self._c(gy, x.dtype)
        return self._gelu("gelu_bwd", (x, gy), self.xp.empty_like(x), approximate)

    # ---- max pooling ---------------------------------------------------------------------
    def maxpool2d_fwd(self, x, kernel, stride, padding, dilation, ceil_mode):
        x = self._c(x)
        n, c, h, w = x.shape
        oh, ow = (pool_output_size(s, k, st, p, d, ceil_mode)
                  for s, k, st, p, d in zip((h, w), kernel, stride, padding, dilation))
        y = self.xp.empty((n, c, oh, ow), x.dtype)
        argmax = self.xp.empty((n, c, oh, ow), np.int64)
        if y.size:
            self._kernel("maxpool.cu", "maxpool2d_fwd", x.dtype)(
                _grid(y.size), (BLOCK,),
                (x, y, argmax, i32(h), i32(w), i32(oh), i32(ow), i32(kernel[0]), i32(kernel[1]),
                 i32(stride[0]), i32(stride[1]), i32(padding[0]), i32(padding[1]),
                 i32(dilation[0]), i32(dilation[1]), i64(y.size)))
        return y, argmax

    def maxpool2d_bwd(self, gy, argmax, x_shape):
        gy, argmax = self._c(gy), self._c(argmax, np.int64)
        gx = self.xp.zeros(tuple(x_shape), gy.dtype)
        if gy.size:
            self._kernel("maxpool.cu", "maxpool2d_bwd", gy.dtype)(
                _grid(gy.size), (BLOCK,),
                (gy, argmax, gx, i64(x_shape[2] * x_shape[3]), i64(gy.shape[2] * gy.shape[3]),
                 i64(gy.size)))
        return gx

    # ---- softmax cross-entropy -----------------------------------------------------------
    def softmax_xent_fwd(self, logits, target, ignore_index, label_smoothing):
        logits, target = self._c(logits), self._c(target, np.int64)
        n, k = logits.shape
        loss = self.xp.empty((n,), logits.dtype)
        lse = self.xp.empty((n,), logits.dtype)
        if n:
            self._kernel("softmax_xent.cu", "softmax_xent_fwd", logits.dtype)(
                (min(MAX_GRID, n),), _row_block(k),
                (logits, target, loss, lse, i32(n), i32(k), i64(ignore_index),
                 logits.dtype.type(label_smoothing)))
        return loss, lse

    def softmax_xent_bwd(self, logits, target, lse, gloss, ignore_index, label_smoothing):
        logits, target = self._c(logits), self._c(target, np.int64)
        lse, gloss = self._c(lse, logits.dtype), self._c(gloss, logits.dtype)
        n, k = logits.shape
        glogits = self.xp.empty_like(logits)
        if n:
            self._kernel("softmax_xent.cu", "softmax_xent_bwd", logits.dtype)(
                (min(MAX_GRID, n),), _row_block(k),
                (logits, target, lse, gloss, glogits, i32(n), i32(k), i64(ignore_index),
                 logits.dtype.type(label_smoothing)))
        return glogits

    # ---- the device generator --------------------------------------------------------------
    def philox_uniform(self, state, n, dtype):
        out = self.xp.empty((n,), dtype)
        if n:
            self._kernel("philox.cu", "philox_uniform", dtype)(_grid(n), (BLOCK,), (state, out, i64(n)))
            self._kernel("philox.cu", "philox_advance")((1,), (32,), (state, i64(n)))
        return out

    # ---- fused Adam: one launch for every tensor of a group --------------------------------
    def fused_adam(self, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1, beta2,
                   weight_decay, eps, amsgrad, maximize, decoupled):
        """Two launches for the whole group: the step counts, then every element of every
        tensor, found through a table of their addresses (kernels/adam.cu)."""
        dtype = check_fused_adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, amsgrad)
        if not params:
            return fused_adam_result(params, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps)
        grads = [self._c(g, dtype) for g in grads]
        columns = (params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs if amsgrad else exp_avg_sqs, steps)
        table, starts = self._pointer_table(columns)
        lr_on_device, beta1_on_device = (not isinstance(v, (int, float, np.generic)) for v in (lr, beta1))
        device_lr = self._c(lr, dtype).reshape(1) if lr_on_device else steps[0]  # unread when not on the device
        device_beta1 = self._c(beta1, dtype).reshape(1) if beta1_on_device else steps[0]
        flags = i32(decoupled | amsgrad << 1 | maximize << 2 | lr_on_device << 3 | beta1_on_device << 4)
        host_lr, host_beta1 = (dtype.type(0 if on_device else v)
                               for v, on_device in ((lr, lr_on_device), (beta1, beta1_on_device)))
        with sim_array.through_pointers([a for column in columns for a in column]):
            self._kernel("adam.cu", "adam_count_steps", dtype)((1,), (32,), (table, i32(len(params))))
            self._kernel("adam.cu", "adam_fused", dtype)(
                _grid(int(sum(p.size for p in params))), (BLOCK,),
                (table, starts, i32(len(params)), device_lr, device_beta1, host_lr, host_beta1,
                 dtype.type(beta2), dtype.type(eps), dtype.type(weight_decay), flags))
        return fused_adam_result(params, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps)

    def _pointer_table(self, columns):
        """(table, starts) device arrays for kernels/adam.cu: each column's addresses, and each
        tensor's first element in their concatenation. Kept while the arrays stay the same, so a
        step with the same gradients builds nothing."""
        key = tuple(id(a) for a in columns[0])
        entry = self._tables.get(key)
        if entry is not None and all(a is b for column, kept in zip(columns, entry[0]) for a, b in zip(column, kept)):
            return entry[1], entry[2]
        sizes = [p.size for p in columns[0]]
        host = np.array([_address(a) for column in columns for a in column] + [0] + np.cumsum(sizes).tolist(),
                        np.int64)
        device = self._to_device_in_graphs(host)
        table, starts = device[:len(columns) * len(sizes)], device[len(columns) * len(sizes):]
        self._tables[key] = (tuple(tuple(column) for column in columns), table, starts)
        return table, starts

    def _to_device_in_graphs(self, host):
        """host copied to the device. During a CUDA graph capture on a GPU the copy is a node of
        the graph, which reads its source on every replay: the source is then a pinned buffer
        kept for good (CuPy's own staging buffer would be reused)."""
        from .graphs import is_current_stream_capturing
        if getattr(self.xp, "__name__", "") != "cupy" or not is_current_stream_capturing():
            return self.xp.asarray(host)
        import cupyx
        pinned = cupyx.empty_pinned(host.shape, host.dtype)
        pinned[...] = host
        self._captured_sources.append(pinned)
        device = self.xp.empty(host.shape, host.dtype)
        device.set(pinned, stream=self.xp.cuda.get_current_stream())
        return device
    # ---- batch norm (training statistics) ------------------------------------------------
    def _bn_layout(self, name, x):
        """Contiguous x as (N, C, L) sizes; a ValueError where a channel has no values."""
        if x.ndim < 2 or (x.shape[1] and x.size == 0):
            raise ValueError(f"{name}: x must be (N, C, ...) with a value per channel, got shape {x.shape}")
        n, c = x.shape[:2]
        length = x.size // (n * c) if x.size else 0
        _check_int32(name, n, c)
        return n, c, length

    def _affine(self, a, x):
        """weight or bias as a contiguous array of x's dtype, x itself (never read) for None."""
        return x if a is None else self._c(a, x.dtype)

    def batch_norm_fwd(self, x, weight, bias, eps):
        x = self._c(x)
        n, c, length = self._bn_layout("batch_norm_fwd", x)
        y = self.xp.empty_like(x)
        mean, var, invstd = (self.xp.empty((c,), x.dtype) for _ in range(3))
        if c:
            self._kernel("batch_norm.cu", "batch_norm_fwd", x.dtype)(
                (min(MAX_GRID, c),), _row_block(n * length),
                (x, self._affine(weight, x), self._affine(bias, x), y, mean, var, invstd,
                 i32(n), i32(c), i64(length), x.dtype.type(eps),
                 i32((weight is not None) | (bias is not None) << 1)))
        return y, mean, var, invstd

    def batch_norm_bwd(self, x, gy, mean, invstd, weight):
        x = self._c(x)
        gy, mean, invstd = self._c(gy, x.dtype), self._c(mean, x.dtype), self._c(invstd, x.dtype)
        n, c, length = self._bn_layout("batch_norm_bwd", x)
        gx = self.xp.empty_like(x)
        gweight, gbias = self.xp.empty((c,), x.dtype), self.xp.empty((c,), x.dtype)
        if c:
            self._kernel("batch_norm.cu", "batch_norm_bwd", x.dtype)(
                (min(MAX_GRID, c),), _row_block(n * length),
                (x, gy, mean, invstd, self._affine(weight, x), gx, gweight, gbias,
                 i32(n), i32(c), i64(length), i32(weight is not None)))
        return gx, gweight, gbias

    # ---- relu ----------------------------------------------------------------------------
    def relu_fwd(self, x):
        """Our kernel for float32/float64, xp.maximum for other dtypes (integers)."""
        if x.dtype not in _CTYPE:
            return self.xp.maximum(x, 0)
        y = self.xp.empty(x.shape, x.dtype)  # x.shape: ascontiguousarray makes a 0-d array 1-d
        if y.size:
            self._kernel("relu.cu", "relu_fwd", x.dtype)(_grid(y.size), (BLOCK,), (self._c(x), y, i64(y.size)))
        return y

    def relu_bwd(self, x, gy):
        gx = self.xp.empty(x.shape, x.dtype)
        if gx.size:
            self._kernel("relu.cu", "relu_bwd", x.dtype)(
                _grid(gx.size), (BLOCK,), (self._c(x), self._c(gy, x.dtype), gx, i64(gx.size)))
        return gx
