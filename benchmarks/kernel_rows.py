"""Kernel rows: shapes, bytes and FLOPs, and how gpugrad's kernel functions (the CPU kernels or
the CUDA KernelSet, same signatures), PyTorch and NumPy are called. `--quick` shrinks every
size; the ids stay distinct."""
import numpy as np

from . import numpy_peer as npp
from .checks import check_tensor
from .row import F32, I64, Row, kernel_row, rotate, sets_for

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
CONV_KERNELS = ["conv2d_forward", "conv_wgrad", "conv_dgrad"]
GELU_TARGET_LOG2 = 26
IGNORE_INDEX = -100
LENET_LINEAR = [(400, 120), (120, 84), (84, 10)]


def conv_rows(device, quick):
    """Each conv kernel on every shape, then forward + both gradients together on the issue
    shapes (PyTorch: conv2d + convolution_backward), with the CPU's host-memory peak."""
    shapes = ISSUE_CONV_SHAPES + WIDE_CONV_SHAPES
    rows = [conv_row(kind, _small(s, quick)) for s in shapes for kind in CONV_KERNELS]
    return rows + [conv_fwd_bwd_row(_small(s, quick)) for s in ISSUE_CONV_SHAPES]


def gelu_rows(device, quick):
    sizes = [10, 12] if quick else [16, 20, 22, 24, 26] if device == "cuda" else [16, 20, 22, 24]
    return [gelu_row(bwd, form, n) for n in sizes for bwd in (False, True) for form in ("none", "tanh")]


def maxpool_rows(device, quick):
    shapes = [(2, 3, 8, 8, 2)] if quick else [(64, 6, 28, 28, 2), (128, 64, 32, 32, 2)]
    return [maxpool_row(bwd, *s) for s in shapes for bwd in (False, True)]


def xent_rows(device, quick):
    shapes = [(64, 10), (256, 5)] if quick else [(4096, 1000), (65536, 10)]
    return [xent_row(bwd, *s) for s in shapes for bwd in (False, True)]


def batch_norm_rows(device, quick):
    """The default CNN's two batch-norm shapes, and a BatchNorm1d one."""
    shapes = [(2, 3, 4, 4), (8, 5)] if quick else [(32, 16, 28, 28), (32, 32, 14, 14), (256, 512)]
    return [batch_norm_row(bwd, s) for s in shapes for bwd in (False, True)]


def relu_rows(device, quick):
    shapes = [(2, 3, 4, 4)] if quick else [(32, 16, 28, 28), (32, 32, 14, 14)]
    return [relu_row(bwd, s) for s in shapes for bwd in (False, True)]


def matmul_rows(device, quick):
    """Square products, then LeNet-5's linear layers at two batch sizes."""
    square = [64, 128] if quick else [256, 512, 1024, 2048] + ([4096] if device == "cuda" else [])
    rows = [matmul_row(n, n, n, f"{n}^3") for n in square]
    for batch in [8] if quick else [64, 256]:
        rows += [matmul_row(batch, fin, fout, f"linear {batch}x{fin} @ {fin}x{fout}")
                 for fin, fout in LENET_LINEAR]
    return rows


def optim_rows(device, quick):
    """One fused AdamW step over LeNet-5's parameters (a quarter-size copy under --quick)."""
    shapes = [tuple(max(1, d // 4) for d in s) for s in LENET_PARAMS] if quick else LENET_PARAMS
    return [fused_adam_row(shapes, "LeNet-5 parameters")]


def rng_rows(device, quick):
    return [philox_row(n) for n in ((12,) if quick else (20, 24))]


def _small(shape, quick):
    """With --quick, a tiny shape with the same kernel, stride, padding and dilation."""
    if not quick:
        return shape
    n, c, h, w, f, k, s, p, d = shape
    return (2, max(1, c // 16), max(6, h // 4), max(6, w // 4), max(2, f // 16), k, s, p, d)


def out_size(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _conv_dims(shape):
    n, c, h, w, f, k, s, p, d = shape
    oh, ow = out_size(h, k, s, p, d), out_size(w, k, s, p, d)
    sizes = {"x": n * c * h * w, "w": f * c * k * k, "y": n * f * oh * ow}
    return oh, ow, sizes, ((s, s), (p, p), (d, d), 1)


def run(kernels, name, *args):
    """kernels.<name>(*args) by the route the ops take (imported here, not at load: a PyTorch
    worker of benchmarks.alone imports this module and must not load gpugrad)."""
    from gpugrad.backends.algorithms import run as run_route
    return run_route(kernels, name, *args)


def _conv_label(shape):
    n, c, h, w, f, k, s, p, d = shape
    return f"{n}x{c}x{h}x{w}->{f} k{k} s{s} p{p} d{d}"


def conv_row(kernel, shape):
    """conv2d_forward, conv_wgrad or conv_dgrad on one (N,C,H,W→F,k,s,p,d) shape, by the route
    the ops take (gpugrad.backends.algorithms.run)."""
    n, c, h, w, f, k, s, p, d = shape
    oh, ow, sizes, args = _conv_dims(shape)
    if kernel == "conv2d_forward":
        inputs = {"x": (n, c, h, w), "w": (f, c, k, k)}
        ours = lambda ks, a: lambda: run(ks, "conv2d_forward", a["x"], a["w"], *args)
        peer = lambda torch, t: lambda: torch.nn.functional.conv2d(t["x"], t["w"], None, s, p, d)
        numpy = lambda a: lambda: npp.conv_forward(a["x"], a["w"], k, s, p, d, oh, ow)
    elif kernel == "conv_wgrad":
        inputs = {"x": (n, c, h, w), "gy": (n, f, oh, ow)}
        ours = lambda ks, a: lambda: run(ks, "conv_wgrad", a["x"], a["gy"], k, k, *args)
        peer = lambda torch, t: lambda: torch.nn.grad.conv2d_weight(
            t["x"], (f, c, k, k), t["gy"], s, p, d)
        numpy = lambda a: lambda: npp.conv_wgrad(a["x"], a["gy"], k, s, p, d, oh, ow)
    else:
        inputs = {"gy": (n, f, oh, ow), "w": (f, c, k, k)}
        ours = lambda ks, a: lambda: run(ks, "conv_dgrad", a["gy"], a["w"], (n, c, h, w), *args)
        peer = lambda torch, t: lambda: torch.nn.grad.conv2d_input(
            (n, c, h, w), t["w"], t["gy"], s, p, d)
        numpy = lambda a: lambda: npp.conv_dgrad(a["gy"], a["w"], (n, c, h, w), k, s, p, d, oh, ow)
    moved = {"conv2d_forward": ("x", "w", "y"), "conv_wgrad": ("x", "y", "w"),
             "conv_dgrad": ("y", "w", "x")}[kernel]
    return kernel_row(
        kernel, _conv_label(shape), {"shape": list(shape), "out_hw": [oh, ow]},
        inputs={name: (shp, "randn") for name, shp in inputs.items()},
        ours=ours, peer=peer, numpy=numpy, compare=lambda o, r, t: [("out", o, r)],
        tol=1e-3,  # fp32 sums of up to ~2.6e5 products in different orders
        nbytes=F32 * sum(sizes[name] for name in moved), flops=2 * n * f * oh * ow * c * k * k)


def conv_fwd_bwd_row(shape):
    """Forward, weight gradient and input gradient of one shape, one after the other."""
    n, c, h, w, f, k, s, p, d = shape
    oh, ow, sizes, args = _conv_dims(shape)

    def ours(ks, a):
        return lambda: (run(ks, "conv2d_forward", a["x"], a["w"], *args),
                        run(ks, "conv_wgrad", a["x"], a["gy"], k, k, *args),
                        run(ks, "conv_dgrad", a["gy"], a["w"], (n, c, h, w), *args))

    def peer(torch, t):
        return lambda: (torch.nn.functional.conv2d(t["x"], t["w"], None, s, p, d),
                        torch.ops.aten.convolution_backward(
                            t["gy"], t["x"], t["w"], None, [s, s], [p, p], [d, d], False, [0, 0],
                            1, [True, True, False]))

    def numpy(a):
        return lambda: (npp.conv_forward(a["x"], a["w"], k, s, p, d, oh, ow),
                        npp.conv_wgrad(a["x"], a["gy"], k, s, p, d, oh, ow),
                        npp.conv_dgrad(a["gy"], a["w"], (n, c, h, w), k, s, p, d, oh, ow))

    return kernel_row(
        "conv_fwd_bwd", _conv_label(shape), {"shape": list(shape), "out_hw": [oh, ow]},
        inputs={"x": ((n, c, h, w), "randn"), "w": ((f, c, k, k), "randn"),
                "gy": ((n, f, oh, ow), "randn")},
        ours=ours, peer=peer, numpy=numpy, tol=1e-3, track_memory=True,
        compare=lambda o, r, t: [("y", o[0], r[0]), ("gw", o[1], r[1][1]), ("gx", o[2], r[1][0])],
        nbytes=F32 * 3 * (sizes["x"] + sizes["w"] + sizes["y"]),
        flops=3 * 2 * n * f * oh * ow * c * k * k)


def gelu_row(backward, form, log2):
    """Fused gelu forward or backward on 2**log2 float32 elements."""
    n = 2 ** log2
    numpy = "no NumPy version (no scipy)" if form == "none" and npp.erf is None else None
    if backward:
        inputs = {"x": ((n,), "randn"), "gy": ((n,), "randn")}
        ours = lambda ks, a: lambda: ks.gelu_bwd(a["x"], a["gy"], form)
        peer = lambda torch, t: lambda: torch.ops.aten.gelu_backward(t["gy"], t["x"], approximate=form)
        numpy = numpy or (lambda a: lambda: npp.gelu_bwd(a["x"], a["gy"], form))
    else:
        inputs = {"x": ((n,), "randn")}
        ours = lambda ks, a: lambda: ks.gelu_fwd(a["x"], form)
        peer = lambda torch, t: lambda: torch.nn.functional.gelu(t["x"], approximate=form)
        numpy = numpy or (lambda a: lambda: npp.gelu_fwd(a["x"], form))
    return kernel_row(
        "gelu_bwd" if backward else "gelu_fwd", f"2^{log2} {form}", {"n": n, "approximate": form},
        inputs=inputs, ours=ours, peer=peer, numpy=numpy, compare=lambda o, r, t: [("out", o, r)],
        tol=1e-5, nbytes=F32 * n * (3 if backward else 2))


def maxpool_row(backward, n, c, h, w, k):
    """Max-pool k×k stride k forward (with argmax) or backward."""
    oh, ow = h // k, w // k
    x_size, y_size = n * c * h * w, n * c * oh * ow
    argmax = ((n, c, oh, ow), lambda dev, a: npp.window_argmax(dev.xp, a["x"], k))
    if backward:
        inputs = {"x": ((n, c, h, w), "randn"), "gy": ((n, c, oh, ow), "randn"), "argmax": argmax}
        ours = lambda ks, a: lambda: ks.maxpool2d_bwd(a["gy"], a["argmax"], (n, c, h, w))
        peer = lambda torch, t: lambda: torch.ops.aten.max_pool2d_with_indices_backward(
            t["gy"], t["x"], [k, k], [k, k], [0, 0], [1, 1], False, t["argmax"])
        numpy = lambda a: lambda: npp.maxpool_bwd(a["gy"], a["argmax"], (n, c, h, w))
        compare = lambda o, r, t: [("gx", o, r)]
    else:
        inputs = {"x": ((n, c, h, w), "randn"), "argmax": argmax}
        ours = lambda ks, a: lambda: ks.maxpool2d_fwd(a["x"], (k, k), (k, k), (0, 0), (1, 1), False)
        peer = lambda torch, t: lambda: torch.nn.functional.max_pool2d(
            t["x"], k, k, 0, 1, False, return_indices=True)
        numpy = lambda a: lambda: npp.maxpool_fwd(a["x"], k)
        compare = lambda o, r, t: [("y", o[0], r[0]), ("argmax", o[1], r[1]),
                                   ("argmax vs reference", o[1], t["argmax"])]
    return kernel_row(
        "maxpool2d_bwd" if backward else "maxpool2d_fwd", f"{n}x{c}x{h}x{w} k{k} s{k}",
        {"shape": [n, c, h, w], "kernel": k}, inputs=inputs, ours=ours, peer=peer, numpy=numpy,
        compare=compare, tol=0.0, nbytes=F32 * (x_size + y_size) + I64 * y_size)


def _labels(rows, classes):
    """Random class labels with every 97th row set to ignore_index."""
    t = np.random.default_rng(7).integers(0, classes, size=rows, dtype=np.int64)
    t[::97] = IGNORE_INDEX
    return t


def xent_row(backward, rows, classes):
    """Softmax cross-entropy per-row loss (forward) or logits gradient (backward)."""
    xent = (IGNORE_INDEX, 0.0)
    inputs = {"logits": ((rows, classes), "randn"),
              "target": ((rows,), lambda dev, a: dev.asarray(_labels(rows, classes)))}
    if backward:
        inputs["lse"] = ((rows,), lambda dev, a: npp.logsumexp(dev.xp, a["logits"]))
        inputs["gloss"] = ((rows,), "randn")
        ours = lambda ks, a: lambda: ks.softmax_xent_bwd(a["logits"], a["target"], a["lse"],
                                                         a["gloss"], *xent)
        numpy = lambda a: lambda: npp.xent_bwd(a["logits"], a["target"], a["lse"], a["gloss"],
                                               IGNORE_INDEX)
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
        numpy = lambda a: lambda: npp.xent_fwd(a["logits"], a["target"], IGNORE_INDEX)
        compare = lambda o, r, t: [("loss", o[0], r), ("lse", o[1], t["logits"].logsumexp(dim=1))]
        nbytes = F32 * (rows * classes + 2 * rows) + I64 * rows
    return kernel_row(
        "softmax_xent_bwd" if backward else "softmax_xent_fwd", f"{rows}x{classes}",
        {"rows": rows, "classes": classes}, inputs=inputs, ours=ours, peer=peer, numpy=numpy,
        compare=compare, tol=1e-5, nbytes=nbytes)


def matmul_row(m, k, n, label):
    """(m×k) @ (k×n) float32 through gpugrad.matmul on Tensors, torch.matmul and np.matmul
    (gpugrad has no matmul kernel of its own)."""
    def prepare(dev):
        import gpugrad
        rng = np.random.default_rng(11)
        host = [(rng.standard_normal((m, k), np.float32), rng.standard_normal((k, n), np.float32))
                for _ in range(sets_for(F32 * (m * k + k * n)))]
        ours = [(gpugrad.tensor(a, device=dev.name), gpugrad.tensor(b, device=dev.name))
                for a, b in host]
        calls = {"gpugrad": rotate([lambda a=a, b=b: gpugrad.matmul(a, b) for a, b in ours])}
        if dev.torch_ok:
            theirs = [(dev.torch_tensor(a), dev.torch_tensor(b)) for a, b in host]
            calls["torch"] = rotate([lambda a=a, b=b: dev.torch.matmul(a, b) for a, b in theirs])
        else:
            calls["torch"] = f"no PyTorch peer ({dev.torch_error})"
        if dev.name == "cpu":
            calls["numpy"] = rotate([lambda a=a, b=b: np.matmul(a, b) for a, b in host])
        return calls, lambda outs: check_tensor(dev, outs, 1e-4)
    return Row("matmul", label, prepare, {"m": m, "k": k, "n": n}, F32 * (m * k + k * n + m * n),
               2 * m * k * n, api="Tensor API")


LENET_PARAMS = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,), (10, 84), (10,)]
ADAMW = dict(lr=1e-3, beta1=0.9, beta2=0.999, weight_decay=1e-2, eps=1e-8)


def fused_adam_row(shapes, label):
    """One fused AdamW step of float32 tensors of `shapes` (fused_adam) against PyTorch's
    _fused_adamw_ after its step count (as torch.optim.AdamW(fused=True) makes it). Each call
    first copies the params and their state, so every call, and the check, is one step from
    the same inputs; the copies are in both sides' time."""
    ks = range(len(shapes))
    inputs = {}
    for k, s in zip(ks, shapes):
        inputs.update({f"p{k}": (s, "randn"), f"g{k}": (s, "randn"), f"m{k}": (s, "randn"),
                       f"v{k}": (s, lambda dev, a, k=k: a[f"g{k}"] * a[f"g{k}"]),
                       f"s{k}": ((), lambda dev, a: dev.asarray(np.array(2.0, np.float32)))})

    def ours(kernels, a):
        def call():
            p, m, v, s = ([a[f"{x}{k}"].copy() for k in ks] for x in "pmvs")
            return kernels.fused_adam(p, [a[f"g{k}"] for k in ks], m, v, [], s, ADAMW["lr"], ADAMW["beta1"],
                                      ADAMW["beta2"], ADAMW["weight_decay"], ADAMW["eps"], False, False, True)
        return call

    def peer(torch, t):
        def call():
            p, m, v, s = ([t[f"{x}{k}"].clone() for k in ks] for x in "pmvs")
            torch._foreach_add_(s, 1)
            torch._fused_adamw_(p, [t[f"g{k}"] for k in ks], m, v, [], s, amsgrad=False, maximize=False, **ADAMW)
            return p
        return call

    def numpy(a):
        """The same step as whole-array NumPy expressions, one tensor at a time."""
        lr, b1, b2, wd, eps = (ADAMW[k] for k in ("lr", "beta1", "beta2", "weight_decay", "eps"))

        def call():
            out = []
            for k in ks:
                p, g, step = a[f"p{k}"] * (1 - lr * wd), a[f"g{k}"], float(a[f"s{k}"]) + 1
                m = b1 * a[f"m{k}"] + (1 - b1) * g
                v = b2 * a[f"v{k}"] + (1 - b2) * g * g
                denom = np.sqrt(v) / np.sqrt(1 - b2 ** step) + eps
                out.append(p - lr / (1 - b1 ** step) * m / denom)
            return out
        return call

    n = sum(int(np.prod(s)) for s in shapes)
    return kernel_row(
        "fused_adam", label, {"shapes": [list(s) for s in shapes]}, inputs=inputs, ours=ours, peer=peer,
        compare=lambda o, r, t: [(f"param{k}", o[k], r[k]) for k in ks], tol=1e-5,
        numpy=numpy, nbytes=F32 * n * 7)


def philox_row(log2):
    """2**log2 float32 uniform numbers from the device generator (philox_uniform) against
    torch.rand; checked against the uniform quantiles (a Kolmogorov-Smirnov bound far above
    chance), since the two generators' streams differ."""
    n = 2 ** log2
    inputs = {"state": ((2,), lambda dev, a: dev.asarray(np.array([12345, 0], np.int64)))}
    ours = lambda ks, a: lambda: ks.philox_uniform(a["state"].view(np.uint64), n, np.float32)
    peer = lambda torch, t: lambda: torch.rand(n, device=t["state"].device)
    quantiles = (np.arange(n) + 0.5) / n
    return kernel_row(
        "philox_uniform", f"2^{log2}", {"n": n}, inputs=inputs, ours=ours, peer=peer,
        compare=lambda o, r, t: [("sorted", o[o.argsort()], quantiles)], tol=8 / np.sqrt(n),
        numpy=lambda a: lambda: np.random.default_rng(12345).random(n, np.float32), nbytes=F32 * n)


BN_EPS = 1e-5


def batch_norm_row(backward, shape):
    """Training-mode batch norm of an (N, C, ...) input: forward (y and statistics) or the
    three gradients; PyTorch's native_batch_norm and native_batch_norm_backward."""
    c, size = shape[1], int(np.prod(shape))
    label = "x".join(map(str, shape))
    inputs = {"x": (shape, "randn"), "w": ((c,), "randn"), "b": ((c,), "randn")}
    if backward:
        inputs["gy"] = (shape, "randn")
        inputs["mean"] = ((c,), lambda dev, a: npp.batch_norm_stats(dev.xp, a["x"], BN_EPS)[0])
        inputs["invstd"] = ((c,), lambda dev, a: npp.batch_norm_stats(dev.xp, a["x"], BN_EPS)[1])
        ours = lambda ks, a: lambda: ks.batch_norm_bwd(a["x"], a["gy"], a["mean"], a["invstd"], a["w"])
        peer = lambda torch, t: lambda: torch.ops.aten.native_batch_norm_backward(
            t["gy"], t["x"], t["w"], None, None, t["mean"], t["invstd"], True, BN_EPS, [True, True, True])
        numpy = lambda a: lambda: npp.batch_norm_bwd(a["x"], a["gy"], a["mean"], a["invstd"], a["w"])
        compare = lambda o, r, t: [("gx", o[0], r[0]), ("gweight", o[1], r[1]), ("gbias", o[2], r[2])]
        nbytes = F32 * 3 * size
    else:
        ours = lambda ks, a: lambda: ks.batch_norm_fwd(a["x"], a["w"], a["b"], BN_EPS)
        peer = lambda torch, t: lambda: torch.native_batch_norm(
            t["x"], t["w"], t["b"], None, None, True, 0.1, BN_EPS)
        numpy = lambda a: lambda: npp.batch_norm_fwd(a["x"], a["w"], a["b"], BN_EPS)
        compare = lambda o, r, t: [("y", o[0], r[0]), ("mean", o[1], r[1]), ("invstd", o[3], r[2])]
        nbytes = F32 * 2 * size
    return kernel_row(
        "batch_norm_bwd" if backward else "batch_norm_fwd", label, {"shape": list(shape)},
        inputs=inputs, ours=ours, peer=peer, numpy=numpy, compare=compare, tol=1e-4, nbytes=nbytes)


def relu_row(backward, shape):
    """ReLU forward, or its backward (PyTorch's threshold_backward at 0)."""
    size = int(np.prod(shape))
    if backward:
        inputs = {"x": (shape, "randn"), "gy": (shape, "randn")}
        ours = lambda ks, a: lambda: ks.relu_bwd(a["x"], a["gy"])
        peer = lambda torch, t: lambda: torch.ops.aten.threshold_backward(t["gy"], t["x"], 0)
        numpy = lambda a: lambda: a["gy"] * (a["x"] > 0)  # np.where with a random mask is ~8x slower
    else:
        inputs = {"x": (shape, "randn")}
        ours = lambda ks, a: lambda: ks.relu_fwd(a["x"])
        peer = lambda torch, t: lambda: torch.relu(t["x"])
        numpy = lambda a: lambda: np.maximum(a["x"], np.float32(0))
    return kernel_row(
        "relu_bwd" if backward else "relu_fwd", "x".join(map(str, shape)), {"shape": list(shape)},
        inputs=inputs, ours=ours, peer=peer, numpy=numpy, compare=lambda o, r, t: [("out", o, r)],
        tol=0.0, nbytes=F32 * size * (3 if backward else 2))
