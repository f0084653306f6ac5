"""CuPy-compatible RawModule/RawKernel that compiles CUDA C with g++ and runs it on the CPU.

The same launch code drives CuPy on a GPU and this emulator on NumPy arrays:
``RawModule(code=..., options=..., name_expressions=...).get_function("k<float>")`` returns a
kernel called as ``kernel(grid, block, args, shared_mem=0)``.  Unlike CuPy, every argument is
checked against the kernel's real parameter types, and every array is surrounded by poisoned
guard bytes whose corruption (an out-of-bounds write) raises.
"""

import contextlib
import ctypes
import hashlib
import os
import re
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

from ..user_cache import user_cache_dir

INCLUDE_DIR = Path(__file__).parent / "include"
GUARD_BYTES = 4096  # poisoned bytes on each side of every array argument
_SANITIZE_FLAGS = {
    "": ["-O2"],
    "address": ["-O1", "-g", "-fsanitize=address", "-fno-omit-frame-pointer"],
    "thread": ["-O1", "-g", "-fsanitize=thread", "-DCUDA_EMU_OS_THREADS", "-pthread"],
}
_order = os.environ.get("GPUGRAD_EMU_ORDER", "forward")
# Gathers function-local statics (in CUDA code: the static __shared__ variables, template
# ones included, which ignore section attributes) into one section the emulator poisons.
_LINKER_SCRIPT = """SECTIONS {
  cuda_emu_shared : {
    PROVIDE(__start_cuda_emu_shared = .);
    *(.bss._ZZ*) *(.data._ZZ*)
    PROVIDE(__stop_cuda_emu_shared = .);
  }
} INSERT AFTER .data;
"""


# One launch at a time per process: a module's block state, its static shared memory and the
# crash handlers are process-wide, and ctypes releases the GIL while a kernel runs.
_LAUNCH_LOCK = threading.Lock()


class CompileError(RuntimeError):
    """g++ rejected a module; the message holds the compiler's log."""


class LaunchError(RuntimeError):
    """An emulated kernel deadlocked, trapped or wrote outside its buffers."""


@contextlib.contextmanager
def thread_order(order):
    """Run kernels launched inside the block with threads and blocks in `order`.

    "forward" or "reversed"; the default comes from $GPUGRAD_EMU_ORDER.  Correct kernels give
    the same result either way; a missing barrier usually does not.
    """
    global _order
    if order not in ("forward", "reversed"):
        raise ValueError(f"thread order must be 'forward' or 'reversed', got {order!r}")
    saved, _order = _order, order
    try:
        yield
    finally:
        _order = saved


def cache_dir():
    """Where compiled modules live: $GPUGRAD_EMU_CACHE, else emu/ in the user's cache directory
    (gpugrad.user_cache: $XDG_CACHE_HOME/gpugrad or ~/.cache/gpugrad)."""
    return Path(os.environ.get("GPUGRAD_EMU_CACHE") or user_cache_dir("emu"))


def _rewrite_dynamic_shared(source):
    """`extern __shared__ T name[];` -> a pointer into the emulator's one dynamic buffer."""
    pattern = re.compile(r"extern\s+__shared__\s+(?:__align__\(\d+\)\s+)?([\w:<>\s]+?)\s+"
                         r"(?:__align__\(\d+\)\s+)?(\w+)\s*\[\s*\]\s*;")
    return pattern.sub(lambda m: f"{m[1]}* {m[2]} = CUDA_EMU_DYNAMIC_SHARED({m[1]});", source)


def _parameter_names(source, name_expression):
    """Parameter names of the __global__ function named by `name_expression`, for messages."""
    base = name_expression.split("<")[0].strip()
    m = re.search(r"__global__\s+(?:__launch_bounds__\([^)]*\)\s+)?void\s+" + re.escape(base) +
                  r"\s*\(([^)]*)\)", source)
    if not m:
        return []
    return [re.findall(r"\w+", p)[-1] if re.findall(r"\w+", p) else "?"
            for p in m[1].split(",") if p.strip()]


def _split_options(options):
    """Translate NVRTC options into g++ flags (-I, -D); the rest only concerns device code."""
    flags, include_dirs = [], []
    for opt in options:
        if opt.startswith("-I"):
            include_dirs.append(opt[2:])
            flags.append(opt)
        elif opt.startswith("-D"):
            flags.append(opt)
    return flags, include_dirs


def _sanitizer():
    mode = os.environ.get("GPUGRAD_EMU_SANITIZE", "")
    if mode not in _SANITIZE_FLAGS:
        raise ValueError(f"GPUGRAD_EMU_SANITIZE must be one of {sorted(_SANITIZE_FLAGS)}, got {mode!r}")
    return mode


def _build(unit, flags, include_dirs):
    """Compile the translation unit to a cached shared library and return its path."""
    digest = hashlib.sha256(unit.encode())
    digest.update("\0".join(flags).encode() + _LINKER_SCRIPT.encode())
    for d in [INCLUDE_DIR, *map(Path, include_dirs)]:
        for f in sorted(Path(d).glob("*.h")) + sorted(Path(d).glob("*.cuh")):
            digest.update(f.read_bytes())
    out = cache_dir() / f"{digest.hexdigest()[:24]}.so"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "module.cpp"
        src.write_text(unit)
        script = Path(tmp) / "shared.ld"
        script.write_text(_LINKER_SCRIPT)
        lib = Path(tmp) / "module.so"
        # Hidden, non-unique symbols: two modules must never share a kernel's statics.
        cmd = ["g++", "-std=c++20", "-shared", "-fPIC", "-w", "-fvisibility=hidden",
               "-fno-gnu-unique", "-fdata-sections", f"-I{INCLUDE_DIR}", *flags,
               str(src), f"-Wl,-T,{script}", "-o", str(lib)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise CompileError(f"g++ failed ({' '.join(cmd)}):\n{res.stderr}")
        os.replace(lib, out)  # atomic, so concurrent builders never see half a file
    return out


class RawModule:
    """A module of CUDA kernels compiled for the CPU; mirrors cupy.RawModule.

    `options` are NVRTC options (only -I and -D matter here).  `thread_order` overrides the
    global order set by `thread_order()`.
    """

    def __init__(self, code=None, path=None, options=(), name_expressions=(), *, thread_order=None):
        if (code is None) == (path is None):
            raise TypeError("RawModule needs exactly one of code= and path=")
        source = Path(path).read_text() if path is not None else code
        origin = str(path) if path is not None else "<code>"
        names = list(name_expressions) or re.findall(
            r"__global__\s+(?:__launch_bounds__\([^)]*\)\s+)?void\s+(\w+)\s*\(", source)
        wrappers = []
        for i, expr in enumerate(names):
            wrappers.append(
                f'extern "C" CUDA_EMU_EXPORT int emu_sig_{i}(int* out) {{ return cuda_emu::signature(&{expr}, out); }}\n'
                f'extern "C" CUDA_EMU_EXPORT int emu_launch_{i}(void** a, const unsigned* d, unsigned long long s,'
                f' int r, char* e, int n) {{ return cuda_emu::launch(&{expr}, "{expr}", a, d, s, r, e, n); }}\n')
        unit = (f'#include "cuda_emu.h"\n#line 1 "{origin}"\n{_rewrite_dynamic_shared(source)}\n'
                f'#line 1 "<gpugrad.emu wrappers>"\n' + "".join(wrappers))
        mode = _sanitizer()
        flags, include_dirs = _split_options(options)
        self._lib = ctypes.CDLL(str(_build(unit, _SANITIZE_FLAGS[mode] + flags, include_dirs)))
        self._source = source
        self._index = {expr: i for i, expr in enumerate(names)}
        self._thread_order = thread_order

    def get_function(self, name):
        if name not in self._index:
            raise KeyError(f"{name!r} is not among this module's kernels {sorted(self._index)}")
        return RawKernel(self, name, self._index[name])


class _Param:
    def __init__(self, index, name, desc):
        self.index, self.name = index, name
        self.kind, self.size, self.pointee_kind, self.pointee_size = (
            chr(desc[0]), desc[1], chr(desc[2]) if desc[2] else "", desc[3])

    def __str__(self):
        what = (f"pointer to {self.pointee_kind}{self.pointee_size * 8}" if self.kind == "p"
                else f"{self.kind}{self.size * 8} scalar")
        return f"parameter {self.index} ({self.name}: {what})"


def _as_scalar(value):
    """The NumPy scalar CuPy would pass for `value` (Python int -> int64, float -> float64)."""
    if isinstance(value, np.generic):
        return value
    if isinstance(value, bool):
        return np.bool_(value)
    if isinstance(value, int):
        return np.int64(value)
    if isinstance(value, float):
        return np.float64(value)
    return None


class RawKernel:
    """One kernel of a RawModule, called like cupy.RawKernel: kernel(grid, block, args, shared_mem=0)."""

    def __init__(self, module, name, index):
        self.name, self._module = name, module
        lib = module._lib
        sig = getattr(lib, f"emu_sig_{index}")
        sig.argtypes = [ctypes.POINTER(ctypes.c_int)]
        desc = (ctypes.c_int * 256)()
        n = sig(desc)
        names = _parameter_names(module._source, name)
        names += ["?"] * (n - len(names))
        self.params = [_Param(i, names[i], desc[4 * i:4 * i + 4]) for i in range(n)]
        self._launch = getattr(lib, f"emu_launch_{index}")
        self._launch.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_uint),
                                 ctypes.c_ulonglong, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self._launch.restype = ctypes.c_int

    def _check(self, param, arg):
        """Raise TypeError where CuPy would silently pass the wrong bytes to the kernel."""
        bad = f"{self.name}: {param} got "
        if param.kind == "p":
            if not isinstance(arg, np.ndarray):
                raise TypeError(bad + f"{type(arg).__name__}, expected an array")
            if param.pointee_kind in "fiub" and (
                    arg.dtype.kind != param.pointee_kind or arg.dtype.itemsize != param.pointee_size):
                raise TypeError(bad + f"an array of {arg.dtype}")
            if not arg.flags.c_contiguous:
                raise TypeError(bad + "a non-contiguous array")
            return arg
        scalar = _as_scalar(arg)
        if scalar is None:
            raise TypeError(bad + f"{type(arg).__name__}, expected a NumPy scalar")
        if scalar.dtype.kind != param.kind or scalar.dtype.itemsize != param.size:
            wanted = np.dtype(f"{param.kind}{param.size}") if param.kind != "b" else np.dtype(bool)
            raise TypeError(bad + f"{type(arg).__name__} ({scalar.dtype}); pass np.{wanted}(...)")
        return scalar

    def __call__(self, grid, block, args, shared_mem=0):
        args = tuple(args)
        if len(args) != len(self.params):
            raise TypeError(f"{self.name} takes {len(self.params)} arguments, got {len(args)}")
        values = [self._check(p, a) for p, a in zip(self.params, args)]
        staged = _stage([v for v in values if isinstance(v, np.ndarray)])
        slots, keep = (ctypes.c_void_p * max(1, len(values)))(), []
        for i, v in enumerate(values):
            if isinstance(v, np.ndarray):
                box = ctypes.c_void_p(staged[id(v)].ctypes.data + GUARD_BYTES
                                      if id(v) in staged else v.ctypes.data)
            else:
                box = ctypes.create_string_buffer(v.tobytes(), 16)
            keep.append(box)
            slots[i] = ctypes.addressof(box)
        dims = (ctypes.c_uint * 6)(*_dim3(grid), *_dim3(block))
        err = ctypes.create_string_buffer(1024)
        order = self._module._thread_order or _order
        with _LAUNCH_LOCK:
            rc = self._launch(slots, dims, int(shared_mem), int(order == "reversed"), err, len(err))
        _unstage(self, staged, values)
        if rc != 0:
            raise LaunchError(err.value.decode())


def _dim3(d):
    d = (d,) if np.isscalar(d) else tuple(d)
    return (tuple(int(x) for x in d) + (1, 1, 1))[:3]


def _stage(arrays):
    """Copy each array that overlaps no other into a buffer with 0xFF guard bytes around it."""
    spans = [(a.ctypes.data, a.ctypes.data + a.nbytes) for a in arrays]
    staged = {}
    for i, a in enumerate(arrays):
        if any(j != i and spans[j][0] < spans[i][1] and spans[i][0] < spans[j][1]
               for j in range(len(arrays))):
            continue
        raw = np.full(a.nbytes + 2 * GUARD_BYTES + 256, 0xFF, np.uint8)
        shift = (a.ctypes.data - raw.ctypes.data - GUARD_BYTES) % 256  # keep the alignment
        buf = raw[shift:shift + a.nbytes + 2 * GUARD_BYTES]
        buf[GUARD_BYTES:GUARD_BYTES + a.nbytes] = a.reshape(-1).view(np.uint8)
        staged[id(a)] = buf
    return staged


def _unstage(kernel, staged, values):
    """Copy staged arrays back and raise if a guard region was written."""
    for i, v in enumerate(values):
        buf = staged.get(id(v)) if isinstance(v, np.ndarray) else None
        if buf is None:
            continue
        if v.flags.writeable:
            v.reshape(-1).view(np.uint8)[:] = buf[GUARD_BYTES:GUARD_BYTES + v.nbytes]
        for side, guard in (("before", buf[:GUARD_BYTES]), ("after", buf[GUARD_BYTES + v.nbytes:])):
            if (guard != 0xFF).any():
                raise LaunchError(f"{kernel.name}: out-of-bounds write {side} the array passed as "
                                  f"{kernel.params[i]} (shape {v.shape}, {v.dtype})")
