"""`python -m benchmarks` on the CPU: a quick run writes well-formed results with checked rows,
a roofline and the targets; the distributed rows are timed in mpiexec jobs and the "alone" rows
in one process per library, or skipped saying why; --compare flags a planted regression; the budget, --only, the GPU tests, bad flags and a
missing GPU are reported; the committed results still render; and `gpugrad bench` runs from the
installed layout setup.py declares."""
import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gpugrad

from benchmarks import alone, distributed
from benchmarks.cli import _plan
from benchmarks.devices import Cpu
from benchmarks.kernel_rows import CONV_KERNELS, ISSUE_CONV_SHAPES, gelu_row
from benchmarks.machine import _git
from benchmarks.markdown import render
from benchmarks.plots import write_plots
from benchmarks.pytests import run_gpu_tests
from benchmarks.run import Settings, run_row
from benchmarks.suite import GROUPS, plan
from benchmarks.targets import evaluate_targets, judged
from benchmarks.timing import Budget, WallClock, measure

from tests.distributed.launch import mpiexec
from tests.helpers import REPO

ROWS = "conv2d_forward/2x1x7x7,conv_fwd_bwd/2x4x6x6,gelu_bwd/2^10 tanh,matmul/64^3,maxpool,xent,lenet5"
NO_SIM = {"GPUGRAD_CUDA_SIM": "0"}  # conftest simulates cuda; these runs must see the real state
ELSEWHERE = ("distributed", "alone")  # the groups timed in other processes
IN_PROCESS = ",".join(g for g in GROUPS if g not in ELSEWHERE)


def bench(*args, env=None, cwd=REPO, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def load(out):
    data = json.loads((out / "results.json").read_text(),
                      parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    return data, (out / "results.md").read_text()


def quick(out, *extra):
    proc = bench("--quick", "--device", "cpu", "--out", str(out), *extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return (*load(out), proc.stdout)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Every row timed in this process, tiny sizes, with the roofline and the targets."""
    return quick(tmp_path_factory.mktemp("quick"), "--only", IN_PROCESS, "--roofline", "--targets")


def has_gpu():
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def test_quick_cpu_run_writes_checked_rows(run):
    data, md, _ = run
    assert data["schema"] == "gpugrad.benchmarks/1"
    assert data["status"] == "complete" and data["errors"] == []
    assert data["machine"]["cpu_model"] and data["machine"]["threads"]["numba"] >= 1
    assert [r["id"] for r in data["rows"]] == [row.id for g, row in plan("cpu", quick=True) if g not in ELSEWHERE]
    assert {r["kernel"] for r in data["rows"]} >= {
        "conv2d_forward", "conv_wgrad", "conv_dgrad", "conv_fwd_bwd", "gelu_fwd", "gelu_bwd",
        "matmul", "maxpool2d_fwd", "maxpool2d_bwd", "softmax_xent_fwd", "softmax_xent_bwd",
        "lenet5", "cnn_bn"}
    for row in data["rows"]:
        ours = row["impls"]["gpugrad"]
        assert row["device"] == "cpu" and ours["status"] == "ok", row
        assert len(ours["reps_ms"]) == 3 and ours["min_ms"] <= ours["median_ms"] <= ours["max_ms"]
        assert row["check"]["status"] == "ok", (row["id"], row["check"])  # the real CPU kernels
        if row["section"] == "kernels":
            assert row["impls"]["numpy"]["status"] == "ok" and row["ratios"]["numpy"] > 0
            assert ours["gbps"] > 0 and ("copy_fraction" in ours or "gemm_fraction" in ours)
        else:
            assert ours["samples_per_s"] > 0
    fwd_bwd = next(r for r in data["rows"] if r["kernel"] == "conv_fwd_bwd")
    assert fwd_bwd["impls"]["gpugrad"]["peak_mib"] > 0
    assert [i["name"] for i in fwd_bwd["check"]["items"]] == ["y", "gw", "gx"]
    assert "## CPU: Convolution" in md and "## CPU: Training step" in md
    assert "| conv2d_forward 2x1x7x7->2 k5 s1 p2 d1 | kernel |" in md
    assert "| matmul 64^3 | Tensor API |" in md and "peak MiB" in md


def test_roofline_and_targets_are_options(run):
    data, md, stdout = run
    roof = data["roofline"]["cpu"]
    assert roof["copy"]["gbps"] > 0 and roof["gemm"]["gflops"] > 0
    assert roof["torch_copy"]["status"] == "ok" and roof["torch_gemm"]["gflops"] > 0
    assert {t["result"] for t in data["targets"].values()} == {"not evaluated"}  # no cuda rows
    assert "## CPU roofline" in md and "## Targets" in md and "target gelu: not evaluated" in stdout
    assert "roofline_cpu.png" in data["plots"]


def test_compare_flags_a_planted_regression(run, tmp_path):
    data = json.loads(json.dumps(run[0]))
    planted = next(r for r in data["rows"] if r["id"] == "gelu_bwd/2^10 tanh")
    planted["impls"]["gpugrad"]["median_ms"] /= 100  # the earlier run was 100x faster
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    new, md, stdout = quick(tmp_path / "after", "--only", ROWS, "--compare", str(old),
                            "--threshold", "50")
    cmp = new["comparison"]
    assert len(cmp["rows"]) == len(new["rows"]) == 11 and cmp["threshold"] == 0.5
    assert planted["id"] in [e["id"] for e in cmp["rows"] if e["regression"]]
    assert f"REGRESSION cpu {planted['id']}" in stdout and "REGRESSION" in md


def test_cpu_and_gpu_rows_of_one_run_make_one_table_and_a_speedup_plot(run, tmp_path):
    data = json.loads(json.dumps(run[0]))
    gpu = json.loads(json.dumps(data["rows"]))
    for row in gpu:
        row["device"] = "cuda"
        for rec in row["impls"].values():
            if rec.get("status") == "ok":
                rec["median_ms"] /= 4
    data["rows"] += gpu
    data["devices"]["cuda"] = {"status": "ok"}
    md = render(data)
    table = md.split("## CPU versus GPU")[1].split("\n## ")[0]
    assert "| gpugrad speedup |" in table and "| 4.0 | " in table
    assert table.count("\n| ") == len(gpu) + 1  # the header and one line a row
    assert "## CUDA: Convolution" in md
    files, _ = write_plots(data, tmp_path)
    assert "speedup_gpu_over_cpu.png" in files and (tmp_path / "speedup_gpu_over_cpu.png").stat().st_size


def test_budget_and_only_skip_rows_but_still_report(tmp_path):
    proc = bench("--quick", "--device", "cpu", "--only", "gelu_fwd", "--budget-s", "0",
                 "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data, md = load(tmp_path)
    assert data["rows"] and all(r["kernel"] == "gelu_fwd" for r in data["rows"])
    assert {r["impls"]["gpugrad"]["status"] for r in data["rows"]} == {"skipped"}
    assert data["status"].startswith("budget spent") and "skipped" in md


def test_watchdog_saves_the_results_and_ends_a_run_that_is_still_going(tmp_path):
    proc = bench("--quick", "--device", "cpu", "--reps", "1000000", "--only", "gelu_fwd/2^10 none",
                 "--watchdog", "2", "--out", str(tmp_path))
    assert proc.returncode == 3, proc.stderr[-3000:]
    data, md = load(tmp_path)
    assert data["status"] == "stopped by the watchdog after 2 s" and "watchdog" in md


@pytest.mark.parametrize("args, message", [
    (["--reps", "0"], "--reps must be at least 1, got 0"),
    (["--only", "no-such-row"], "--only 'no-such-row' matches no row on cpu"),
    (["--compare", "missing.json"], "--compare missing.json: no such file"),
    (["--device", "tpu"], "invalid choice"),
])
def test_bad_flags_are_one_line_errors(tmp_path, args, message):
    proc = bench("--device", "cpu", "--out", str(tmp_path / "out"), *args)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    assert proc.stderr.startswith("python -m benchmarks: error: ")
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(has_gpu(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_exits_with_one_line(tmp_path):
    proc = bench("--device", "cuda", "--out", str(tmp_path), env=NO_SIM)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "needs a real GPU" in proc.stderr
    assert not (tmp_path / "results.json").exists()


@pytest.mark.skipif(has_gpu(), reason="this machine has a GPU")
def test_device_all_without_a_gpu_runs_the_cpu_and_says_why(tmp_path):
    proc = bench("--device", "all", "--quick", "--only", "gelu_fwd/2^10 none", "--out",
                 str(tmp_path), env=NO_SIM)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "cuda skipped" in proc.stderr
    data, md = load(tmp_path)
    assert data["devices"]["cpu"]["status"] == "ok"
    assert data["devices"]["cuda"]["status"] == "unavailable"
    assert [r["device"] for r in data["rows"]] == ["cpu"]
    assert "**cuda**: unavailable" in md


def test_simulated_cuda_is_refused(tmp_path):
    proc = bench("--device", "cuda", "--out", str(tmp_path), env={"GPUGRAD_CUDA_SIM": "1"})
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "not a benchmark device" in proc.stderr


@pytest.mark.slow
def test_distributed_rows_are_timed_in_mpiexec_jobs(tmp_path):
    mpiexec()  # skips (or fails under CI) without MPI
    data, md, _ = quick(tmp_path, "--only", "distributed")
    rows = data["rows"]
    assert data["status"] == "complete" and data["errors"] == []
    assert [r["id"] for r in rows] == [row.id for g, row in plan("cpu", quick=True) if g == "distributed"]
    assert [r["kernel"] for r in rows] == ["all_reduce"] * 2 + ["dp_step"] * 4
    for row in rows:
        ours = row["impls"]["gpugrad"]
        assert row["section"] == "distributed" and ours["status"] == "ok", row
        assert len(ours["reps_ms"]) == 3 and ours["min_ms"] <= ours["median_ms"] <= ours["max_ms"] > 0
        if row["kernel"] == "all_reduce":
            assert ours["gbps"] == pytest.approx(4 * row["params"]["elements"] / ours["median_ms"] / 1e6)
        else:
            assert ours["samples_per_s"] == pytest.approx(8 / ours["median_ms"] * 1e3)
    assert [(r["params"]["ranks"], r["params"]["one_thread"]) for r in rows[2:]] == [
        (1, False), (1, True), (2, True), (2, False)]
    assert "## CPU: Distributed" in md and "| gpugrad ms | GB/s | samples/s |" in md
    assert "| dp_step LeNet-5 global batch 8, 2 ranks, 1 thread each | Tensor API |" in md


def test_distributed_rows_skip_on_cuda_and_without_mpi(monkeypatch):
    class Device:
        name = "cuda"

        def free(self):
            pass

    def records(device):
        dev, settings = Device(), Settings(reps=1, warmup=0, budget=Budget(60))
        dev.name = device
        return [run_row("distributed", row, dev, settings) for row in distributed.distributed_rows(device, True)]

    on_cuda = records("cuda")
    assert len(on_cuda) == 6 and all(r["impls"] == {"gpugrad": {
        "status": "skipped", "error": "CPU only (the mpi backend on CPU tensors), not run on cuda"}} for r in on_cuda)
    monkeypatch.setattr(distributed, "_launcher", lambda: None)
    without = records("cpu")
    assert {r["impls"]["gpugrad"]["error"] for r in without} == {
        'mpiexec not installed (pip install "gpugrad[distributed]")'}
    md = render({"started_utc": "2026-01-01", "command": "test", "status": "complete",
                 "devices": {"cpu": {"status": "ok"}}, "rows": without})
    assert '- cpu `all_reduce/2^4 float32, 2 ranks`: gpugrad: mpiexec not installed' in md


@pytest.mark.slow
def test_alone_rows_time_each_library_in_processes_of_its_own(tmp_path):
    data, md, _ = quick(tmp_path, "--only", "alone")
    rows = data["rows"]
    assert data["status"] == "complete" and data["errors"] == []
    assert [r["id"] for r in rows] == [row.id for g, row in plan("cpu", quick=True) if g == "alone"]
    assert [r["kernel"] for r in rows] == ["recipe_epoch", "lenet_step"]
    for row in rows:
        assert row["section"] == "e2e" and row["ratios"]["torch"] > 0, row
        for impl in ("gpugrad", "torch"):
            rec = row["impls"][impl]
            assert rec["status"] == "ok" and len(rec["reps_ms"]) == 3, (impl, rec)
            assert rec["min_ms"] <= rec["median_ms"] <= rec["max_ms"] and rec["samples_per_s"] > 0
            assert len(rec["loadavg_jobs"]) == 1 and rec["loadavg_jobs"][0] >= 0
    recipe, step = rows
    for rec in recipe["impls"].values():  # 256 training samples an epoch; both learn something
        assert rec["samples_per_s"] == pytest.approx(256 / rec["median_ms"] * 1e3)
        assert 0.3 < rec["test_accuracy"] <= 1 and len(rec["test_accuracy_jobs"]) == 1
    losses = [step["impls"][i]["first_loss_jobs"][0] for i in ("gpugrad", "torch")]
    assert losses[0] == pytest.approx(losses[1], rel=1e-4)  # the same step on the same values
    assert "## CPU: Each library alone" in md and "| gpugrad accuracy | torch accuracy |" in md
    assert ("| recipe_epoch default recipe (cnn, mnist-5k, batch 32), per epoch, 256 samples per split "
            "| gpugrad train |") in md
    assert "Each job is a fresh process" in md


def test_alone_rows_skip_on_cuda_and_without_torch():
    class Device:
        name, torch_ok, torch_error = "cuda", True, None

        def free(self):
            pass

    dev, settings = Device(), Settings(reps=1, warmup=0, budget=Budget(60))
    on_cuda = [run_row("alone", row, dev, settings) for row in alone.alone_rows("cuda", True)]
    why = "CPU only (each library alone on the CPU), not run on cuda"
    assert len(on_cuda) == 2 and all(r["impls"] == {i: {"status": "skipped", "error": why}
                                                    for i in ("gpugrad", "torch")} for r in on_cuda)
    dev.name, dev.torch_ok, dev.torch_error = "cpu", False, "ModuleNotFoundError: No module named 'torch'"
    step = run_row("alone", alone.alone_rows("cpu", True)[1], dev, settings)
    assert step["impls"]["gpugrad"]["status"] == "ok" and not step.get("ratios")
    assert step["impls"]["torch"] == {"status": "skipped",
                                      "error": "no PyTorch peer (ModuleNotFoundError: No module named 'torch')"}
    md = render({"started_utc": "2026-01-01", "command": "test", "status": "complete",
                 "devices": {"cpu": {"status": "ok"}}, "rows": on_cuda + [step]})
    assert "- cpu `lenet_step/LeNet-5 batch 8`: torch: no PyTorch peer" in md


def test_the_pytorch_recipe_shifts_images_as_gpugrad_does():
    import torch

    from gpugrad.data.transforms import RandomShift
    x = np.random.default_rng(0).random((9, 2, 6, 7), np.float32)
    ours = RandomShift(2, generator=np.random.default_rng(1))(gpugrad.tensor(x)).numpy()
    theirs = alone._shift(torch, torch.from_numpy(x), 2, np.random.default_rng(1)).numpy()
    assert not np.array_equal(ours, x) and np.array_equal(ours, theirs)


def test_implementations_take_turns_and_a_failing_one_is_recorded():
    log = []

    def fails_on_third():
        log.append("b")
        if log.count("b") == 3:
            raise ValueError("third call")

    calls = {"a": (lambda: log.append("a"), WallClock()), "b": (fails_on_third, WallClock())}
    got = measure(calls, reps=4, warmup=1, budget=Budget(60), settle_ms=0)
    # each turn: one untimed call, then 3 timed ones, but never more timed calls than reps
    assert log == ["a", "b"] + ["a"] * 4 + ["b", "b"] + ["a"] * 2
    assert got["a"]["status"] == "ok" and got["a"]["reps"] == 4 and len(got["a"]["warmup_ms"]) == 1
    assert got["b"]["status"] == "error" and got["b"]["error"] == "ValueError: third call"


def test_fast_host_calls_settle_untimed_before_their_timed_calls():
    """Each turn of a fast call starts untimed (the other library's threads may still spin)."""
    log, ms = [], iter(range(1000))

    class Clock(WallClock):
        def time(self, fn):
            fn()
            return float(next(ms))

    calls = {name: (lambda name=name: log.append(name), Clock()) for name in "ab"}
    got = measure(calls, reps=6, warmup=1, budget=Budget(60), settle_ms=0)
    assert log == ["a", "b"] + (["a"] * 4 + ["b"] * 4) * 2
    assert got["a"]["reps_ms"] == [3.0, 4.0, 5.0, 11.0, 12.0, 13.0]
    assert got["b"]["reps_ms"] == [7.0, 8.0, 9.0, 15.0, 16.0, 17.0]


class _Off:
    """gpugrad's CPU kernels with gelu_fwd's output 1% off."""

    def __init__(self, kernels):
        self.kernels = kernels

    def __getattr__(self, name):
        return getattr(self.kernels, name)

    def gelu_fwd(self, x, approximate):
        return self.kernels.gelu_fwd(x, approximate) * np.float32(1.01)


def test_the_check_catches_a_wrong_kernel():
    dev = Cpu()
    settings = Settings(reps=2, warmup=0, budget=Budget(60))
    assert run_row("gelu", gelu_row(False, "tanh", 10), dev, settings)["check"]["status"] == "ok"
    dev.kernels = _Off(dev.kernels)
    rec = run_row("gelu", gelu_row(False, "tanh", 10), dev, settings)
    assert rec["check"]["status"] == "mismatch" and rec["check"]["max_rel"] > 5e-3
    assert rec["impls"]["gpugrad"]["status"] == "ok" and rec["ratios"]["torch"] > 0
    data = {"started_utc": "2026-01-01", "command": "test", "status": "complete",
            "devices": {"cpu": {"status": "ok"}}, "rows": [rec]}
    assert "| mismatch 1.0e-02 (out)" in render(data)


def _row(group, kernel, params, ours_ms, torch_ms, copy_fraction=None, check="ok", device="cuda"):
    ours = {"status": "ok", "median_ms": ours_ms}
    if copy_fraction is not None:
        ours["copy_fraction"] = copy_fraction
    return {"device": device, "id": f"{kernel}/{params}", "group": group, "kernel": kernel,
            "params": params, "ratios": {"torch": ours_ms / torch_ms}, "check": {"status": check},
            "impls": {"gpugrad": ours, "torch": {"status": "ok", "median_ms": torch_ms}}}


def test_targets_are_judged_on_full_size_cuda_rows():
    gelu = [_row("gelu", k, {"n": 2 ** 26, "approximate": f}, 1.0, 1.0, copy_fraction=0.9)
            for k in ("gelu_fwd", "gelu_bwd") for f in ("none", "tanh")]
    conv = [_row("conv", k, {"shape": list(s)}, 1.5, 1.0) for s in ISSUE_CONV_SHAPES for k in CONV_KERNELS]
    rows = gelu + conv
    targets = evaluate_targets(rows)
    assert targets["gelu"]["result"] == "pass" and targets["conv"]["result"] == "pass"
    gelu[0]["impls"]["gpugrad"]["copy_fraction"] = 0.8
    conv[0]["check"]["status"] = "mismatch"
    targets = evaluate_targets(rows)
    assert targets["gelu"]["result"] == "fail" and targets["conv"]["result"] == "fail"
    assert evaluate_targets(gelu[1:])["gelu"]["result"] == "incomplete"
    assert evaluate_targets(gelu[1:])["conv"]["result"] == "not evaluated"
    for row in rows:
        row["device"] = "cpu"
    assert evaluate_targets(rows)["gelu"]["result"] == "not evaluated"


def test_targets_run_the_rows_they_read_first():
    args = argparse.Namespace(quick=False, only=None, targets=True)
    rows = [row for _, row in _plan("cuda", args)]
    judged_first = [judged(row) for row in rows]
    assert judged_first == sorted(judged_first, reverse=True)
    assert sum(judged_first) == 4 + len(ISSUE_CONV_SHAPES) * len(CONV_KERNELS)
    assert not any(judged(row) for _, row in plan("cuda", quick=True))  # --quick shapes never count


def test_gpu_tests_are_run_and_read_back(tmp_path):
    tree = tmp_path / "tree"
    (tree / "tests").mkdir(parents=True)
    (tree / "pytest.ini").write_text("[pytest]\nmarkers =\n    gpu: needs a GPU\n")
    (tree / "tests" / "test_g.py").write_text(
        "import pytest\n\n@pytest.mark.gpu\ndef test_ok():\n    pass\n\n"
        "@pytest.mark.gpu\ndef test_bad():\n    assert 0, 'broken'\n\ndef test_not_gpu():\n    pass\n")
    result = run_gpu_tests(tree, tmp_path, timeout_s=60)
    assert result["status"] == "some tests failed", result.get("output_tail")
    assert result["totals"] == {"passed": 1, "failed": 1, "error": 0, "skipped": 0}
    assert next(t for t in result["tests"] if t["outcome"] == "failed")["name"].endswith("test_bad")
    assert run_gpu_tests(tmp_path / "nowhere", tmp_path, 60)["status"] == "unavailable"


def test_commit_can_be_given_for_a_copied_tree(monkeypatch):
    head = _git()
    monkeypatch.setenv("GPUGRAD_COMMIT", "0123abc")
    assert _git() == "0123abc" and head != "0123abc"


@pytest.mark.parametrize("path", sorted((REPO / "benchmarks" / "results").glob("*/results.json")),
                         ids=lambda p: p.parent.name)
def test_committed_results_use_the_one_schema_and_render(path):
    data = json.loads(path.read_text())
    assert data["schema"] == "gpugrad.benchmarks/1"
    md = render(data)
    for row in data["rows"]:
        assert f"{row['kernel']} {row['label']}" in md


def test_no_results_in_an_older_schema_remain():
    assert not list((REPO / "benchmarks" / "results").glob("*/gpu_check.json"))


def _installed_layout(root):
    """The package as setup.py installs it: gpugrad/, plus each package_dir mapping."""
    tree = ast.parse((REPO / "setup.py").read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setup")
    mapping = ast.literal_eval(next(k.value for k in call.keywords if k.arg == "package_dir"))
    assert mapping.get("gpugrad.benchmarks") == "benchmarks"
    skip = shutil.ignore_patterns("__pycache__", "results", "*.so", "build")
    shutil.copytree(REPO / "gpugrad", root / "gpugrad", ignore=skip)
    for package, folder in mapping.items():
        shutil.copytree(REPO / folder, root / package.replace(".", "/"), ignore=skip)


@pytest.mark.slow
@pytest.mark.parametrize("row", ["gelu_fwd/2^10 none", "all_reduce/2^4 float32"])
def test_gpugrad_bench_runs_installed(tmp_path, row):
    if row.startswith("all_reduce"):
        mpiexec()  # its ranks start `python -m gpugrad.benchmarks.distributed`
    _installed_layout(tmp_path / "site")
    code = ("import sys, gpugrad.benchmarks as b; print(b.__file__); from gpugrad.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"), **NO_SIM)
    args = ["bench", "--quick", "--device", "cpu", "--only", row, "--out", "r"]
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith(str(tmp_path / "site" / "gpugrad" / "benchmarks"))
    data, _ = load(tmp_path / "r")
    assert data["command"].startswith("gpugrad bench") and data["status"] == "complete"
    assert [r["impls"]["gpugrad"]["status"] for r in data["rows"]] == ["ok"]
    bad = subprocess.run([sys.executable, "-c", code, "bench", "--reps", "0"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr == "gpugrad bench: error: --reps must be at least 1, got 0\n"


def test_every_kernel_row_names_a_benchmark_builder_that_exists():
    """kernel_specs names each kernel's row builder by string (the package may not import
    benchmarks); the string must resolve, or the row silently has no benchmark."""
    import importlib

    from gpugrad.kernel_specs import KERNELS
    for spec in KERNELS:
        module, _, name = spec.bench.rpartition(".")
        assert callable(getattr(importlib.import_module(f"benchmarks.{module}"), name, None)), spec
