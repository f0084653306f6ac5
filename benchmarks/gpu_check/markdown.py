"""Markdown rendering of the report data (see report.py for the JSON side)."""

GROUPS = [("conv", "Convolution (GFLOP/s = 2·N·F·OH·OW·C·kh·kw / time)"),
          ("gelu", "GELU (float32; % = fraction of the measured copy bandwidth)"),
          ("maxpool", "Max-pool 2d"),
          ("xent", "Softmax cross-entropy")]


def render(d):
    """The whole report as Markdown."""
    env = d.get("environment", {})
    out = [f"# gpugrad GPU check: {env.get('device_name', '?')}, {d['started_utc'][:10]}", ""]
    if d["mode"]["sim"]:
        out += [f"> **{d['mode']['label']}**: NumPy + kernel emulator against PyTorch CPU, "
                "tiny sizes. Timings are meaningless; only the flow and the checks count.", ""]
    out += [f"Status: **{d['status']}** after {d.get('elapsed_s', 0):.0f} s of a "
            f"{d['args']['budget_s']:.0f} s budget. Command: `{d['command']}`", ""]
    for section in (_targets, _environment, _tests, _roofline, _kernels, _errors):
        out += section(d)
    return "\n".join(out).rstrip() + "\n"


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines + [""]


def _num(x, digits=3):
    """Compact number: 3 significant digits, no exponent below 1e6."""
    if not isinstance(x, (int, float)):
        return "–"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def _ms(rec):
    if not rec or rec.get("status") != "ok":
        return (rec or {}).get("status", "–")
    cell = f"{_num(rec['median_ms'])} ({_num(rec['min_ms'])}–{_num(rec['max_ms'])})"
    return cell + (" †" if rec.get("truncated") else "")


def _pct(x):
    return f"{100 * x:.0f}%" if isinstance(x, (int, float)) else "–"


def _targets(d):
    t = d.get("targets", {})
    gelu, conv = t.get("gelu", {}), t.get("conv", {})
    out = ["## Targets (issue 5)", ""]
    out += _table(["target", "result", "detail"], [
        [f"gelu fwd+bwd at 2^26 fp32 ≥ {_pct(gelu.get('threshold'))} of copy bandwidth",
         f"**{gelu.get('result')}**", gelu.get("reason") or ", ".join(
             f"{r['row']}: {_pct(r['copy_fraction'])} (check {r['check']})"
             for r in gelu.get("rows", []))],
        [f"conv2d fwd+wgrad+dgrad on the five issue shapes ≤ {conv.get('threshold')}× torch",
         f"**{conv.get('result')}**", conv.get("reason") or ", ".join(
             f"{s['ratio']:.2f}×" for s in conv.get("shapes", []))],
    ])
    if conv.get("shapes"):
        out += _table(["shape (N,C,H,W,F,k,s,p,d)", "gpugrad ms", "torch ms", "ratio", "checks",
                       "pass"],
                      [[tuple(s["shape"]), _num(s["gpugrad_ms"]), _num(s["torch_ms"]),
                        f"{s['ratio']:.2f}", "/".join(s["checks"]), s["pass"]]
                       for s in conv["shapes"]])
    return out


def _flatten(prefix, value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(f"{prefix}.{k}" if prefix else k, v)
    else:
        yield prefix, value


def _environment(d):
    env = dict(d.get("environment", {}))
    smi = env.pop("nvidia_smi", None)
    out = ["## Environment", ""] + _table(["key", "value"], list(_flatten("", env)))
    if isinstance(smi, str) and smi:
        out += ["```", smi, "```", ""]
    return out


def _tests(d):
    t = d.get("tests")
    out = ["## GPU tests (`pytest -m gpu`)", ""]
    if not t:
        return out + ["Not run.", ""]
    totals = t.get("totals")
    out += [f"Status: **{t.get('status')}**"
            + (f"; totals: {', '.join(f'{k} {v}' for k, v in totals.items())}" if totals else ""),
            ""]
    bad = [x for x in t.get("tests", []) if x["outcome"] in ("failed", "error")]
    if bad:
        out += _table(["test", "outcome", "message"],
                      [[x["name"], x["outcome"], x["message"][:200].replace("\n", " ")]
                       for x in bad])
    if t.get("tests"):
        out += ["<details><summary>all tests</summary>", ""]
        out += _table(["test", "outcome", "s"],
                      [[x["name"], x["outcome"], f"{x['time_s']:.2f}"] for x in t["tests"]])
        out += ["</details>", ""]
    elif t.get("output_tail"):
        out += ["```", t["output_tail"][-1500:], "```", ""]
    return out


def _roofline(d):
    r = d.get("roofline")
    out = ["## Roofline (same run)", ""]
    if not r or r.get("status") == "unavailable":
        return out + [f"Not measured: {(r or {}).get('error', 'section not run')}", ""]
    mib = r["copy_bytes_per_array"] >> 20
    xp = "NumPy" if d["mode"]["sim"] else "CuPy"
    rows = []
    for key, what in [("copy", f"copy {mib} MiB `dst[...] = src` ({xp})"),
                      ("torch_copy", f"copy {mib} MiB `dst.copy_(src)` (torch)"),
                      ("gemm", f"SGEMM {r['gemm_n']}² fp32, TF32 off ({xp})"),
                      ("torch_gemm", f"SGEMM {r['gemm_n']}² fp32, TF32 off (torch)")]:
        rec = r.get(key, {})
        rate = (f"{_num(rec['gbps'])} GB/s" if "gbps" in rec else
                f"{_num(rec['gflops'])} GFLOP/s" if "gflops" in rec else rec.get("error", "–"))
        rows.append([what, _ms(rec), rate])
    return out + _table(["measurement", "ms median (min–max)", "rate"], rows)


def _kernels(d):
    rows = d.get("kernels", [])
    if not rows:
        return ["## Kernels: gpugrad KernelSet vs PyTorch", "", "No kernel rows ran.", ""]
    clock = "wall clock" if d["mode"]["sim"] else "CUDA events"
    out = ["## Kernels: gpugrad KernelSet vs PyTorch", "",
           f"Times in ms: median over the repetitions (min–max), {clock} around each call "
           "after warm-up; † = fewer repetitions (time budget). ratio = gpugrad / torch; "
           "check = max |ours − ref| / max |ref| against the row's tolerance, ref = the PyTorch "
           "op in float64 on the same inputs; \"torch\" = the fp32 PyTorch output's own error.",
           ""]
    unavailable = {f"{impl} unavailable: {rec['error']}" for r in rows
                   for impl, rec in r["impls"].items() if rec.get("status") == "unavailable"}
    out += [f"- {why}" for why in sorted(unavailable)] + ([""] if unavailable else [])
    for group, title in GROUPS:
        group_rows = sorted((r for r in rows if r["group"] == group), key=lambda r: r["order"])
        if group_rows:
            out += [f"### {title}", ""] + _kernel_table(group, group_rows)
    return out


def _rate_cells(row, impl):
    rec = row["impls"].get(impl, {})
    rate, frac = ("gflops", "gemm_fraction") if row["group"] == "conv" else ("gbps", "copy_fraction")
    if rate not in rec:
        return "–"
    return f"{_num(rec[rate])} ({_pct(rec.get(frac))})"


def _check_cell(row):
    c = row.get("check", {})
    if c.get("status") in ("ok", "mismatch"):
        bad = [i["name"] for i in c["items"] if not i["ok"]]
        cell = f"{c['status']} {c['max_rel']:.1e}" + (f" ({', '.join(bad)})" if bad else "")
        peer = c.get("peer")
        return cell + (f"; torch {peer['rel']:.1e}" if peer and "rel" in peer else "")
    return c.get("status", "–")


def _kernel_table(group, rows):
    unit = "GFLOP/s (% SGEMM)" if group == "conv" else "GB/s (% copy)"
    table, notes = [], {}
    for r in rows:
        for impl, rec in r["impls"].items():
            if rec.get("error") and rec["status"] != "unavailable":
                notes.setdefault(f"{impl} {rec['status']}: {rec['error']}", []).append(r["id"])
        if r.get("error"):
            notes.setdefault(f"row error: {r['error']}", []).append(r["id"])
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else "–"
        table.append([r["kernel"], r["label"], _ms(r["impls"].get("gpugrad")),
                      _ms(r["impls"].get("torch")), ratio, _rate_cells(r, "gpugrad"),
                      _rate_cells(r, "torch"), _check_cell(r)])
    out = _table(["kernel", "shape", "gpugrad ms", "torch ms", "ratio", f"gpugrad {unit}",
                  f"torch {unit}", "check"], table)
    for note, ids in notes.items():
        out.append(f"- {note[:300]} ({len(ids)} row{'s' if len(ids) > 1 else ''})")
    return out + ([""] if notes else [])


def _errors(d):
    errors = d.get("errors", [])
    if not errors:
        return []
    out = ["## Section errors", ""]
    for e in errors:
        out += [f"- **{e['section']}**: {e['error']}"]
    return out + [""]
