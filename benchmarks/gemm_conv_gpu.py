"""Our GEMM and implicit-GEMM convolutions against cuBLAS and cuDNN (through PyTorch) on one GPU.

    python benchmarks/gemm_conv_gpu.py OUT_DIR [--reps 15] [--quick]

Needs CuPy and a CUDA build of PyTorch on a machine with an NVIDIA GPU.  Measures, float32,
with TF32 off on both sides and then on on both sides:
- conv fwd + wgrad + dgrad on the five benchmark shapes (benchmarks/kernel_rows.py):
  our kernels (the default route), our im2col + cuBLAS route, and cuDNN;
- our GEMM against cuBLAS at 4096^3 (TFLOP/s);
- linear forward + backward (y = x Wᵀ, gx = gy W, gW = gyᵀ x) on the LeNet and default-cnn
  classifier shapes at batch 32 (the train default) and 256.
Each time is the median over --reps repetitions, ours and the peer interleaved, each
repetition a loop of calls between two CUDA events sized to about a millisecond.  Every row
also records the largest error of our result relative to the peer's, so a fast wrong kernel
shows.  Writes OUT_DIR/gemm_conv_gpu.json and OUT_DIR/gemm_conv_gpu.md.
"""
import argparse
import datetime
import json
import platform
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.kernel_rows import ISSUE_CONV_SHAPES  # noqa: E402

TARGET_MS = 1.0  # timed work per repetition


def lenet_cnn_linear_shapes():
    """(model, in_features, out_features) of every nn.Linear of LeNet and the default cnn on
    28x28 single-channel inputs, read from gpugrad.models."""
    from gpugrad import models, nn

    return [(name, m.weight.shape[1], m.weight.shape[0]) for name in ("lenet", "cnn")
            for m in models.build(name, (1, 28, 28)) if isinstance(m, nn.Linear)]


class Timer:
    """Median milliseconds of a call, timed with CUDA events on the legacy default stream
    (CuPy's null stream, which PyTorch's default stream is as well)."""

    def __init__(self, cupy, torch, reps):
        self.cupy, self.torch, self.reps = cupy, torch, reps

    def sync(self):
        self.torch.cuda.synchronize()
        self.cupy.cuda.Device().synchronize()

    def _once(self, fn, inner):
        start, stop = self.cupy.cuda.Event(), self.cupy.cuda.Event()
        self.sync()
        start.record()
        for _ in range(inner):
            fn()
        stop.record()
        stop.synchronize()
        return self.cupy.cuda.get_elapsed_time(start, stop) / inner

    def compare(self, fns):
        """{name: median ms} for the calls in `fns`, interleaved repetition by repetition."""
        inner = {}
        for name, fn in fns.items():
            for _ in range(2):  # warm up: compilation, autotuning, allocator
                fn()
            first = self._once(fn, 1)
            inner[name] = max(1, min(1000, int(TARGET_MS / max(first, 1e-3))))
        samples = {name: [] for name in fns}
        for _ in range(self.reps):
            for name, fn in fns.items():
                samples[name].append(self._once(fn, inner[name]))
        return {name: statistics.median(s) for name, s in samples.items()}


def rel_error(cupy, ours, theirs):
    ours, theirs = cupy.asarray(ours, dtype=cupy.float64), cupy.asarray(theirs, dtype=cupy.float64)
    return float(cupy.abs(ours - theirs).max() / max(float(cupy.abs(theirs).max()), 1e-30))


def set_tf32(torch, flags, on):
    flags.allow_tf32 = on
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def conv_rows(cupy, torch, ks, timer, shapes):
    rows = []
    for shape in shapes:
        n, c, h, w, f, k, s, p, d = shape
        rng = cupy.random.default_rng(0)
        x = rng.standard_normal((n, c, h, w), dtype=cupy.float32)
        wt = rng.standard_normal((f, c, k, k), dtype=cupy.float32)
        geo = dict(stride=(s, s), padding=(p, p), dilation=(d, d), groups=1)
        y = ks.conv2d_forward(x, wt, **geo)
        gy = rng.standard_normal(y.shape, dtype=cupy.float32)
        tx, tw, tgy = (torch.from_dlpack(a) for a in (x, wt, gy))
        F = torch.nn.functional
        peer = {
            "fwd": lambda: F.conv2d(tx, tw, None, s, p, d),
            "wgrad": lambda: torch.nn.grad.conv2d_weight(tx, tw.shape, tgy, s, p, d),
            "dgrad": lambda: torch.nn.grad.conv2d_input(tx.shape, tw, tgy, s, p, d),
        }
        ours = {
            "fwd": lambda: ks.conv2d_forward(x, wt, **geo),
            "wgrad": lambda: ks.conv_wgrad(x, gy, k, k, **geo),
            "dgrad": lambda: ks.conv_dgrad(gy, wt, x.shape, **geo),
        }
        cublas = {
            "fwd": lambda: ks.conv2d_forward_cublas(x, wt, **geo),
            "wgrad": lambda: ks.conv_wgrad_cublas(x, gy, k, k, **geo),
            "dgrad": lambda: ks.conv_dgrad_cublas(gy, wt, x.shape, **geo),
        }
        row = {"shape": list(shape), "label": f"{n}x{c}x{h}x{w} -> {f} k{k} s{s} p{p} d{d}"}
        for part in ("fwd", "wgrad", "dgrad"):
            t = timer.compare({"ours": ours[part], "cublas_route": cublas[part], "cudnn": peer[part]})
            row[part] = dict(t, error=rel_error(cupy, ours[part](), cupy.from_dlpack(peer[part]())))
        for route in ("ours", "cublas_route", "cudnn"):
            row[f"total_{route}_ms"] = sum(row[part][route] for part in ("fwd", "wgrad", "dgrad"))
        row["ratio_vs_cudnn"] = row["total_ours_ms"] / row["total_cudnn_ms"]
        rows.append(row)
        print(f"conv {row['label']}: ours {row['total_ours_ms']:.3f} ms, cuDNN {row['total_cudnn_ms']:.3f} ms, "
              f"x{row['ratio_vs_cudnn']:.2f}", flush=True)
    return rows


def gemm_row(cupy, torch, ks, timer, size):
    rng = cupy.random.default_rng(1)
    a = rng.standard_normal((size, size), dtype=cupy.float32)
    b = rng.standard_normal((size, size), dtype=cupy.float32)
    ta, tb = torch.from_dlpack(a), torch.from_dlpack(b)
    t = timer.compare({"ours": lambda: ks.matmul(a, b), "cublas": lambda: torch.matmul(ta, tb)})
    flops = 2.0 * size ** 3
    row = {"size": size, "ours_ms": t["ours"], "cublas_ms": t["cublas"],
           "ours_tflops": flops / t["ours"] / 1e9, "cublas_tflops": flops / t["cublas"] / 1e9,
           "error": rel_error(cupy, ks.matmul(a, b), cupy.from_dlpack(torch.matmul(ta, tb)))}
    row["throughput_vs_cublas"] = row["ours_tflops"] / row["cublas_tflops"]
    print(f"gemm {size}^3: ours {row['ours_tflops']:.1f} TFLOP/s, cuBLAS {row['cublas_tflops']:.1f}, "
          f"{100 * row['throughput_vs_cublas']:.0f}%", flush=True)
    return row


def linear_rows(cupy, torch, ks, timer, batches):
    rows = []
    for model, fin, fout in lenet_cnn_linear_shapes():
        for batch in batches:
            rng = cupy.random.default_rng(2)
            x = rng.standard_normal((batch, fin), dtype=cupy.float32)
            w = rng.standard_normal((fout, fin), dtype=cupy.float32)
            gy = rng.standard_normal((batch, fout), dtype=cupy.float32)
            tx, tw, tgy = (torch.from_dlpack(v) for v in (x, w, gy))

            def ours():  # exactly what gpugrad's MatMul forward and backward hand the kernels
                return ks.matmul(x, w.T), ks.matmul(gy, w), ks.matmul(gy.T, x)

            def peer():
                return torch.matmul(tx, tw.T), torch.matmul(tgy, tw), torch.matmul(tgy.T, tx)

            t = timer.compare({"ours": ours, "cublas": peer})
            error = max(rel_error(cupy, o, cupy.from_dlpack(p)) for o, p in zip(ours(), peer()))
            row = {"model": model, "batch": batch, "in": fin, "out": fout, "ours_ms": t["ours"],
                   "cublas_ms": t["cublas"], "ratio_vs_cublas": t["ours"] / t["cublas"], "error": error}
            rows.append(row)
            print(f"linear {model} {batch}x{fin}->{fout}: x{row['ratio_vs_cublas']:.2f}", flush=True)
    return rows


def markdown(result):
    env = result["environment"]
    lines = ["# Our GEMM and implicit-GEMM convolutions vs cuBLAS / cuDNN (generated by "
             "benchmarks/gemm_conv_gpu.py)", "",
             f"{env['gpu']}, {env['date']}; CuPy {env['cupy']}, PyTorch {env['torch']} (cuDNN {env['cudnn']}). "
             f"float32, medians of {env['reps']} interleaved repetitions, CUDA events.", ""]
    for mode in result["modes"]:
        tf32 = "on" if mode["tf32"] else "off"
        lines += [f"## TF32 {tf32}, both sides", "",
                  "### conv fwd + wgrad + dgrad (ms)", "",
                  "| shape | ours | im2col + cuBLAS | cuDNN | ours / cuDNN | fwd / wgrad / dgrad ours | "
                  "fwd / wgrad / dgrad cuDNN | max rel. error |",
                  "| --- | ---: | ---: | ---: | ---: | --- | --- | ---: |"]
        for r in mode["conv"]:
            parts = ("fwd", "wgrad", "dgrad")
            lines.append(f"| {r['label']} | {r['total_ours_ms']:.3f} | {r['total_cublas_route_ms']:.3f} | "
                         f"{r['total_cudnn_ms']:.3f} | {r['ratio_vs_cudnn']:.2f} | "
                         + " / ".join(f"{r[p]['ours']:.3f}" for p in parts) + " | "
                         + " / ".join(f"{r[p]['cudnn']:.3f}" for p in parts) + " | "
                         + f"{max(r[p]['error'] for p in parts):.1e} |")
        g = mode["gemm"]
        lines += ["", f"### GEMM {g['size']}³", "",
                  "| ours (TFLOP/s) | cuBLAS (TFLOP/s) | ours / cuBLAS throughput | max rel. error |",
                  "| ---: | ---: | ---: | ---: |",
                  f"| {g['ours_tflops']:.1f} | {g['cublas_tflops']:.1f} | {100 * g['throughput_vs_cublas']:.0f}% | "
                  f"{g['error']:.1e} |", "",
                  "### linear forward + backward (three GEMMs, ms)", "",
                  "| model | batch | in → out | ours | cuBLAS | ours / cuBLAS | max rel. error |",
                  "| --- | ---: | --- | ---: | ---: | ---: | ---: |"]
        for r in mode["linear"]:
            lines.append(f"| {r['model']} | {r['batch']} | {r['in']} → {r['out']} | {r['ours_ms']:.4f} | "
                         f"{r['cublas_ms']:.4f} | {r['ratio_vs_cublas']:.2f} | {r['error']:.1e} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="one conv shape, 1024^3 GEMM, batch 32 only")
    args = parser.parse_args(argv)
    import cupy
    import torch

    import gpugrad
    import gpugrad.backends.cuda as flags
    from gpugrad.backends import get_backend
    from gpugrad.backends.cuda.kernels import KernelSet

    if not torch.cuda.is_available():
        sys.exit("gemm_conv_gpu: PyTorch sees no CUDA device")
    get_backend(gpugrad.device("cuda"))  # registered, so allow_tf32 also sets CuPy's cuBLAS mode
    ks, timer = KernelSet(cupy, cupy.RawModule), Timer(cupy, torch, args.reps)
    shapes = ISSUE_CONV_SHAPES[:1] if args.quick else ISSUE_CONV_SHAPES
    size, batches = (1024, (32,)) if args.quick else (4096, (32, 256))
    result = {"environment": {
        "gpu": torch.cuda.get_device_name(0), "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "cupy": cupy.__version__, "torch": torch.__version__, "cudnn": torch.backends.cudnn.version(),
        "python": platform.python_version(), "reps": args.reps}, "modes": []}
    try:
        for tf32 in (False, True):
            set_tf32(torch, flags, tf32)
            print(f"-- TF32 {'on' if tf32 else 'off'}", flush=True)
            result["modes"].append({"tf32": tf32, "conv": conv_rows(cupy, torch, ks, timer, shapes),
                                    "gemm": gemm_row(cupy, torch, ks, timer, size),
                                    "linear": linear_rows(cupy, torch, ks, timer, batches)})
    finally:
        set_tf32(torch, flags, False)
        args.out_dir.mkdir(parents=True, exist_ok=True)
        (args.out_dir / "gemm_conv_gpu.json").write_text(json.dumps(result, indent=1) + "\n")
        if len(result["modes"]) == 2:
            (args.out_dir / "gemm_conv_gpu.md").write_text(markdown(result))
    print(f"wrote {args.out_dir}/gemm_conv_gpu.json and .md")


if __name__ == "__main__":
    main()
