"""Runs one Case on gpugrad's KernelSet and on PyTorch: timing, rates, correctness check."""
import importlib
import time
from dataclasses import dataclass

from .device import error_tail, error_text
from .timing import Budget, measure

DEFAULT_KERNELSET = "gpugrad.backends.cuda.kernels:KernelSet"


@dataclass
class Settings:
    reps: int
    warmup: int
    budget: Budget
    copy_gbps: float | None = None     # roofline of the same run, for the fractions
    gemm_gflops: float | None = None


@dataclass
class Kernels:
    """The KernelSet under test, or why there is none."""
    obj: object = None
    error: str | None = None


def load_kernels(dev, spec=DEFAULT_KERNELSET):
    """Instantiate `module:Class` as Class(xp, RawModule): CuPy's on a GPU, the emulator's in sim."""
    if dev.xp is None:
        return Kernels(error=f"no GPU array module ({dev.xp_error})")
    raw, raw_error = _raw_module(dev)
    try:
        module, _, name = spec.partition(":")
        cls = getattr(importlib.import_module(module), name)
        return Kernels(obj=cls(dev.xp, raw))
    except Exception as exc:
        note = f" (RawModule unavailable: {raw_error})" if raw_error else ""
        return Kernels(error=error_text(exc) + note)


def _raw_module(dev):
    if not dev.sim:
        return dev.xp.RawModule, None
    try:
        from gpugrad.emu import RawModule
        return RawModule, None
    except Exception as exc:
        return None, error_text(exc)


def run_case(case, dev, kernels, settings):
    """The row's JSON record: both implementations' timings, rates, ratio and check."""
    row = {"id": case.id, "group": case.group, "kernel": case.kernel, "label": case.label,
           "params": case.params, "dtype": "float32", "bytes": case.nbytes,
           "flops": case.flops, "target": case.target, "order": case.order,
           "impls": {}}
    if dev.xp is None:
        return _not_run(row, "unavailable", f"no GPU ({dev.xp_error})")
    if settings.budget.spent():
        return _not_run(row, "skipped", "time budget spent")
    try:
        arrays = make_inputs(case, dev)
        tensors = ({k: dev.to_torch(v) for k, v in arrays.items()}
                   if dev.torch_error is None else None)
        row["impls"]["gpugrad"], ours = run_impl(
            lambda: case.ours(kernels.obj, arrays), dev, dev.clock, kernels.error, settings)
        row["impls"]["torch"], ref = run_impl(
            lambda: case.peer(dev.torch, tensors), dev, dev.torch_clock,
            dev.torch_error and f"no PyTorch peer ({dev.torch_error})", settings)
        row["check"] = check(case, dev, ours, ref, tensors)
    except Exception as exc:  # inputs could not be made, or a peer's tensors
        row["error"] = error_text(exc)
        row["traceback"] = error_tail(exc)
    finally:
        dev.free()
    add_rates(row, settings)
    return row


def _not_run(row, status, why):
    row["impls"] = {impl: {"status": status, "error": why} for impl in ("gpugrad", "torch")}
    return row


def make_inputs(case, dev):
    """Random inputs in declaration order; derived ones (argmax, lse) see the earlier ones."""
    arrays = {}
    for seed, (name, (shape, how)) in enumerate(case.inputs.items(), start=1):
        arrays[name] = dev.randn(shape, seed) if how == "randn" else how(dev, arrays)
    return arrays


def run_impl(make_call, dev, make_clock, unavailable, settings):
    """(record, first output) of one implementation; errors are recorded, not raised."""
    if unavailable:
        return {"status": "unavailable", "error": unavailable}, None
    if settings.budget.spent():
        return {"status": "skipped", "error": "time budget spent"}, None
    try:
        call = make_call()
        t0 = time.perf_counter()
        out = call()  # compiles / autotunes; its output is the one checked
        dev.sync()
        first_ms = (time.perf_counter() - t0) * 1e3
        stats = measure(call, make_clock(), reps=settings.reps, warmup=settings.warmup,
                        budget=settings.budget)
        return {"status": "ok", "first_call_ms": first_ms, **stats}, out
    except Exception as exc:
        return {"status": "error", "error": error_text(exc), "traceback": error_tail(exc)}, None


def check(case, dev, ours, ref, tensors):
    """Our outputs against PyTorch's op run in float64 on the same inputs.

    A float64 reference keeps PyTorch's own fp32 rounding (e.g. a cuDNN FFT or Winograd
    algorithm) out of our error; `peer` records that fp32 error for comparison.
    """
    if ours is None or ref is None:
        return {"status": "unavailable"}
    try:
        wide = {k: t.double() if t.is_floating_point() else t for k, t in tensors.items()}
        ref64 = case.peer(dev.torch, wide)()
        pairs = case.compare(ours, ref64, wide)
        items = [compare(name, dev, a, b, case.tol) for name, a, b in pairs]
        peer = None
        if hasattr(ref, "detach"):  # single-tensor peer output: its error on the first item
            peer = compare(pairs[0][0], dev, ref, pairs[0][2], case.tol)
    except Exception as exc:
        return {"status": "error", "error": error_text(exc)}
    return {"status": "ok" if all(i["ok"] for i in items) else "mismatch", "tol": case.tol,
            "reference": "torch float64", "max_rel": max(i.get("rel", 0.0) for i in items),
            "items": items, "peer": peer}


def compare(name, dev, ours, ref, tol):
    """Max abs error and max abs error / max |ref| (floats), or mismatch count (integers)."""
    xp = dev.xp
    ours = xp.asarray(ours)
    ref = dev.from_torch(ref) if hasattr(ref, "detach") else xp.asarray(ref)
    item = {"name": name, "dtype": str(ours.dtype), "ref_dtype": str(ref.dtype)}
    if ours.shape != ref.shape:
        return {**item, "ok": False, "error": f"shape {ours.shape} != reference {ref.shape}"}
    if ref.dtype.kind in "iu":
        bad = int((ours != ref).sum())
        return {**item, "ok": bad == 0, "mismatches": bad}
    diff = xp.abs(ours.astype(xp.float64) - ref.astype(xp.float64))
    max_abs = float(diff.max()) if diff.size else 0.0
    scale = float(xp.abs(ref).max()) if ref.size else 0.0
    rel = max_abs / scale if scale > 0 else max_abs
    nonfinite = int((~xp.isfinite(ours)).sum())
    return {**item, "ok": nonfinite == 0 and rel <= tol, "max_abs": max_abs, "rel": rel,
            "nonfinite": nonfinite}


def add_rates(row, settings):
    """Achieved GB/s and GFLOP/s, fractions of the measured roofline, gpugrad/torch ratio."""
    for rec in row["impls"].values():
        if rec.get("status") != "ok" or rec["median_ms"] <= 0:
            continue
        seconds = rec["median_ms"] * 1e-3
        rec["gbps"] = row["bytes"] / seconds / 1e9
        if settings.copy_gbps:
            rec["copy_fraction"] = rec["gbps"] / settings.copy_gbps
        if row["flops"]:
            rec["gflops"] = row["flops"] / seconds / 1e9
            if settings.gemm_gflops:
                rec["gemm_fraction"] = rec["gflops"] / settings.gemm_gflops
    ours, peer = row["impls"].get("gpugrad", {}), row["impls"].get("torch", {})
    if ours.get("status") == "ok" and peer.get("status") == "ok" and peer["median_ms"] > 0:
        row["ratio"] = ours["median_ms"] / peer["median_ms"]
