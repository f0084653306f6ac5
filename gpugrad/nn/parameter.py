"""Parameter: a tensor a Module registers as learnable (a leaf that requires grad by default)."""
from ..creation import empty
from ..tensor import Tensor


class Parameter(Tensor):
    """Wraps `data` without copying: the parameter shares its array and version counter."""

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = empty(0)
        elif not isinstance(data, Tensor):
            data = Tensor(data)
        self._init(data._data, data.device, None, data._version)
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def zero_grads(params, set_to_none=True):
    """Drop (or zero in place) each parameter's .grad: Module.zero_grad and Optimizer.zero_grad."""
    for p in params:
        if p.grad is not None:
            if set_to_none:
                p.grad = None
            else:
                p.grad._assign(0)
