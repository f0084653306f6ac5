"""The GPU validation command, exercised on the CPU: --sim runs its whole flow with NumPy."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `benchmarks` is a folder of the repository, not installed

from benchmarks.gpu_check.cases import ISSUE_CONV_SHAPES, all_cases  # noqa: E402
from benchmarks.gpu_check.report import evaluate_targets  # noqa: E402

try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False

STATUSES = {"ok", "unavailable", "error", "skipped"}


def run_check(out, *args):
    """Run the command in a subprocess; return its parsed JSON and Markdown."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.gpu_check", "--quick",
                           "--skip-tests", "--out", str(out), *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((out / "gpu_check.json").read_text(),
                      parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    return data, (out / "gpu_check.md").read_text()


def impl_statuses(data, impl):
    return {r["impls"][impl]["status"] for r in data["kernels"]}


def test_sim_quick_writes_a_complete_report(tmp_path):
    data, md = run_check(tmp_path, "--sim")
    assert data["mode"]["label"] == "simulation, not a benchmark"
    assert data["status"] == "complete" and data["errors"] == []
    assert data["environment"]["date_utc"] and data["tests"]["status"].startswith("skipped")
    assert data["roofline"]["copy"]["gbps"] > 0 and data["roofline"]["gemm"]["gflops"] > 0
    assert len(data["kernels"]) == len(all_cases(small=True))
    # Until the CUDA KernelSet lands it is "unavailable"; afterwards it runs on the emulator.
    assert impl_statuses(data, "gpugrad") <= {"ok", "unavailable"}
    assert impl_statuses(data, "torch") == ({"ok"} if HAVE_TORCH else {"unavailable"})
    assert {t["result"] for t in data["targets"].values()} == {"not evaluated"}
    for heading in ("simulation, not a benchmark", "## Targets", "## Environment",
                    "## Roofline", "### Convolution", "### GELU", "### Max-pool",
                    "### Softmax cross-entropy"):
        assert heading in md


@pytest.mark.skipif(not HAVE_TORCH, reason="the checks compare against PyTorch")
def test_rows_time_and_check_a_working_kernelset(tmp_path):
    data, md = run_check(tmp_path, "--sim", "--kernelset", "gpu_check_refkernels:KernelSet")
    for row in data["kernels"]:
        assert row["impls"]["gpugrad"]["status"] == "ok", row["id"]
        assert len(row["impls"]["gpugrad"]["reps_ms"]) == 3
        assert row["ratio"] > 0 and row["impls"]["gpugrad"]["gbps"] > 0
        assert row["check"]["status"] == "ok", (row["id"], row["check"])
    assert "| ok " in md


def test_budget_and_only_skip_rows_but_still_report(tmp_path):
    data, md = run_check(tmp_path, "--sim", "--only", "gelu_fwd", "--budget-s", "0")
    assert data["kernels"] and all(r["kernel"] == "gelu_fwd" for r in data["kernels"])
    assert impl_statuses(data, "gpugrad") == {"skipped"}
    assert data["status"].startswith("budget spent")
    assert "skipped" in md


def test_without_sim_degrades_to_unavailable_when_there_is_no_gpu(tmp_path):
    data, md = run_check(tmp_path, "--only", "softmax_xent", "--budget-s", "30")
    assert data["mode"]["sim"] is False and data["errors"] == []
    for row in data["kernels"]:
        assert {rec["status"] for rec in row["impls"].values()} <= STATUSES
    if "error" in data["environment"].get("cupy", {}):  # no CuPy or no GPU here
        assert impl_statuses(data, "gpugrad") == {"unavailable"}
        assert "Not measured" in md


def _row(group, kernel, params, ours_ms, torch_ms, copy_fraction=None, check="ok"):
    ours = {"status": "ok", "median_ms": ours_ms}
    if copy_fraction is not None:
        ours["copy_fraction"] = copy_fraction
    return {"id": f"{kernel}/{params}", "group": group, "kernel": kernel, "params": params,
            "target": True, "ratio": ours_ms / torch_ms, "check": {"status": check},
            "impls": {"gpugrad": ours, "torch": {"status": "ok", "median_ms": torch_ms}}}


def test_targets_are_judged_on_full_size_rows():
    gelu = [_row("gelu", k, {"n": 2 ** 26, "approximate": f}, 1.0, 1.0, copy_fraction=0.9)
            for k in ("gelu_fwd", "gelu_bwd") for f in ("none", "tanh")]
    conv = [_row("conv", k, {"shape": list(s)}, 1.5, 1.0)
            for s in ISSUE_CONV_SHAPES for k in ("conv2d_forward", "conv_wgrad", "conv_dgrad")]
    data = {"mode": {"sim": False}, "kernels": gelu + conv}
    targets = evaluate_targets(data)
    assert targets["gelu"]["result"] == "pass" and targets["conv"]["result"] == "pass"
    gelu[0]["impls"]["gpugrad"]["copy_fraction"] = 0.8
    conv[0]["check"]["status"] = "mismatch"
    targets = evaluate_targets(data)
    assert targets["gelu"]["result"] == "fail" and targets["conv"]["result"] == "fail"
    data["kernels"] = gelu[1:]
    assert evaluate_targets(data)["gelu"]["result"] == "incomplete"
    assert evaluate_targets(data)["conv"]["result"] == "not evaluated"
    data["mode"]["sim"] = True
    assert evaluate_targets(data)["gelu"]["result"] == "not evaluated"


def test_commit_can_be_given_for_a_copied_tree(monkeypatch):
    from benchmarks.gpu_check.env import _git
    head = _git(REPO)
    monkeypatch.setenv("GPUGRAD_COMMIT", "0123abc")
    assert _git(REPO) == "0123abc" and head != "0123abc"
