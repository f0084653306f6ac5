"""Reading IDX files (MNIST's format), gzip-compressed or raw, with checks that name the file.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dims), one
big-endian uint32 per dim, then the values big-endian, row-major.
"""
import gzip
import os
import zlib

import numpy as np

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class IDXError(ValueError):
    """A missing piece or a mismatch in an IDX file; the message names the file."""


def _read_bytes(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise IDXError(f"{path}: corrupt or truncated gzip data ({e})") from None


def read_idx(path):
    """The array stored in IDX file `path` (native byte order)."""
    path = os.fspath(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _TYPES:
        raise IDXError(f"{path}: bad magic number {data[:4].hex() or '(empty file)'}; "
                       "not an IDX file (expected 0000 then a type code 08-0e and the dim count)")
    dtype, ndim = np.dtype(_TYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXError(f"{path}: truncated header ({len(data)} bytes, {ndim} dims need {header})")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, 4))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise IDXError(f"{path}: size mismatch: the header says shape {shape} ({expected} bytes) "
                       f"but the data holds {len(data)} bytes (truncated or corrupt)")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))
