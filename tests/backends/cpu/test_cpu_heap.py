"""Loading the CPU kernels sets glibc's malloc to keep freed memory (gpugrad.backends.cpu.heap).

Each case runs in a fresh process, since the setting is process-wide and made once: a 20 MiB
array must come from the heap (not its own mapping), and the heap must still hold it after it
is freed; with GPUGRAD_KEEP_HEAP=0, or a MALLOC_* variable set by the user, glibc's defaults
stay (the array gets its own mapping).
"""
import ctypes
import os
import subprocess
import sys

import pytest

from tests.helpers import REPO

PROBE = """
import ctypes
import numpy as np
import gpugrad.backends.cpu.kernels  # noqa: F401  (applies the setting)

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

info = ctypes.CDLL(None).mallinfo2
info.restype = Mallinfo2
a = np.ones(20 << 20, np.uint8)
mapped = info().hblkhd
del a
print(mapped, info().arena)
"""


def _has_mallinfo2():
    try:
        libc = ctypes.CDLL(None)
        return hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallinfo2")
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _has_mallinfo2(), reason="needs glibc 2.33+ (mallinfo2)")


def _probe(**env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    out = subprocess.run([sys.executable, "-c", PROBE], env={**clean, "PYTHONPATH": str(REPO), **env}, cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    mapped, heap_after_free = map(int, out.stdout.split())
    return mapped, heap_after_free


def test_arrays_come_from_the_heap_and_stay():
    mapped, heap_after_free = _probe()
    assert mapped < 20 << 20
    assert heap_after_free >= 20 << 20


@pytest.mark.parametrize("env", [{"GPUGRAD_KEEP_HEAP": "0"}, {"MALLOC_ARENA_MAX": "4"}])
def test_left_alone_when_asked_or_tuned_by_the_user(env):
    mapped, _ = _probe(**env)
    assert mapped >= 20 << 20


def test_bad_setting_names_the_variable():
    out = subprocess.run([sys.executable, "-c", "import gpugrad.backends.cpu.kernels"],
                         env={**os.environ, "PYTHONPATH": str(REPO), "GPUGRAD_KEEP_HEAP": "yes"}, cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "GPUGRAD_KEEP_HEAP" in out.stderr
