"""Device backends: array-level kernels behind one interface (see backends/cpu, backends/cuda)."""
