"""The benchmark rows: shapes, minimum bytes and FLOPs, inputs, our call, PyTorch's call.

Each Case times one KernelSet function (see /work/notes/interface.md) against the PyTorch op
that does the same work, on the same random inputs, and names the outputs to compare.
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np

# (N, C, H, W, F, k, stride, pad, dilation): the CPU convolution issue's five shapes ...
ISSUE_CONV_SHAPES = [
    (64, 1, 28, 28, 6, 5, 1, 2, 1),
    (64, 6, 14, 14, 16, 5, 1, 0, 1),
    (128, 3, 32, 32, 64, 3, 1, 1, 1),
    (128, 64, 16, 16, 128, 3, 1, 1, 1),
    (32, 16, 32, 32, 32, 3, 2, 1, 2),
]
# ... and two wider ones.
WIDE_CONV_SHAPES = [
    (256, 64, 32, 32, 64, 3, 1, 1, 1),
    (128, 128, 16, 16, 256, 3, 2, 1, 1),
]
GELU_LOG2 = [16, 20, 22, 24, 26]
GELU_TARGET_LOG2 = 26
GELU_FORMS = ["none", "tanh"]
POOL_SHAPES = [(128, 64, 32, 32, 2)]          # (N, C, H, W, k) with stride k, no padding
XENT_SHAPES = [(4096, 1000), (65536, 10)]     # (rows, classes)
IGNORE_INDEX = -100
F32 = 4  # bytes per float32
I64 = 8

CONV_KERNELS = ["conv2d_forward", "conv_wgrad", "conv_dgrad"]


@dataclass
class Case:
    """One row: `ours(kernels, inputs)` and `peer(torch, tensors)` return zero-argument calls;
    `compare(ours_out, peer_out, tensors)` returns (name, ours, reference) triples."""
    group: str
    kernel: str
    label: str
    params: dict
    nbytes: int
    flops: int | None
    inputs: dict                      # name -> (shape, "randn" | callable(dev, arrays))
    ours: Callable
    peer: Callable
    compare: Callable
    tol: float
    priority: int = 1                 # 0 for target rows: they run first
    target: bool = False              # one of the rows issue 5's targets are judged on
    order: int = 0                    # position in the report's tables

    @property
    def id(self):
        return f"{self.kernel}/{self.label}"


def all_cases(small):
    """Every row, target rows first; `small` shrinks all sizes (for --quick and --sim)."""
    conv = [(s, True) for s in ISSUE_CONV_SHAPES] + [(s, False) for s in WIDE_CONV_SHAPES]
    cases = [conv_case(kind, shrink_conv(s) if small else s, issue and not small)
             for s, issue in conv for kind in CONV_KERNELS]
    for log2 in ([10, 12] if small else GELU_LOG2):
        for backward in (False, True):
            for form in GELU_FORMS:
                cases.append(gelu_case(backward, form, log2))
    for n, c, h, w, k in ([(2, 3, 8, 8, 2)] if small else POOL_SHAPES):
        cases += [maxpool_case(False, n, c, h, w, k), maxpool_case(True, n, c, h, w, k)]
    for rows, classes in ([(64, 10), (256, 5)] if small else XENT_SHAPES):
        cases += [xent_case(False, rows, classes), xent_case(True, rows, classes)]
    for order, case in enumerate(cases):
        case.order = order
    return sorted(cases, key=lambda case: case.priority)


def shrink_conv(shape):
    """A tiny shape with the same kernel, stride, padding and dilation (ids stay distinct)."""
    n, c, h, w, f, k, s, p, d = shape
    return (2, max(1, c // 16), max(6, h // 4), max(6, w // 4), max(2, f // 16), k, s, p, d)


def out_size(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def conv_case(kernel, shape, issue_shape):
    """conv2d_forward, conv_wgrad or conv_dgrad on one (N,C,H,W→F,k,s,p,d) shape."""
    n, c, h, w, f, k, s, p, d = shape
    oh, ow = out_size(h, k, s, p, d), out_size(w, k, s, p, d)
    sizes = {"x": n * c * h * w, "w": f * c * k * k, "y": n * f * oh * ow}
    args = ((s, s), (p, p), (d, d), 1)
    if kernel == "conv2d_forward":
        inputs = {"x": (n, c, h, w), "w": (f, c, k, k)}
        ours = lambda ks, a: lambda: ks.conv2d_forward(a["x"], a["w"], *args)
        peer = lambda torch, t: lambda: torch.nn.functional.conv2d(t["x"], t["w"], None, s, p, d)
    elif kernel == "conv_wgrad":
        inputs = {"x": (n, c, h, w), "gy": (n, f, oh, ow)}
        ours = lambda ks, a: lambda: ks.conv_wgrad(a["x"], a["gy"], k, k, *args)
        peer = lambda torch, t: lambda: torch.nn.grad.conv2d_weight(
            t["x"], (f, c, k, k), t["gy"], s, p, d)
    else:
        inputs = {"gy": (n, f, oh, ow), "w": (f, c, k, k)}
        ours = lambda ks, a: lambda: ks.conv_dgrad(a["gy"], a["w"], (n, c, h, w), *args)
        peer = lambda torch, t: lambda: torch.nn.grad.conv2d_input(
            (n, c, h, w), t["w"], t["gy"], s, p, d)
    moved = {"conv2d_forward": ("x", "w", "y"), "conv_wgrad": ("x", "y", "w"),
             "conv_dgrad": ("y", "w", "x")}[kernel]
    return Case(
        group="conv", kernel=kernel,
        label=f"{n}x{c}x{h}x{w}->{f} k{k} s{s} p{p} d{d}",
        params={"shape": list(shape), "out_hw": [oh, ow]},
        nbytes=F32 * sum(sizes[name] for name in moved),
        flops=2 * n * f * oh * ow * c * k * k,
        inputs={name: (shp, "randn") for name, shp in inputs.items()},
        ours=ours, peer=peer,
        compare=lambda o, r, t: [("out", o, r)],
        tol=1e-3,  # fp32 sums of up to ~2.6e5 products in different orders
        priority=0 if issue_shape else 1, target=issue_shape)


def gelu_case(backward, form, log2):
    """Fused gelu forward or backward on 2**log2 float32 elements."""
    n = 2 ** log2
    if backward:
        inputs = {"x": ((n,), "randn"), "gy": ((n,), "randn")}
        ours = lambda ks, a: lambda: ks.gelu_bwd(a["x"], a["gy"], form)
        peer = lambda torch, t: lambda: torch.ops.aten.gelu_backward(
            t["gy"], t["x"], approximate=form)
    else:
        inputs = {"x": ((n,), "randn")}
        ours = lambda ks, a: lambda: ks.gelu_fwd(a["x"], form)
        peer = lambda torch, t: lambda: torch.nn.functional.gelu(t["x"], approximate=form)
    target = log2 == GELU_TARGET_LOG2
    return Case(
        group="gelu", kernel="gelu_bwd" if backward else "gelu_fwd",
        label=f"2^{log2} {form}", params={"n": n, "approximate": form},
        nbytes=F32 * n * (3 if backward else 2), flops=None,
        inputs=inputs, ours=ours, peer=peer,
        compare=lambda o, r, t: [("out", o, r)],
        tol=1e-5, priority=0 if target else 1, target=target)


def window_argmax(xp, x, k):
    """Flat h*W+w index of the first maximum of each non-overlapping k×k window."""
    n, c, h, w = x.shape
    oh, ow = h // k, w // k
    win = x.reshape(n, c, oh, k, ow, k).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, oh, ow, k * k)
    j = win.argmax(axis=-1)
    rows = xp.arange(oh).reshape(1, 1, oh, 1) * k + j // k
    cols = xp.arange(ow).reshape(1, 1, 1, ow) * k + j % k
    return (rows * w + cols).astype(xp.int64)


def maxpool_case(backward, n, c, h, w, k):
    """Max-pool k×k stride k forward (with argmax) or backward."""
    oh, ow = h // k, w // k
    x_size, y_size = n * c * h * w, n * c * oh * ow
    pool = ((k, k), (k, k), (0, 0), (1, 1))
    argmax = ((n, c, oh, ow), lambda dev, a: window_argmax(dev.xp, a["x"], k))
    if backward:
        inputs = {"x": ((n, c, h, w), "randn"), "gy": ((n, c, oh, ow), "randn"), "argmax": argmax}
        ours = lambda ks, a: lambda: ks.maxpool2d_bwd(a["gy"], a["argmax"], (n, c, h, w))
        peer = lambda torch, t: lambda: torch.ops.aten.max_pool2d_with_indices_backward(
            t["gy"], t["x"], [k, k], [k, k], [0, 0], [1, 1], False, t["argmax"])
        compare = lambda o, r, t: [("gx", o, r)]
        nbytes = F32 * (y_size + x_size) + I64 * y_size
    else:
        inputs = {"x": ((n, c, h, w), "randn"), "argmax": argmax}
        ours = lambda ks, a: lambda: ks.maxpool2d_fwd(a["x"], *pool, False)
        peer = lambda torch, t: lambda: torch.nn.functional.max_pool2d(
            t["x"], k, k, 0, 1, False, return_indices=True)
        compare = lambda o, r, t: [("y", o[0], r[0]), ("argmax", o[1], r[1]),
                                   ("argmax vs reference", o[1], t["argmax"])]
        nbytes = F32 * (x_size + y_size) + I64 * y_size
    return Case(
        group="maxpool", kernel="maxpool2d_bwd" if backward else "maxpool2d_fwd",
        label=f"{n}x{c}x{h}x{w} k{k} s{k}", params={"shape": [n, c, h, w], "kernel": k},
        nbytes=nbytes, flops=None, inputs=inputs, ours=ours, peer=peer, compare=compare,
        tol=0.0)


def _targets(rows, classes):
    """Random class labels with every 97th row set to ignore_index."""
    t = np.random.default_rng(7).integers(0, classes, size=rows, dtype=np.int64)
    t[::97] = IGNORE_INDEX
    return t


def _logsumexp(xp, x):
    m = x.max(axis=1)
    return m + xp.log(xp.exp(x - m[:, None]).sum(axis=1))


def xent_case(backward, rows, classes):
    """Softmax cross-entropy per-row loss (forward) or logits gradient (backward)."""
    xent = (IGNORE_INDEX, 0.0)
    inputs = {"logits": ((rows, classes), "randn"),
              "target": ((rows,), lambda dev, a: dev.asarray(_targets(rows, classes)))}
    if backward:
        inputs["lse"] = ((rows,), lambda dev, a: _logsumexp(dev.xp, a["logits"]))
        inputs["gloss"] = ((rows,), "randn")
        ours = lambda ks, a: lambda: ks.softmax_xent_bwd(
            a["logits"], a["target"], a["lse"], a["gloss"], *xent)
        compare = lambda o, r, t: [("glogits", o, r)]
        nbytes = F32 * (2 * rows * classes + 2 * rows) + I64 * rows

        def peer(torch, t):
            logits = t["logits"].detach().requires_grad_(True)
            loss = torch.nn.functional.cross_entropy(
                logits, t["target"], reduction="none", ignore_index=IGNORE_INDEX)
            return lambda: torch.autograd.grad(loss, logits, t["gloss"], retain_graph=True)[0]
    else:
        ours = lambda ks, a: lambda: ks.softmax_xent_fwd(a["logits"], a["target"], *xent)
        peer = lambda torch, t: lambda: torch.nn.functional.cross_entropy(
            t["logits"], t["target"], reduction="none", ignore_index=IGNORE_INDEX)
        compare = lambda o, r, t: [("loss", o[0], r),
                                   ("lse", o[1], t["logits"].logsumexp(dim=1))]
        nbytes = F32 * (rows * classes + 2 * rows) + I64 * rows
    return Case(
        group="xent", kernel="softmax_xent_bwd" if backward else "softmax_xent_fwd",
        label=f"{rows}x{classes}", params={"rows": rows, "classes": classes},
        nbytes=nbytes, flops=None, inputs=inputs, ours=ours, peer=peer, compare=compare,
        tol=1e-5)
