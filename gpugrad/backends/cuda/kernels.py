"""The kernel interface (gpugrad.backends.kernel_interface) on the RawKernels in kernels/*.cu.

`KernelSet(cupy, cupy.RawModule)` is the CUDA backend; `KernelSet(numpy, gpugrad.emu.RawModule)`
runs the very same launch code on the CPU emulator, which is how CI tests it.  Every launch
computes its grid from the problem size and passes scalars as the exact C type of the
kernel parameter (the emulator raises where CuPy would silently pass the wrong width).
"""

import numpy as np

from gpugrad.backends.conv_params import conv_output_size, pool_output_size
from gpugrad.kernel_specs import kernel_dir, name_expressions, nvrtc_options

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


class KernelSet:
    """The kernel interface for one array module, plus the CUDA-only routes of
    gpugrad.backends.algorithms (conv_wgrad_direct, conv_dgrad_direct).

    xp is numpy (under the emulator) or cupy; raw_module is a factory with cupy.RawModule's
    signature.  Each kernels/*.cu file is compiled once, on first use, with all its
    instantiations (see gpugrad.kernel_specs).
    """

    def __init__(self, xp, raw_module, directory=None):
        self.xp, self._raw_module = xp, raw_module
        self._dir = directory or kernel_dir()
        self._modules = {}

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
            return module.get_function(expr)  # CuPy compiles here, lazily
        except Exception as e:
            raise RuntimeError(f"cannot load kernel {expr} from kernels/{filename}: {e}") from e

    def load_all(self):
        """Compile and load every kernel now: a CUDA graph capture can't load a module."""
        for path in sorted(self._dir.glob("*.cu")):
            for expr in name_expressions(path.name):
                self._function(path.name, expr)

    def _c(self, a, dtype=None):
        return self.xp.ascontiguousarray(a, dtype=dtype)

    # ---- convolution ---------------------------------------------------------------------
    # The default routes are im2col + GEMM (cuBLAS through xp.matmul) over the whole batch:
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

    def _gemm(self, a, b):
        """Per-group a[g] @ b[g] for (G, M, K) @ (G, K, N): a plain 2-D GEMM when G == 1 (the
        common case, no batched path), one strided-batched GEMM over the groups otherwise."""
        if a.shape[0] == 1:
            return self.xp.matmul(a[0], b[0])[None]
        return self.xp.matmul(a, b)

    def _gy_rows(self, gy, n0, n1):
        """gy[n0:n1] (nb, F, L) as (F, nb*L): the one transpose copy the GEMMs need."""
        nb, f = n1 - n0, gy.shape[1]
        return self.xp.ascontiguousarray(gy[n0:n1].reshape(nb, f, -1).transpose(1, 0, 2)).reshape(f, -1)

    def conv2d_forward(self, x, w, stride, padding, dilation, groups):
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
            yt = self._gemm(wg, cols.reshape(groups, k, -1))             # (G, F/g, nb*L)
            y[n0:n1] = yt.reshape(f, n1 - n0, oh, ow).transpose(1, 0, 2, 3)
        return y

    def conv_wgrad(self, x, gy, kh, kw, stride, padding, dilation, groups):
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
            part = self._gemm(self._gy_rows(gy, n0, n1).reshape(groups, fg, -1),
                              cols.reshape(groups, k, -1).transpose(0, 2, 1))
            gw = part if gw is None else gw + part
        if gw is None:  # empty batch
            return self.xp.zeros((f, cg, kh, kw), x.dtype)
        return gw.reshape(f, cg, kh, kw)

    def conv_dgrad(self, gy, w, x_shape, stride, padding, dilation, groups):
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
            dcols = self._gemm(wt, self._gy_rows(gy, n0, n1).reshape(groups, fg, -1))
            self._col2im_rows(dcols.reshape(c * kh * kw, n1 - n0, oh * ow), gx[n0:n1],
                              kh, kw, oh, ow, stride, padding, dilation)
        return gx

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
