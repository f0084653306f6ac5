"""Runs one Row on one Target: every implementation timed with gpu_check's loop, then the
check, rates (GB/s, GFLOP/s, fractions of the run's roofline, samples/s) and ratios."""
from benchmarks.gpu_check.device import error_tail, error_text
from benchmarks.gpu_check.rows import add_rates, run_impl

IMPLS = ("gpugrad", "torch", "numpy")


def run_row(row, target, settings):
    """The row's JSON record on this target."""
    rec = {"device": target.name, "id": row.id, "section": row.section, "group": row.group,
           "kernel": row.kernel, "label": row.label, "api": row.api, "params": row.params,
           "dtype": "float32", "bytes": row.nbytes, "flops": row.flops, "samples": row.samples,
           "impls": {}}
    if settings.budget.spent():
        rec["impls"] = {"gpugrad": {"status": "skipped", "error": "time budget spent"}}
        return rec
    dev = target.dev
    try:
        calls, check = row.prepare(target)
        outs = {}
        for impl, call in calls.items():
            if isinstance(call, str):
                rec["impls"][impl] = {"status": "unavailable", "error": call}
                continue
            clock = dev.torch_clock if impl == "torch" else dev.clock
            rec["impls"][impl], outs[impl] = run_impl(lambda: call, dev, clock, None, settings)
        rec["check"] = check(outs)
    except Exception as exc:
        rec["error"] = error_text(exc)
        rec["traceback"] = error_tail(exc)
    finally:
        dev.free()
    _rates(rec, settings)
    return rec


def _rates(rec, settings):
    if rec["bytes"]:
        add_rates(rec, settings)
        rec.pop("ratio", None)  # kept as `ratios` below, one per peer
    ok = {k: v for k, v in rec["impls"].items() if v.get("status") == "ok" and v["median_ms"] > 0}
    if rec["samples"]:
        for v in ok.values():
            v["samples_per_s"] = rec["samples"] / (v["median_ms"] * 1e-3)
    if "gpugrad" in ok:
        rec["ratios"] = {peer: ok["gpugrad"]["median_ms"] / ok[peer]["median_ms"]
                         for peer in IMPLS[1:] if peer in ok}
