"""Compile kernels/*.cu for a GPU architecture on a machine without a GPU.

Used by the compile gate (tests/kernels/test_compile_gate.py) and the resource report
(benchmarks/kernel_resources.py).  NVRTC, through the `cuda-bindings` package, sees exactly
what cupy.RawModule sees: the same source text, options and name expressions.  Where it is
missing, nvcc compiles a file that includes the source and takes the address of every name
expression, which instantiates the same kernels.
"""

import glob
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from gpugrad.kernel_specs import kernel_dir, name_expressions, nvrtc_options

ARCHS = (80, 90)


class KernelCompileError(RuntimeError):
    """A kernel file did not compile; the message holds the compiler's log."""


def find_nvcc():
    found = shutil.which("nvcc") or sorted(glob.glob("/usr/local/cuda*/bin/nvcc"))
    return found if isinstance(found, str) else (found[-1] if found else None)


def nvrtc_available():
    try:
        from cuda.bindings import nvrtc  # noqa: F401
    except ImportError:
        return False
    return True


def available_compilers():
    """Compilers usable here, best first; $GPUGRAD_GATE_COMPILER picks one."""
    found = [c for c, ok in (("nvrtc", nvrtc_available()), ("nvcc", find_nvcc() is not None)) if ok]
    forced = os.environ.get("GPUGRAD_GATE_COMPILER")
    return [c for c in found if c == forced] if forced else found


def _nvrtc(filename, arch):
    from cuda.bindings import nvrtc

    def check(result, what):
        err = result[0] if isinstance(result, tuple) else result
        if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            raise KernelCompileError(f"{filename}: {what} failed ({err})")
        return result[1:] if isinstance(result, tuple) else ()

    source = (kernel_dir() / filename).read_bytes()
    (prog,) = check(nvrtc.nvrtcCreateProgram(source, filename.encode(), 0, [], []), "create")
    exprs = name_expressions(filename)
    try:
        for e in exprs:
            check(nvrtc.nvrtcAddNameExpression(prog, e.encode()), f"add name expression {e}")
        opts = [o.encode() for o in nvrtc_options()] + [f"-arch=sm_{arch}".encode(), b"-Xptxas=-v"]
        status = nvrtc.nvrtcCompileProgram(prog, len(opts), opts)
        (size,) = check(nvrtc.nvrtcGetProgramLogSize(prog), "log size")
        log = b" " * size
        check(nvrtc.nvrtcGetProgramLog(prog, log), "log")
        log = log.decode(errors="replace").rstrip("\0 \n")
        if status[0] != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            raise KernelCompileError(f"NVRTC failed on {filename} for sm_{arch} with {opts}:\n{log}")
        lowered = {check(nvrtc.nvrtcGetLoweredName(prog, e.encode()), e)[0].decode(): e for e in exprs}
    finally:
        nvrtc.nvrtcDestroyProgram(prog)
    return log, lowered


def _nvcc(filename, arch):
    exprs = name_expressions(filename)
    with tempfile.TemporaryDirectory() as tmp:
        unit = Path(tmp) / "gate.cu"
        unit.write_text(f'#include "{filename}"\n'
                        "static void* const gg_instances[] = {"
                        + ", ".join(f"(void*)&{e}" for e in exprs) + "};\n")
        cmd = [find_nvcc(), *nvrtc_options(), f"-arch=sm_{arch}", "-cubin", "-Xptxas", "-v",
               str(unit), "-o", str(Path(tmp) / "gate.cubin")]
        res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise KernelCompileError(f"nvcc failed on {filename} for sm_{arch}: {' '.join(cmd)}\n{res.stderr}")
    mangled = re.findall(r"Compiling entry function '(\w+)'", res.stderr)
    filt = subprocess.run(["c++filt"], input="\n".join(mangled), capture_output=True, text=True).stdout
    lowered = {}
    for m, demangled in zip(mangled, filt.splitlines()):
        name = re.sub(r"^void ", "", demangled.split("(")[0]).replace(" ", "")
        match = [e for e in exprs if e.replace(" ", "") == name]
        if match:
            lowered[m] = match[0]
    return res.stderr, lowered


def compile_file(filename, arch, compiler):
    """Compile one file; return {name expression: resource dict} parsed from ptxas -v."""
    log, lowered = (_nvrtc if compiler == "nvrtc" else _nvcc)(filename, arch)
    missing = set(name_expressions(filename)) - set(lowered.values())
    if missing:
        raise KernelCompileError(f"{filename}: no code for {sorted(missing)} on sm_{arch}")
    usage, current = {}, None
    for line in log.splitlines():
        if m := re.search(r"Compiling entry function '(\w+)'", line):
            current = lowered.get(m[1])
            usage[current] = dict(registers=0, spill_stores=0, spill_loads=0, stack=0, smem=0)
        elif current is None:
            continue
        elif m := re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line):
            usage[current].update(stack=int(m[1]), spill_stores=int(m[2]), spill_loads=int(m[3]))
        elif m := re.search(r"Used (\d+) registers", line):
            usage[current]["registers"] = int(m[1])
            if s := re.search(r"(\d+) bytes smem", line):
                usage[current]["smem"] = int(s[1])
    usage.pop(None, None)
    return usage
