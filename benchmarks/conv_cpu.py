"""CPU conv2d forward+backward and fused gelu: gpugrad kernels vs PyTorch CPU vs plain NumPy.

All in one process, float32, median of repeated runs, PyTorch (when importable) limited to
Numba's thread count. Prints Markdown tables and the peak patch-buffer memory of the row
with the largest im2col.

    PYTHONPATH=. python benchmarks/conv_cpu.py [--quick]
"""
import argparse
import contextlib
import os
import statistics
import time
import tracemalloc

import numpy as np

try:
    import torch
except ImportError:
    torch = None

from gpugrad.backends.conv_params import conv_output_size
from gpugrad.backends.cpu import conv, gelu
from gpugrad.backends.cpu._numba import numba
try:
    from scipy.special import erf
except ImportError:
    erf = None

# (N, C, H, W, F, k, stride, padding, dilation), from issue 3
ROWS = [(64, 1, 28, 28, 6, 5, 1, 2, 1), (64, 6, 14, 14, 16, 5, 1, 0, 1), (128, 3, 32, 32, 64, 3, 1, 1, 1),
        (128, 64, 16, 16, 128, 3, 1, 1, 1), (32, 16, 32, 32, 32, 3, 2, 1, 2)]


def median_ms(fns, reps):
    """Median wall time in ms of each callable in `fns`, after one warm-up call each.
    Contenders take turns, so drifting load from other processes hits them alike."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: 1e3 * statistics.median(v) for name, v in times.items()}


def numpy_im2col(x, k, s, p, d):
    """Plain NumPy im2col via a strided window view: (N, C*k*k, OH*OW)."""
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (d * (k - 1) + 1,) * 2, axis=(2, 3))[:, :, ::s, ::s, ::d, ::d]
    n, c, oh, ow = win.shape[:4]
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * k * k, oh * ow)


def numpy_conv(x, w, gy, k, s, p, d):
    """Forward, weight and input gradient with im2col, matmul and a slice-add col2im."""
    n, c, h, wd = x.shape
    f, oh, ow = gy.shape[1:]
    cols = numpy_im2col(x, k, s, p, d)
    w2 = w.reshape(f, -1)
    y = np.matmul(w2, cols)
    g2 = gy.reshape(n, f, -1)
    gw = np.tensordot(g2, cols, axes=([0, 2], [0, 2])).reshape(w.shape)
    dcols = np.matmul(w2.T, g2).reshape(n, c, k, k, oh, ow)
    gxp = np.zeros((n, c, h + 2 * p, wd + 2 * p), x.dtype)
    for i in range(k):
        for j in range(k):
            gxp[:, :, i * d:i * d + s * (oh - 1) + 1:s, j * d:j * d + s * (ow - 1) + 1:s] += dcols[:, :, i, j]
    return y, gw, gxp[:, :, p:p + h, p:p + wd]


def conv_row(row, reps):
    n, c, h, w, f, k, s, p, d = row
    oh, ow = conv_output_size(h, k, s, p, d), conv_output_size(w, k, s, p, d)
    rng = np.random.default_rng(0)
    x, wt = rng.standard_normal((n, c, h, w), np.float32), rng.standard_normal((f, c, k, k), np.float32)
    gy = rng.standard_normal((n, f, oh, ow), np.float32)
    pair = (s, s), (p, p), (d, d)
    fns = dict(fwd=lambda: conv.conv2d_forward(x, wt, *pair, 1),
               wgrad=lambda: conv.conv_wgrad(x, gy, k, k, *pair, 1),
               dgrad=lambda: conv.conv_dgrad(gy, wt, x.shape, *pair, 1),
               numpy=lambda: numpy_conv(x, wt, gy, k, s, p, d))
    if torch is not None:
        tx, tw, tg = torch.from_numpy(x), torch.from_numpy(wt), torch.from_numpy(gy)
        fns["t_fwd"] = lambda: torch.nn.functional.conv2d(tx, tw, None, s, p, d)
        fns["t_bwd"] = lambda: torch.ops.aten.convolution_backward(
            tg, tx, tw, None, [s, s], [p, p], [d, d], False, [0, 0], 1, [True, True, False])
    with torch.no_grad() if torch is not None else contextlib.nullcontext():
        r = median_ms(fns, reps)
    r["total"] = r["fwd"] + r["wgrad"] + r["dgrad"]
    if torch is not None:
        r["torch"] = r["t_fwd"] + r["t_bwd"]
    return r


def peak_memory(row):
    """Patch-buffer bytes of one chunk, and tracemalloc's peak (which includes outputs) per kernel."""
    n, c, h, w, f, k, s, p, d = row
    oh, ow = conv_output_size(h, k, s, p, d), conv_output_size(w, k, s, p, d)
    rng = np.random.default_rng(0)
    x, wt = rng.standard_normal((n, c, h, w), np.float32), rng.standard_normal((f, c, k, k), np.float32)
    gy = rng.standard_normal((n, f, oh, ow), np.float32)
    per_sample = c * k * k * oh * ow * 4
    peaks = {}
    for name, fn in (("fwd", lambda: conv.conv2d_forward(x, wt, (s, s), (p, p), (d, d), 1)),
                     ("wgrad", lambda: conv.conv_wgrad(x, gy, k, k, (s, s), (p, p), (d, d), 1)),
                     ("dgrad", lambda: conv.conv_dgrad(gy, wt, x.shape, (s, s), (p, p), (d, d), 1))):
        tracemalloc.start()
        fn()
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return n * per_sample, conv._chunk(n, per_sample) * per_sample, peaks


def gelu_rows(reps):
    x = np.random.default_rng(0).standard_normal(1 << 22, np.float32)
    gy = np.random.default_rng(1).standard_normal(1 << 22, np.float32)
    c, k, a = np.float32(np.sqrt(0.5)), np.float32(np.sqrt(2 / np.pi)), np.float32(0.044715)
    inv = np.float32(1 / np.sqrt(2 * np.pi))

    def numpy_erf():
        y = 0.5 * x * (1 + erf(x * c))
        return y, gy * (0.5 * (1 + erf(x * c)) + x * np.exp(-0.5 * x * x) * inv)

    def numpy_tanh():
        t = np.tanh(k * (x + a * x ** 3))
        return 0.5 * x * (1 + t), gy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * a * x * x))

    rows = []
    for form, unfused in (("none", numpy_erf if erf is not None else None), ("tanh", numpy_tanh)):
        fns = dict(fused=lambda: (gelu.gelu_fwd(x, form), gelu.gelu_bwd(x, gy, form)))
        if unfused is not None:
            fns["numpy"] = unfused
        if torch is not None:
            tx, tg = torch.from_numpy(x), torch.from_numpy(gy)
            fns["torch"] = lambda: (torch.nn.functional.gelu(tx, approximate=form),
                                    torch.ops.aten.gelu_backward(tg, tx, approximate=form))
        rows.append(dict(form=form, **median_ms(fns, reps)))
    return rows


def fmt(v):
    return "n/a" if v is None else f"{v:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions, for a smoke run")
    reps = 3 if parser.parse_args().quick else 15
    threads = numba.get_num_threads()
    if torch is not None:
        torch.set_num_threads(threads)
    print(f"threads: {threads}, torch {torch.__version__ if torch else 'not installed'}, reps {reps}, "
          f"1-min load average at start {os.getloadavg()[0]:.2f}; float32, median ms\n")
    print("| N,C,H,W -> F,k,s,p,d | fwd | wgrad | dgrad | gpugrad total | torch fwd | torch bwd | torch total "
          "| numpy total | gpugrad/torch | gpugrad/numpy |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in ROWS:
        r = conv_row(row, reps)
        t = r.get("torch")
        print(f"| {row[:4]} -> {row[4:]} | {r['fwd']:.2f} | {r['wgrad']:.2f} | {r['dgrad']:.2f} | {r['total']:.2f} "
              f"| {fmt(r.get('t_fwd'))} | {fmt(r.get('t_bwd'))} | {fmt(t)} | {r['numpy']:.2f} "
              f"| {fmt(t and r['total'] / t)} | {r['total'] / r['numpy']:.2f} |")
    print("\n| gelu fwd+bwd, 2^22 float32 | fused | unfused numpy | torch | numpy/fused | torch/fused |")
    print("|---|---|---|---|---|---|")
    for r in gelu_rows(reps):
        u, t = r.get("numpy"), r.get("torch")
        print(f"| approximate={r['form']} | {r['fused']:.2f} | {fmt(u)} | {fmt(t)} | {fmt(u and u / r['fused'])} "
              f"| {fmt(t and t / r['fused'])} |")
    largest = max(ROWS, key=lambda r: r[0] * r[1] * r[5] ** 2 * conv_output_size(r[2], *r[5:6], r[6], r[7], r[8])
                  * conv_output_size(r[3], r[5], r[6], r[7], r[8]))
    full, chunk, peaks = peak_memory(largest)
    print(f"\nlargest im2col row {largest}: full-batch patches would be {full / 2**20:.1f} MiB; "
          f"chunked buffer {chunk / 2**20:.1f} MiB (COLS_BUDGET_BYTES = {conv.COLS_BUDGET_BYTES / 2**20:.0f} MiB); "
          "tracemalloc peak incl. outputs: " + ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in peaks.items()))
    print(f"1-min load average at end {os.getloadavg()[0]:.2f} (above ~0.5 other processes shared the cores)")


if __name__ == "__main__":
    main()
