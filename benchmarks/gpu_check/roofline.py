"""The run's own roofline: device-to-device copy bandwidth and SGEMM rate (TF32 off)."""
from .device import error_text
from .timing import measure


def measure_roofline(dev, settings, small):
    """Copy bandwidth (read + write bytes) and fp32 GEMM rate, through xp and through torch.

    `copy` and `gemm` (CuPy) are the reference the kernel rows' fractions use; the torch
    figures are there to cross-check them.
    """
    if dev.xp is None:
        return {"status": "unavailable", "error": f"no GPU ({dev.xp_error})"}
    nbytes = (4 if small else 256) << 20
    n = 256 if small else 4096
    out = {"copy_bytes_per_array": nbytes, "gemm_n": n}
    for key, fn, size, torch in [("copy", _copy, nbytes, False), ("gemm", _gemm, n, False),
                                 ("torch_copy", _copy, nbytes, True),
                                 ("torch_gemm", _gemm, n, True)]:
        if torch and dev.torch_error:
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


def _copy(dev, settings, nbytes, torch):
    """`dst[...] = src` (xp) or `dst.copy_(src)` (torch) on float32 arrays of nbytes each."""
    src, dst = _operands(dev, (nbytes // 4,), torch, 2)
    if torch:
        call, clock = (lambda: dst.copy_(src)), dev.torch_clock()
    else:
        call, clock = (lambda: dst.__setitem__(Ellipsis, src)), dev.clock()
    call()
    stats = measure(call, clock, reps=settings.reps, warmup=settings.warmup, budget=settings.budget)
    return {"status": "ok", "gbps": 2 * nbytes / (stats["median_ms"] * 1e-3) / 1e9, **stats}


def _gemm(dev, settings, n, torch):
    """n×n by n×n float32 matmul into a preallocated output; 2n³ flops."""
    a, b, c = _operands(dev, (n, n), torch, 3)
    if torch:
        call, clock = (lambda: dev.torch.matmul(a, b, out=c)), dev.torch_clock()
    else:
        call, clock = (lambda: dev.xp.matmul(a, b, out=c)), dev.clock()
    call()
    stats = measure(call, clock, reps=settings.reps, warmup=settings.warmup, budget=settings.budget)
    return {"status": "ok", "gflops": 2 * n ** 3 / (stats["median_ms"] * 1e-3) / 1e9, **stats}
