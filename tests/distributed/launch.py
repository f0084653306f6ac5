"""Starting real multi-process jobs from a test: `mpiexec -n 2 python ...`, bounded in time.

Without mpi4py or mpiexec (pip install "gpugrad[distributed]") the tests skip, except under CI
(the CI variable set), where they must run and so fail instead.
"""
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tests.helpers import REPO

ROOT = REPO
RANKS = Path(__file__).with_name("ranks.py")


def mpiexec():
    """The mpiexec beside this Python (a venv's, from the mpich wheel), else the one on PATH."""
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    missing = [name for name, ok in (("mpi4py", importlib.util.find_spec("mpi4py")), ("mpiexec", found)) if not ok]
    if missing:
        message = f"{' and '.join(missing)} not installed (pip install \"gpugrad[distributed]\")"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def run(args, n=2, timeout=180, env=None, program=None):
    """`mpiexec -n N python ARGS` (or PROGRAM ARGS) from the repository root, with this checkout's
    gpugrad; past `timeout` the whole job is killed and the test fails with its output."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    command = [mpiexec(), "-n", str(n), program or sys.executable, *map(str, args)]
    proc = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(command)} still running after {timeout} s:\n{out}{err}")
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def gpugrad_command():
    """The `gpugrad` console script beside this Python when installed (CI), else None (python -m gpugrad)."""
    script = Path(sys.executable).parent / "gpugrad"
    return str(script) if script.exists() else None


def results(proc):
    """The ranks' RESULT lines, by rank; fails with the job's output if it failed."""
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [json.loads(line[len("RESULT "):]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    return [r for r in sorted(rows, key=lambda r: r["rank"])]


def run_case(*case, n=2, timeout=180, env=None):
    return run([RANKS, *case], n=n, timeout=timeout, env=env)
