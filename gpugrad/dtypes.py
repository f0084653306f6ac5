"""The four dtypes gpugrad supports, and its promotion rule.

dtypes are plain NumPy dtype objects, so they pass straight to NumPy and CuPy.
Promotion follows NumPy between floats (float32 + float64 -> float64) and PyTorch
between an integer and a float tensor (int64 + float32 -> float32, not NumPy's float64).
Python scalars are "weak": they take the tensor's dtype (a float scalar with an int tensor
gives the default float dtype).
"""
import numpy as np

float32 = np.dtype("float32")
float64 = np.dtype("float64")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")
default_float = float32

SUPPORTED = (float32, float64, int64, bool_)


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
        raise TypeError(f"unsupported dtype {dt}; gpugrad supports float32, float64, int64 and bool")
    return dt


def of_array(arr):
    """The supported dtype an incoming NumPy array maps to (float16 -> float32, int8 -> int64)."""
    kind = arr.dtype.kind
    if kind == "b":
        return bool_
    if kind in "iu":
        return int64
    if kind == "f":
        return float64 if arr.dtype == float64 else float32
    raise TypeError(f"cannot make a tensor from an array of dtype {arr.dtype}")


def is_float(dtype):
    return dtype.kind == "f"


def promote(a, b):
    """Result dtype of a binary op between two tensor dtypes."""
    if is_float(a) != is_float(b):
        return a if is_float(a) else b
    return np.promote_types(a, b)


def to_float(dtype):
    """The float dtype a float-only op computes in for an input of `dtype`."""
    return dtype if is_float(dtype) else default_float
