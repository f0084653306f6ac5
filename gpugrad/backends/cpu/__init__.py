"""CPU kernels (NumPy + Numba). Modules are imported lazily so `import gpugrad` never loads Numba."""
