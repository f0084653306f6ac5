"""The dtypes gpugrad supports, and its promotion rule.

dtypes are plain NumPy dtype objects, so they pass straight to NumPy and CuPy.
Promotion is PyTorch's: within floats and within bool < uint8 < int32 < int64 the wider wins
(uint8 + int64 -> int64, float16 + float32 -> float32); between an integer and a float tensor
the float wins (int32 + float16 -> float16, int64 + float32 -> float32, not NumPy's float64).
float16 is a storage dtype: kernels without a half path compute in float32 (`compute`).
Python scalars are "weak": they take the tensor's dtype (a float scalar with an int tensor
gives the default float dtype).
"""
import numpy as np

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
uint8 = np.dtype("uint8")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")
default_float = float32

SUPPORTED = (float16, float32, float64, uint8, int32, int64, bool_)


def canonical(dtype):
    """Map a requested dtype (np.dtype, type, str) to a supported one, or raise TypeError."""
    if dtype is float:
        return default_float
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    dt = np.dtype(dtype)
    if dt not in SUPPORTED:
        raise TypeError(f"unsupported dtype {dt}; gpugrad supports float16, float32, float64, uint8, "
                        "int32, int64 and bool")
    return dt


def of_array(arr):
    """The supported dtype an incoming NumPy array maps to (its own, else int8 -> int64,
    longdouble -> float32)."""
    if arr.dtype in SUPPORTED:
        return arr.dtype
    kind = arr.dtype.kind
    if kind in "iu":
        return int64
    if kind == "f":
        return float32
    raise TypeError(f"cannot make a tensor from an array of dtype {arr.dtype}")


def is_float(dtype):
    return dtype.kind == "f"


def promote(a, b):
    """Result dtype of a binary op between two tensor dtypes."""
    if is_float(a) != is_float(b):
        return a if is_float(a) else b
    return np.promote_types(a, b)


def compute(dtype):
    """The dtype a kernel without a half path computes in for `dtype` (float16 -> float32)."""
    return float32 if dtype == float16 else dtype


def _category(dtype):
    return 2 if is_float(dtype) else 0 if dtype == bool_ else 1


def result_type(a, b):
    """Result dtype of a binary op between tensors a and b (PyTorch's torch.result_type): a 0-dim
    tensor counts against one with dims only when of a higher category (bool < integer < float),
    so `half_tensor * tensor(2.0)` stays float16 and `uint8_tensor + tensor(5)` stays uint8."""
    if (a.ndim == 0) == (b.ndim == 0):
        return promote(a.dtype, b.dtype)
    dim, zero = (b.dtype, a.dtype) if a.ndim == 0 else (a.dtype, b.dtype)
    return promote(dim, zero) if _category(zero) > _category(dim) else dim


def to_float(dtype):
    """The float dtype a float-only op computes in for an input of `dtype`."""
    return dtype if is_float(dtype) else default_float
