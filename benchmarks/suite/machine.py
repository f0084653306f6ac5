"""What the numbers were measured on: gpu_check's environment record plus the CPU model,
thread counts and load, and the folder name (machine slug and date)."""
import datetime
import os
import platform
import re

from benchmarks.gpu_check.env import collect


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(targets, repo):
    """The JSON `machine` record; GPU fields come from the cuda target when there is one."""
    gpu = targets.get("cuda")
    env = collect((gpu or targets["cpu"]).dev, repo)
    for key in ("mode", "device_name"):
        env.pop(key, None)
    from gpugrad.backends.cpu._numba import numba
    env["cpu_model"] = cpu_model()
    env["threads"] = {"numba": numba.get_num_threads()}
    torch = next(iter(targets.values())).dev.torch
    if torch is not None:
        env["threads"]["torch"] = torch.get_num_threads()
    env["loadavg_at_start"] = list(os.getloadavg())
    if gpu is not None:
        env["gpu_name"] = gpu.dev.name
        env["gpu_driver"] = env.get("cupy", {}).get("driver_version")
    return env


def slug(targets):
    """`<gpu name>` when the run has a GPU, else `cpu-<model>-<threads>t`."""
    if "cuda" in targets:
        name = targets["cuda"].dev.name
    else:
        from gpugrad.backends.cpu._numba import numba
        name = f"cpu-{cpu_model()}-{numba.get_num_threads()}t"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "machine"


def default_out(targets, repo):
    return repo / "benchmarks" / "results" / f"{slug(targets)}-{datetime.date.today().isoformat()}"
