"""The one row type, and `kernel_row`, which declares a row that times one gpugrad kernel
function against the PyTorch op (and a NumPy version on the CPU) on the same random inputs."""
import itertools
from dataclasses import dataclass, field
from typing import Callable

from .checks import check

ROTATE_BELOW = 64 << 20  # inputs smaller than this (about an L2 or LLC) are rotated ...
ROTATE_SETS = 4          # ... over this many copies
F32, I64 = 4, 8          # bytes per element


@dataclass
class Row:
    """One benchmark row. `prepare(device)` returns ({impl: zero-argument call, or a string
    saying why that impl is unavailable}, check(outputs) -> dict) for that device; the impls
    are "gpugrad" and its peers "torch" and "numpy".

    A row timed in other processes (which leave no call to time here) has `measure(device,
    settings)` instead: it returns {impl: record}, each made by `timing.summary` from the
    repetitions it timed (plus what else it measured, e.g. a test accuracy) or saying
    {"status": "skipped", "error": why}; it has no check."""
    kernel: str
    label: str
    prepare: Callable | None = None
    params: dict = field(default_factory=dict)
    nbytes: int | None = None   # bytes the op must move, for GB/s
    flops: int | None = None    # multiply-adds x 2, for GFLOP/s
    api: str = "kernel"         # how gpugrad is called: "kernel" or "Tensor API"
    samples: int | None = None  # samples per call, for samples/s
    track_memory: bool = False  # also record the host-memory peak of one gpugrad call
    measure: Callable | None = None  # used instead of prepare, see above

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


def kernel_row(kernel, label, params, *, inputs, ours, peer, compare, tol, nbytes, flops=None,
               numpy=None, track_memory=False):
    """A row timing `ours(kernels, arrays)` against `peer(torch, tensors)`, both returning a
    zero-argument call, on random inputs `{name: (shape, "randn" | make(device, arrays))}`.

    `compare(ours_out, ref_out, tensors)` lists (name, ours, reference) pairs; the reference is
    the peer run in float64. `numpy(arrays)` returns the NumPy call on the CPU (or `numpy` is a
    string saying why there is none).
    """
    def prepare(dev):
        first = make_inputs(inputs, dev)
        sets = [first] + [{k: v.copy() for k, v in first.items()}
                          for _ in range(sets_for(sum(v.nbytes for v in first.values())) - 1)]
        calls = {"gpugrad": rotate([ours(dev.kernels, a) for a in sets])}
        tensors = [{k: dev.to_torch(v) for k, v in a.items()} for a in sets] if dev.torch_ok else None
        calls["torch"] = (rotate([peer(dev.torch, t) for t in tensors]) if tensors
                          else f"no PyTorch peer ({dev.torch_error})")
        if dev.name == "cpu" and numpy is not None:
            calls["numpy"] = numpy if isinstance(numpy, str) else rotate([numpy(a) for a in sets])
        return calls, lambda outs: check(dev, peer, compare, tol, outs.get("gpugrad"),
                                         outs.get("torch"), tensors and tensors[0])
    return Row(kernel, label, prepare, params, nbytes, flops, track_memory=track_memory)


def make_inputs(inputs, dev):
    """Random inputs in declaration order; derived ones (argmax, lse) see the earlier ones."""
    arrays = {}
    for seed, (name, (shape, how)) in enumerate(inputs.items(), start=1):
        arrays[name] = dev.randn(shape, seed) if how == "randn" else how(dev, arrays)
    return arrays
