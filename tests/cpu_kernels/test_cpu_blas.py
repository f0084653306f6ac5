"""Loading the CPU kernels puts NumPy's BLAS on GPUGRAD_BLAS_THREADS threads (default 1)."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("threadpoolctl")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROBE = ("import threadpoolctl as t, gpugrad.backends.cpu.kernels; "
         "print([i['num_threads'] for i in t.threadpool_info() if i['user_api'] == 'blas'])")


def _blas_threads(env_value):
    env = {k: v for k, v in os.environ.items() if k not in ("GPUGRAD_BLAS_THREADS", "OPENBLAS_NUM_THREADS")}
    env["OPENBLAS_NUM_THREADS"] = "2"  # what the process would otherwise use
    if env_value is not None:
        env["GPUGRAD_BLAS_THREADS"] = env_value
    return subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True)


@pytest.mark.parametrize("env_value, threads", [(None, "[1]"), ("1", "[1]"), ("0", "[2]")])
def test_kernels_set_blas_threads(env_value, threads):
    res = _blas_threads(env_value)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == threads


def test_bad_setting_is_one_clear_error():
    res = _blas_threads("lots")
    assert res.returncode != 0
    assert "GPUGRAD_BLAS_THREADS must be a whole number" in res.stderr
