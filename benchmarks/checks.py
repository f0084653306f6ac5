"""Correctness checks of a row's gpugrad output against PyTorch's."""
from .errors import error_text


def check(dev, peer, pairs_of, tol, ours, ref, tensors):
    """Our outputs against the PyTorch op run in float64 on the same inputs.

    A float64 reference keeps PyTorch's own fp32 rounding (e.g. a cuDNN FFT or Winograd
    algorithm) out of our error; `peer` records that fp32 error for comparison.
    """
    if ours is None or ref is None:
        return {"status": "unavailable"}
    try:
        wide = {k: t.double() if t.is_floating_point() else t for k, t in tensors.items()}
        ref64 = peer(dev.torch, wide)()
        pairs = pairs_of(ours, ref64, wide)
        items = [compare(name, dev, a, b, tol) for name, a, b in pairs]
        theirs = None
        if hasattr(ref, "detach"):  # single-tensor peer output: its error on the first item
            theirs = compare(pairs[0][0], dev, ref, pairs[0][2], tol)
    except Exception as exc:
        return {"status": "error", "error": error_text(exc)}
    return {"status": "ok" if all(i["ok"] for i in items) else "mismatch", "tol": tol,
            "reference": "torch float64", "max_rel": max(i.get("rel", 0.0) for i in items),
            "items": items, "peer": theirs}


def check_tensor(dev, outs, tol):
    """A gpugrad Tensor output against PyTorch's fp32 output."""
    ours, ref = outs.get("gpugrad"), outs.get("torch")
    if ours is None or ref is None:
        return {"status": "unavailable"}
    item = compare("out", dev, dev.asarray(ours.numpy()), ref, tol)
    return {"status": "ok" if item["ok"] else "mismatch", "tol": tol,
            "max_rel": item.get("rel", 0.0), "items": [item]}


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
    return {**item, "ok": bool(nonfinite == 0 and rel <= tol), "max_abs": max_abs, "rel": rel,
            "nonfinite": nonfinite}
