"""Every kernel function, one row each: its CUDA files, CPU function, reference and benchmark.

A row names a function of the kernel interface (gpugrad.backends.kernel_interface) or one of
its routes (gpugrad.backends.algorithms). The CUDA backend compiles what the rows list, the
compile gate compiles the same, and the tests in tests/kernels/ check each row against the
backends and run each function against its reference. Adding a kernel is: write it, add its
row here, add its test case (tests/kernels/test_kernel_specs.py says where).
"""
from dataclasses import dataclass
from pathlib import Path

DTYPES = ("float", "double")  # what a templated kernel ("name<T>") is instantiated for


@dataclass(frozen=True)
class KernelSpec:
    name: str        # the function on ctx.kernels: an interface function or a route
    cuda: dict       # .cu file in kernels/ -> the __global__ kernels it launches from there
                     # ("k<T>": templated, instantiated for DTYPES; "k": one plain kernel;
                     # empty only for a "cublas" route, which launches no kernel of ours,
                     # and for a CPU-only route)
    cpu: str | None  # "module.function" in gpugrad.backends.cpu; None for a CUDA-only route
    reference: str   # plain float64 version in gpugrad.backends.cpu.reference
    bench: str       # its row builder in benchmarks/ ("module.function")


# Our GEMM and implicit-GEMM convolutions (tiles in gemm_tile.cuh) are the default routes on
# CUDA; their *_tf32 kernels run float32 on TF32 tensor cores, only when
# gpugrad.backends.cuda.allow_tf32 is set.
_CONV_FWD = {"conv_igemm.cu": ("conv_fwd_igemm<T>", "conv_fwd_igemm_tf32")}
_CONV_WGRAD = {"conv_igemm.cu": ("conv_wgrad_igemm<T>", "conv_wgrad_igemm_tf32")}
_CONV_DGRAD = {"conv_igemm.cu": ("conv_dgrad_igemm<T>", "conv_dgrad_igemm_tf32")}

KERNELS = (
    KernelSpec("conv2d_forward", _CONV_FWD,
               "conv.conv2d_forward", "conv2d_ref", "kernel_rows.conv_row"),
    KernelSpec("conv2d_forward_cublas", {"im2col.cu": ("im2col_rows<T>",)},
               None, "conv2d_ref", "kernel_rows.conv_row"),
    KernelSpec("conv2d_forward_direct", {},  # a CPU-only route
               "conv_direct.conv2d_forward", "conv2d_ref", "kernel_rows.conv_row"),
    KernelSpec("conv_wgrad", _CONV_WGRAD,
               "conv.conv_wgrad", "conv_wgrad_ref", "kernel_rows.conv_row"),
    KernelSpec("conv_wgrad_cublas", {"im2col.cu": ("im2col_rows<T>",)},
               None, "conv_wgrad_ref", "kernel_rows.conv_row"),
    KernelSpec("conv_wgrad_direct", {"conv_wgrad.cu": ("conv_wgrad<T>",)},
               "conv_direct.conv_wgrad", "conv_wgrad_ref", "kernel_rows.conv_row"),
    KernelSpec("conv_dgrad", _CONV_DGRAD,
               "conv.conv_dgrad", "conv_dgrad_ref", "kernel_rows.conv_row"),
    KernelSpec("conv_dgrad_cublas", {"col2im.cu": ("col2im<T>",)},
               None, "conv_dgrad_ref", "kernel_rows.conv_row"),
    KernelSpec("conv_dgrad_direct", {"conv_dgrad.cu": ("conv_dgrad<T>",)},
               "conv_direct.conv_dgrad", "conv_dgrad_ref", "kernel_rows.conv_row"),
    KernelSpec("matmul", {"gemm.cu": ("gemm<T>", "gemm_tf32")},
               "kernels.matmul", "matmul_ref", "kernel_rows.matmul_row"),
    KernelSpec("matmul_cublas", {},  # cuBLAS itself: no kernel of ours
               None, "matmul_ref", "kernel_rows.matmul_row"),
    KernelSpec("gelu_fwd", {"gelu.cu": ("gelu_fwd<T>", "gelu_fwd_f4")},
               "gelu.gelu_fwd", "gelu_fwd_ref", "kernel_rows.gelu_row"),
    KernelSpec("gelu_bwd", {"gelu.cu": ("gelu_bwd<T>", "gelu_bwd_f4")},
               "gelu.gelu_bwd", "gelu_bwd_ref", "kernel_rows.gelu_row"),
    KernelSpec("maxpool2d_fwd", {"maxpool.cu": ("maxpool2d_fwd<T>",)},
               "pool.maxpool2d_fwd", "maxpool2d_fwd_ref", "kernel_rows.maxpool_row"),
    KernelSpec("maxpool2d_bwd", {"maxpool.cu": ("maxpool2d_bwd<T>",)},
               "pool.maxpool2d_bwd", "maxpool2d_bwd_ref", "kernel_rows.maxpool_row"),
    KernelSpec("softmax_xent_fwd", {"softmax_xent.cu": ("softmax_xent_fwd<T>",)},
               "softmax_xent.softmax_xent_fwd", "softmax_xent_fwd_ref", "kernel_rows.xent_row"),
    KernelSpec("softmax_xent_bwd", {"softmax_xent.cu": ("softmax_xent_bwd<T>",)},
               "softmax_xent.softmax_xent_bwd", "softmax_xent_bwd_ref", "kernel_rows.xent_row"),
    KernelSpec("fused_adam", {"adam.cu": ("adam_count_steps<T>", "adam_fused<T>")},
               "adam.fused_adam", "fused_adam_ref", "kernel_rows.fused_adam_row"),
    KernelSpec("philox_uniform", {"philox.cu": ("philox_uniform<T>", "philox_advance")},
               "philox.philox_uniform", "philox_uniform_ref", "kernel_rows.philox_row"),
    KernelSpec("batch_norm_fwd", {"batch_norm.cu": ("batch_norm_fwd<T>",)},
               "batch_norm.batch_norm_fwd", "batch_norm_fwd_ref", "kernel_rows.batch_norm_row"),
    KernelSpec("batch_norm_bwd", {"batch_norm.cu": ("batch_norm_bwd<T>",)},
               "batch_norm.batch_norm_bwd", "batch_norm_bwd_ref", "kernel_rows.batch_norm_row"),
    KernelSpec("relu_fwd", {"relu.cu": ("relu_fwd<T>",)},
               "relu.relu_fwd", "relu_fwd_ref", "kernel_rows.relu_row"),
    KernelSpec("relu_bwd", {"relu.cu": ("relu_bwd<T>",)},
               "relu.relu_bwd", "relu_bwd_ref", "kernel_rows.relu_row"),
)
SPECS = {spec.name: spec for spec in KERNELS}
KERNEL_FILES = tuple(sorted({f for spec in KERNELS for f in spec.cuda}))


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
    """Every kernel instantiation of `filename`, as CuPy's name_expressions (e.g. "im2col_rows<float>")."""
    names = dict.fromkeys(k for spec in KERNELS for k in spec.cuda.get(filename, ()))
    if not names:
        raise KeyError(f"no row of gpugrad/kernel_specs.py lists kernels/{filename}")
    return [e for k in names for e in ([k.replace("<T>", f"<{t}>") for t in DTYPES] if k.endswith("<T>") else [k])]


def nvrtc_options(directory=None):
    """Options passed to cupy.RawModule (and the emulator) for every kernel file."""
    return ("--std=c++17", f"-I{directory or kernel_dir()}")
