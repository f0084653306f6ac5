"""Starting real multi-process jobs from a test: `mpiexec -n 2 python ...`, bounded in time.

Without mpi4py or mpiexec (pip install "gpugrad[distributed]") the tests skip, except under CI
(the CI variable set), where they must run and so fail instead.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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


def run(args, n=2, timeout=180, env=None):
    """`mpiexec -n N python ARGS` from the repository root, with this checkout's gpugrad."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([mpiexec(), "-n", str(n), sys.executable, *map(str, args)], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def results(proc):
    """The ranks' RESULT lines, by rank; fails with the job's output if it failed."""
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [json.loads(line[len("RESULT "):]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    return [r for r in sorted(rows, key=lambda r: r["rank"])]


def run_case(*case, n=2, timeout=180, env=None):
    return run([RANKS, *case], n=n, timeout=timeout, env=env)
