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
