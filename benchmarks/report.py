"""The run's record: kept in memory and rewritten to results.json and results.md after each
step (also from the watchdog thread), plus the helpers that keep it standard JSON."""
import json
import math
import os
import threading

from .markdown import render
from .targets import evaluate_targets


class Report:
    """The run's data and the folder it is saved to; `save()` is safe from any thread."""

    def __init__(self, out_dir, data):
        self.out_dir = out_dir
        self.data = data
        self._lock = threading.Lock()

    def save(self, json_only=False):
        with self._lock:
            if "targets" in self.data:
                self.data["targets"] = evaluate_targets(self.data["rows"])
            write_atomic(self.out_dir / "results.json", json.dumps(finite(self.data), indent=1) + "\n")
            if not json_only:
                write_atomic(self.out_dir / "results.md", render(self.data))


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
