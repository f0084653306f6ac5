"""Value: the scalar front end (the Value engine of ToyGrad's "Explanation of the AutoGrad
Algorithm", micrograd's API) on the same Tensor engine.

A Value wraps a 0-d float64 tensor; `.data` and `.grad` read as Python floats. There is no
second engine: arithmetic builds Tensor graph nodes and `.backward()` runs the shared one.
"""
from .dtypes import float64
from .tensor import Tensor


class Value:
    __slots__ = ("t",)

    def __init__(self, data):
        if isinstance(data, Tensor):
            self.t = data
        else:
            self.t = Tensor(float(data), dtype=float64, requires_grad=True)
        if self.t.grad_fn is not None:
            self.t.retain_grad()

    @property
    def data(self):
        return float(self.t._data)

    @data.setter
    def data(self, value):
        self.t._assign(value)

    @property
    def grad(self):
        return 0.0 if self.t.grad is None else float(self.t.grad._data)

    @grad.setter
    def grad(self, value):
        self.t.grad = None if value == 0 else Tensor(float(value), dtype=float64)

    def _wrap(self, other):
        return other.t if isinstance(other, Value) else other

    def __add__(self, other): return Value(self.t + self._wrap(other))          # noqa: E704
    def __radd__(self, other): return Value(self._wrap(other) + self.t)         # noqa: E704
    def __sub__(self, other): return Value(self.t - self._wrap(other))          # noqa: E704
    def __rsub__(self, other): return Value(self._wrap(other) - self.t)         # noqa: E704
    def __mul__(self, other): return Value(self.t * self._wrap(other))          # noqa: E704
    def __rmul__(self, other): return Value(self._wrap(other) * self.t)         # noqa: E704
    def __truediv__(self, other): return Value(self.t / self._wrap(other))      # noqa: E704
    def __rtruediv__(self, other): return Value(self._wrap(other) / self.t)     # noqa: E704
    def __pow__(self, other): return Value(self.t ** self._wrap(other))         # noqa: E704
    def __neg__(self): return Value(-self.t)                                    # noqa: E704

    def relu(self): return Value(self.t.relu())                                 # noqa: E704
    def tanh(self): return Value(self.t.tanh())                                 # noqa: E704
    def exp(self): return Value(self.t.exp())                                   # noqa: E704
    def log(self): return Value(self.t.log())                                   # noqa: E704

    def backward(self):
        """d(self)/d(every Value it was computed from), into their .grad."""
        self.t.backward()

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"
