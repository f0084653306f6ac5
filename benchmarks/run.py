"""Runs one row on one device: every implementation's first call, then all of them timed in
turns, the correctness check, the host-memory peak where asked, rates and ratios (or, for a row
timed in other processes, its own measurement, then rates)."""
import time
import tracemalloc
from dataclasses import dataclass

from .errors import error_tail, error_text
from .suite import GROUPS
from .timing import Budget, measure

PEERS = ("torch", "numpy")


@dataclass
class Settings:
    """How one device's rows are timed."""
    reps: int
    warmup: int
    budget: Budget
    copy_gbps: float | None = None     # that device's roofline in the same run, for fractions
    gemm_gflops: float | None = None


def run_row(group, row, dev, settings):
    """The row's JSON record on this device; errors are recorded, never raised."""
    rec = {"device": dev.name, "id": row.id, "section": GROUPS[group].section, "group": group,
           "kernel": row.kernel, "label": row.label, "api": row.api, "params": row.params,
           "dtype": "float32", "bytes": row.nbytes, "flops": row.flops, "samples": row.samples,
           "impls": {}}
    if settings.budget.spent():
        rec["impls"] = {"gpugrad": {"status": "skipped", "error": "time budget spent"}}
        return rec
    try:
        if row.measure is not None:  # timed in other processes
            rec["impls"] = row.measure(dev, settings)
        else:
            _time_here(rec, row, dev, settings)
    except Exception as exc:
        rec["error"] = error_text(exc)
        rec["traceback"] = error_tail(exc)
    finally:
        dev.free()
    add_rates(rec, settings)
    return rec


def _time_here(rec, row, dev, settings):
    """The row's calls in this process: first calls, then all timed in turns, then the check."""
    calls, check = row.prepare(dev)
    timed, outs = {}, {}
    for impl, call in calls.items():
        if isinstance(call, str):
            rec["impls"][impl] = {"status": "unavailable", "error": call}
            continue
        rec["impls"][impl], outs[impl] = _first_call(call, dev)
        if outs[impl] is not None:
            timed[impl] = (call, dev.torch_clock() if impl == "torch" else dev.clock())
    for impl, stats in measure(timed, reps=settings.reps, warmup=settings.warmup,
                               budget=settings.budget).items():
        rec["impls"][impl].update(stats)
    if row.track_memory and dev.name == "cpu" and "gpugrad" in timed:
        rec["impls"]["gpugrad"]["peak_mib"] = host_peak_mib(timed["gpugrad"][0])
    rec["check"] = check(outs)


def _first_call(call, dev):
    """(record, output) of the first call, which compiles or autotunes and is the one checked."""
    try:
        t0 = time.perf_counter()
        out = call()
        dev.sync()
        return {"status": "ok", "first_call_ms": (time.perf_counter() - t0) * 1e3}, out
    except Exception as exc:
        return {"status": "error", "error": error_text(exc), "traceback": error_tail(exc)}, None


def host_peak_mib(call):
    """Peak host memory traced during one call (NumPy buffers included), in MiB."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def add_rates(rec, settings):
    """GB/s and GFLOP/s, fractions of the run's roofline, samples/s, and gpugrad's time over
    each peer's (`ratios`)."""
    ok = {k: v for k, v in rec["impls"].items() if v.get("status") == "ok" and v.get("median_ms", 0) > 0}
    for v in ok.values():
        seconds = v["median_ms"] * 1e-3
        if rec["bytes"]:
            v["gbps"] = rec["bytes"] / seconds / 1e9
            if settings.copy_gbps:
                v["copy_fraction"] = v["gbps"] / settings.copy_gbps
        if rec["flops"]:
            v["gflops"] = rec["flops"] / seconds / 1e9
            if settings.gemm_gflops:
                v["gemm_fraction"] = v["gflops"] / settings.gemm_gflops
        if rec["samples"]:
            v["samples_per_s"] = rec["samples"] / seconds
    if "gpugrad" in ok:
        rec["ratios"] = {peer: ok["gpugrad"]["median_ms"] / ok[peer]["median_ms"]
                         for peer in PEERS if peer in ok}
