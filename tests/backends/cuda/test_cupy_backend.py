"""CupyBackend's calls into CuPy (current device, cuBLAS TF32 mode), made against a stand-in
module, so CI checks them without a GPU; tests marked gpu run them on a real one."""
import sys
import types

import numpy as np
import pytest

import gpugrad
from gpugrad.backends import BACKENDS
from gpugrad.backends.cuda.backend import CupyBackend

TF32, DEFAULT = 7, 1


class Runtime:
    def __init__(self, count):
        self.count, self.current, self.sets = count, 0, []

    def getDeviceCount(self):
        return self.count

    def getDevice(self):
        return self.current

    def setDevice(self, index):
        self.current = index
        self.sets.append(index)


def fake_cupy(monkeypatch, gpus, with_switch=True):
    linalg = types.ModuleType("cupy._core._routines_linalg")
    linalg.calls = []
    if with_switch:
        linalg.COMPUTE_TYPE_DEFAULT, linalg.COMPUTE_TYPE_TF32 = DEFAULT, TF32
        linalg.set_compute_type = lambda dtype, kind: linalg.calls.append((np.dtype(dtype), kind))
    core = types.ModuleType("cupy._core")
    core._routines_linalg = linalg
    cupy = types.ModuleType("cupy")
    cupy.__version__, cupy._core = "0.fake", core
    cupy.cuda = types.SimpleNamespace(runtime=Runtime(gpus))
    for name, module in (("cupy", cupy), ("cupy._core", core), ("cupy._core._routines_linalg", linalg)):
        monkeypatch.setitem(sys.modules, name, module)
    return cupy, linalg


def test_each_gpu_is_made_current_when_used(monkeypatch):
    cupy, linalg = fake_cupy(monkeypatch, gpus=2)
    b0, b1 = CupyBackend(cupy, 0), CupyBackend(cupy, 1)
    runtime = cupy.cuda.runtime
    assert runtime.current == 1 and linalg.calls == [(np.dtype(np.float32), DEFAULT)] * 2
    b0.activate()
    b0.activate()
    b1.activate()
    assert runtime.sets == [0, 1, 0, 1]  # one switch per change of device, none when current


def test_a_single_gpu_is_never_switched(monkeypatch):
    cupy, _ = fake_cupy(monkeypatch, gpus=1)
    backend = CupyBackend(cupy, 0)
    cupy.cuda.runtime.getDevice = lambda: pytest.fail("asked for the current device")
    backend.activate()


def test_allow_tf32_sets_cublas_float32_mode(monkeypatch):
    cupy, linalg = fake_cupy(monkeypatch, gpus=1)
    monkeypatch.setitem(BACKENDS, "cuda:7", CupyBackend(cupy, 0))
    try:
        gpugrad.backends.cuda.allow_tf32 = True
        gpugrad.backends.cuda.allow_tf32 = False
    finally:
        gpugrad.backends.cuda.allow_tf32 = False
    assert [kind for _, kind in linalg.calls] == [DEFAULT, TF32, DEFAULT, DEFAULT]


def test_a_cupy_without_the_switch_is_named_only_when_tf32_is_asked_for(monkeypatch):
    cupy, _ = fake_cupy(monkeypatch, gpus=1, with_switch=False)
    backend = CupyBackend(cupy, 0)
    with pytest.raises(RuntimeError, match=r"allow_tf32: CuPy 0\.fake has no cuBLAS compute-type switch"):
        backend.set_tf32(True)
