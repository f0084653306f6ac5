"""Rows timed in other processes: start `[launcher] python -m <module> --worker ARGS` with this
package importable, and read back the JSON line the worker prints last."""
import json
import os
import subprocess
import sys
from pathlib import Path

# where this package is imported from: the checkout (benchmarks) or site-packages (gpugrad.benchmarks)
IMPORT_ROOT = Path(__file__).resolve().parents[__name__.count(".")]


def worker_result(module, args, launcher=(), env=None, timeout=900):
    """The worker's last stdout line, parsed as JSON; RuntimeError with its output if it failed."""
    path = os.pathsep.join(filter(None, [str(IMPORT_ROOT), os.environ.get("PYTHONPATH")]))
    environment = {**os.environ, **(env or {}), "PYTHONPATH": path}
    command = [*launcher, sys.executable, "-m", module, "--worker", *map(str, args)]
    proc = subprocess.run(command, cwd=IMPORT_ROOT, env=environment, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:len(launcher) + 5])} failed:\n{proc.stdout}{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
