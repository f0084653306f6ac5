"""`gpugrad train --device cuda`'s captured step, on the simulated device (tiny runs, mlp: the
emulator is slow): it trains, replays match the same steps run eagerly (AdamW, and SGD with
momentum), --no-graph runs eagerly."""
import json

import numpy as np
import pytest

from gpugrad.cli import main
from gpugrad.serialization import load
from gpugrad.train import graphed

TINY = ["--device", "cuda", "--model", "mlp", "--limit", "96", "--batch-size", "32", "--seed", "3",
        "--epochs", "2"]


def _run(tmp_path, name, *args):
    out = tmp_path / name
    assert main(["train", "--out", str(out), *TINY, *args]) == 0
    rows = json.loads((out / "metrics.json").read_text())["epochs"]
    return rows, load(str(out / "checkpoint.npz"))["model"]


class _Eager:
    """Stands in for the captured graph: each replay runs the same step eagerly."""

    def __init__(self, steps):
        self.steps = steps

    def replay(self):
        with self.steps.device_schedule():
            self.steps._step()


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_captured_steps_match_the_same_steps_run_eagerly(tmp_path, monkeypatch, optimizer):
    replays = []
    real_replay = graphed.cuda.CUDAGraph.replay

    def counting(self):
        replays.append(1)
        real_replay(self)
    monkeypatch.setattr(graphed.cuda.CUDAGraph, "replay", counting)
    from gpugrad.backends.cuda.kernels import KernelSet
    fused, real_fused = [], KernelSet.fused_adam
    monkeypatch.setattr(KernelSet, "fused_adam", lambda self, *args: fused.append(1) or real_fused(self, *args))
    rows, params = _run(tmp_path, "graph", "--optimizer", optimizer)
    assert len(replays) == 2 * 3 - 1  # 3 steps an epoch; the first is the eager warm-up
    assert len(fused) == (2 if optimizer == "adamw" else 0)  # Adam's fused update: warm-up step and capture

    monkeypatch.setattr(graphed.GraphedSteps, "_capture", lambda self: setattr(self, "graph", _Eager(self)))
    eager_rows, eager_params = _run(tmp_path, "eager", "--optimizer", optimizer)
    for r, e in zip(rows, eager_rows):
        np.testing.assert_allclose(r["train_loss"], e["train_loss"], rtol=1e-4)
    assert eager_params.keys() == params.keys()
    for k in params:
        np.testing.assert_allclose(params[k].numpy(), eager_params[k].numpy(), rtol=1e-4, atol=1e-6)


def test_no_graph_runs_eagerly(tmp_path, monkeypatch):
    monkeypatch.setattr(graphed.cuda.CUDAGraph, "replay", lambda self: pytest.fail("replayed with --no-graph"))
    _run(tmp_path, "nograph", "--no-graph", "--optimizer", "sgd")


def test_ctrl_c_stops_a_graphed_run_between_replays_and_resume_finishes_it(tmp_path, monkeypatch):
    import signal

    import gpugrad
    real_replay, calls = graphed.cuda.CUDAGraph.replay, []

    def interrupting(self):
        calls.append(1)
        real_replay(self)
        if len(calls) == 3:  # during epoch 2's first replayed step
            signal.raise_signal(signal.SIGINT)
    monkeypatch.setattr(graphed.cuda.CUDAGraph, "replay", interrupting)
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY]) == 130
    monkeypatch.undo()
    assert gpugrad.load(str(out / "checkpoint.npz"))["step"] == 1  # epoch 2 stopped after its first step
    assert main(["train", "--resume", str(out / "checkpoint.npz")]) == 0
    assert [r["epoch"] for r in json.loads((out / "metrics.json").read_text())["epochs"]] == [1, 2]
    _, whole = _run(tmp_path, "whole")  # the checkpoint kept the device generator: same order and shifts
    resumed = gpugrad.load(str(out / "checkpoint.npz"))["model"]
    for k in whole:
        np.testing.assert_allclose(resumed[k].numpy(), whole[k].numpy(), rtol=1e-5, atol=1e-7)


def test_a_garbled_device_generator_in_the_checkpoint_is_one_line(tmp_path, capsys):
    import gpugrad
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY[:-1], "1"]) == 0
    ckpt = gpugrad.load(str(out / "checkpoint.npz"))
    assert len(json.loads(str(ckpt["device_rng"]))) == 2  # [key, counter]
    ckpt["device_rng"] = "[1, 2, 3"
    gpugrad.save(ckpt, str(tmp_path / "edited.npz"))
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "edited.npz")]) != 0
    err = capsys.readouterr().err.strip()
    assert "doesn't fit" in err and "device_rng" in err and len(err.splitlines()) == 1
