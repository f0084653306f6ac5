"""Kernel rows: what each measures, on which sizes, and how each implementation is called.

Conv, gelu, max-pool and softmax-cross-entropy rows are gpu_check's Cases (gpugrad's backend
kernel functions vs the PyTorch op); matmul rows go through the gpugrad Tensor API, since
gpugrad has no matmul kernel of its own. Inputs are random; where one set would sit in cache
the calls rotate over a few copies.
"""
import itertools
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from benchmarks.gpu_check import cases as gc
from benchmarks.gpu_check.rows import check, compare, make_inputs

from . import numpy_peer

ROTATE_BELOW = 64 << 20  # inputs smaller than this (about an L2 or LLC) are rotated ...
ROTATE_SETS = 4          # ... over this many copies
LENET_LINEAR = [(400, 120), (120, 84), (84, 10)]
F32 = 4


@dataclass
class Row:
    """One benchmark row. `prepare(target)` returns ({impl: zero-arg call, or a string saying
    why that impl is unavailable}, check(outputs) -> dict) for that device."""
    section: str
    group: str
    kernel: str
    label: str
    api: str                 # how gpugrad is called: "kernel" or "Tensor API"
    params: dict
    nbytes: int | None
    flops: int | None
    prepare: Callable
    samples: int | None = None
    meta: dict = field(default_factory=dict)

    @property
    def id(self):
        return f"{self.kernel}/{self.label}"


def rotate(calls):
    """One call that runs the next of `calls` each time (a single call is returned as is)."""
    if len(calls) == 1:
        return calls[0]
    it = itertools.cycle(calls)
    return lambda: next(it)()


def sets_for(nbytes):
    return 1 if nbytes >= ROTATE_BELOW else ROTATE_SETS


def kernel_rows(device, quick):
    """The kernel section for device "cpu" or "cuda" (--quick: tiny sizes)."""
    conv = gc.ISSUE_CONV_SHAPES + gc.WIDE_CONV_SHAPES
    conv = [gc.shrink_conv(s) for s in conv] if quick else conv
    cases = [gc.conv_case(kind, s, False) for s in conv for kind in gc.CONV_KERNELS]
    gelu = [10, 12] if quick else gc.GELU_LOG2 if device == "cuda" else [16, 20, 22, 24]
    cases += [gc.gelu_case(bwd, form, n) for n in gelu for bwd in (False, True)
              for form in gc.GELU_FORMS]
    pools = [(2, 3, 8, 8, 2)] if quick else [(64, 6, 28, 28, 2)] + gc.POOL_SHAPES
    cases += [gc.maxpool_case(bwd, *s) for s in pools for bwd in (False, True)]
    xent = [(64, 10), (256, 5)] if quick else gc.XENT_SHAPES
    cases += [gc.xent_case(bwd, *s) for s in xent for bwd in (False, True)]
    rows = [case_row(c) for c in cases]
    square = [64, 128] if quick else [256, 512, 1024, 2048] + ([4096] if device == "cuda" else [])
    rows += [matmul_row(n, n, n, f"{n}^3") for n in square]
    for batch in [8] if quick else [64, 256]:
        rows += [matmul_row(batch, fin, fout, f"linear {batch}x{fin} @ {fin}x{fout}")
                 for fin, fout in LENET_LINEAR]
    return rows


def case_row(case):
    """A gpu_check Case as a Row, with the NumPy peer added on the CPU."""
    def prepare(target):
        dev = target.dev
        first = make_inputs(case, dev)
        sets = [first] + [{k: v.copy() for k, v in first.items()}
                          for _ in range(sets_for(sum(v.nbytes for v in first.values())) - 1)]
        calls = {"gpugrad": rotate([case.ours(target.kernels, a) for a in sets])}
        tensors = [{k: dev.to_torch(v) for k, v in a.items()} for a in sets] if target.torch_ok else None
        calls["torch"] = (rotate([case.peer(dev.torch, t) for t in tensors]) if tensors
                          else f"no PyTorch peer ({dev.torch_error})")
        if target.name == "cpu":
            make = numpy_peer.BUILDERS[case.kernel](case.params)
            calls["numpy"] = rotate([make(a) for a in sets]) if make else "no NumPy version (no scipy)"
        return calls, lambda outs: check(case, dev, outs.get("gpugrad"), outs.get("torch"),
                                         tensors and tensors[0])
    return Row("kernels", case.group, case.kernel, case.label, "kernel", case.params,
               case.nbytes, case.flops, prepare)


def matmul_row(m, k, n, label):
    """(m×k) @ (k×n) float32 through gpugrad.matmul on Tensors, torch.matmul and np.matmul."""
    def prepare(target):
        import gpugrad
        rng = np.random.default_rng(11)
        host = [(rng.standard_normal((m, k), np.float32), rng.standard_normal((k, n), np.float32))
                for _ in range(sets_for(F32 * (m * k + k * n)))]
        ours = [(gpugrad.tensor(a, device=target.name), gpugrad.tensor(b, device=target.name))
                for a, b in host]
        calls = {"gpugrad": rotate([lambda a=a, b=b: gpugrad.matmul(a, b) for a, b in ours])}
        if target.torch_ok:
            theirs = [(target.torch_tensor(a), target.torch_tensor(b)) for a, b in host]
            calls["torch"] = rotate([lambda a=a, b=b: target.dev.torch.matmul(a, b) for a, b in theirs])
        else:
            calls["torch"] = f"no PyTorch peer ({target.dev.torch_error})"
        if target.name == "cpu":
            calls["numpy"] = rotate([lambda a=a, b=b: np.matmul(a, b) for a, b in host])
        return calls, lambda outs: _check_tensor(target, outs, 1e-4)
    return Row("kernels", "matmul", "matmul", label, "Tensor API",
               {"m": m, "k": k, "n": n}, F32 * (m * k + k * n + m * n), 2 * m * k * n, prepare)


def _check_tensor(target, outs, tol):
    """A gpugrad Tensor output against PyTorch's, with gpu_check's comparison."""
    ours, ref = outs.get("gpugrad"), outs.get("torch")
    if ours is None or ref is None:
        return {"status": "unavailable"}
    item = compare("out", target.dev, target.dev.asarray(ours.numpy()), ref, tol)
    return {"status": "ok" if item["ok"] else "mismatch", "tol": tol,
            "max_rel": item.get("rel", 0.0), "items": [item]}
