"""cuda:N: each GPU is its own device (simulated ones in CI: GPUGRAD_CUDA_SIM=2), tensors stay
where they are made, copies between GPUs carry gradients back, and mixing GPUs is an error."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gpugrad
import gpugrad.nn as nn
import gpugrad.nn.functional as F
from gpugrad.train import state
from tests.helpers import REPO

two_gpus = pytest.mark.skipif(gpugrad.cuda.device_count() < 2, reason="needs two cuda devices")


@two_gpus
def test_ops_gradients_and_optimizer_stay_on_their_gpu(rng):
    x0 = rng.standard_normal((2, 3, 8, 8))
    results = {}
    for dev in ("cpu", "cuda:1"):
        gpugrad.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.GELU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(64, 5)).to(dev)
        opt = gpugrad.optim.Adam(model.parameters(), lr=1e-2)
        x = gpugrad.tensor(x0, dtype="float32", device=dev)
        loss = F.cross_entropy(model(x), gpugrad.tensor([1, 4], device=dev))
        loss.backward()
        opt.step()
        assert {str(p.device) for p in model.parameters()} == {dev}
        results[dev] = [p.detach().cpu().numpy() for p in model.parameters()]
    for a, b in zip(results["cuda:1"], results["cpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@two_gpus
def test_copies_between_gpus_carry_the_gradient_back():
    x = gpugrad.randn(3, 4, device="cuda:0", requires_grad=True)
    y = x.to("cuda:1") * 3
    assert y.device == "cuda:1" and x.cuda(1).device == gpugrad.device("cuda", 1)
    y.sum().backward()
    assert x.grad.device == "cuda:0"
    np.testing.assert_array_equal(x.grad.cpu().numpy(), np.full((3, 4), 3.0, np.float32))


@two_gpus
def test_mixing_gpus_names_both():
    with pytest.raises(RuntimeError, match="cuda:0 and cuda:1"):
        gpugrad.ones(2, device="cuda:0") + gpugrad.ones(2, device="cuda:1")


@two_gpus
def test_cuda_module_functions_take_a_device():
    gpugrad.cuda.synchronize(1)
    assert gpugrad.cuda.memory_allocated("cuda:1") >= 0 and gpugrad.cuda.max_memory_allocated(1) >= 0
    assert isinstance(gpugrad.cuda.get_device_name(1), str)
    gpugrad.cuda.manual_seed_all(3)
    a, b = gpugrad.randn(4, device="cuda:0"), gpugrad.randn(4, device="cuda:1")
    np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())
    with pytest.raises(ValueError, match="expected a cuda device, got cpu"):
        gpugrad.cuda.synchronize("cpu")


def test_a_gpu_past_the_last_one_is_named():
    n = gpugrad.cuda.device_count()
    with pytest.raises(RuntimeError, match=rf"'cuda:{n}' is not available: .*cuda:0 to cuda:{n - 1}"):
        gpugrad.zeros(1, device=f"cuda:{n}")


def test_checkpoints_from_before_cuda_n_restore_cuda0_generator():
    gpugrad.zeros(1, device="cuda:0")
    gen = np.random.default_rng(7)
    state.restore_gpugrad_rng({"cuda": json.dumps(gen.bit_generator.state)})
    expected = np.random.default_rng(7).standard_normal(3, dtype=np.float32)
    np.testing.assert_array_equal(gpugrad.randn(3, device="cuda").cpu().numpy(), expected)


def test_allow_tf32_is_a_checked_flag_off_by_default():
    flags = gpugrad.backends.cuda
    assert flags.allow_tf32 is False
    try:
        flags.allow_tf32 = True
        assert flags.allow_tf32 is True
        with pytest.raises(TypeError, match="allow_tf32 must be True or False"):
            flags.allow_tf32 = 1
    finally:
        flags.allow_tf32 = False


def test_manual_seed_also_seeds_a_gpu_first_used_after_it():
    script = ("import gpugrad, numpy as np; gpugrad.manual_seed(5); a = gpugrad.randn(4, device='cuda:1');"
              "gpugrad.manual_seed(5); print(np.array_equal(a.cpu().numpy(), gpugrad.randn(4).numpy()))")
    env = dict(os.environ, GPUGRAD_CUDA_SIM="2", PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "True", proc.stderr[-2000:]


def test_doctor_lists_the_simulated_devices(capsys):
    from gpugrad.cli import main
    if not gpugrad.cuda.is_simulated():
        pytest.skip("a real GPU is present")
    assert main(["doctor"]) == 0 and main(["doctor", "--require-gpu"]) == 1
    assert f"cuda: {gpugrad.cuda.device_count()} device(s) simulated" in capsys.readouterr().out
