"""--targets: the GPU speed targets, judged on full-size cuda rows of the same run.

gelu: forward and backward, both forms, at 2^26 float32 each reach GELU_MIN_COPY_FRACTION of
the run's copy bandwidth (needs --roofline). conv: on each of the five issue shapes, gpugrad's
forward + weight gradient + input gradient take at most CONV_MAX_RATIO x PyTorch's. A row whose
outputs disagree with PyTorch cannot pass. Each result is "pass", "fail", "incomplete" or
"not evaluated".
"""
from .kernel_rows import CONV_KERNELS, GELU_TARGET_LOG2, ISSUE_CONV_SHAPES

GELU_MIN_COPY_FRACTION = 0.85
CONV_MAX_RATIO = 2.0
CHECK_OK = ("ok", "unavailable")


def evaluate_targets(rows):
    rows = [r for r in rows if r["device"] == "cuda"]
    return {"gelu": _gelu_target(rows), "conv": _conv_target(rows)}


def judged(row):
    """Whether the targets read this Row (under --targets such rows run first)."""
    if row.kernel in ("gelu_fwd", "gelu_bwd"):
        return row.params["n"] == 2 ** GELU_TARGET_LOG2
    return row.kernel in CONV_KERNELS and tuple(row.params["shape"]) in ISSUE_CONV_SHAPES


def _check_status(row):
    return row.get("check", {}).get("status", "unavailable")


def _verdict(passes, expected):
    if not passes:
        return "not evaluated"
    if not all(passes):
        return "fail"
    return "pass" if len(passes) == expected else "incomplete"


def _gelu_target(rows):
    n = 2 ** GELU_TARGET_LOG2
    items = []
    for row in rows:
        ours = row["impls"].get("gpugrad", {})
        if row["group"] == "gelu" and row["params"]["n"] == n and "copy_fraction" in ours:
            frac, check = ours["copy_fraction"], _check_status(row)
            items.append({"row": row["id"], "copy_fraction": frac, "check": check,
                          "pass": frac >= GELU_MIN_COPY_FRACTION and check in CHECK_OK})
    result = _verdict([i["pass"] for i in items], 4)
    out = {"result": result, "threshold": GELU_MIN_COPY_FRACTION, "rows": items}
    if result == "not evaluated":
        out["reason"] = "no cuda gelu row at 2^26 with a copy-bandwidth fraction (--roofline)"
    return out


def _conv_target(rows):
    shapes = []
    for shape in ISSUE_CONV_SHAPES:
        found = {r["kernel"]: r for r in rows
                 if r["group"] == "conv" and r["params"]["shape"] == list(shape)}
        if not all("torch" in found.get(k, {}).get("ratios", {}) for k in CONV_KERNELS):
            continue
        ours = sum(found[k]["impls"]["gpugrad"]["median_ms"] for k in CONV_KERNELS)
        peer = sum(found[k]["impls"]["torch"]["median_ms"] for k in CONV_KERNELS)
        checks = [_check_status(found[k]) for k in CONV_KERNELS]
        shapes.append({"shape": list(shape), "gpugrad_ms": ours, "torch_ms": peer,
                       "ratio": ours / peer, "checks": checks,
                       "pass": ours / peer <= CONV_MAX_RATIO and all(c in CHECK_OK for c in checks)})
    result = _verdict([s["pass"] for s in shapes], len(ISSUE_CONV_SHAPES))
    out = {"result": result, "threshold": CONV_MAX_RATIO, "shapes": shapes}
    if result == "not evaluated":
        out["reason"] = "no issue shape with all three cuda conv rows timed on both sides"
    return out
