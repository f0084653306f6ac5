"""Environment record: device, driver/runtime, library versions, host, date."""
import datetime
import os
import platform
import socket
import subprocess
import sys

from .device import error_text

# cudaDeviceAttr values; CUDA 13 dropped clockRate/memoryClockRate from cudaDeviceProp.
_ATTR_CLOCK_KHZ, _ATTR_MEM_CLOCK_KHZ, _ATTR_BUS_WIDTH = 13, 36, 37
_PROPS = ("name", "major", "minor", "totalGlobalMem", "multiProcessorCount", "l2CacheSize",
          "memoryBusWidth", "sharedMemPerBlockOptin", "eccEnabled")


def collect(dev, repo):
    """Everything about where the numbers come from, each part guarded on its own."""
    env = {"date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "hostname": socket.gethostname(), "cpu_count": os.cpu_count(),
           "platform": platform.platform(), "python": sys.version.split()[0],
           "mode": "simulation" if dev.sim else "gpu", "device_name": _guard(lambda: dev.name)}
    env["git_commit"] = _guard(lambda: _git(repo))
    env["numpy"] = _guard(lambda: __import__("numpy").__version__)
    env["numba"] = _guard(lambda: __import__("numba").__version__)
    if not dev.sim:
        env["cupy"] = _guard(lambda: _cupy(dev)) if dev.xp else {"error": dev.xp_error}
        env["nvidia_smi"] = _guard(_nvidia_smi)
    env["torch"] = _guard(lambda: _torch(dev)) if dev.torch else {"error": dev.torch_error}
    return env


def _guard(fn):
    try:
        return fn()
    except Exception as exc:
        return {"error": error_text(exc)}


def _plain(value):
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _cupy(dev):
    cp = dev.xp
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
            "cudnn_benchmark": torch.backends.cudnn.benchmark,
            "peer_device": dev.torch_device}
    if dev.torch_error:
        info["error"] = dev.torch_error
    elif not dev.sim:
        info["cudnn"] = torch.backends.cudnn.version()
        info["device_name"] = torch.cuda.get_device_name(0)
    return info


def _git(repo):
    """$GPUGRAD_COMMIT if set (a copied tree's .git can be stale: pass the real commit), else HEAD."""
    if os.environ.get("GPUGRAD_COMMIT"):
        return os.environ["GPUGRAD_COMMIT"]
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                         text=True, timeout=10)
    return out.stdout.strip() or None


def _nvidia_smi():
    query = "name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.limit,temperature.gpu"
    out = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv"],
                         capture_output=True, text=True, timeout=20)
    return out.stdout.strip() or out.stderr.strip()
