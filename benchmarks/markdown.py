"""results.md from a run's JSON record (a fresh run's or a committed one): machine, targets,
GPU tests, roofline, one table per device and group, CPU versus GPU, comparison, failures."""
from .suite import GROUPS

PEERS = ("torch", "numpy")
TIMING = {"settled": "gpugrad and its peers take turns, a call under 25 ms running untimed for its first "
                     "25 ms of each turn and then 3 timed calls (PyTorch's OpenMP workers spin on after "
                     "each of its calls), a slower call once a turn",
          "interleaved": "gpugrad and its peers take turns call by call",
          None: "each implementation timed in its own loop (runs before the turns were taken)"}


def render(data):
    m, rows = data.get("machine", {}), data["rows"]
    out = [f"# gpugrad benchmarks, {data['started_utc'][:10]}", "",
           f"`{data['command']}` — status: **{data['status']}**", "",
           *([f"Converted from {data['converted_from']}.", ""] if data.get("converted_from") else []),
           _machine(m), "",
           "Float32. Times are the median of the repetitions in ms, (min–max) after it; warm-up "
           f"calls excluded; {TIMING.get(data.get('timing'), TIMING[None])}; † = fewer "
           "repetitions (time budget). ×peer = gpugrad time / peer time (below 1: gpugrad faster). *via*: `kernel` = gpugrad's backend kernel "
           "function (gpugrad.backends.cpu.kernels or the CUDA KernelSet), `Tensor API` = "
           "gpugrad ops on Tensors. GB/s and GFLOP/s count the bytes each op must move and its "
           "multiply-adds × 2. *check*: max |ours − ref| / max |ref| against the row's "
           "tolerance, ref = the PyTorch op in float64 on the same inputs (\"torch\": the fp32 "
           "PyTorch output's own error).", ""]
    for name, info in data.get("devices", {}).items():
        if info.get("status") != "ok":
            out += [f"**{name}**: {info.get('status')} — {info.get('error')}", ""]
    out += _targets(data.get("targets"))
    out += _tests(data.get("tests"))
    for device, roof in data.get("roofline", {}).items():
        out += [f"## {device.upper()} roofline (same run)", "", *_roofline(roof), ""]
    groups = list(dict.fromkeys([*GROUPS, *(r["group"] for r in rows)]))
    for device in data.get("devices", {}):
        for group in groups:
            part = [r for r in rows if r["device"] == device and r["group"] == group]
            if part:
                title = GROUPS[group].title if group in GROUPS else group
                note = [GROUPS[group].note, ""] if group in GROUPS and GROUPS[group].note else []
                out += [f"## {device.upper()}: {title}", "", *_table(part), "", *note]
    out += _cpu_vs_gpu(rows)
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
    text = ""
    if m.get("cpu_model"):
        th = m.get("threads", {})
        text = (f"CPU: {m['cpu_model']} ({m.get('cpu_count')} logical CPUs; threads: numba "
                f"{th.get('numba')}, torch {th.get('torch')}; load average at start "
                f"{_f(m.get('loadavg_at_start', [None])[0])}, at end "
                f"{_f(m.get('loadavg_at_end', [None])[0])}). ")
    text += f"Python {m.get('python')}, {lib}. Commit {str(m.get('git_commit'))[:10]}."
    if m.get("gpu_name"):
        torch = m.get("torch", {})
        text += (f" GPU: {m['gpu_name']}, driver {m.get('gpu_driver')}, cuDNN "
                 f"{torch.get('cudnn') if isinstance(torch, dict) else None}, TF32 off.")
    return text


def _ver(v):
    return v.get("version", v.get("error")) if isinstance(v, dict) else v


def _grid(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]


def _targets(t):
    if not t:
        return []
    gelu, conv = t.get("gelu", {}), t.get("conv", {})
    out = ["## Targets", "", *_grid(["target", "result", "detail"], [
        [f"gelu fwd+bwd at 2^26 fp32 ≥ {_pct(gelu.get('threshold'))} of copy bandwidth",
         f"**{gelu.get('result')}**", gelu.get("reason") or ", ".join(
             f"{r['row']}: {_pct(r['copy_fraction'])} (check {r['check']})" for r in gelu.get("rows", []))],
        [f"conv2d fwd+wgrad+dgrad on the five issue shapes ≤ {conv.get('threshold')}× torch",
         f"**{conv.get('result')}**", conv.get("reason") or ", ".join(
             f"{s['ratio']:.2f}×" for s in conv.get("shapes", []))]]), ""]
    if conv.get("shapes"):
        out += _grid(["shape (N,C,H,W,F,k,s,p,d)", "gpugrad ms", "torch ms", "ratio", "checks", "pass"],
                     [[tuple(s["shape"]), _f(s["gpugrad_ms"], 3), _f(s["torch_ms"], 3),
                       f"{s['ratio']:.2f}", "/".join(s["checks"]), s["pass"]] for s in conv["shapes"]])
        out.append("")
    return out


def _tests(t):
    if not t:
        return []
    totals = t.get("totals")
    out = ["## GPU tests (`pytest -m gpu`)", "", f"Status: **{t.get('status')}**"
           + (f"; totals: {', '.join(f'{k} {v}' for k, v in totals.items())}" if totals else ""), ""]
    bad = [x for x in t.get("tests", []) if x["outcome"] in ("failed", "error")]
    if bad:
        out += _grid(["test", "outcome", "message"],
                     [[x["name"], x["outcome"], x["message"][:200].replace("\n", " ")] for x in bad])
        out.append("")
    if not t.get("tests") and t.get("output_tail"):
        out += ["```", t["output_tail"][-1500:], "```", ""]
    return out


def _roofline(r):
    if "copy" not in r:
        return [str(r.get("error", r))]
    mib = r["copy_bytes_per_array"] >> 20
    table = []
    for key, what in [("copy", f"copy {mib} MiB `dst[...] = src`"),
                      ("torch_copy", f"copy {mib} MiB `dst.copy_(src)` (torch)"),
                      ("gemm", f"SGEMM {r['gemm_n']}² fp32, TF32 off"),
                      ("torch_gemm", f"SGEMM {r['gemm_n']}² fp32, TF32 off (torch)")]:
        rec = r.get(key, {})
        rate = (f"{_f(rec['gbps'], 0)} GB/s" if "gbps" in rec else
                f"{_f(rec['gflops'], 0)} GFLOP/s" if "gflops" in rec else rec.get("error", "n/a"))
        table.append([what, _ms(rec), rate])
    return _grid(["measurement", "ms", "rate"], table) + [
        "", "A row's *roofline* is its GFLOP/s over SGEMM's when it has FLOPs, else its GB/s over copy's."]


def _table(rows):
    peers = [p for p in PEERS if any(p in r["impls"] for r in rows)]
    e2e = rows[0]["section"] == "e2e"
    head = ["row", "via", "gpugrad ms"] + [f"{p} ms" for p in peers] + [f"×{p}" for p in peers]
    flops = any(r["flops"] for r in rows)
    roof = any(fraction(r, "gpugrad") for r in rows)
    peak = any("peak_mib" in r["impls"].get("gpugrad", {}) for r in rows)
    samples = not e2e and any(r.get("samples") for r in rows)
    accuracy = any("test_accuracy" in v for r in rows for v in r["impls"].values())
    head += ([f"{i} samples/s" for i in ["gpugrad"] + peers] if e2e
             else ["GFLOP/s", "GB/s"] if flops else ["GB/s"]) + (["samples/s"] if samples else [])
    head += [f"{i} accuracy" for i in ["gpugrad"] + peers] if accuracy else []
    head += (["roofline"] if roof else []) + (["peak MiB"] if peak else []) + ["check"]
    table = []
    for r in rows:
        ours = r["impls"].get("gpugrad", {})
        cells = [f"{r['kernel']} {r['label']}", r["api"], _ms(ours)] + [_ms(r["impls"].get(p, {})) for p in peers]
        cells += [_f(r.get("ratios", {}).get(p)) for p in peers]
        if e2e:
            cells += [_f(r["impls"].get(i, {}).get("samples_per_s"), 0) for i in ["gpugrad"] + peers]
        else:
            cells += [_f(ours.get("gflops"), 1)] if flops else []
            cells.append(_f(ours.get("gbps"), 1))
            cells += [_f(ours.get("samples_per_s"), 0)] if samples else []
        if accuracy:
            cells += [_pct(r["impls"].get(i, {}).get("test_accuracy"), 2) for i in ["gpugrad"] + peers]
        if roof:
            frac = fraction(r, "gpugrad")
            cells.append(_pct(frac) if frac else "n/a")
        if peak:
            cells.append(_f(ours.get("peak_mib"), 1))
        cells.append(_check(r))
        table.append(cells)
    return _grid(head, table)


def fraction(row, impl):
    """The row's share of the roofline: SGEMM's rate for rows with FLOPs, else the copy's."""
    rec = row["impls"].get(impl, {})
    return rec.get("gemm_fraction") if row["flops"] else rec.get("copy_fraction")



def _check(r):
    c = r.get("check", {})
    if c.get("status") in ("ok", "mismatch") and "max_rel" in c:
        bad = [i["name"] for i in c.get("items", []) if not i.get("ok", True)]
        cell = f"{c['status']} {c['max_rel']:.1e}" + (f" ({', '.join(bad)})" if bad else "")
        peer = c.get("peer")
        return cell + (f"; torch {peer['rel']:.1e}" if peer and "rel" in peer else "")
    return c.get("status", "error" if r.get("error") else "n/a")


def _cpu_vs_gpu(rows):
    """One table of the rows both devices ran (the same sizes): times and GPU speedups."""
    cpu = {r["id"]: r for r in rows if r["device"] == "cpu"}
    pairs = [(cpu[r["id"]], r) for r in rows if r["device"] == "cuda" and r["id"] in cpu]
    lines = []
    for c, g in pairs:
        s = {i: speedup(c, g, i) for i in ("gpugrad", "torch")}
        if s["gpugrad"] or s["torch"]:
            lines.append([g["id"], _ms(c["impls"].get("gpugrad", {})), _ms(g["impls"].get("gpugrad", {})),
                          _f(s["gpugrad"], 1), _ms(c["impls"].get("torch", {})),
                          _ms(g["impls"].get("torch", {})), _f(s["torch"], 1)])
    if not lines:
        return []
    return ["## CPU versus GPU (same machine, same run)", "",
            *_grid(["row", "gpugrad CPU ms", "gpugrad GPU ms", "gpugrad speedup", "torch CPU ms",
                    "torch GPU ms", "torch speedup"], lines),
            "", "Speedup = CPU time / GPU time.", ""]


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
        lines += _grid(["device", "row", "before ms", "now ms", "change", ""],
                       [[e["device"], e["id"], _f(e["old_ms"], 3), _f(e["new_ms"], 3),
                         f"{100 * e['change']:+.0f}%", "REGRESSION" if e["regression"] else "faster"]
                        for e in flagged])
    return lines + [""]


def _why(r):
    return "; ".join(f"{k}: {v.get('error')}" for k, v in r["impls"].items()
                     if v.get("status") in ("error", "skipped"))


def _ms(rec):
    if rec.get("status") != "ok":
        return rec.get("status", "")
    cell = f"{_f(rec['median_ms'], 3)} ({_f(rec['min_ms'], 3)}–{_f(rec['max_ms'], 3)})"
    return cell + (" †" if rec.get("truncated") else "")


def _pct(x, digits=0):
    return f"{100 * x:.{digits}f}%" if isinstance(x, (int, float)) else "n/a"


def _f(v, digits=2):
    if v is None:
        return "n/a"
    if digits >= 2 and abs(v) >= 100:
        digits = 1
    return f"{v:.{digits}f}"
