"""gpugrad.save / gpugrad.load: checkpoints as .npz files that load without pickle.

A checkpoint is any nesting of dicts, lists and tuples whose leaves are tensors, NumPy
arrays, or JSON scalars (None, bool, int, float, str) — module and optimizer state dicts.
Arrays go into the .npz as numbered entries; the structure goes in as one JSON entry, so
loading runs no code from the file. Saving writes a temporary file beside the target and
renames it over the target, so a crash mid-save leaves the previous checkpoint intact.
"""
import json
import os
import tempfile
import zipfile

import numpy as np

from .creation import tensor as _tensor
from .device import as_device
from .tensor import Tensor

_HEADER = "__gpugrad_checkpoint__"
_FORMAT = 1


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


def _decode(obj, arrays, map_location):
    if isinstance(obj, list):
        return [_decode(v, arrays, map_location) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        return _tensor(arrays[obj["__tensor__"]], device=map_location or obj["device"])
    if "__ndarray__" in obj:
        return arrays[obj["__ndarray__"]]
    if "__tuple__" in obj:
        return tuple(_decode(v, arrays, map_location) for v in obj["__tuple__"])
    return {_decode(k, arrays, map_location): _decode(v, arrays, map_location) for k, v in obj["__dict__"]}


def save(obj, path):
    """Write `obj` (a state dict or a nesting of them) to `path` atomically."""
    arrays = {}
    header = json.dumps({"format": _FORMAT, "data": _encode(obj, arrays)})
    arrays[_HEADER] = np.frombuffer(header.encode(), dtype=np.uint8)
    path = os.fspath(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                               prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load(path, map_location=None):
    """Read a checkpoint written by `save`; tensors go to `map_location` or their saved device."""
    path = os.fspath(path)
    if map_location is not None:
        map_location = as_device(map_location)
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError("it is a single .npy array")
        with npz:
            if _HEADER not in npz.files:
                raise ValueError("it holds no gpugrad checkpoint header")
            arrays = {name: npz[name] for name in npz.files}
        header = json.loads(arrays.pop(_HEADER).tobytes().decode())
    except FileNotFoundError:
        raise FileNotFoundError(f"gpugrad.load: no checkpoint file {path!r}") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as e:
        raise ValueError(f"gpugrad.load: {path!r} is not a readable gpugrad checkpoint "
                         f"(truncated, corrupt or a different format): {e}") from None
    if header.get("format") != _FORMAT:
        raise ValueError(f"gpugrad.load: {path!r} has checkpoint format {header.get('format')!r}; "
                         f"this gpugrad reads format {_FORMAT}")
    return _decode(header["data"], arrays, map_location)
