"""glibc's malloc told to keep freed memory for reuse instead of handing it back between ops.

A training step allocates and frees the same few-MB arrays over and over. By default glibc
serves arrays above its mmap threshold with fresh mappings and returns free memory at the top
of its heap to the system; the next array then faults its pages in again, one by one, zeroed:
a plain-SGD step of a small batch-norm CNN at batch 32 took 1,500 page faults and 14.5 ms, and
none and 10.3 ms with the settings below (median of 4 alternating runs, 2-core machine). (glibc
raises both limits by itself after a large array is freed, which is why some loops never see
this and others, such as a benchmark's step, always do.) Arrays up to 32 MiB (glibc's largest
mmap threshold) now come from the heap, and up to 64 MiB of free heap is kept: the process holds
at most that much more memory than it uses.

Loading the CPU kernels applies this, process-wide, once. It does nothing off glibc (musl,
macOS, Windows) or where the user has tuned malloc themselves (a MALLOC_* variable or
GLIBC_TUNABLES in the environment); GPUGRAD_KEEP_HEAP=0 leaves malloc alone too.
"""
import ctypes
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 64 << 20


def keep_heap():
    """Set glibc's mmap and trim thresholds (see the module docstring); True when they were set."""
    value = os.environ.get("GPUGRAD_KEEP_HEAP", "1").strip()
    if value not in ("0", "1"):
        raise ValueError(f"GPUGRAD_KEEP_HEAP must be 1 (keep freed memory for reuse, the default) "
                         f"or 0 (leave malloc as it is), got {value!r}")
    if value == "0" or "GLIBC_TUNABLES" in os.environ or any(k.startswith("MALLOC_") for k in os.environ):
        return False
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return False
    if not (hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt")):  # mallopt's parameters are glibc's
        return False
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
