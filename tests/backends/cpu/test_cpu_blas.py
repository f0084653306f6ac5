"""Loading the CPU kernels puts NumPy's BLAS on GPUGRAD_BLAS_THREADS threads (default 1)."""
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from tests.helpers import REPO

pytest.importorskip("threadpoolctl")
ROOT = str(REPO)
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


class _PoisonedNumpy:
    """NumPy whose np.empty is filled with NaN, so an output block left unwritten shows."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def empty(*args, **kwargs):
        out = np.empty(*args, **kwargs)
        out.fill(np.nan)
        return out


@pytest.mark.parametrize("a_shape, b_shape, parts", [
    ((32, 144), (144, 6272), 2),        # split by columns
    ((300, 40), (40, 7), 3),            # fewer columns than rows: split by rows
    ((2, 1, 13, 9), (3, 9, 11), 2),     # broadcast batch dims
    ((1, 5, 64), (1, 64, 3), 2),        # more rows than columns: rows
])
def test_split_matmul_matches_numpy(monkeypatch, a_shape, b_shape, parts):
    """The product cut over threads equals NumPy's whole product, output poisoned first."""
    from gpugrad.backends.cpu import blas
    rng = np.random.default_rng(sum(a_shape) + sum(b_shape))
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    monkeypatch.setattr(blas, "SPLIT_MIN_MACS", 0)
    monkeypatch.setattr(blas, "workers", lambda: parts)
    monkeypatch.setattr(blas, "np", _PoisonedNumpy())
    out = blas.matmul(a, b)
    np.testing.assert_allclose(out, np.matmul(a, b), rtol=1e-12, atol=1e-12)
    monkeypatch.undo()
    calls = []
    monkeypatch.setattr(blas, "_split_matmul", lambda *args: calls.append(args) or np.matmul(*args[:2]))
    monkeypatch.setattr(blas, "workers", lambda: parts)
    monkeypatch.setattr(blas, "SPLIT_MIN_MACS", 0)
    blas.matmul(a, b)
    assert calls, "the split path was not taken"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_threads(monkeypatch):
    """The parent's pool threads don't exist in a forked child; its work must not wait on them."""
    from gpugrad.backends.cpu import blas
    monkeypatch.setattr(blas, "workers", lambda: 2)
    assert blas.run_parts(lambda i: i * i, [1, 2, 3]) == [1, 4, 9]  # the parent's pool exists now
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the split work finishes
        signal.alarm(20)  # a child stuck on the parent's threads is killed
        os._exit(0 if blas.run_parts(lambda i: i + 1, [1, 2, 3, 4]) == [2, 3, 4, 5] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status


def test_run_parts_inside_a_part_runs_in_turn(monkeypatch):
    """A part that splits work again must not wait on the pool it is running on."""
    from gpugrad.backends.cpu import blas
    monkeypatch.setattr(blas, "workers", lambda: 2)
    nested = lambda i: sum(blas.run_parts(lambda j: i * j, [1, 2, 3]))
    assert blas.run_parts(nested, [1, 2, 3, 4]) == [6, 12, 18, 24]
