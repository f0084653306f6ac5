"""The run's own roofline on each device: copy bandwidth and SGEMM rate (TF32 off), through
the array module (NumPy or CuPy: the reference for the rows' fractions) and through PyTorch
(a cross-check)."""
from .errors import error_text
from .timing import measure

SIZES = {"cuda": (256 << 20, 4096), "cpu": (64 << 20, 1024), "quick": (4 << 20, 256)}


def measure_roofline(dev, settings, quick):
    """{copy, gemm, torch_copy, torch_gemm}: GB/s (read + write bytes) and GFLOP/s."""
    nbytes, n = SIZES["quick" if quick else dev.name]
    out = {"copy_bytes_per_array": nbytes, "gemm_n": n}
    for key, fn, size, torch in [("copy", _copy, nbytes, False), ("gemm", _gemm, n, False),
                                 ("torch_copy", _copy, nbytes, True),
                                 ("torch_gemm", _gemm, n, True)]:
        if torch and not dev.torch_ok:
            out[key] = {"status": "unavailable", "error": dev.torch_error}
            continue
        try:
            out[key] = fn(dev, settings, size, torch)
        except Exception as exc:
            out[key] = {"status": "error", "error": error_text(exc)}
        dev.free()
    return out


def _operands(dev, shape, torch, count):
    arrays = [dev.randn(shape, seed) for seed in range(1, count + 1)]
    return [dev.to_torch(a) for a in arrays] if torch else arrays


def _time(call, clock, settings):
    call()
    return measure({"call": (call, clock)}, reps=settings.reps, warmup=settings.warmup,
                   budget=settings.budget)["call"]


def _copy(dev, settings, nbytes, torch):
    """`dst[...] = src` (xp) or `dst.copy_(src)` (torch) on float32 arrays of nbytes each."""
    src, dst = _operands(dev, (nbytes // 4,), torch, 2)
    if torch:
        stats = _time(lambda: dst.copy_(src), dev.torch_clock(), settings)
    else:
        stats = _time(lambda: dst.__setitem__(Ellipsis, src), dev.clock(), settings)
    return {**stats, "gbps": 2 * nbytes / (stats["median_ms"] * 1e-3) / 1e9}


def _gemm(dev, settings, n, torch):
    """n×n by n×n float32 matmul into a preallocated output; 2n³ flops."""
    a, b, c = _operands(dev, (n, n), torch, 3)
    if torch:
        stats = _time(lambda: dev.torch.matmul(a, b, out=c), dev.torch_clock(), settings)
    else:
        stats = _time(lambda: dev.xp.matmul(a, b, out=c), dev.clock(), settings)
    return {**stats, "gflops": 2 * n ** 3 / (stats["median_ms"] * 1e-3) / 1e9}
