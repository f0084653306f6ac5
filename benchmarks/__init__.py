"""gpugrad's benchmark suite: `python -m benchmarks` in a checkout, `gpugrad bench` installed.

Rows time gpugrad's kernel functions, Tensor ops and training steps on the CPU and a real GPU
against PyTorch (and plain NumPy on the CPU) in the same process, check the outputs, and write
results.json, results.md and plots; the distributed rows are timed in their own mpiexec jobs,
the "alone" rows in a process per library. Every row is declared in `suite.py`. setup.py installs this
folder as `gpugrad.benchmarks`, so the modules import each other relatively.
"""
