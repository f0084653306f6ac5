"""`mpiexec -n 2 gpugrad train --distributed`: shards, rank 0 alone reports, Ctrl-C and --resume."""
import json
import subprocess
import sys

import pytest

import gpugrad

from tests.distributed.launch import ROOT, gpugrad_command, run, run_case

pytestmark = pytest.mark.slow
TINY = ["--epochs", "2", "--limit", "96", "--batch-size", "16", "--seed", "3", "--model", "mlp", "--data", "digits"]


def _losses(out):
    rows = json.loads((out / "metrics.json").read_text())["epochs"]
    return [(r["epoch"], r["train_loss"], r["test_loss"], r["test_accuracy"]) for r in rows]


def gpugrad_cli(*args, **kwargs):
    """mpiexec -n 2 gpugrad ARGS (the console script where installed, else python -m gpugrad)."""
    script = gpugrad_command()
    return run(list(args), program=script, **kwargs) if script else run(["-m", "gpugrad", *args], **kwargs)


def test_two_ranks_train_rank_0_reports_and_an_interrupted_run_resumes_exactly(tmp_path):
    full = tmp_path / "full"
    proc = gpugrad_cli("train", "--distributed", *TINY, "--out", full)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("training model=mlp") == 1 and proc.stdout.count("epoch   2/2") == 1
    metrics = json.loads((full / "metrics.json").read_text())
    assert metrics["settings"]["world_size"] == 2 and len(metrics["epochs"]) == 2
    assert (full / "metrics.png").exists() and gpugrad.load(full / "checkpoint.npz")["epoch"] == 2

    # 96 samples: 48 per rank, 3 batches of 16 per epoch; Ctrl-C on rank 1 in batch 5 stops both ranks
    part = tmp_path / "part"
    proc = run_case("train", 5, *TINY, "--out", part)
    assert proc.returncode == 130, proc.stdout + proc.stderr
    assert proc.stdout.count("interrupted in epoch 2 after 2/3 batches") == 1
    assert gpugrad.load(part / "checkpoint.npz")["step"] == 2
    proc = gpugrad_cli("train", "--resume", part / "checkpoint.npz")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _losses(part) == _losses(full)

    # a different number of processes can't continue it
    alone = subprocess.run([sys.executable, "-m", "gpugrad", "train", "--resume", str(full / "checkpoint.npz")],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert alone.returncode == 2 and "trained on 2 processes; continue it with mpiexec -n 2" in alone.stderr


def test_the_distributed_example_trains_and_rank_0_reports():
    proc = run(["examples/distributed_mlp.py", "--epochs", "1"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("epoch 1: train loss") == 1 and proc.stdout.count("on 2 ranks") == 1
