"""What the numbers were measured on: host, CPU model, threads, load, library versions, the
GPU and its driver, and the git commit; plus the default output folder's name."""
import datetime
import os
import platform
import re
import socket
import subprocess
import sys
from pathlib import Path

from .errors import error_text

# cudaDeviceAttr values; CUDA 13 dropped clockRate/memoryClockRate from cudaDeviceProp.
_ATTR_CLOCK_KHZ, _ATTR_MEM_CLOCK_KHZ, _ATTR_BUS_WIDTH = 13, 36, 37
_PROPS = ("name", "major", "minor", "totalGlobalMem", "multiProcessorCount", "l2CacheSize",
          "memoryBusWidth", "sharedMemPerBlockOptin", "eccEnabled")


def checkout():
    """The source checkout this package sits in, or None when it is installed (gpugrad.benchmarks)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "setup.py").exists() and (root / "benchmarks").is_dir() else None


def describe(devices):
    """The JSON `machine` record, each part guarded on its own."""
    from gpugrad.backends.cpu._numba import numba
    any_dev = next(iter(devices.values()))
    env = {"date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "hostname": socket.gethostname(), "cpu_count": os.cpu_count(),
           "platform": platform.platform(), "python": sys.version.split()[0],
           "git_commit": _guard(_git), "numpy": _guard(lambda: __import__("numpy").__version__),
           "numba": _guard(lambda: __import__("numba").__version__)}
    gpu = devices.get("cuda")
    if gpu is not None:
        env["cupy"] = _guard(lambda: _cupy(gpu.xp))
        env["nvidia_smi"] = _guard(_nvidia_smi)
    env["torch"] = (_guard(lambda: _torch(gpu or any_dev)) if any_dev.torch is not None
                    else {"error": any_dev.torch_error})
    env["cpu_model"] = cpu_model()
    env["threads"] = {"numba": numba.get_num_threads()}
    if any_dev.torch is not None:
        env["threads"]["torch"] = any_dev.torch.get_num_threads()
    env["loadavg_at_start"] = list(os.getloadavg())
    if gpu is not None:
        env["gpu_name"] = _guard(lambda: gpu.title)
        env["gpu_driver"] = env["cupy"].get("driver_version")
    return env


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def default_out(devices):
    """<checkout>/benchmarks/results/<machine>-<date>, or ./benchmark-results/... when installed:
    the GPU's name when the run has one, else cpu-<model>-<threads>t."""
    from gpugrad.backends.cpu._numba import numba
    gpu = devices.get("cuda")
    name = gpu.title if gpu is not None else f"cpu-{cpu_model()}-{numba.get_num_threads()}t"
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "machine"
    root = checkout()
    base = root / "benchmarks" / "results" if root else Path("benchmark-results")
    return base / f"{slug}-{datetime.date.today().isoformat()}"


def _guard(fn):
    try:
        return fn()
    except Exception as exc:
        return {"error": error_text(exc)}


def _plain(value):
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _cupy(cp):
    rt = cp.cuda.runtime
    props = rt.getDeviceProperties(0)
    info = {"version": cp.__version__, "device_count": rt.getDeviceCount(),
            "driver_version": rt.driverGetVersion(), "runtime_version": rt.runtimeGetVersion(),
            "CUPY_TF32": os.environ.get("CUPY_TF32"),
            "props": {k: _plain(props[k]) for k in _PROPS if k in props}}
    info["compute_capability"] = f"{props.get('major')}.{props.get('minor')}"
    info["nvrtc_version"] = _guard(lambda: list(cp.cuda.nvrtc.getVersion()))
    clocks = _guard(lambda: [rt.deviceGetAttribute(a, 0) for a in
                             (_ATTR_CLOCK_KHZ, _ATTR_MEM_CLOCK_KHZ, _ATTR_BUS_WIDTH)])
    if isinstance(clocks, list):
        sm_khz, mem_khz, bus_bits = clocks
        info["sm_clock_mhz"], info["mem_clock_mhz"] = sm_khz / 1e3, mem_khz / 1e3
        # DDR: two transfers per clock.
        info["peak_mem_gbps_nominal"] = 2 * mem_khz * 1e3 * bus_bits / 8 / 1e9
    return info


def _torch(dev):
    torch = dev.torch
    info = {"version": torch.__version__, "cuda": torch.version.cuda,
            "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "cudnn_benchmark": torch.backends.cudnn.benchmark}
    if dev.torch_error:
        info["error"] = dev.torch_error
    elif dev.name == "cuda":
        info["cudnn"] = torch.backends.cudnn.version()
        info["device_name"] = torch.cuda.get_device_name(0)
    return info


def _git():
    """$GPUGRAD_COMMIT if set (a copied tree's .git can be stale: pass the real commit), else
    the HEAD of the checkout (or of the current folder, when installed)."""
    if os.environ.get("GPUGRAD_COMMIT"):
        return os.environ["GPUGRAD_COMMIT"]
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=checkout() or os.getcwd(),
                         capture_output=True, text=True, timeout=10)
    return out.stdout.strip() or None


def _nvidia_smi():
    query = "name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.limit,temperature.gpu"
    out = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv"],
                         capture_output=True, text=True, timeout=20)
    return out.stdout.strip() or out.stderr.strip()
