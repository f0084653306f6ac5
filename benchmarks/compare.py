"""--compare: gpugrad's medians against an earlier results.json, regressions flagged."""
import json


def compare(rows, old_path, threshold):
    """One entry per (device, row id) present in both runs with gpugrad timed in each;
    `regression` when the new median is more than `threshold` (0.10 = 10%) slower."""
    old = {(r["device"], r["id"]): r for r in json.loads(open(old_path).read()).get("rows", [])}
    entries = []
    for r in rows:
        before = old.get((r["device"], r["id"]))
        new_ms, old_ms = _median(r), before and _median(before)
        if new_ms is None or old_ms is None:
            continue
        change = new_ms / old_ms - 1
        entries.append({"device": r["device"], "id": r["id"], "old_ms": old_ms, "new_ms": new_ms,
                        "change": change, "regression": change > threshold,
                        "improvement": change < -threshold})
    return {"against": str(old_path), "threshold": threshold, "rows": entries,
            "regressions": sum(e["regression"] for e in entries)}


def _median(row):
    rec = row.get("impls", {}).get("gpugrad", {})
    return rec.get("median_ms") if rec.get("status") == "ok" else None
