"""Runs the repository's `gpu`-marked tests in a subprocess and reads back its JUnit XML."""
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

from .errors import error_text

PYTEST_EXIT = {0: "all passed", 1: "some tests failed", 2: "interrupted", 3: "internal error",
               4: "usage error", 5: "no tests collected"}


def run_gpu_tests(repo, out_dir, timeout_s):
    """Outcome of `pytest -m gpu` in the source tree `repo`: each test, totals, exit status
    and the output's tail."""
    if not (repo / "tests").is_dir():
        return {"status": "unavailable", "error": f"no tests/ folder in {repo}: run from a source checkout"}
    junit = out_dir / "pytest-gpu.xml"
    cmd = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-rA", "-p", "no:cacheprovider",
           f"--junitxml={junit}", "tests"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(repo), os.environ.get("PYTHONPATH")) if p))
    result = {"command": " ".join(cmd[1:]), "timeout_s": timeout_s}
    try:
        proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True,
                              timeout=timeout_s)
        result["returncode"] = proc.returncode
        result["status"] = PYTEST_EXIT.get(proc.returncode, f"exit {proc.returncode}")
        output = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        result["status"] = f"timed out after {timeout_s:.0f} s"
        output = _text(exc.stdout) + _text(exc.stderr)
    result["output_tail"] = output[-4000:]
    if junit.exists():
        try:
            result.update(read_junit(junit))
        except Exception as exc:
            result["junit_error"] = error_text(exc)
    return result


def _text(data):
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def read_junit(path):
    """Per-test outcome (passed/failed/error/skipped) with message, and the counts."""
    tests = []
    for case in ET.parse(path).iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = "failed" if tag == "failure" else tag
                message = (node.get("message") or node.text or "")[:500]
                break
        tests.append({"name": f"{case.get('classname')}::{case.get('name')}",
                      "outcome": outcome, "time_s": float(case.get("time") or 0),
                      "message": message})
    totals = {k: sum(t["outcome"] == k for t in tests)
              for k in ("passed", "failed", "error", "skipped")}
    return {"tests": tests, "totals": totals}
