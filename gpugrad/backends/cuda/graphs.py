"""CUDA graphs (torch.cuda.CUDAGraph's API): capture a region of work once, replay it as one launch.

On a GPU the capture is CuPy's stream capture on a non-default stream, allocations during it
come from a private CuPy memory pool that the graph keeps, and replay launches the graph on
that stream. Under GPUGRAD_CUDA_SIM the capture is sim_array's recording and replay re-runs it.

cuBLAS cannot be captured from CuPy, so while capturing, gpugrad.backends.algorithms takes
the routes that use only our kernels (its capturable()).
"""
import contextlib

import numpy as np

from ... import profiler
from . import sim_array
from .backend import simulated


def is_current_stream_capturing():
    """True while a capture is in progress (torch.cuda.is_current_stream_capturing)."""
    return _current[0] is not None


_current = [None]  # the CUDAGraph being captured


def refuse_host_sync(op):
    """Raise, naming `op`, if a capture is in progress: reading device data on the host (a
    synchronisation) can't be part of a CUDA graph."""
    if _current[0] is not None:
        raise sim_array.CaptureError(f"{op} during CUDA graph capture: it synchronises with the host "
                                     "(reads device data), which a CUDA graph cannot contain; move it "
                                     "out of the captured region")


class CUDAGraph:
    """A captured region; capture it with `with gpugrad.cuda.graph(g): ...`, run it with replay()."""

    def __init__(self):
        self._recording = None  # simulated: the sim_array recorder
        self._graph = None      # real: cupy.cuda.Graph
        self._stream = self._pool = self._exec_stream = None

    def capture_begin(self, pool=None):
        if _current[0] is not None:
            raise RuntimeError("CUDAGraph.capture_begin: a capture is already in progress")
        if self._recording is not None or self._graph is not None:
            raise RuntimeError("CUDAGraph.capture_begin: this graph was already captured; call reset() first")
        _load_kernels()
        _make_rng_states()
        if simulated():
            sim_array.begin_capture()
        else:
            import cupy
            cupy.cuda.Device().synchronize()
            self._pool = pool if pool is not None else cupy.cuda.MemoryPool()
            self._stream = cupy.cuda.Stream(non_blocking=True)
            self._allocator = cupy.cuda.using_allocator(self._pool.malloc)
            self._allocator.__enter__()
            self._stream.wait_event(cupy.cuda.get_current_stream().record())  # inputs written before
            self._stream.__enter__()
            # relaxed: the private pool may cudaMalloc during the capture, which the global mode forbids
            self._stream.begin_capture(mode=cupy.cuda.runtime.streamCaptureModeRelaxed)
        _current[0] = self

    def capture_end(self):
        if _current[0] is not self:
            raise RuntimeError("CUDAGraph.capture_end: this graph is not being captured")
        _current[0] = None
        if simulated():
            self._recording = sim_array.end_capture()
        else:
            try:
                self._graph = self._stream.end_capture()
            finally:
                self._stream.__exit__(None, None, None)
                self._allocator.__exit__(None, None, None)

    def _abort(self):
        """End a capture that raised: restore what it wrote, keep nothing."""
        _current[0] = None
        if simulated():
            sim_array.end_capture()
        else:
            try:
                self._stream.end_capture()
            except Exception:
                pass
            self._stream.__exit__(None, None, None)
            self._allocator.__exit__(None, None, None)
            self._pool = self._stream = None

    def replay(self):
        """Run the captured work again, on the buffers it was captured with: one graph launch,
        which a profile records as one "graph" event (the kernels in it are not launched one
        by one, so they are not events of their own)."""
        if _current[0] is not None:
            raise RuntimeError("CUDAGraph.replay: can't replay during a capture")
        if self._recording is not None:
            profiler.record_device("graph", "cudaGraphLaunch", "cuda", np, sim_array.replay, self._recording.ops)
        elif self._graph is not None:
            import cupy
            profiler.record_device("graph", "cudaGraphLaunch", "cuda", cupy, self._launch)
        else:
            raise RuntimeError("CUDAGraph.replay: nothing captured yet (use `with gpugrad.cuda.graph(g): ...`)")

    def _launch(self):
        import cupy
        current = cupy.cuda.get_current_stream()
        self._stream.wait_event(current.record())  # e.g. static_x.copy_(x) on the current stream
        self._graph.launch(self._stream)
        current.wait_event(self._stream.record())

    def reset(self):
        """Drop the captured work and its memory."""
        self._recording = self._graph = self._pool = self._stream = None

    def pool(self):
        """The memory pool the capture allocated from (pass it to another capture to share it)."""
        return self._pool


@contextlib.contextmanager
def graph(cuda_graph, pool=None, stream=None, capture_error_mode="global"):
    """Capture the block into `cuda_graph` (torch.cuda.graph): the block's work is recorded, not
    run; cuda_graph.replay() runs it. A host synchronisation inside the block raises."""
    if not isinstance(cuda_graph, CUDAGraph):
        raise TypeError(f"graph: expected a gpugrad.cuda.CUDAGraph, got {type(cuda_graph).__name__}")
    from .. import algorithms
    cuda_graph.capture_begin(pool)
    try:
        with algorithms.capturable():
            yield cuda_graph
    except BaseException:
        cuda_graph._abort()
        raise
    cuda_graph.capture_end()


def _make_rng_states():
    """The device generators (counter_rng) dropout draws from while capturing, made now so that
    making them is not captured (a replay would reset them)."""
    from .. import BACKENDS, counter_rng
    for backend in list(BACKENDS.values()):
        if backend.name.startswith("cuda"):
            counter_rng.state(backend)


def _load_kernels():
    """Compile and load every kernel before a capture (module loading can't be captured); the
    emulator can, so simulation skips this."""
    if simulated():
        return
    from .. import BACKENDS
    for backend in list(BACKENDS.values()):
        if backend.name.startswith("cuda"):
            load = getattr(backend.kernels, "load_all", None)
            if load is not None:
                load()
