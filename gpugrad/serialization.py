"""gpugrad.save / gpugrad.load: checkpoints as .npz files that load without pickle.

A checkpoint is any nesting of dicts, lists and tuples whose leaves are tensors, NumPy
arrays, or JSON scalars (None, bool, int, float, str) — module and optimizer state dicts.
Arrays go into the .npz as numbered entries; the structure goes in as one JSON entry, so
loading runs no code from the file. Saving writes a temporary file beside the target and
renames it over the target, so a crash mid-save leaves the previous checkpoint intact.
"""
import contextlib
import json
import os
import zipfile

import numpy as np

from .creation import tensor as _tensor
from .device import as_device
from .tensor import Tensor

_HEADER = "__gpugrad_checkpoint__"
_FORMAT = 1
_MAX_DEPTH = 100  # state dicts nest about 5 levels deep
_CHUNK = 1 << 24  # read arrays 16 MiB at a time
_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _encode(obj, arrays):
    """`obj` as JSON-able data, moving every array into `arrays` (name -> ndarray)."""
    if isinstance(obj, (Tensor, np.ndarray)):
        name = f"a{len(arrays)}"
        if isinstance(obj, Tensor):
            arrays[name] = obj.detach().numpy()
            return {"__tensor__": name, "device": str(obj.device)}
        arrays[name] = obj
        return {"__ndarray__": name}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, arrays) for v in obj]
        return items if isinstance(obj, list) else {"__tuple__": items}
    if isinstance(obj, dict):
        # JSON objects only have string keys; optimizer state dicts use int keys.
        return {"__dict__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    raise TypeError(f"gpugrad.save: can't store a {type(obj).__name__}; checkpoints hold dicts, "
                    "lists, tuples, tensors, NumPy arrays, None, bool, int, float and str")


class CheckpointError(ValueError):
    """A file that is not a readable gpugrad checkpoint; the message names the file and the problem."""


def _decode(obj, arrays, map_location, depth=0):
    """The object `obj` (decoded JSON) stands for; raises ValueError on anything `_encode` can't write."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"its structure is nested more than {_MAX_DEPTH} levels deep")
    if isinstance(obj, list):
        return [_decode(v, arrays, map_location, depth + 1) for v in obj]
    if not isinstance(obj, dict):
        return obj
    keys = set(obj)
    if keys not in ({"__tensor__", "device"}, {"__ndarray__"}, {"__tuple__"}, {"__dict__"}):
        raise ValueError(f"unexpected entry with keys {sorted(keys)[:4]}")
    kind = (keys - {"device"}).pop()
    value = obj[kind]
    if kind == "__ndarray__":
        return arrays(value)
    if kind == "__tensor__":
        try:
            return _tensor(arrays(value), device=as_device(map_location or obj["device"]))
        except TypeError as e:  # a dtype or device a tensor can't have
            raise ValueError(str(e)) from None
    if not isinstance(value, list):
        raise ValueError(f"{kind} holds a {type(value).__name__}, not a list")
    items = [_decode(v, arrays, map_location, depth + 1) for v in value]
    if kind == "__tuple__":
        return tuple(items)
    if kind != "__dict__" or not all(isinstance(kv, list) and len(kv) == 2 for kv in items):
        raise ValueError(f"unexpected entry {kind!r}")
    try:
        return dict(items)
    except TypeError:
        raise ValueError("a dict has a key that is a list or dict") from None


@contextlib.contextmanager
def atomic_write(path):
    """A binary file that replaces `path` only once fully written and synced; until then, and if
    writing fails, `path` keeps its old contents. The temporary file beside it, named
    `.NAME.<random>.tmp`, is created like `open` creates files (permissions from the umask)."""
    path = os.fspath(path)
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)),
                       f".{os.path.basename(path)}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.filename is None:  # a full disk: say which file
            raise OSError(e.errno, e.strerror, path) from None
        raise


def save(obj, path):
    """Write `obj` (a state dict or a nesting of them) to `path` atomically."""
    arrays = {}
    header = json.dumps({"format": _FORMAT, "data": _encode(obj, arrays)})
    arrays[_HEADER] = np.frombuffer(header.encode(), dtype=np.uint8)
    with atomic_write(path) as f:
        np.savez(f, **arrays)


def _array_reader(zf, file_size):
    """`read(name)`: the .npy member `name` of open zip `zf` as an array, its size checked before
    anything is allocated: the data must be stored uncompressed (as `save` writes it), so all
    arrays together never take more memory than the file holds."""
    cache = {}

    def read(name):
        if not isinstance(name, str):
            raise ValueError(f"array reference {name!r} is not a name")
        if name not in cache:
            try:
                info = zf.getinfo(name + ".npy")
            except KeyError:
                raise ValueError(f"array {name!r} is missing") from None
            if info.compress_type != zipfile.ZIP_STORED or info.compress_size > file_size:
                raise ValueError(f"array {name!r} is compressed or larger than the file "
                                 f"({info.file_size} bytes); gpugrad.save stores arrays as they are")
            with zf.open(info) as f:
                read_header = _NPY_HEADERS.get(np.lib.format.read_magic(f))
                if read_header is None:
                    raise ValueError(f"array {name!r} has an unknown .npy version")
                shape, fortran, dtype = read_header(f, max_header_size=10000)
                nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if dtype.hasobject or f.tell() + nbytes != info.file_size:
                    raise ValueError(f"array {name!r} claims {dtype} of shape {shape} "
                                     f"({nbytes} bytes) but holds {info.file_size - f.tell()} bytes")
                arr = np.empty(shape, dtype, order="F" if fortran else "C")
                view = memoryview(arr.reshape(-1, order="A")).cast("B")
                for start in range(0, nbytes, _CHUNK):
                    if f.readinto(view[start:start + _CHUNK]) != min(_CHUNK, nbytes - start):
                        raise ValueError(f"array {name!r} is truncated")
            cache[name] = arr
        return cache[name]
    return read


def load(path, map_location=None):
    """Read a checkpoint written by `save`; tensors go to `map_location` or their saved device.

    A file that is not a well-formed checkpoint raises CheckpointError (a ValueError) naming it.
    """
    path = os.fspath(path)
    if map_location is not None:
        map_location = as_device(map_location)
    try:
        with open(path, "rb") as file, zipfile.ZipFile(file) as zf:
            read = _array_reader(zf, os.fstat(file.fileno()).st_size)
            if _HEADER + ".npy" not in zf.namelist():
                raise ValueError("it holds no gpugrad checkpoint header")
            header = json.loads(read(_HEADER).tobytes().decode())
            if not isinstance(header, dict) or "data" not in header:
                raise ValueError("its header is not a gpugrad checkpoint header")
            if header.get("format") != _FORMAT:
                raise ValueError(f"it has checkpoint format {header.get('format')!r}; "
                                 f"this gpugrad reads format {_FORMAT}")
            return _decode(header["data"], read, map_location)
    except FileNotFoundError:
        raise FileNotFoundError(f"gpugrad.load: no checkpoint file {path!r}") from None
    except RecursionError:
        raise CheckpointError(f"gpugrad.load: {path!r}: its structure is nested too deeply") from None
    except (ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, UnicodeDecodeError) as e:
        raise CheckpointError(f"gpugrad.load: {path!r} is not a readable gpugrad checkpoint "
                              f"(truncated, corrupt or a different format): {e}") from None
