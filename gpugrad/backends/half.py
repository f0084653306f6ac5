"""float16 storage on kernels without a half path: float16 arrays go in as float32 and the
float results come back as float16, so an op on half tensors computes in float32 and stores
half (PyTorch's CPU does the same for most half ops). Other dtypes pass straight through."""
import numpy as np

_HALF, _FLOAT = np.dtype(np.float16), np.dtype(np.float32)


class HalfKernels:
    """A backend's kernels, each call upcasting float16 operands. The kernel is looked up on
    every call, so a kernel replaced on the backend (a forced route, a test's spy) is the one run."""

    def __init__(self, backend):
        self._backend = backend

    def __getattr__(self, name):
        if not callable(getattr(self._backend.kernels, name)):
            return getattr(self._backend.kernels, name)

        def call(*args, **kwargs):
            fn = getattr(self._backend.kernels, name)
            if args[0].dtype != _HALF:  # every kernel's first operand has the op's float dtype
                return fn(*args, **kwargs)
            out = fn(*(_up(a) for a in args), **kwargs)
            return tuple(_down(o) for o in out) if isinstance(out, tuple) else _down(out)
        call.__name__ = name
        setattr(self, name, call)  # made once; later calls skip __getattr__
        return call


def _up(a):
    return a.astype(_FLOAT) if getattr(a, "dtype", None) == _HALF else a


def _down(a):
    return a.astype(_HALF) if getattr(a, "dtype", None) == _FLOAT else a


def kernels_for(backend):
    """`backend`'s kernels behind the float16 upcast, made once per backend."""
    if "half_kernels" not in backend.__dict__:
        backend.half_kernels = HalfKernels(backend)
    return backend.half_kernels
