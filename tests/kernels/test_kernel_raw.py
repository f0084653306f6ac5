"""Each kernel launched directly, with small and awkward launch configurations.

Small blocks and grids make the grid-stride and block-stride loops wrap several times; block
sizes that are not powers of two catch reductions that assume them.  Outputs start poisoned.
"""

import numpy as np
import pytest

from gpugrad.backends.conv_params import conv_output_size
from gpugrad.backends.cpu import reference as ref
from tests.kernels.kernel_helpers import poisoned, tol

i32, i64 = np.int32, np.int64
LAUNCHES = [((1,), (32,)), ((3,), (37,)), ((2,), (96,))]  # (grid, block)


def _conv_args(rng, dtype):
    n, c, h, w, f, groups, (kh, kw), s, p, d = 2, 4, 7, 6, 4, 2, (3, 2), (2, 1), (1, 2), (1, 2)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((f, c // groups, kh, kw)).astype(dtype)
    oh, ow = (h + 2 * p[0] - d[0] * (kh - 1) - 1) // s[0] + 1, (w + 2 * p[1] - d[1] * (kw - 1) - 1) // s[1] + 1
    gy = rng.standard_normal((n, f, oh, ow)).astype(dtype)
    geo = [i32(v) for v in (kh, kw, s[0], s[1], p[0], p[1], d[0], d[1])]
    return x, wt, gy, groups, geo, dict(stride=s, padding=p, dilation=d)


@pytest.mark.parametrize("grid,block", LAUNCHES)
@pytest.mark.parametrize("dtype,ctype", [(np.float32, "float"), (np.float64, "double")])
def test_conv_kernels(emu_module, order, rng, grid, block, dtype, ctype):
    x, wt, gy, groups, geo, kw = _conv_args(rng, dtype)
    n, c, h, w = x.shape
    f, oh, ow = gy.shape[1:]
    kh, kwid = wt.shape[2:]

    if block[0] % 32 == 0:  # the reduction needs whole warps
        gw = poisoned(wt.shape, dtype)
        emu_module("conv_wgrad.cu").get_function(f"conv_wgrad<{ctype}>")(
            grid, block, (x, gy, gw, i32(n), i32(c), i32(h), i32(w), i32(f), i32(oh), i32(ow),
                          *geo, i32(groups)))
        np.testing.assert_allclose(gw, ref.conv_wgrad_ref(x, gy, kh, kwid, groups=groups, **kw), **tol(dtype))

    gx = poisoned(x.shape, dtype)
    emu_module("conv_dgrad.cu").get_function(f"conv_dgrad<{ctype}>")(
        grid, block, (gy, wt, gx, i32(c), i32(h), i32(w), i32(f), i32(oh), i32(ow), *geo,
                      i32(groups), i64(gx.size)))
    np.testing.assert_allclose(gx, ref.conv_dgrad_ref(gy, wt, x.shape, groups=groups, **kw), **tol(dtype))


def col2im_reference(cols, x_shape, kh, kw, **geo):
    """col2im of natural-layout cols (N, C*kh*kw, L): the input gradient of a convolution whose
    weight is the identity on the C*kh*kw column rows (so W^T @ gy is cols itself)."""
    n, c = x_shape[:2]
    rows = c * kh * kw
    oh, ow = (conv_output_size(s, k, st, p, d) for s, k, st, p, d in
              zip(x_shape[2:], (kh, kw), geo["stride"], geo["padding"], geo["dilation"]))
    eye = np.eye(rows).reshape(rows, c, kh, kw)
    return ref.conv_dgrad_ref(cols.reshape(n, rows, oh, ow), eye, x_shape, groups=1, **geo)


@pytest.mark.parametrize("grid,block", LAUNCHES)
@pytest.mark.parametrize("dtype,ctype", [(np.float32, "float"), (np.float64, "double")])
def test_im2col_rows_and_col2im(emu_module, order, rng, grid, block, dtype, ctype):
    """The GEMM route's column kernels: im2col_rows is im2col with the batch moved inside the
    rows; col2im is im2col's adjoint in either layout, zero on rows/columns no window reads."""
    x, wt, gy, groups, geo, kw = _conv_args(rng, dtype)
    kw = dict(kw, stride=(3, 2), padding=(1, 0))  # stride 3 > kernel extent: skipped rows
    geo = geo[:2] + [i32(v) for v in (3, 2, 1, 0)] + geo[6:]
    n, c, h, w = x.shape
    kh, kwid = wt.shape[2:]
    oh, ow = (conv_output_size(s, k, st, p, d) for s, k, st, p, d in
              zip((h, w), (kh, kwid), kw["stride"], kw["padding"], kw["dilation"]))
    rows, length = c * kh * kwid, oh * ow

    cols = poisoned((rows, n, length), dtype)
    emu_module("im2col.cu").get_function(f"im2col_rows<{ctype}>")(
        grid, block, (x, cols, i32(n), i32(c), i32(h), i32(w), *geo[:2], i32(oh), i32(ow), *geo[2:],
                      i64(cols.size)))
    np.testing.assert_allclose(cols, ref.im2col_ref(x, kh, kwid, **kw).transpose(1, 0, 2), **tol(dtype))

    natural = rng.standard_normal((n, rows, length)).astype(dtype)
    want = col2im_reference(natural, x.shape, kh, kwid, **kw)
    assert (want == 0).any()  # some input rows are never read: the kernel must write zeros
    kernel = emu_module("col2im.cu").get_function(f"col2im<{ctype}>")
    for layout, row_stride, batch_stride in ((natural, length, rows * length),
                                             (np.ascontiguousarray(natural.transpose(1, 0, 2)), n * length, length)):
        gx = poisoned(x.shape, dtype)
        kernel(grid, block, (layout, gx, i32(c), i32(h), i32(w), *geo[:2], i32(oh), i32(ow), *geo[2:],
                             i64(row_stride), i64(batch_stride), i64(gx.size)))
        np.testing.assert_allclose(gx, want, **tol(dtype))


@pytest.mark.parametrize("grid,block", LAUNCHES)
@pytest.mark.parametrize("name", ["gelu_fwd<float>", "gelu_fwd<double>", "gelu_fwd_f4",
                                  "gelu_bwd<float>", "gelu_bwd<double>", "gelu_bwd_f4"])
@pytest.mark.parametrize("n", [1, 5, 203])
def test_gelu_kernels(emu_module, order, rng, grid, block, name, n):
    dtype = np.float64 if "double" in name else np.float32
    x, gy = (rng.standard_normal(n) * 3).astype(dtype), rng.standard_normal(n).astype(dtype)
    out = poisoned(n, dtype)
    for approximate, mode in (("none", 0), ("tanh", 1)):
        inputs = (x,) if "fwd" in name else (x, gy)
        emu_module("gelu.cu").get_function(name)(grid, block, (*inputs, out, i64(n), i32(mode)))
        want = ref.gelu_fwd_ref(x, approximate) if "fwd" in name else ref.gelu_bwd_ref(x, gy, approximate)
        np.testing.assert_allclose(out, want, **tol(dtype))


@pytest.mark.parametrize("grid,block", LAUNCHES)
@pytest.mark.parametrize("dtype,ctype", [(np.float32, "float"), (np.float64, "double")])
def test_maxpool_kernels(emu_module, order, rng, grid, block, dtype, ctype):
    geo = ((3, 2), (2, 1), (1, 1), (2, 1), True)
    x = rng.integers(-2, 3, (2, 3, 8, 5)).astype(dtype)
    y_ref, arg_ref = ref.maxpool2d_fwd_ref(x, *geo)
    y, arg = poisoned(y_ref.shape, dtype), poisoned(y_ref.shape, np.int64)
    h, w, oh, ow = *x.shape[2:], *y.shape[2:]
    ints = [i32(v) for v in (h, w, oh, ow, *geo[0], *geo[1], *geo[2], *geo[3])]
    module = emu_module("maxpool.cu")
    module.get_function(f"maxpool2d_fwd<{ctype}>")(grid, block, (x, y, arg, *ints, i64(y.size)))
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(arg, arg_ref)
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = np.zeros(x.shape, dtype)
    module.get_function(f"maxpool2d_bwd<{ctype}>")(grid, block, (gy, arg, gx, i64(h * w), i64(oh * ow), i64(gy.size)))
    np.testing.assert_allclose(gx, ref.maxpool2d_bwd_ref(gy, arg_ref, x.shape), **tol(dtype))


@pytest.mark.parametrize("grid,block", [((1,), (32,)), ((2,), (96,)), ((3,), (256,))])
@pytest.mark.parametrize("dtype,ctype", [(np.float32, "float"), (np.float64, "double")])
def test_softmax_xent_kernels(emu_module, order, rng, grid, block, dtype, ctype):
    n, k, eps = 5, 131, dtype(0.05)
    logits = (3 * rng.standard_normal((n, k))).astype(dtype)
    target = rng.integers(0, k, n)
    target[2] = -1
    loss, lse = poisoned(n, dtype), poisoned(n, dtype)
    module = emu_module("softmax_xent.cu")
    module.get_function(f"softmax_xent_fwd<{ctype}>")(
        grid, block, (logits, target, loss, lse, i32(n), i32(k), i64(-1), eps))
    loss_ref, lse_ref = ref.softmax_xent_fwd_ref(logits, target, -1, float(eps))
    np.testing.assert_allclose(loss, loss_ref, **tol(dtype))
    np.testing.assert_allclose(lse, lse_ref, **tol(dtype))
    gloss, g = rng.standard_normal(n).astype(dtype), poisoned((n, k), dtype)
    module.get_function(f"softmax_xent_bwd<{ctype}>")(
        grid, block, (logits, target, lse, gloss, g, i32(n), i32(k), i64(-1), eps))
    np.testing.assert_allclose(g, ref.softmax_xent_bwd_ref(logits, target, lse_ref, gloss, -1, float(eps)),
                               **tol(dtype))
