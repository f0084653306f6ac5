"""Which CUDA kernels exist, how they are instantiated, and with which NVRTC options.

The CUDA backend, the emulator tests and the compile gate all read this table, so the gate
compiles exactly what the runtime hands to CuPy.
"""

from pathlib import Path

DTYPES = ("float", "double")

# file -> (templated kernels, instantiated for DTYPES; float-only kernels)
KERNEL_FILES = {
    "im2col.cu": (("im2col", "im2col_rows"), ()),
    "col2im.cu": (("col2im",), ()),
    "conv_wgrad.cu": (("conv_wgrad",), ()),
    "conv_dgrad.cu": (("conv_dgrad",), ()),
    "gelu.cu": (("gelu_fwd", "gelu_bwd"), ("gelu_fwd_f4", "gelu_bwd_f4")),
    "maxpool.cu": (("maxpool2d_fwd", "maxpool2d_bwd"), ()),
    "softmax_xent.cu": (("softmax_xent_fwd", "softmax_xent_bwd"), ()),
    # Our GEMM and implicit-GEMM convolutions (tiles in gemm_tile.cuh); *_tf32: the float
    # routes on TF32 tensor cores, used only when gpugrad.backends.cuda.allow_tf32 is set.
    "gemm.cu": (("gemm",), ("gemm_tf32",)),
    "conv_igemm.cu": (("conv_fwd_igemm", "conv_dgrad_igemm", "conv_wgrad_igemm"),
                      ("conv_fwd_igemm_tf32", "conv_dgrad_igemm_tf32", "conv_wgrad_igemm_tf32")),
}


def kernel_dir():
    """The installed gpugrad/kernels package folder, else the repository's kernels/ folder."""
    try:
        from gpugrad import kernels  # setup.py ships the top-level kernels/ as gpugrad.kernels

        for base in getattr(kernels, "__path__", []):
            if (Path(base) / "common.cuh").exists():
                return Path(base)
    except ImportError:
        pass
    return Path(__file__).resolve().parent.parent / "kernels"


def name_expressions(filename):
    """Every kernel instantiation of `filename`, as CuPy's name_expressions (e.g. "im2col<float>")."""
    templated, plain = KERNEL_FILES[filename]
    return [f"{k}<{t}>" for k in templated for t in DTYPES] + list(plain)


def nvrtc_options(directory=None):
    """Options passed to cupy.RawModule (and the emulator) for every kernel file."""
    return ("--std=c++17", f"-I{directory or kernel_dir()}")
