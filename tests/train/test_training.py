"""`gpugrad train` / `evaluate` end to end on tiny settings: outputs, determinism, Ctrl-C, resume."""
import json
import os
import signal
import subprocess
import sys

import pytest

import gpugrad
from gpugrad.cli import main
from gpugrad.train import loop

TINY = ["--limit", "96", "--batch-size", "32", "--seed", "3", "--no-graph"]  # the eager loop (see test_graphed.py)
# The loop's logic (determinism, Ctrl-C, resume) is the same on every device; the tests that
# train several runs use the CPU, where the simulated GPU would emulate every kernel.
ON_CPU = ["--device", "cpu"]


def _train(tmp_path, name, *args):
    out = tmp_path / name
    code = main(["train", "--out", str(out), *TINY, *args])
    return code, out


def _losses(out):
    rows = json.loads((out / "metrics.json").read_text())["epochs"]
    return [(r["epoch"], r["train_loss"], r["test_loss"], r["test_accuracy"]) for r in rows]


def _interrupt_at(monkeypatch, step):
    """Press Ctrl-C (send SIGINT to this process) during the `step`-th training batch."""
    real, calls = loop.F.cross_entropy, []

    def xent(*args, **kwargs):
        if gpugrad.is_grad_enabled():
            calls.append(1)
            if len(calls) == step:
                signal.raise_signal(signal.SIGINT)
        return real(*args, **kwargs)
    monkeypatch.setattr(loop.F, "cross_entropy", xent)


def test_one_epoch_writes_metrics_plot_and_checkpoint(tmp_path, capsys):
    code, out = _train(tmp_path, "run", "--epochs", "1")
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["model"] == "cnn" and metrics["settings"]["epochs"] == 1
    (row,) = metrics["epochs"]
    assert set(row) == {"epoch", "train_loss", "test_loss", "test_accuracy", "seconds"}
    assert (out / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert gpugrad.load(out / "checkpoint.npz")["epoch"] == 1
    assert "epoch   1/1  train loss" in capsys.readouterr().out


@pytest.mark.parametrize("model, data", [("lenet", "mnist-5k"), ("mlp", "digits")])
def test_other_models_and_data(tmp_path, model, data):
    code, out = _train(tmp_path, model, "--epochs", "1", "--model", model, "--data", data)
    assert code == 0 and len(_losses(out)) == 1


def test_same_seed_gives_identical_losses(tmp_path):
    runs = [_losses(_train(tmp_path, name, "--epochs", "2", *ON_CPU)[1]) for name in ("a", "b")]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("stop_step", [3, 5])  # 3 batches per epoch: at an epoch end, mid-epoch
def test_ctrl_c_saves_and_resume_reproduces_the_uninterrupted_run(tmp_path, monkeypatch, stop_step):
    _, full = _train(tmp_path, "full", "--epochs", "3", *ON_CPU)
    _interrupt_at(monkeypatch, stop_step)
    code, part = _train(tmp_path, "part", "--epochs", "3", *ON_CPU)
    monkeypatch.undo()
    assert code == 130 and len(_losses(part)) == stop_step // 3
    assert gpugrad.load(part / "checkpoint.npz")["step"] == stop_step % 3
    assert main(["train", "--resume", str(part / "checkpoint.npz")]) == 0
    assert _losses(part) == _losses(full)


def test_resume_refuses_to_change_the_run(tmp_path, capsys):
    _, out = _train(tmp_path, "run", "--epochs", "1")
    assert main(["train", "--resume", str(out / "checkpoint.npz"), "--epochs", "5"]) == 2
    assert "can't change epochs" in capsys.readouterr().err


def test_evaluate_prints_accuracy_and_confusion_matrix(tmp_path, capsys):
    _, out = _train(tmp_path, "run", "--epochs", "1")
    assert main(["evaluate", str(out / "checkpoint.npz")]) == 0
    text = capsys.readouterr().out
    assert "test accuracy" in text and "confusion matrix" in text


def test_cuda_without_a_gpu_is_a_one_line_error(tmp_path):
    if getattr(getattr(gpugrad, "cuda", None), "is_available", lambda: False)():
        pytest.skip("a GPU is usable here")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "gpugrad", "train", "--device", "cuda", "--out",
                           str(tmp_path)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "no usable CUDA GPU" in proc.stderr


def test_bad_checkpoint_and_data_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "junk").write_text("junk")
    assert main(["train", "--resume", str(tmp_path / "junk")]) == 2
    assert main(["train", "--data", "mnist", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "not a readable gpugrad checkpoint" in err and "nowhere" in err
