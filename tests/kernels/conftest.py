"""Fixtures for the kernel tests: emulated modules, poisoned outputs, both thread orders."""

import zlib

import numpy as np
import pytest

from gpugrad import emu, kernel_specs
from gpugrad.backends.cuda.kernels import KernelSet
from tests.kernels.kernel_helpers import poisoned_numpy


@pytest.fixture(params=["forward", "reversed"])
def order(request):
    """Run the test once with threads and blocks in forward order, once reversed."""
    with emu.thread_order(request.param):
        yield request.param


@pytest.fixture(scope="session")
def emu_module():
    """emu_module("gelu.cu") -> the emulated RawModule, compiled as the backend would."""
    cache = {}

    def load(filename):
        if filename not in cache:
            cache[filename] = emu.RawModule(
                path=str(kernel_specs.kernel_dir() / filename), options=kernel_specs.nvrtc_options(),
                name_expressions=kernel_specs.name_expressions(filename))
        return cache[filename]

    return load


@pytest.fixture(scope="session")
def kernels():
    """The CUDA backend's KernelSet on the emulator, with poisoned fresh arrays."""
    return KernelSet(poisoned_numpy, emu.RawModule)


@pytest.fixture
def rng(request):
    """A generator seeded from the test's name, so failures reproduce."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
