"""Binds the ops as Tensor methods and operators (kept apart so tensor.py need not import ops)."""
from . import dtypes
from .device import cuda_device
from .ops import activation, convert, elementwise as ew, index, inplace, join, matmul, reduce, shape, unary
from .tensor import Tensor


def _reflect(fn):
    return lambda self, other: fn(other, self)


def _augmented(inplace_op, op):
    """x += y: in place (like PyTorch) when no graph needs recording, else x = x + y, because
    gpugrad does not differentiate in-place ops."""
    def method(self, other):
        from .autograd.grad_mode import is_grad_enabled
        if is_grad_enabled() and (self.requires_grad or getattr(other, "requires_grad", False)):
            return op(self, other)
        return inplace_op(self, other)
    return method


def _cmp(op):
    return lambda self, other: ew.compare(self, other, op)


METHODS = {
    # arithmetic and comparisons
    "__add__": ew.add, "__radd__": _reflect(ew.add), "__sub__": ew.sub, "__rsub__": _reflect(ew.sub),
    "__mul__": ew.mul, "__rmul__": _reflect(ew.mul), "__truediv__": ew.div,
    "__rtruediv__": _reflect(ew.div), "__pow__": ew.pow, "__rpow__": _reflect(ew.pow),
    "__matmul__": matmul.matmul, "__rmatmul__": _reflect(matmul.matmul), "__neg__": ew.neg,
    "__pos__": lambda self: self, "__abs__": unary.abs,
    "__lt__": _cmp("__lt__"), "__le__": _cmp("__le__"), "__gt__": _cmp("__gt__"),
    "__ge__": _cmp("__ge__"), "__eq__": _cmp("__eq__"), "__ne__": _cmp("__ne__"),
    "__iadd__": _augmented(inplace.add_, ew.add), "__isub__": _augmented(inplace.sub_, ew.sub),
    "__imul__": _augmented(inplace.mul_, ew.mul), "__itruediv__": _augmented(inplace.div_, ew.div),
    "__getitem__": index.getitem, "__setitem__": inplace.setitem,
    "add": ew.add, "sub": ew.sub, "mul": ew.mul, "div": ew.div, "pow": ew.pow, "neg": ew.neg,
    "maximum": ew.maximum, "minimum": ew.minimum, "matmul": matmul.matmul, "mm": matmul.mm,
    # elementwise math and activations
    "abs": unary.abs, "exp": unary.exp, "log": unary.log, "sqrt": unary.sqrt, "sin": unary.sin,
    "cos": unary.cos, "tanh": unary.tanh, "sigmoid": unary.sigmoid, "relu": activation.relu,
    "clamp": activation.clamp, "clip": activation.clamp,
    # reductions
    "sum": reduce.sum, "mean": reduce.mean, "max": reduce.max, "min": reduce.min, "amax": reduce.amax,
    "amin": reduce.amin, "prod": reduce.prod, "var": reduce.var, "std": reduce.std,
    "argmax": reduce.argmax, "argmin": reduce.argmin, "logsumexp": reduce.logsumexp,
    "softmax": reduce.softmax, "log_softmax": reduce.log_softmax,
    # shapes
    "reshape": shape.reshape, "view": shape.view, "flatten": shape.flatten,
    "unsqueeze": shape.unsqueeze, "squeeze": shape.squeeze, "permute": shape.permute,
    "transpose": shape.transpose, "expand": shape.expand, "contiguous": shape.contiguous,
    "clone": shape.clone, "split": join.split, "chunk": join.chunk,
    "expand_as": lambda self, other: shape.expand(self, other.shape),
    "view_as": lambda self, other: shape.view(self, other.shape),
    # dtypes and devices
    "to": convert.to, "cpu": lambda self: convert.to(self, "cpu"),
    "cuda": lambda self, device=None: convert.to(self, cuda_device(device)),
    "float": lambda self: convert.to(self, "float32"), "double": lambda self: convert.to(self, "float64"),
    "long": lambda self: convert.to(self, "int64"), "bool": lambda self: convert.to(self, "bool"),
    "half": lambda self: convert.to(self, "float16"), "int": lambda self: convert.to(self, "int32"),
    "byte": lambda self: convert.to(self, "uint8"),
    "is_floating_point": lambda self: dtypes.is_float(self.dtype),
    "type_as": lambda self, other: convert.to(self, other.dtype),
}
METHODS.update({name: getattr(inplace, name) for name in inplace.__all__ if name != "setitem"})

for _name, _fn in METHODS.items():
    setattr(Tensor, _name, _fn)
Tensor.T = property(shape.t_)
Tensor.mT = property(lambda self: shape.transpose(self, -2, -1))

# --- the wider PyTorch surface: indexing along a dim, ordering, scans, layout, more math -----
from .ops import gather, inplace_math, layout, pointwise as pw, scan, sort  # noqa: E402

_TYPE_NAMES = {"float16": "HalfTensor", "float32": "FloatTensor", "float64": "DoubleTensor",
               "uint8": "ByteTensor", "int32": "IntTensor", "int64": "LongTensor", "bool": "BoolTensor"}


def _type(self, dtype=None):
    """x.type() names the tensor type; x.type(dtype) converts, as in PyTorch."""
    if dtype is None:
        prefix = "gpugrad." if self.device.type == "cpu" else "gpugrad.cuda."
        return prefix + _TYPE_NAMES[str(self.dtype)]
    return convert.to(self, dtype)


MORE_METHODS = {
    "gather": gather.gather, "scatter": gather.scatter, "scatter_add": gather.scatter_add,
    "index_select": gather.index_select, "masked_fill": gather.masked_fill,
    "masked_select": gather.masked_select,
    "sort": sort.sort, "argsort": sort.argsort, "topk": sort.topk,
    "cumsum": scan.cumsum, "cumprod": scan.cumprod,
    "flip": layout.flip, "roll": layout.roll, "tril": layout.tril, "triu": layout.triu,
    "repeat": layout.repeat, "tile": layout.tile, "unfold": layout.unfold, "t": layout.t,
    "all": pw.all, "any": pw.any, "isnan": pw.isnan, "isinf": pw.isinf, "isfinite": pw.isfinite,
    "isclose": pw.isclose, "allclose": pw.allclose,
    "floor": pw.floor, "ceil": pw.ceil, "round": pw.round, "trunc": pw.trunc, "sign": pw.sign,
    "log2": pw.log2, "log1p": pw.log1p, "expm1": pw.expm1, "rsqrt": pw.rsqrt,
    "reciprocal": pw.reciprocal, "square": pw.square, "erf": pw.erf,
    "remainder": pw.remainder, "floor_divide": pw.floor_divide,
    "__mod__": pw.remainder, "__rmod__": _reflect(pw.remainder),
    "__floordiv__": pw.floor_divide, "__rfloordiv__": _reflect(pw.floor_divide),
    "__and__": pw.bitwise_and, "__rand__": _reflect(pw.bitwise_and),
    "__or__": pw.bitwise_or, "__ror__": _reflect(pw.bitwise_or),
    "__xor__": pw.bitwise_xor, "__rxor__": _reflect(pw.bitwise_xor), "__invert__": pw.bitwise_not,
    "bitwise_and": pw.bitwise_and, "bitwise_or": pw.bitwise_or, "bitwise_xor": pw.bitwise_xor,
    "bitwise_not": pw.bitwise_not, "logical_not": pw.logical_not,
    "eq": _cmp("__eq__"), "ne": _cmp("__ne__"), "lt": _cmp("__lt__"), "le": _cmp("__le__"),
    "gt": _cmp("__gt__"), "ge": _cmp("__ge__"),
    "type": _type,
}
MORE_METHODS.update({name: getattr(inplace_math, name) for name in inplace_math.__all__})

for _name, _fn in MORE_METHODS.items():
    setattr(Tensor, _name, _fn)

# autograd hooks (gpugrad.autograd.graph)
from .autograd import graph as _graph  # noqa: E402

Tensor.register_hook = _graph.register_hook
Tensor.register_post_accumulate_grad_hook = _graph.register_post_accumulate_grad_hook
Tensor.retains_grad = property(_graph.retains_grad)
