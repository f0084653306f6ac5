"""The command line of `python -m benchmarks` (and `gpugrad bench`): which devices and rows,
then per device the roofline and the rows, saving results.json and results.md after each
section; the GPU tests, the targets, plots and the --compare diff around them."""
import argparse
import datetime
import fnmatch
import os
import sys
import threading
from pathlib import Path

from . import machine, suite
from .compare import compare
from .devices import Cpu, Cuda, Unavailable
from .errors import error_tail, error_text
from .plots import write_plots
from .pytests import run_gpu_tests
from .report import Report
from .roofline import measure_roofline
from .run import Settings, run_row
from .targets import judged
from .timing import Budget

PROG = "python -m benchmarks"


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line: `prog: error: what is wrong`."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv, prog=PROG):
    p = _Parser(prog=prog, description=(
        "Benchmark gpugrad's kernels and training steps on the CPU and a real GPU against "
        "PyTorch (and NumPy on the CPU); write results.json, results.md and PNG plots."))
    p.add_argument("--device", choices=["cpu", "cuda", "all"], default="all",
                   help="cpu, cuda (a real GPU through CuPy; simulated cuda is refused) or all "
                        "(the CPU, and the GPU when there is one, with a CPU-versus-GPU table); "
                        "default %(default)s")
    p.add_argument("--out", type=Path, help="output folder (default: benchmarks/results/"
                   "<machine>-<date>/ in a checkout, ./benchmark-results/<machine>-<date>/ installed)")
    p.add_argument("--quick", action="store_true", help="tiny sizes and 3 repetitions (CI smoke run)")
    p.add_argument("--only", metavar="PATTERN", help="rows whose id (e.g. 'gelu_fwd/2^20 none') "
                   "matches this glob or contains this text, or whose group (" + ", ".join(suite.GROUPS)
                   + ") it names; several patterns separated by commas")
    p.add_argument("--reps", type=int, help="timed repetitions per row (default 20, quick 3; "
                   "calls over 25 ms get fewer, at least 5)")
    p.add_argument("--budget-s", type=float, default=900,
                   help="seconds for the whole run; later rows are marked skipped (default %(default)s)")
    p.add_argument("--roofline", action="store_true", help="measure each device's copy bandwidth "
                   "and SGEMM rate first, and give every row its fraction of them")
    p.add_argument("--targets", action="store_true", help="judge the GPU speed targets (gelu at "
                   "2^26 vs copy bandwidth, conv on the issue shapes vs PyTorch); implies --roofline "
                   "and runs the rows they read first")
    p.add_argument("--pytest-gpu", action="store_true",
                   help="first run the source tree's `pytest -m gpu` tests and report them")
    p.add_argument("--tests-timeout-s", type=float, default=180,
                   help="limit for --pytest-gpu (default %(default)s)")
    p.add_argument("--watchdog", type=float, metavar="SECONDS", help="save the results and end the "
                   "process (exit 3) if the run is still going after SECONDS: a hung kernel cannot "
                   "be interrupted from Python")
    p.add_argument("--compare", type=Path, metavar="PATH",
                   help="an earlier results.json: report rows whose gpugrad median changed")
    p.add_argument("--threshold", type=float, default=10.0,
                   help="percent slowdown that --compare flags as a regression (default %(default)s)")
    args = p.parse_args(argv)
    for name, value, least in (("--reps", args.reps, 1), ("--budget-s", args.budget_s, 0),
                               ("--watchdog", args.watchdog, 1), ("--threshold", args.threshold, 0),
                               ("--tests-timeout-s", args.tests_timeout_s, 1)):
        if value is not None and not value >= least:
            p.error(f"{name} must be at least {least}, got {value:g}")
    if args.compare and not args.compare.is_file():
        p.error(f"--compare {args.compare}: no such file")
    args.roofline = args.roofline or args.targets
    return args, p


def main(argv=None, prog=PROG):
    argv = sys.argv[1:] if argv is None else list(argv)
    args, parser = parse_args(argv, prog)
    try:
        devices, status = _devices(args.device, prog)
    except Unavailable as exc:
        parser.error(str(exc))
    plan = {name: _plan(name, args) for name in devices}
    if args.only and not any(plan.values()):
        parser.error(f"--only {args.only!r} matches no row on {' or '.join(devices)} (ids look "
                     f"like 'gelu_fwd/2^20 none'; groups: {', '.join(suite.GROUPS)})")
    out = args.out or machine.default_out(devices)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.error(f"--out {out}: {exc.strerror or exc}")
    budget = Budget(args.budget_s)
    data = {"schema": "gpugrad.benchmarks/1", "command": " ".join([prog, *argv]),
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "started_utc": _now(), "status": "running", "timing": "settled", "devices": status,
            "machine": machine.describe(devices), "roofline": {}, "section_s": {}, "errors": [],
            "rows": []}
    if args.targets:
        data["targets"] = {}
    report = Report(out, data)
    watchdog = _watchdog(report, args.watchdog) if args.watchdog else None
    if args.pytest_gpu:
        tree = machine.checkout() or Path.cwd()
        _section(report, budget, "pytest-gpu", lambda: data.update(tests=run_gpu_tests(
            tree, out, max(10.0, min(args.tests_timeout_s, budget.left() / 2)))))
    progress = _Progress(sum(len(rows) for rows in plan.values()), budget)
    for name, dev in devices.items():
        settings = Settings(reps=args.reps or (3 if args.quick else 20),
                            warmup=1 if args.quick or name == "cpu" else 3, budget=budget)
        if args.roofline:
            _section(report, budget, f"{name}/roofline", lambda: _roofline(data, dev, settings, args.quick))
        for section in dict.fromkeys(g.section for g in suite.GROUPS.values()):
            rows = [(g, r) for g, r in plan[name] if suite.GROUPS[g].section == section]

            def run(rows=rows):
                for group, row in rows:
                    progress.step(f"{name} {row.id}")
                    data["rows"].append(run_row(group, row, dev, settings))
                    report.save(json_only=True)
            if rows:
                _section(report, budget, f"{name}/{section}", run)
    progress.close()
    skipped = sum(any(v.get("status") == "skipped" for v in r["impls"].values()) for r in data["rows"])
    data["status"] = f"budget spent, {skipped} rows skipped" if skipped else "complete"
    data["finished_utc"] = _now()
    data["machine"]["loadavg_at_end"] = list(os.getloadavg())  # above the core count: noisy
    if args.compare:
        data["comparison"] = compare(data["rows"], args.compare, args.threshold / 100)
    data["plots"], data["plots_note"] = write_plots(data, out)
    report.save()
    if watchdog:
        watchdog.cancel()
    _summary(data, out)
    return 0


def _devices(device, prog):
    """({name: Device}, {name: status}); Unavailable if an explicit cuda cannot run."""
    devices, status = {}, {}
    if device in ("cpu", "all"):
        devices["cpu"], status["cpu"] = Cpu(), {"status": "ok"}
    if device in ("cuda", "all"):
        try:
            devices["cuda"], status["cuda"] = Cuda(), {"status": "ok"}
        except Unavailable as exc:
            if device == "cuda" or "GPUGRAD_CUDA_SIM" in str(exc):
                raise
            status["cuda"] = {"status": "unavailable", "error": str(exc)}
            print(f"{prog}: cuda skipped: {exc}", file=sys.stderr)
    return devices, status


def _plan(device, args):
    """The device's (group, Row) pairs that --only selects; with --targets, those the targets
    read first."""
    rows = [(g, r) for g, r in suite.plan(device, args.quick) if _selected(g, r, args.only)]
    return sorted(rows, key=lambda gr: not judged(gr[1])) if args.targets else rows


def _selected(group, row, patterns):
    return not patterns or any(group == p or p in row.id or fnmatch.fnmatch(row.id, p)
                               for p in patterns.split(","))


def _roofline(data, dev, settings, quick):
    roof = data["roofline"][dev.name] = measure_roofline(dev, settings, quick)
    settings.copy_gbps = roof.get("copy", {}).get("gbps")
    settings.gemm_gflops = roof.get("gemm", {}).get("gflops")


def _section(report, budget, name, fn):
    """Run one section; an exception is recorded, never raised; save afterwards."""
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
    """Save the results and end the process if the run is still going after `seconds`."""
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


def _summary(data, out):
    print(f"wrote {out / 'results.json'}, results.md and {len(data['plots'])} plots: {data['status']}")
    for name, target in data.get("targets", {}).items():
        print(f"target {name}: {target['result']}")
    cmp = data.get("comparison")
    if cmp:
        print(f"compared with {cmp['against']}: {len(cmp['rows'])} rows, "
              f"{cmp['regressions']} regressions beyond {100 * cmp['threshold']:.0f}%")
        for e in cmp["rows"]:
            if e["regression"]:
                print(f"REGRESSION {e['device']} {e['id']}: {e['old_ms']:.3f} -> "
                      f"{e['new_ms']:.3f} ms ({100 * e['change']:+.0f}%)")


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class _Progress:
    """A tqdm bar when tqdm is importable and stderr is a terminal, else one line per row."""

    def __init__(self, total, budget):
        self.budget, self.n, self.total, self.bar = budget, 0, total, None
        if sys.stderr.isatty():
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, unit="row", file=sys.stderr, dynamic_ncols=True)
            except ImportError:
                pass

    def step(self, text):
        if self.bar is not None:
            if self.n:
                self.bar.update(1)
            self.bar.set_description_str(text[:60])
        else:
            print(f"[bench {self.budget.elapsed():6.1f}s] [{self.n + 1}/{self.total}] {text}",
                  file=sys.stderr, flush=True)
        self.n += 1

    def close(self):
        if self.bar is not None:
            self.bar.update(1 if self.n else 0)
            self.bar.close()
