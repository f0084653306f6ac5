"""Moving between dtypes and devices: Tensor.to / .cpu() / .cuda() / .float() / ..."""
from .. import dtypes
from ..autograd import Function
from ..backends import get_backend
from ..device import as_device, device
from ..tensor import Tensor
from ._args import cast


class ToDevice(Function):
    """A copy to another device; the gradient is copied back."""

    changes_device = True

    @staticmethod
    def forward(ctx, x, device):
        ctx.source = ctx.device
        return get_backend(device).xp.asarray(ctx.backend.to_host(x))

    @staticmethod
    def backward(ctx, g):
        return to(g, ctx.source)


def _parse(args, kwargs):
    dev, dt = kwargs.pop("device", None), kwargs.pop("dtype", None)
    if kwargs:
        raise TypeError(f"to(): unexpected arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dev, dt = a.device, a.dtype
        elif isinstance(a, device) or isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda"):
            dev = a
        else:
            dt = a
    return (None if dev is None else as_device(dev)), (None if dt is None else dtypes.canonical(dt))


def to(x, *args, **kwargs):
    """x.to(dtype), x.to(device), x.to(device, dtype), x.to(other): a no-op when nothing changes."""
    dev, dt = _parse(args, kwargs)
    if dev is not None and dev != x.device:
        get_backend(dev)  # a clear error for a device with no backend
        x = ToDevice.apply(x, device=dev)
    return x if dt is None else cast(x, dt)
