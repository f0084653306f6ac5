"""The emulated kernel tests once more under AddressSanitizer and ThreadSanitizer.

Each run is a subprocess with the sanitizer runtime preloaded into Python.  ASan keeps the
fiber scheduler (annotated stack switches); TSan builds use one OS thread per CUDA thread,
so a missing barrier becomes a data race it reports.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent
KERNEL_TESTS = [str(HERE / "test_kernel_raw.py"), str(HERE / "test_kernel_set.py")]


def _sanitized(mode, args, timeout=900):
    lib = subprocess.run(["g++", f"-print-file-name=lib{mode[0]}san.so"], capture_output=True, text=True).stdout.strip()
    if not os.path.isabs(lib):
        pytest.skip(f"g++ has no lib{mode[0]}san runtime")
    env = dict(os.environ, GPUGRAD_EMU_SANITIZE=mode, LD_PRELOAD=lib, PYTHONPATH=os.pathsep.join(sys.path),
               ASAN_OPTIONS="detect_leaks=0", TSAN_OPTIONS="halt_on_error=1 report_signal_unsafe=0")
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=HERE.parent.parent)


def test_kernel_tests_pass_under_address_sanitizer():
    res = _sanitized("address", ["-m", "pytest", "-q", "-p", "no:cacheprovider", *KERNEL_TESTS])
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]


def test_kernel_tests_pass_under_thread_sanitizer():
    res = _sanitized("thread", ["-m", "pytest", "-q", "-p", "no:cacheprovider", KERNEL_TESTS[0]])
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]


def test_thread_sanitizer_reports_a_planted_missing_barrier():
    script = """
import numpy as np
from tests.kernels.test_kernel_emulator import _kernel_source, i32, i64
from gpugrad import emu
old = "            part_x[warp] = sx;\\n        }\\n        __syncthreads();\\n"
src = _kernel_source("softmax_xent.cu", old, old.replace("        __syncthreads();\\n", ""))
k = emu.RawModule(code=src, name_expressions=["softmax_xent_fwd<double>"]).get_function("softmax_xent_fwd<double>")
x = np.random.default_rng(0).standard_normal((2, 300))
k((1,), (128,), (x, np.zeros(2, np.int64), np.zeros(2), np.zeros(2), i32(2), i32(300), i64(-1), np.float64(0)))
"""
    res = _sanitized("thread", ["-c", f"import sys; sys.path.insert(0, {str(HERE)!r})\n{script}"])
    assert res.returncode != 0
    assert "ThreadSanitizer: data race" in res.stderr and "part_" in res.stderr
