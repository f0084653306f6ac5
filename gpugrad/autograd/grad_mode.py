"""Whether operations record a graph: no_grad / enable_grad / set_grad_enabled.

Each is a context manager and a decorator; the flag is per thread.
"""
import functools
import threading

_state = threading.local()


def is_grad_enabled():
    return getattr(_state, "enabled", True)


class set_grad_enabled:
    """`with set_grad_enabled(mode):` records a graph only if `mode` is true."""

    def __init__(self, mode):
        self.mode = bool(mode)

    def __enter__(self):
        self._prev = is_grad_enabled()
        _state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self.mode):
                return fn(*args, **kwargs)
        return wrapper


class no_grad(set_grad_enabled):
    """`with gpugrad.no_grad():` or `@gpugrad.no_grad()`: record nothing."""

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Record a graph again, even inside no_grad."""

    def __init__(self):
        super().__init__(True)


class inference_mode(set_grad_enabled):
    """`with gpugrad.inference_mode():`, `@gpugrad.inference_mode()` or `@gpugrad.inference_mode`:
    record nothing (gpugrad's no_grad; PyTorch's extra inference-tensor restrictions don't apply)."""

    def __new__(cls, mode=True):
        if callable(mode):  # used as a bare decorator
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        super().__init__(not mode)
        self.inference = bool(mode)

    def __enter__(self):
        self._prev_inference = is_inference_mode_enabled()
        _state.inference = self.inference
        return super().__enter__()

    def __exit__(self, *exc):
        _state.inference = self._prev_inference
        return super().__exit__(*exc)


def is_inference_mode_enabled():
    return getattr(_state, "inference", False)
