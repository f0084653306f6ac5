"""Where a step's time goes: `with gpugrad.profiler.profile() as prof: ...`, then
`print(prof.table())` or `prof.events()`.

Four kinds of event are recorded, each with a name, a device and a duration:
- "op": a Function's forward (named after the Function, e.g. "Conv") or its backward as the
  engine calls it ("ConvBackward"); inclusive of everything it calls.
- "kernel": one of our hand-written kernels: a Numba kernel on the CPU, a RawKernel launch on
  CUDA (also when the emulator runs it, GPUGRAD_CUDA_SIM).
- "library": a library call we make for the heavy lifting, i.e. the matmul/GEMM behind matmul,
  linear and conv (NumPy's BLAS, CuPy's cuBLAS).
- "graph": one replay of a captured CUDA graph (gpugrad.cuda.CUDAGraph.replay), named
  "cudaGraphLaunch" as in PyTorch's profiler: the whole captured step is that one launch, so
  the ops, kernels and library calls inside it are not events (simulation re-runs them on the
  host, and records them no more than a GPU launches them one by one).

On a real GPU, kernels, library calls and graph launches are timed with CUDA events (their
device time, collected when the profile ends); ops are timed on the host, which for an
asynchronous GPU is the time to queue their work. Elsewhere everything is wall time on the host.

Not profiling costs one global check per hook: every hook reads the module's `_session`.
"""
import time
from collections import defaultdict

_session = None  # the active profile, or None


class Event:
    """One recorded call: `name`, `kind` ("op", "kernel", "library" or "graph"), `device`, `duration_us`."""

    __slots__ = ("name", "kind", "device", "duration_us", "_cuda")

    def __init__(self, name, kind, device, duration_us, cuda=None):
        self.name, self.kind, self.device, self.duration_us = name, kind, device, duration_us
        self._cuda = cuda  # (start, end) CUDA events until the profile resolves them

    def __repr__(self):
        return f"Event({self.name!r}, kind={self.kind!r}, device={self.device!r}, duration_us={self.duration_us:.1f})"


class profile:
    """Record ops, kernels and library calls while the `with` block runs (one at a time)."""

    def __init__(self):
        self._events = []

    def __enter__(self):
        global _session
        if _session is not None:
            raise RuntimeError("gpugrad.profiler.profile: a profile is already active; profiles don't nest")
        self._events = []
        _session = self
        return self

    def __exit__(self, *exc):
        global _session
        _session = None
        self._resolve()

    def _resolve(self):
        """Turn the pending CUDA event pairs into durations (waits for the GPU)."""
        for e in self._events:
            if e._cuda is not None:
                import cupy
                start, end = e._cuda
                end.synchronize()
                e.duration_us, e._cuda = cupy.cuda.get_elapsed_time(start, end) * 1000.0, None

    def events(self):
        """Every recorded Event, in the order the calls finished."""
        self._resolve()
        return list(self._events)

    def table(self, sort_by="total"):
        """One row per (kind, name, device): calls, total and mean time; sorted by total time
        (or "calls", or "name"). Op times include the kernels and library calls they make."""
        rows = defaultdict(lambda: [0, 0.0])
        for e in self.events():
            row = rows[(e.kind, e.name, e.device)]
            row[0] += 1
            row[1] += e.duration_us
        keys = {"total": lambda kv: -kv[1][1], "calls": lambda kv: -kv[1][0], "name": lambda kv: kv[0][1]}
        if sort_by not in keys:
            raise ValueError(f"table: sort_by must be one of {sorted(keys)}, got {sort_by!r}")
        items = sorted(rows.items(), key=keys[sort_by])
        width = max([len("name")] + [len(name) for (_, name, _) in rows])
        head = f"{'name':<{width}}  {'kind':<7}  {'device':<7}  {'calls':>7}  {'total ms':>10}  {'mean us':>10}"
        lines = [head, "-" * len(head)]
        for (kind, name, dev), (calls, total) in items:
            lines.append(f"{name:<{width}}  {kind:<7}  {dev:<7}  {calls:>7}  {total / 1000:>10.3f}  {total / calls:>10.1f}")
        return "\n".join(lines)

    def _add(self, name, kind, device, t0):
        self._events.append(Event(name, kind, device, (time.perf_counter_ns() - t0) / 1000.0))


def record(kind, name, device, fn, /, *args, **kwargs):
    """fn(*args, **kwargs), timed on the host as one event when a profile is active."""
    session = _session
    if session is None:
        return fn(*args, **kwargs)
    t0 = time.perf_counter_ns()
    try:
        return fn(*args, **kwargs)
    finally:
        session._add(name, kind, str(device), t0)


def record_device(kind, name, device, xp, fn, /, *args, **kwargs):
    """Like `record`, for a call that runs on xp's device: with CuPy it is timed by a pair of
    CUDA events on the current stream (and labelled with the current GPU), elsewhere on the
    host (NumPy, or the emulated GPU) and labelled `device`."""
    session = _session
    if session is None:
        return fn(*args, **kwargs)
    if getattr(xp, "__name__", "") != "cupy":
        return record(kind, name, device, fn, *args, **kwargs)
    start, end = xp.cuda.Event(), xp.cuda.Event()
    start.record()
    try:
        return fn(*args, **kwargs)
    finally:
        end.record()
        session._events.append(Event(name, kind, f"cuda:{xp.cuda.runtime.getDevice()}", 0.0, cuda=(start, end)))
