"""gpugrad.profiler: which events a known small graph records, the table, the CUDA-event path."""
import sys
import types
from collections import Counter

import numpy as np
import pytest

import gpugrad
from gpugrad import profiler
from gpugrad.cli import main
from gpugrad.nn import functional as F

KERNELS = {  # our kernels one conv + gelu forward/backward launches, by device
    # CPU: the direct forward and weight gradient; with 3 input channels the input gradient
    # takes im2col (gpugrad.backends.algorithms._cpu_direct)
    "cpu": {"conv_direct.forward": 1, "conv_direct.wgrad": 1, "conv.col2im": 1, "gelu.fwd32": 1, "gelu.bwd32": 1},
    "cuda": {"conv_fwd_igemm<float>": 1, "conv_wgrad_igemm<float>": 1, "conv_dgrad_igemm<float>": 1,
             "gemm<float>": 3, "gelu_fwd_f4": 1, "gelu_bwd_f4": 1},
}
LIBRARY_MATMULS = {"cpu": 4, "cuda": 0}  # on CUDA our own GEMMs replace every BLAS call


def _graph(device, rng):
    x = gpugrad.tensor(rng.standard_normal((2, 3, 6, 6)), dtype=gpugrad.float32, device=device, requires_grad=True)
    w = gpugrad.tensor(rng.standard_normal((4, 3, 3, 3)), dtype=gpugrad.float32, device=device, requires_grad=True)
    m = gpugrad.tensor(rng.standard_normal((64, 5)), dtype=gpugrad.float32, device=device, requires_grad=True)
    return lambda: (F.gelu(F.conv2d(x, w)).reshape(2, 64) @ m).sum().backward()


def test_known_graph_records_ops_kernels_and_library_calls(device, rng):
    step = _graph(device, rng)
    step()  # compile kernels outside the profile
    with profiler.profile() as prof:
        step()
    events = prof.events()
    assert all(e.duration_us > 0 for e in events)
    count = Counter((e.kind, e.name) for e in events)
    for name in ("Conv", "Gelu", "Sum", "ConvBackward", "GeluBackward", "MatMulBackward", "SumBackward"):
        assert count[("op", name)] == 1, name
    assert count[("op", "MatMul")] == 3  # its backward is two matmuls of Tensors
    # a plain backward (no create_graph) launches conv's gradient kernels without their ops
    assert count[("op", "ConvDgrad")] == count[("op", "ConvWgrad")] == 0
    kernels = {n: c for (k, n), c in count.items() if k == "kernel"}
    assert kernels == KERNELS[device]
    # CPU GEMMs: conv's input gradient and matmul's forward and its two gradients
    assert count[("library", "matmul")] == LIBRARY_MATMULS[device]
    devices = {e.device for e in events}
    assert devices == ({"cpu"} if device == "cpu" else {"cuda", "cuda:0"})


def test_nothing_recorded_outside_a_profile(rng):
    step = _graph("cpu", rng)
    with profiler.profile() as prof:
        pass
    step()
    assert prof.events() == [] and profiler._session is None


def test_profiles_do_not_nest():
    with profiler.profile():
        with pytest.raises(RuntimeError, match="already active"):
            with profiler.profile():
                pass
    assert profiler._session is None


def test_table_has_one_row_per_kind_name_device(rng):
    step = _graph("cpu", rng)
    step()
    with profiler.profile() as prof:
        step()
    lines = prof.table().splitlines()
    assert lines[0].split() == ["name", "kind", "device", "calls", "total", "ms", "mean", "us"]
    assert set(lines[1]) == {"-"}
    rows = [line.split() for line in lines[2:]]
    events = prof.events()
    assert len(rows) == len({(e.kind, e.name, e.device) for e in events})
    totals = [float(r[4]) for r in rows]
    assert totals == sorted(totals, reverse=True)
    (mm,) = [r for r in rows if r[:3] == ["matmul", "library", "cpu"]]
    mine = [e.duration_us for e in events if e.name == "matmul"]
    assert int(mm[3]) == len(mine) == 4
    assert float(mm[4]) == pytest.approx(sum(mine) / 1000, abs=1e-3)
    assert float(mm[5]) == pytest.approx(sum(mine) / len(mine), abs=0.1)
    with pytest.raises(ValueError, match="sort_by"):
        prof.table(sort_by="speed")


def test_cupy_calls_are_timed_with_cuda_events(monkeypatch):
    """The real-GPU path, with a stand-in for CuPy: two events around the call, the duration
    read from them when the profile ends, the current GPU as the device."""
    log = []

    class Event:
        def record(self):
            log.append(("record", self))

        def synchronize(self):
            log.append(("sync", self))

    fake = types.SimpleNamespace(__name__="cupy", cuda=types.SimpleNamespace(
        Event=Event, runtime=types.SimpleNamespace(getDevice=lambda: 1),
        get_elapsed_time=lambda start, end: 2.5))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with profiler.profile() as prof:
        out = profiler.record_device("kernel", "k", "cuda", fake, lambda a: log.append("launch") or a + 1, 1)
    assert out == 2
    assert [entry if isinstance(entry, str) else entry[0] for entry in log] == ["record", "launch", "record", "sync"]
    (event,) = prof.events()
    assert (event.name, event.kind, event.device, event.duration_us) == ("k", "kernel", "cuda:1", 2500.0)


def test_train_profile_prints_the_table(tmp_path, capsys):
    code = main(["train", "--out", str(tmp_path), "--limit", "64", "--batch-size", "16", "--device", "cpu", "--profile", "2"])
    assert code == 0
    out = capsys.readouterr().out
    assert "2 steps" in out and "ms a step" in out
    assert "ConvBackward" in out and "conv_direct.forward" in out and "library" in out
    assert not (tmp_path / "checkpoint.npz").exists()


def test_profile_steps_must_be_positive(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path), "--limit", "64", "--profile", "0"]) == 2
    assert "--profile must be at least 1" in capsys.readouterr().err
