"""Making tensors: gpugrad.tensor, zeros, ones, full, empty, arange, eye, linspace, *_like."""
import numpy as np

from . import dtypes
from .backends import get_backend
from .device import as_device
from .tensor import Tensor


def _to_array(data, dtype, dev):
    """A fresh backend array holding `data` (always a copy, like torch.tensor)."""
    backend = get_backend(dev)
    if isinstance(data, Tensor):
        host = data.backend.to_host(data._data)
    elif type(data).__module__.startswith("cupy"):
        host = data.get()
    else:
        host = np.asarray(data)
    from_python = not isinstance(data, (np.ndarray, np.generic, Tensor)) and host.dtype.kind in "uOf"
    big = _int_beyond_int64(data) if from_python else None  # NumPy made it uint64, object or float
    if big is not None and (dtype is None or dtypes.canonical(dtype) == dtypes.int64):
        raise ValueError(f"tensor: the integer {big} does not fit in int64 (overflow)")
    if dtype is not None:
        dt = dtypes.canonical(dtype)
    elif isinstance(data, (np.ndarray, np.generic, Tensor)) or host.dtype.kind not in "f":
        dt = dtypes.of_array(host)
    else:
        dt = dtypes.default_float  # Python floats become float32, as in PyTorch
    if dt == dtypes.int64 and host.dtype.kind == "u" and host.size and host.max() > _INT64_MAX:
        raise ValueError(f"tensor: the {host.dtype} value {host.max()} does not fit in int64 (overflow)")
    python_ints = not isinstance(data, (np.ndarray, np.generic, Tensor)) and host.dtype.kind in "iu"
    if python_ints and dt in (dtypes.uint8, dtypes.int32) and host.size:
        info = np.iinfo(dt)
        if host.min() < info.min or host.max() > info.max:
            bad = host.min() if host.min() < info.min else host.max()
            raise RuntimeError(f"tensor: value {bad} cannot be converted to type {dt} without overflow")
    return backend.xp.array(host, dtype=dt, copy=True)


_INT64_MAX = int(np.iinfo(np.int64).max)


def _int_beyond_int64(data):
    """The first integer outside int64 in nested lists of Python numbers that are all integers
    (the data of an int64 tensor), else None: NumPy would wrap it round or make it a float."""
    found, stack = None, [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
            if found is None and not -_INT64_MAX - 1 <= x <= _INT64_MAX:
                found = x
        elif not isinstance(x, (bool, np.bool_)):
            return None  # a float (or anything else): not an integer tensor
    return found


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"sizes must be non-negative integers, got {tuple(size)}")
    return tuple(int(s) for s in size)


def _new(fill, size, dtype, device, requires_grad):
    dev = as_device(device)
    dt = dtypes.canonical(dtype) if dtype is not None else dtypes.default_float
    t = Tensor._make(fill(get_backend(dev).xp, _shape(size), dt), dev)
    t.requires_grad = requires_grad
    return t


def tensor(data, dtype=None, device="cpu", requires_grad=False):
    """A tensor holding a copy of `data` (nested lists, scalars, arrays, tensors)."""
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def from_numpy(arr):
    """A CPU tensor sharing memory with the NumPy array `arr` (its dtype must be supported)."""
    dt = dtypes.canonical(arr.dtype)
    return Tensor._make(np.asarray(arr, dtype=dt), as_device("cpu"))


_DLPACK_CPU, _DLPACK_CUDA = 1, 2


def from_dlpack(obj):
    """A tensor sharing memory with any DLPack exporter (PyTorch, NumPy, CuPy, JAX tensors)."""
    kind, index = obj.__dlpack_device__()
    if kind == _DLPACK_CPU:
        arr, dev = np.from_dlpack(obj), as_device("cpu")
    elif kind == _DLPACK_CUDA:
        import cupy
        arr, dev = cupy.from_dlpack(obj), as_device(f"cuda:{index}")
    else:
        raise TypeError(f"from_dlpack: unsupported DLPack device type {kind}; gpugrad has cpu and cuda")
    get_backend(dev)  # a clear error where cuda is unusable
    return Tensor._make(arr.astype(dtypes.canonical(arr.dtype), copy=False), dev)


def zeros(*size, dtype=None, device="cpu", requires_grad=False):
    return _new(lambda xp, s, dt: xp.zeros(s, dt), size, dtype, device, requires_grad)


def ones(*size, dtype=None, device="cpu", requires_grad=False):
    return _new(lambda xp, s, dt: xp.ones(s, dt), size, dtype, device, requires_grad)


def empty(*size, dtype=None, device="cpu", requires_grad=False):
    return _new(lambda xp, s, dt: xp.empty(s, dt), size, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device="cpu", requires_grad=False):
    if dtype is None and not isinstance(fill_value, float):
        dtype = dtypes.bool_ if isinstance(fill_value, bool) else dtypes.int64
    return _new(lambda xp, s, dt: xp.full(s, fill_value, dt), (size,), dtype, device, requires_grad)


def eye(n, m=None, dtype=None, device="cpu", requires_grad=False):
    return _new(lambda xp, s, dt: xp.eye(n, m, dtype=dt), (), dtype, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device="cpu", requires_grad=False):
    """Like torch.arange: int64 when start, end and step are all integers, else float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = dtypes.int64 if ints else dtypes.default_float
    return _new(lambda xp, s, dt: xp.arange(start, end, step, dtype=dt), (), dtype, device, requires_grad)


def linspace(start, end, steps, dtype=None, device="cpu", requires_grad=False):
    """`steps` evenly spaced values from start to end; an integer dtype truncates them toward
    zero, as PyTorch does (NumPy floors)."""
    def make(xp, _, dt):
        if dt.kind == "f":
            return xp.linspace(start, end, steps, dtype=dt)
        return xp.trunc(xp.linspace(start, end, steps, dtype="float64")).astype(dt)
    return _new(make, (), dtype, device, requires_grad)


def _like(maker, t, dtype, device, requires_grad, *extra):
    return maker(t.shape, *extra, dtype=dtype or t.dtype, device=device or t.device,
                 requires_grad=requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad=False):
    return _like(zeros, t, dtype, device, requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False):
    return _like(ones, t, dtype, device, requires_grad)


def empty_like(t, dtype=None, device=None, requires_grad=False):
    return _like(empty, t, dtype, device, requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)
