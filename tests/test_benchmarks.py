"""`python -m benchmarks` on the CPU: a quick run writes well-formed results, --compare flags
a planted regression, and --device cuda without a real GPU stops with one clear line."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROWS = "conv2d_forward/2x1x7x7,gelu_bwd/2^10 tanh,matmul/64^3,lenet5"


def bench(*args, env=None, timeout=60):
    env = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def quick(out, *extra):
    proc = bench("--quick", "--device", "cpu", "--out", str(out), "--only", ROWS, *extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((out / "results.json").read_text(),
                      parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    return data, (out / "results.md").read_text(), proc.stdout


def test_quick_cpu_run_writes_json_and_markdown(tmp_path):
    data, md, _ = quick(tmp_path)
    assert data["status"] == "complete" and data["errors"] == []
    assert data["machine"]["cpu_model"] and data["machine"]["threads"]["numba"] >= 1
    assert {r["id"].split("/")[0] for r in data["rows"]} == {
        "conv2d_forward", "gelu_bwd", "matmul", "lenet5"}
    for row in data["rows"]:
        ours = row["impls"]["gpugrad"]
        assert row["device"] == "cpu" and ours["status"] == "ok", row
        assert len(ours["reps_ms"]) == 3 and ours["min_ms"] <= ours["median_ms"] <= ours["max_ms"]
        assert row["check"]["status"] in ("ok", "unavailable"), row["check"]
        if row["section"] == "kernels":
            assert row["impls"]["numpy"]["status"] == "ok" and row["ratios"]["numpy"] > 0
        else:
            assert ours["samples_per_s"] > 0
    assert "## CPU: Convolution" in md and "## CPU: Training step" in md
    assert "| conv2d_forward 2x1x7x7->2 k5 s1 p2 d1 | kernel |" in md
    assert "| matmul 64^3 | Tensor API |" in md


def test_compare_flags_a_planted_regression(tmp_path):
    data, _, _ = quick(tmp_path / "before")
    planted = next(r for r in data["rows"] if r["id"].startswith("gelu_bwd"))
    planted["impls"]["gpugrad"]["median_ms"] /= 100  # the earlier run was 100x faster
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    new, md, stdout = quick(tmp_path / "after", "--compare", str(old), "--threshold", "50")
    cmp = new["comparison"]
    assert len(cmp["rows"]) == len(data["rows"]) and cmp["threshold"] == 0.5
    flagged = [e["id"] for e in cmp["rows"] if e["regression"]]
    assert planted["id"] in flagged
    assert f"REGRESSION cpu {planted['id']}" in stdout and "REGRESSION" in md


def _has_gpu():
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


@pytest.mark.skipif(_has_gpu(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_exits_with_one_line(tmp_path):
    proc = bench("--device", "cuda", "--out", str(tmp_path), env={"GPUGRAD_CUDA_SIM": "0"})
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "needs a real GPU" in proc.stderr
    assert not (tmp_path / "results.json").exists()


def test_simulated_cuda_is_refused(tmp_path):
    proc = bench("--device", "cuda", "--out", str(tmp_path), env={"GPUGRAD_CUDA_SIM": "1"})
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "not a benchmark device" in proc.stderr
