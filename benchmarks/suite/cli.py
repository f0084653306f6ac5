"""Command line of `python -m benchmarks`: which devices and rows, then sections in order
(GPU roofline, kernels, end to end) per device, saving results.json and results.md after
each section, plots and the --compare diff at the end."""
import argparse
import datetime
import fnmatch
import json
import os
import sys
from pathlib import Path

from benchmarks.gpu_check.device import error_tail, error_text
from benchmarks.gpu_check.report import finite, write_atomic
from benchmarks.gpu_check.roofline import measure_roofline
from benchmarks.gpu_check.rows import Settings
from benchmarks.gpu_check.timing import Budget

from . import machine
from .compare import compare
from .markdown import render
from .plots import write_plots
from .rows import kernel_rows
from .runner import run_row
from .targets import Unavailable, cpu_target, cuda_target
from .train import train_rows

REPO = Path(__file__).resolve().parents[2]
PROG = "python -m benchmarks"


def parse_args(argv):
    p = argparse.ArgumentParser(prog=PROG, description=(
        "Benchmark gpugrad's kernels and training steps on the CPU and a real GPU against "
        "PyTorch (and NumPy on the CPU); write results.json, results.md and PNG plots."))
    p.add_argument("--device", choices=["cpu", "cuda", "all"], default="all",
                   help="cpu, cuda (a real GPU through CuPy; simulated cuda is refused) or all "
                        "(the CPU, and the GPU when there is one); default %(default)s")
    p.add_argument("--out", type=Path, help="output folder "
                   "(default: benchmarks/results/<machine>-<date>/)")
    p.add_argument("--quick", action="store_true", help="tiny sizes and 3 repetitions (CI smoke run)")
    p.add_argument("--only", metavar="PATTERN", help="rows whose id (e.g. 'gelu_fwd/2^20 none') "
                   "matches this glob or contains this text, or whose group (conv, gelu, matmul, "
                   "maxpool, xent, train) it names; several patterns separated by commas")
    p.add_argument("--reps", type=int, help="timed repetitions per row (default 20, quick 3; "
                   "calls over 25 ms get fewer, at least 5)")
    p.add_argument("--budget-s", type=float, default=900,
                   help="seconds for the whole run; later rows are marked skipped (default %(default)s)")
    p.add_argument("--compare", type=Path, metavar="PATH",
                   help="an earlier results.json: report rows whose gpugrad median changed")
    p.add_argument("--threshold", type=float, default=10.0,
                   help="percent slowdown that --compare flags as a regression (default %(default)s)")
    return p.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    try:
        targets = _targets(args.device)
    except Unavailable as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    budget = Budget(args.budget_s)
    out = args.out or machine.default_out(targets, REPO)
    out.mkdir(parents=True, exist_ok=True)
    data = {"schema": "gpugrad.benchmarks/1", "command": " ".join([PROG, *argv]),
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "started_utc": _now(), "status": "running", "devices": targets.pop("_status"),
            "machine": machine.describe(targets, REPO), "roofline": {}, "section_s": {},
            "errors": [], "rows": []}
    plan = [(name, section, [r for r in rows(name, args.quick) if _selected(r, args.only)])
            for name in targets for section, rows in (("kernels", kernel_rows), ("e2e", train_rows))]
    progress = _Progress(sum(len(rows) for _, _, rows in plan), budget)
    for name, target in targets.items():
        settings = Settings(reps=args.reps or (3 if args.quick else 20),
                            warmup=1 if args.quick or name == "cpu" else 3, budget=budget)
        if name == "cuda":
            _section(data, out, budget, "cuda/roofline", lambda: _roofline(data, target, settings, args.quick))
        for _, section, rows in [p for p in plan if p[0] == name]:
            def run(rows=rows):
                for row in rows:
                    progress.step(f"{name} {row.id}")
                    data["rows"].append(run_row(row, target, settings))
                    _save_json(data, out)
            _section(data, out, budget, f"{name}/{section}", run)
    progress.close()
    skipped = sum(any(v.get("status") == "skipped" for v in r["impls"].values()) for r in data["rows"])
    data["status"] = f"budget spent, {skipped} rows skipped" if skipped else "complete"
    data["finished_utc"] = _now()
    data["machine"]["loadavg_at_end"] = list(os.getloadavg())  # above the core count: noisy
    if args.compare:
        data["comparison"] = compare(data["rows"], args.compare, args.threshold / 100)
    data["plots"], data["plots_note"] = write_plots(data, out)
    _save(data, out)
    _summary(data, out)
    return 0


def _targets(device):
    """{name: Target} plus "_status" per device; Unavailable if an explicit cuda cannot run."""
    targets, status = {}, {}
    if device in ("cpu", "all"):
        targets["cpu"] = cpu_target()
        status["cpu"] = {"status": "ok"}
    if device in ("cuda", "all"):
        try:
            targets["cuda"] = cuda_target()
            status["cuda"] = {"status": "ok"}
        except Unavailable as exc:
            if device == "cuda" or "GPUGRAD_CUDA_SIM" in str(exc):
                raise
            status["cuda"] = {"status": "unavailable", "error": str(exc)}
            print(f"{PROG}: cuda skipped: {exc}", file=sys.stderr)
    targets["_status"] = status
    return targets


def _selected(row, patterns):
    return not patterns or any(row.group == p or p in row.id or fnmatch.fnmatch(row.id, p)
                               for p in patterns.split(","))


def _roofline(data, target, settings, quick):
    roof = data["roofline"]["cuda"] = measure_roofline(target.dev, settings, quick)
    settings.copy_gbps = roof.get("copy", {}).get("gbps")
    settings.gemm_gflops = roof.get("gemm", {}).get("gflops")


def _section(data, out, budget, name, fn):
    """Run one section; an exception is recorded, never raised; save afterwards."""
    start = budget.elapsed()
    try:
        fn()
    except Exception as exc:
        data["errors"].append({"section": name, "error": error_text(exc),
                               "traceback": error_tail(exc, lines=12)})
    data["section_s"][name] = budget.elapsed() - start
    data["elapsed_s"] = budget.elapsed()
    _save(data, out)


def _save(data, out):
    _save_json(data, out)
    write_atomic(out / "results.md", render(data))


def _save_json(data, out):
    write_atomic(out / "results.json", json.dumps(finite(data), indent=1) + "\n")


def _summary(data, out):
    print(f"wrote {out / 'results.json'}, results.md and {len(data['plots'])} plots: {data['status']}")
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
