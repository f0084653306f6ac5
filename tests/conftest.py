"""Shared test setup: a hypothesis profile sized for CI, the device list, random inputs.

Device-parametrised tests run on "cpu" and on "cuda": a real GPU when CuPy sees one, else the
simulated device (GPUGRAD_CUDA_SIM=2: two NumPy-backed devices, cuda:0 and cuda:1, every
RawKernel run by the emulator), so the CUDA code paths, multi-GPU ones included, are exercised
on every CI run.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=20, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile("ci")


def _real_gpu():
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


if "GPUGRAD_CUDA_SIM" not in os.environ and not _real_gpu():
    os.environ["GPUGRAD_CUDA_SIM"] = "2"

DEVICES = ["cpu", "cuda"]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
