"""python -m benchmarks.gpu_check: the GPU validation run of issue 5 (see --help)."""
import argparse
import datetime
import fnmatch
import os
import re
import sys
import threading
from pathlib import Path

from .cases import all_cases
from .device import Device, error_tail, error_text
from .env import collect
from .pytests import run_gpu_tests
from .report import SIM_LABEL, Report
from .roofline import measure_roofline
from .rows import DEFAULT_KERNELSET, Settings, load_kernels, run_case
from .timing import Budget

REPO = Path(__file__).resolve().parents[2]


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.gpu_check",
        description="Run the gpu tests, measure the roofline and benchmark gpugrad's CUDA "
                    "kernels against PyTorch/cuDNN; write gpu_check.json and gpu_check.md.")
    p.add_argument("--out", type=Path,
                   help="output folder (default: benchmarks/results/<device>-<date>/)")
    p.add_argument("--budget-s", type=float, default=420,
                   help="total seconds; rows starting later are skipped, and a watchdog ends "
                        "the process (report saved) if a call hangs well past it")
    p.add_argument("--tests-timeout-s", type=float, default=180,
                   help="limit for the pytest subprocess")
    p.add_argument("--quick", action="store_true", help="tiny sizes, 3 repetitions")
    p.add_argument("--skip-tests", action="store_true", help="do not run pytest -m gpu")
    p.add_argument("--only", metavar="PATTERN",
                   help="kernel rows whose id (e.g. 'gelu_fwd/2^26 none') matches this glob "
                        "or contains this text")
    p.add_argument("--sim", action="store_true",
                   help=f"run on the CPU: NumPy + kernel emulator vs PyTorch CPU ({SIM_LABEL})")
    p.add_argument("--reps", type=int, help="timed repetitions per row (default 20, quick 3)")
    p.add_argument("--kernelset", default=DEFAULT_KERNELSET,
                   help="module:Class built as Class(xp, RawModule) (default: %(default)s)")
    return p.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    budget = Budget(args.budget_s)
    dev = Device(args.sim)
    small = args.quick or args.sim
    out = args.out or default_out(dev)
    out.mkdir(parents=True, exist_ok=True)
    data = {"schema": "gpugrad.gpu_check/1",
            "command": " ".join(["python -m benchmarks.gpu_check", *argv]),
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "mode": {"sim": args.sim, "quick": args.quick, "small_sizes": small,
                     "label": SIM_LABEL if args.sim else "benchmark"},
            "started_utc": _now(), "status": "running", "section_s": {}, "errors": [],
            "kernels": []}
    report = Report(out, data)
    watchdog = _watchdog(report, args.budget_s + max(60.0, args.budget_s / 4))
    settings = Settings(reps=args.reps or (3 if args.quick else 20),
                        warmup=1 if small else 3, budget=budget)

    def tests():
        timeout = max(10.0, min(args.tests_timeout_s, budget.left() / 2))
        data["tests"] = run_gpu_tests(REPO, out, timeout)

    def roofline():
        data["roofline"] = measure_roofline(dev, settings, small)
        settings.copy_gbps = data["roofline"].get("copy", {}).get("gbps")
        settings.gemm_gflops = data["roofline"].get("gemm", {}).get("gflops")

    def kernels():
        kernel_set = load_kernels(dev, args.kernelset)
        data["kernelset"] = {"spec": args.kernelset,
                             "status": "unavailable" if kernel_set.error else "ok",
                             "error": kernel_set.error}
        cases = [c for c in all_cases(small)
                 if not args.only or fnmatch.fnmatch(c.id, args.only) or args.only in c.id]
        for i, case in enumerate(cases, 1):
            _log(budget, f"[{i}/{len(cases)}] {case.id}")
            data["kernels"].append(run_case(case, dev, kernel_set, settings))
            report.save()

    _step(report, budget, "environment", lambda: data.update(environment=collect(dev, REPO)))
    if args.skip_tests:
        data["tests"] = {"status": "skipped (--skip-tests)"}
    else:
        _step(report, budget, "tests", tests)
    _step(report, budget, "roofline", roofline)
    _step(report, budget, "kernels", kernels)
    skipped = sum(r["impls"].get("gpugrad", {}).get("status") == "skipped"
                  for r in data["kernels"])
    data["status"] = f"budget spent, {skipped} rows skipped" if skipped else "complete"
    data["finished_utc"] = _now()
    report.save()
    watchdog.cancel()
    targets = data["targets"]
    print(f"wrote {out / 'gpu_check.json'} and {out / 'gpu_check.md'}: {data['status']}; "
          f"targets: gelu {targets['gelu']['result']}, conv {targets['conv']['result']}")
    return 0


def _step(report, budget, name, fn):
    """Run one section; an exception is recorded in the report, never raised."""
    _log(budget, name)
    start = budget.elapsed()
    try:
        fn()
    except Exception as exc:
        report.data["errors"].append({"section": name, "error": error_text(exc),
                                      "traceback": error_tail(exc, lines=12)})
    report.data["section_s"][name] = budget.elapsed() - start
    report.data["elapsed_s"] = budget.elapsed()
    report.save()


def _watchdog(report, seconds):
    """Save the report and end the process if the run is still going after `seconds`
    (a kernel that never returns cannot be interrupted from Python)."""
    def fire():
        try:
            report.data["status"] = f"stopped by the watchdog after {seconds:.0f} s"
            report.save()
        finally:
            os._exit(3)
    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return timer


def default_out(dev):
    slug = re.sub(r"[^a-z0-9]+", "-", dev.name.lower()).strip("-") or "device"
    return REPO / "benchmarks" / "results" / f"{slug}-{datetime.date.today().isoformat()}"


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _log(budget, msg):
    print(f"[gpu_check {budget.elapsed():6.1f}s] {msg}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
