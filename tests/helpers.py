"""Shared test helpers: the repository root, and random tensors (never zeros, float64 by
default, seeded)."""
from pathlib import Path

import numpy as np

import gpugrad

REPO = Path(__file__).resolve().parents[1]  # the repository root


def rand_tensor(rng, shape, requires_grad=True, low=None, dtype="float64"):
    """Standard normal values (or |normal| + low when `low` is given, e.g. for log/sqrt)."""
    data = rng.standard_normal(shape)
    if low is not None:
        data = np.abs(data) + low
    return gpugrad.tensor(data, dtype=dtype, requires_grad=requires_grad)


def away_from(rng, shape, points, margin=0.1):
    """Normal values kept `margin` away from kinks (relu at 0, clamp bounds, abs at 0)."""
    data = rng.standard_normal(shape)
    for p in points:
        close = np.abs(data - p) < margin
        data[close] = p + np.sign(data[close] - p + 1e-12) * margin
    return gpugrad.tensor(data, dtype="float64", requires_grad=True)
