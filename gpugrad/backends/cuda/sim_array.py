"""The simulated device's arrays, and how the simulated device captures a CUDA graph.

Under GPUGRAD_CUDA_SIM every cuda array is a SimArray: a NumPy array whose operations (ufuncs,
NumPy functions, the copying and in-place methods, creation through the backend's `xp`, kernel
launches) pass through one hook. Outside a capture the hook only keeps results SimArrays.
During a capture it records each operation with its argument and result arrays; replay re-runs
the recorded operations in order, each writing into the very buffer it wrote during capture, so
a replay is exactly the captured work on the same memory, as a CUDA graph is.

Capturing does not run the work, as on CUDA: NumPy needs to compute to know shapes, so the
capture computes, but every array that existed before the capture is copied before its first
write and restored when the capture ends. Arrays born during the capture are the graph's
private pool, kept alive by the graph. Reading device data on the host during a capture
(`float`, `bool`, `.item()`, `.tolist()`, a copy to the host) raises, as a stream capture does.
"""
import contextlib
import types

import numpy as np

_capture = [None]  # the _Recorder of the capture in progress, if any
_depth = [0]       # > 0 while inside a hooked operation or a replay: nothing is recorded there
_reached = [()]    # arrays the launches in through_pointers() reach through a table of addresses


class CaptureError(RuntimeError):
    """An operation that cannot be captured in a CUDA graph (a host synchronisation)."""


def capturing():
    return _capture[0] is not None


def refuse_host_sync(op):
    """Raise if a capture is in progress: `op` would read device data on the host."""
    if _capture[0] is not None:
        raise CaptureError(f"{op} during CUDA graph capture: it synchronises with the host (reads device "
                           "data), which a CUDA graph cannot contain; move it out of the captured region")


def _root(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _plain(a):
    return a.view(np.ndarray) if isinstance(a, SimArray) else a


def _unwrap(x):
    if isinstance(x, SimArray):
        return x.view(np.ndarray)
    if isinstance(x, tuple):
        return tuple(_unwrap(v) for v in x)
    if isinstance(x, list):
        return [_unwrap(v) for v in x]
    return x


def _wrap(x):
    """Results as SimArrays; a NumPy scalar as a 0-d SimArray (CuPy's reductions give 0-d arrays)."""
    if isinstance(x, np.ndarray):
        return x if isinstance(x, SimArray) else x.view(SimArray)
    if isinstance(x, np.generic):
        return np.asarray(x).view(SimArray)
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


def _arrays(x):
    if isinstance(x, np.ndarray):
        yield x
    elif isinstance(x, (tuple, list)):
        for v in x:
            yield from _arrays(v)
    elif isinstance(x, dict):
        for v in x.values():
            yield from _arrays(v)


class _Recorder:
    """One capture: the recorded operations, the pool of arrays born in it, the snapshots of
    the arrays it wrote that existed before it."""

    def __init__(self):
        self.ops = []
        self.pool = {}       # id(root) -> root, arrays allocated during the capture
        self.snapshots = {}  # id(root) -> (root, its contents before the capture wrote it)

    def before_write(self, targets):
        for t in _arrays(targets):
            root = _root(t)
            key = id(root)
            if key not in self.pool and key not in self.snapshots:
                self.snapshots[key] = (root, np.array(root, copy=True, subok=False))

    def born(self, result, args):
        arg_roots = {id(_root(a)) for a in _arrays(args)}
        for r in _arrays(result):
            root = _root(r)
            if id(root) not in arg_roots:
                self.pool.setdefault(id(root), root)

    def restore(self):
        for root, saved in self.snapshots.values():
            np.copyto(root.view(np.ndarray), saved)
        self.snapshots.clear()


def _replay_one(fn, args, kwargs, result):
    new = _wrap(fn(*args, **kwargs))  # a NumPy scalar (a 0-d result) as an array too
    for old, fresh in zip(_arrays(result), _arrays(new)):
        if fresh is not old and _root(fresh) is not _root(old):
            np.copyto(old.view(np.ndarray), fresh)


def replay(ops):
    _depth[0] += 1
    try:
        for op in ops:
            _replay_one(*op)
    finally:
        _depth[0] -= 1


def hooked(fn, args, kwargs, writes=(), record=True):
    """Run fn(*args, **kwargs) (on plain arrays), results as SimArrays; during a capture, record it."""
    rec = _capture[0]
    if rec is None or _depth[0]:
        _depth[0] += 1
        try:
            return _wrap(fn(*args, **kwargs))
        finally:
            _depth[0] -= 1
    rec.before_write(writes)
    _depth[0] += 1
    try:
        result = _wrap(fn(*args, **kwargs))
    finally:
        _depth[0] -= 1
    if record:
        rec.ops.append((fn, args, kwargs, result))
    rec.born(result, (args, kwargs))
    return result


def _method(name, writes_self=False):
    """A hooked ndarray method: in-place ones are recorded with their target; the others are
    recorded when they allocate (a copy), not when they return a view."""
    base = getattr(np.ndarray, name)

    def call(a, *args, **kwargs):
        return base(_plain(a), *_unwrap(args), **kwargs)

    def method(self, *args, **kwargs):
        if writes_self:
            return hooked(call, (self, *args), kwargs, writes=self)
        rec = _capture[0]
        if rec is None or _depth[0]:
            return _wrap(base(self, *args, **kwargs))
        result = _wrap(call(self, *args, **kwargs))
        if isinstance(result, np.ndarray) and _root(result) is _root(self):
            return result  # a view: nothing to replay
        rec.ops.append((call, (self, *args), kwargs, result))
        rec.born(result, (self, args, kwargs))
        return result

    method.__name__ = name
    return method


class SimArray(np.ndarray):
    """A NumPy array on the simulated CUDA device (see the module docstring)."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out", ())
        writes = list(out) if out else []
        if method == "at":
            writes.append(inputs[0])

        def run(*ins, **kw):
            outs = kw.get("out")
            if outs:
                kw = dict(kw, out=tuple(_plain(o) for o in outs))
            res = getattr(ufunc, method)(*(_plain(i) for i in ins), **kw)
            if outs and method != "at" and all(o is not None for o in outs):
                return outs[0] if len(outs) == 1 else outs
            return res

        return hooked(run, inputs, kwargs, writes=writes)

    def __array_function__(self, func, types_, args, kwargs):
        writes = []
        if "out" in kwargs and kwargs["out"] is not None:
            writes.append(kwargs["out"])
        if func.__name__ in _WRITES_FIRST:
            writes.append(args[0])

        def run(*a, **k):
            return func(*_unwrap(a), **{n: _unwrap(v) for n, v in k.items()})

        return hooked(run, args, kwargs, writes=writes)

    def __setitem__(self, index, value):
        hooked(_setitem, (self, index, value), {}, writes=self)

    def __getitem__(self, index):
        return _getitem(self, index)

    def __repr__(self):
        if _capture[0] is not None:
            return f"<cuda array {self.shape} {self.dtype}, being captured>"
        return np.ndarray.__repr__(self.view(np.ndarray))

    __str__ = __repr__


def _host_read(name, op):
    """An ndarray method that reads device data on the host: refused during a capture."""
    base = getattr(np.ndarray, name)

    def method(self, *args):
        refuse_host_sync(op)
        return base(self, *args)
    method.__name__ = name
    return method


for _name, _op in (("item", "item()"), ("tolist", "tolist()"), ("tobytes", "tobytes()"),
                   ("__float__", "float() of a device value"), ("__int__", "int() of a device value"),
                   ("__bool__", "bool() of a device value (e.g. `if mask.any():`)"),
                   ("__index__", "using a device value as an index")):
    setattr(SimArray, _name, _host_read(_name, _op))

_WRITES_FIRST = {"copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis"}


def _setitem(a, index, value):
    np.ndarray.__setitem__(_plain(a), _unwrap(index), _plain(value))


def _getitem(a, index):
    if _capture[0] is None or _depth[0]:
        return _wrap(np.ndarray.__getitem__(a, index))
    result = np.ndarray.__getitem__(a.view(np.ndarray), _unwrap(index))
    if isinstance(result, np.ndarray) and _root(result) is _root(a):
        return result.view(SimArray)  # basic indexing: a view, nothing to replay
    wrapped = _wrap(result)
    rec = _capture[0]
    rec.ops.append((_getitem_plain, (a, index), {}, wrapped))
    rec.born(wrapped, (a, index))
    return wrapped


def _getitem_plain(a, index):
    return np.ndarray.__getitem__(a.view(np.ndarray), _unwrap(index))


# The ndarray methods that allocate (a copy) or write in place without a ufunc; views,
# reductions (ufuncs) and metadata need no hook.
for _name in ("copy", "astype", "reshape", "ravel", "flatten", "take", "repeat", "argmax", "argmin",
              "argsort", "cumsum", "cumprod", "dot", "nonzero", "round", "transpose", "squeeze",
              "swapaxes", "diagonal", "compress", "searchsorted", "trace"):
    setattr(SimArray, _name, _method(_name))
for _name in ("fill", "sort", "put", "itemset", "partition"):
    if hasattr(np.ndarray, _name):
        setattr(SimArray, _name, _method(_name, writes_self=True))


def launch(kernel, grid, block, args, **kwargs):
    """A RawKernel launch on the emulator: recorded during a capture (it may write any array it is
    given or reaches through_pointers()), run through the emulator on plain arrays."""
    def run(g, b, a, **k):
        return kernel(g, b, tuple(_plain(v) for v in a), **k)
    writes = [a for a in args if isinstance(a, np.ndarray)] + list(_reached[0])
    return hooked(run, (grid, block, tuple(args)), kwargs, writes=writes)


@contextlib.contextmanager
def through_pointers(arrays):
    """The kernels launched in the block may write `arrays` through addresses held in another
    array, which a capture can't see: it treats them as written (to restore them at its end)."""
    saved, _reached[0] = _reached[0], tuple(arrays)
    try:
        yield
    finally:
        _reached[0] = saved


def _creation(fn):
    def made(*args, **kwargs):
        return hooked(lambda *a, **k: fn(*_unwrap(a), **{n: _unwrap(v) for n, v in k.items()}),
                      args, kwargs, record=fn.__name__ not in ("empty", "empty_like"))
    made.__name__ = getattr(fn, "__name__", "fn")
    return made


class SimNumPy(types.ModuleType):
    """NumPy as the simulated CUDA backend's xp: what it makes is a SimArray."""

    def __init__(self):
        super().__init__("numpy")
        self._cache = {}

    def __getattr__(self, name):
        attr = getattr(np, name)
        if (callable(attr) and not isinstance(attr, (type, np.ufunc))
                and not isinstance(attr, types.ModuleType)):
            wrapped = self._cache.get(name)
            if wrapped is None:
                wrapped = self._cache[name] = _creation(attr)
            return wrapped
        return attr


sim_numpy = SimNumPy()


def begin_capture():
    if _capture[0] is not None:
        raise RuntimeError("a CUDA graph capture is already in progress (captures don't nest)")
    _capture[0] = _Recorder()


def end_capture():
    rec, _capture[0] = _capture[0], None
    rec.restore()
    return rec
