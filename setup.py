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
    install_requires=["numpy>=1.26", "numba>=0.59"],
    extras_require={
        "test": ["pytest>=8", "hypothesis>=6.100"],
        "cuda": ["cupy-cuda13x>=14"],
    },
)
