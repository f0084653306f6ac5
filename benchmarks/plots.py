"""PNG plots with matplotlib (imported here, lazily): time per row by device and
implementation, GPU-over-CPU speedup, and fraction of the roofline per device. A plot is
made only when the run has its data."""
from .markdown import fraction, speedup
from .suite import GROUPS

IMPLS = ("gpugrad", "torch", "numpy")


def write_plots(data, out):
    """Returns (files written, note); the note says why there are none or fewer."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return [], "Plots skipped: matplotlib is not installed."
    files = []
    for group, spec in GROUPS.items():
        rows = [r for r in data["rows"] if r["group"] == group]
        if any(_ok(r, i) for r in rows for i in IMPLS):
            files.append(_times(plt, rows, spec.title, out / f"time_{group}.png"))
    cpu = {r["id"]: r for r in data["rows"] if r["device"] == "cpu"}
    pairs = [(r["id"], speedup(cpu[r["id"]], r, "gpugrad"), speedup(cpu[r["id"]], r, "torch"))
             for r in data["rows"] if r["device"] == "cuda" and r["id"] in cpu]
    pairs = [p for p in pairs if p[1] or p[2]]
    if pairs:
        files.append(_speedup(plt, pairs, out / "speedup_gpu_over_cpu.png"))
    for device in data.get("roofline", {}):
        roof = [r for r in data["rows"] if r["device"] == device and r["section"] == "kernels"
                and any(fraction(r, i) for i in ("gpugrad", "torch"))]
        if roof:
            files.append(_roofline(plt, roof, device, out / f"roofline_{device}.png"))
    missing = [] if pairs else ["speedup (needs CPU and GPU rows)"]
    missing += [] if data.get("roofline") else ["roofline (needs --roofline)"]
    return [f.name for f in files], ("Plots not made: " + ", ".join(missing) + ".") if missing else None


def _ok(row, impl):
    return row["impls"].get(impl, {}).get("status") == "ok"


def _barh(plt, labels, series, xlabel, title, path, log=False):
    """Horizontal grouped bars: one group per label, one bar per series entry."""
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.28 * len(labels) * max(1, len(series)) ** 0.5))
    height = 0.8 / max(1, len(series))
    for k, (name, values) in enumerate(series.items()):
        ys = [i + k * height for i in range(len(labels))]
        ax.barh(ys, [v or 0 for v in values], height, label=name)
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(labels))], labels, fontsize=7)
    ax.invert_yaxis()
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _times(plt, rows, title, path):
    labels = list(dict.fromkeys(f"{r['kernel']} {r['label']}" for r in rows))
    series = {}
    for r in rows:
        for impl in IMPLS:
            if _ok(r, impl):
                key = f"{impl} ({r['device']})"
                series.setdefault(key, {})[f"{r['kernel']} {r['label']}"] = r["impls"][impl]["median_ms"]
    series = {k: [v.get(lbl) for lbl in labels] for k, v in series.items()}
    return _barh(plt, labels, series, "median ms (log scale)", title, path, log=True)


def _speedup(plt, pairs, path):
    series = {"gpugrad": [p[1] for p in pairs], "torch": [p[2] for p in pairs]}
    return _barh(plt, [p[0] for p in pairs], series, "CPU time / GPU time (log scale)",
                 "Speedup of GPU over CPU", path, log=True)


def _roofline(plt, rows, device, path):
    series = {i: [100 * (fraction(r, i) or 0) for r in rows] for i in ("gpugrad", "torch")}
    return _barh(plt, [r["id"] for r in rows], series,
                 "% of roofline (SGEMM GFLOP/s for rows with FLOPs, else copy GB/s)",
                 f"{device.upper()}: achieved fraction of the same-run roofline", path)
