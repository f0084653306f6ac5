"""The report: kept in memory, rewritten to gpu_check.json and gpu_check.md after each step."""
import json
import math
import os
import threading

from .cases import CONV_KERNELS, GELU_TARGET_LOG2, ISSUE_CONV_SHAPES
from .markdown import render

SIM_LABEL = "simulation, not a benchmark"
GELU_MIN_COPY_FRACTION = 0.85
CONV_MAX_RATIO = 2.0
CHECK_OK = ("ok", "unavailable")  # a row whose outputs disagree with PyTorch cannot pass


class Report:
    """Holds the run's data; `save()` may be called from the watchdog thread too."""

    def __init__(self, out_dir, data):
        self.out_dir = out_dir
        self.data = data
        self._lock = threading.Lock()

    def save(self):
        with self._lock:
            self.data["targets"] = evaluate_targets(self.data)
            text = json.dumps(finite(self.data), indent=1)
            write_atomic(self.out_dir / "gpu_check.json", text + "\n")
            write_atomic(self.out_dir / "gpu_check.md", render(self.data))


def write_atomic(path, text):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def finite(obj):
    """The same data with NaN/inf floats as strings, so the JSON stays standard."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def evaluate_targets(data):
    """Issue 5's two targets, each "pass", "fail", "incomplete" or "not evaluated".

    A row counts only at full size (no --quick) and with its correctness check not failed.
    """
    rows = data.get("kernels", [])
    targets = {"gelu": _gelu_target(rows), "conv": _conv_target(rows)}
    if data["mode"]["sim"]:
        for target in targets.values():
            target.update(result="not evaluated", reason=SIM_LABEL)
    return targets


def _check_status(row):
    return row.get("check", {}).get("status", "unavailable")


def _verdict(passes, expected):
    if not passes:
        return "not evaluated"
    if not all(passes):
        return "fail"
    return "pass" if len(passes) == expected else "incomplete"


def _gelu_target(rows):
    """gelu fwd and bwd (both forms) at 2^26 fp32 each >= 85% of the copy bandwidth."""
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
        out["reason"] = "no gpugrad gelu row at 2^26 with a copy-bandwidth fraction"
    return out


def _conv_target(rows):
    """Per issue shape: (fwd + wgrad + dgrad) gpugrad time <= 2x the same sum for PyTorch."""
    shapes = []
    for shape in ISSUE_CONV_SHAPES:
        found = {r["kernel"]: r for r in rows
                 if r["group"] == "conv" and r["target"] and r["params"]["shape"] == list(shape)}
        if not all("ratio" in found.get(k, {}) for k in CONV_KERNELS):
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
        out["reason"] = "no issue shape with all three conv rows timed on both sides"
    return out
