"""results.md: the run's tables (one per device and group), speedups, roofline, comparison."""
GROUPS = {"conv": "Convolution", "gelu": "GELU", "matmul": "Matmul", "maxpool": "Max-pool",
          "xent": "Softmax cross-entropy", "train": "Training step (forward + backward + SGD)"}
PEERS = ("torch", "numpy")


def render(data):
    m, rows = data.get("machine", {}), data["rows"]
    out = [f"# gpugrad benchmarks, {data['started_utc'][:10]}", "",
           f"`{data['command']}` — status: **{data['status']}**", "", _machine(m), "",
           "Float32. Times are the median of the repetitions in ms, (min–max) after it; warm-up "
           "calls excluded. ×peer = gpugrad time / peer time (below 1: gpugrad faster). "
           "*via*: `kernel` = gpugrad's backend kernel function (gpugrad.backends.cpu.kernels or "
           "the CUDA KernelSet), `Tensor API` = gpugrad ops on Tensors. "
           "GB/s and GFLOP/s count the bytes each op must move and its multiply-adds × 2.", ""]
    for name, info in data.get("devices", {}).items():
        if info.get("status") != "ok":
            out += [f"**{name}**: {info.get('status')} — {info.get('error')}", ""]
    roof = data.get("roofline", {}).get("cuda")
    if roof:
        out += ["## GPU roofline (same run)", "", _roofline(roof), ""]
    for device in data.get("devices", {}):
        mine = [r for r in rows if r["device"] == device]
        for group, title in GROUPS.items():
            part = [r for r in mine if r["group"] == group]
            if part:
                out += [f"## {device.upper()}: {title}", "", *_table(part, device), ""]
    out += _speedups(rows)
    out += _comparison(data.get("comparison"))
    bad = [r for r in rows if r.get("error") or any(
        v.get("status") in ("error", "skipped") for v in r["impls"].values())]
    if bad:
        out += ["## Skipped or failed", ""] + [
            f"- {r['device']} `{r['id']}`: {r.get('error') or _why(r)}" for r in bad] + [""]
    out += [f"- {e['section']}: {e['error']}" for e in data.get("errors", [])]
    if data.get("plots_note"):
        out += ["", data["plots_note"]]
    return "\n".join(out).rstrip() + "\n"


def _machine(m):
    lib = ", ".join(f"{k} {_ver(m.get(k))}" for k in ("numpy", "numba", "torch", "cupy") if k in m)
    th = m.get("threads", {})
    text = (f"CPU: {m.get('cpu_model')} ({m.get('cpu_count')} logical CPUs; threads: numba "
            f"{th.get('numba')}, torch {th.get('torch')}; load average at start "
            f"{_f(m.get('loadavg_at_start', [None])[0])}, at end "
            f"{_f(m.get('loadavg_at_end', [None])[0])}). Python {m.get('python')}, {lib}. "
            f"Commit {str(m.get('git_commit'))[:10]}.")
    if m.get("gpu_name"):
        torch = m.get("torch", {})
        text += (f" GPU: {m['gpu_name']}, driver {m.get('gpu_driver')}, cuDNN "
                 f"{torch.get('cudnn') if isinstance(torch, dict) else None}, TF32 off.")
    return text


def _ver(v):
    return v.get("version", v.get("error")) if isinstance(v, dict) else v


def _roofline(roof):
    if "copy" not in roof:
        return str(roof.get("error", roof))
    c, g = roof.get("copy", {}), roof.get("gemm", {})
    return (f"Device-to-device copy {_f(c.get('gbps'), 0)} GB/s (read + write, "
            f"{roof.get('copy_bytes_per_array', 0) >> 20} MiB arrays); SGEMM "
            f"{_f(g.get('gflops'), 0)} GFLOP/s (n = {roof.get('gemm_n')}, TF32 off). Kernel "
            "rows' *roofline* column is GFLOP/s over SGEMM for rows with FLOPs, else GB/s over copy.")


def _table(rows, device):
    peers = [p for p in PEERS if any(p in r["impls"] for r in rows)]
    e2e = rows[0]["section"] == "e2e"
    head = ["row", "via", "gpugrad ms"] + [f"{p} ms" for p in peers] + [f"×{p}" for p in peers]
    flops = any(r["flops"] for r in rows)
    head += ([f"{i} samples/s" for i in ["gpugrad"] + peers] if e2e
             else ["GFLOP/s", "GB/s"] if flops else ["GB/s"])
    if device == "cuda" and not e2e:
        head.append("roofline")
    head.append("check")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ours = r["impls"].get("gpugrad", {})
        cells = [f"{r['kernel']} {r['label']}", r["api"], _ms(ours)] + [_ms(r["impls"].get(p, {})) for p in peers]
        cells += [_f(r.get("ratios", {}).get(p)) for p in peers]
        if e2e:
            cells += [_f(r["impls"].get(i, {}).get("samples_per_s"), 0) for i in ["gpugrad"] + peers]
        else:
            cells += [_f(ours.get("gflops"), 1)] if flops else []
            cells.append(_f(ours.get("gbps"), 1))
        if device == "cuda" and not e2e:
            frac = ours.get("gemm_fraction") if r["flops"] else ours.get("copy_fraction")
            cells.append(_f(frac and 100 * frac, 0) + "%" if frac else "n/a")
        cells.append(r.get("check", {}).get("status", "error" if r.get("error") else "n/a"))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _speedups(rows):
    """GPU over CPU for rows both devices ran (the same sizes)."""
    cpu = {r["id"]: r for r in rows if r["device"] == "cpu"}
    pairs = [(cpu[r["id"]], r) for r in rows if r["device"] == "cuda" and r["id"] in cpu]
    lines = []
    for c, g in pairs:
        s = {i: speedup(c, g, i) for i in ("gpugrad", "torch")}
        if s["gpugrad"] or s["torch"]:
            lines.append(f"| {g['id']} | {_f(s['gpugrad'], 1)} | {_f(s['torch'], 1)} |")
    if not lines:
        return []
    return ["## Speedup of GPU over CPU (CPU time / GPU time)", "",
            "| row | gpugrad | torch |", "|---|---|---|", *lines, ""]


def speedup(cpu_row, gpu_row, impl):
    a, b = cpu_row["impls"].get(impl, {}), gpu_row["impls"].get(impl, {})
    if a.get("status") == "ok" and b.get("status") == "ok" and b["median_ms"] > 0:
        return a["median_ms"] / b["median_ms"]
    return None


def _comparison(cmp):
    if not cmp:
        return []
    flagged = [e for e in cmp["rows"] if e["regression"] or e["improvement"]]
    lines = [f"## Compared with {cmp['against']}", "",
             f"{len(cmp['rows'])} rows matched; {cmp['regressions']} slower than "
             f"{100 * cmp['threshold']:.0f}% (gpugrad medians).", ""]
    if flagged:
        lines += ["| device | row | before ms | now ms | change | |", "|---|---|---|---|---|---|"]
        lines += [f"| {e['device']} | {e['id']} | {_f(e['old_ms'], 3)} | {_f(e['new_ms'], 3)} | "
                  f"{100 * e['change']:+.0f}% | {'REGRESSION' if e['regression'] else 'faster'} |"
                  for e in flagged]
    return lines + [""]


def _why(r):
    return "; ".join(f"{k}: {v.get('error')}" for k, v in r["impls"].items()
                     if v.get("status") in ("error", "skipped"))


def _ms(rec):
    if rec.get("status") != "ok":
        return rec.get("status", "")
    return f"{_f(rec['median_ms'], 3)} ({_f(rec['min_ms'], 3)}–{_f(rec['max_ms'], 3)})"


def _f(v, digits=2):
    if v is None:
        return "n/a"
    if digits >= 2 and abs(v) >= 100:
        digits = 1
    return f"{v:.{digits}f}"
