"""GPU validation command of issue 5: `python -m benchmarks.gpu_check --help`.

Runs the `gpu` tests, measures the roofline and benchmarks gpugrad's CUDA KernelSet against
PyTorch/cuDNN, writing gpu_check.json and gpu_check.md. `--sim` runs the same flow on the
CPU (NumPy + the kernel emulator, PyTorch CPU peers); its timings mean nothing.
"""
