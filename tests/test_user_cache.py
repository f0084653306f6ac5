"""Compiled code goes to the user's cache directory, never into the installed package:
Numba's CPU kernels (NUMBA_CACHE_DIR, else $XDG_CACHE_HOME/gpugrad/numba) and the kernel
emulator's builds (GPUGRAD_EMU_CACHE, else $XDG_CACHE_HOME/gpugrad/emu)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import gpugrad
from gpugrad import emu
from gpugrad.user_cache import user_cache_dir

PACKAGE = Path(gpugrad.__file__).parent
RUN_A_CPU_KERNEL = "import gpugrad, gpugrad.nn.functional as F; F.gelu(gpugrad.randn(8))"


def _numba_files(root):
    return sorted(p for p in Path(root).rglob("*") if p.suffix in (".nbi", ".nbc"))


def _run(code, env):
    env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


@pytest.mark.parametrize("numba_first", [False, True])
def test_numba_cache_goes_to_the_user_cache_dir(tmp_path, numba_first):
    before = _numba_files(PACKAGE)
    code = ("import numba; " if numba_first else "") + RUN_A_CPU_KERNEL + "; import os; print(os.environ['NUMBA_CACHE_DIR'])"
    out = _run(code, {"XDG_CACHE_HOME": str(tmp_path), "NUMBA_CACHE_DIR": None})
    assert out.strip() == str(tmp_path / "gpugrad" / "numba")
    assert _numba_files(tmp_path / "gpugrad" / "numba")
    assert _numba_files(PACKAGE) == before


def test_numba_cache_dir_set_by_the_user_wins(tmp_path):
    mine = tmp_path / "mine"
    _run(RUN_A_CPU_KERNEL, {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "NUMBA_CACHE_DIR": str(mine)})
    assert _numba_files(mine)
    assert not (tmp_path / "xdg").exists()


def test_user_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert user_cache_dir("emu") == tmp_path / "gpugrad" / "emu"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # not absolute: ignored, as XDG says
    assert user_cache_dir("emu") == Path.home() / ".cache" / "gpugrad" / "emu"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert user_cache_dir("numba") == Path.home() / ".cache" / "gpugrad" / "numba"


def test_emulator_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("GPUGRAD_EMU_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert emu.cache_dir() == tmp_path / "gpugrad" / "emu"
    emu.RawModule(code="__global__ void k(float* y) { y[threadIdx.x] = 1.0f; }", name_expressions=["k"])
    assert list((tmp_path / "gpugrad" / "emu").glob("*.so"))
    monkeypatch.setenv("GPUGRAD_EMU_CACHE", str(tmp_path / "mine"))
    assert emu.cache_dir() == tmp_path / "mine"
