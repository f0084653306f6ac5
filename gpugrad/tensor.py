"""Tensor: an array on a device (NumPy on the CPU, CuPy on a GPU) plus its autograd record.

This module holds what a tensor *is*; the ops bound as its methods and operators live in
gpugrad/ops and are attached by gpugrad/tensor_methods.py.
"""
import numpy as np

from . import dtypes
from .backends import get_backend
from .device import as_device


class Version:
    """In-place modification counter, shared by a tensor and its views."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class Tensor:
    __array_priority__ = 1000  # ndarray <op> Tensor defers to the Tensor's reflected operator
    __hash__ = object.__hash__  # == is elementwise, so hash by identity

    def __init__(self, data, dtype=None, device="cpu", requires_grad=False):
        from .creation import _to_array
        dev = as_device(device)
        self._init(_to_array(data, dtype, dev), dev, None, None)
        self.requires_grad = requires_grad

    @classmethod
    def _make(cls, arr, device, grad_fn=None, version=None):
        """Wrap a backend array without copying (the ops' constructor)."""
        t = cls.__new__(cls)
        t._init(arr, device, grad_fn, version)
        return t

    def _init(self, arr, device, grad_fn, version):
        if arr.__class__ is np.ndarray and device.type == "cuda":  # simulated device: see sim_array
            from .backends.cuda.sim_array import SimArray
            arr = arr.view(SimArray)
        self._data = arr
        self.device = device
        self.grad_fn = grad_fn
        self._requires_grad = grad_fn is not None
        self._version = version if version is not None else Version()
        self.grad = None

    # --- what it is -------------------------------------------------------------------
    @property
    def shape(self):
        return tuple(self._data.shape)

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def backend(self):
        return get_backend(self.device)

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self):
        return self.ndim

    def numel(self):
        return int(self._data.size)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def is_contiguous(self):
        return bool(self._data.flags.c_contiguous)

    # --- autograd state ---------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if self.grad_fn is not None:
            if not value:
                raise RuntimeError("requires_grad can only be turned off on a leaf; use .detach()")
            return
        if value and not dtypes.is_float(self.dtype):
            raise RuntimeError(
                f"only floating point tensors can require gradients, got dtype {self.dtype}; "
                "convert with .float() first")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self.grad_fn is None

    def retain_grad(self):
        """Keep .grad for this non-leaf tensor after backward."""
        if self.grad_fn is not None:
            from .autograd.engine import watch
            watch(self)

    def detach(self):
        """The same storage, cut from the graph."""
        return Tensor._make(self._data, self.device, version=self._version)

    @property
    def data(self):
        return self.detach()

    @data.setter
    def data(self, other):
        self._data = other._data

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's .grad (PyTorch's Tensor.backward); with
        `inputs`, only into those tensors' .grad."""
        from .autograd.functional import backward
        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    # --- in-place changes: the only writes to _data outside ops' forwards and the backends ---
    def _bump_version(self):
        """Count an in-place change of the data, so backward refuses copies saved before it."""
        self._version.value += 1

    def _assign(self, value):
        """Overwrite every element with `value` (an array or a scalar), as one in-place change."""
        self._data[...] = value
        self._bump_version()

    def _accumulate(self, arr):
        """Add `arr` (same shape, dtype and device) in place: gradient accumulation."""
        self._data += arr
        self._bump_version()

    def _set_storage(self, other):
        """Take over `other`'s array and device, in place (Module.to moving a parameter)."""
        self._data, self.device = other._data, other.device
        self._bump_version()

    def _to_host(self, op):
        """A host copy of the data for `op`; refused during a CUDA graph capture."""
        if self.device.type == "cuda":
            from .backends.cuda.graphs import refuse_host_sync
            refuse_host_sync(f"Tensor.{op}" if op.endswith(")") else op)
        return self.backend.to_host(self._data)

    # --- leaving gpugrad --------------------------------------------------------------
    def numpy(self):
        """A NumPy copy on the host (never shares memory)."""
        if self.requires_grad:
            raise RuntimeError("can't call numpy() on a tensor that requires grad; use .detach().numpy()")
        return self._to_host("numpy()")

    def __dlpack__(self, **kwargs):
        """Export without a copy (DLPack), for torch.from_dlpack, np.from_dlpack, cupy, JAX."""
        if self.requires_grad:
            raise RuntimeError("can't export a tensor that requires grad through DLPack; use .detach()")
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def __array__(self, dtype=None, copy=None):
        arr = self._to_host("converting a tensor to a NumPy array")
        return arr if dtype is None else arr.astype(dtype)

    def item(self):
        if self.numel() != 1:
            raise ValueError(f"item(): a tensor with {self.numel()} elements (shape {self.shape}) "
                             "cannot be converted to a Python scalar")
        return self._to_host("item()").reshape(()).item()

    def tolist(self):
        return self._to_host("tolist()").tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(f"the truth value of a tensor with {self.numel()} elements is ambiguous")
        return bool(self.item())

    def __repr__(self):
        host = self._to_host("printing a tensor")
        body = np.array2string(host, separator=", ", prefix="tensor(", threshold=200,
                               precision=4 if dtypes.is_float(self.dtype) else 8)
        extras = []
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if self.dtype not in (dtypes.float32, dtypes.int64, dtypes.bool_) or (
                host.size == 0 and self.dtype != dtypes.float32):  # torch's rule: default dtypes unnamed
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"
