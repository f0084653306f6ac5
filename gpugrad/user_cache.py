"""Where gpugrad keeps compiled code: a per-user cache directory, never the installed package.

The directory is $XDG_CACHE_HOME/gpugrad (~/.cache/gpugrad when XDG_CACHE_HOME is unset or
not an absolute path, as the XDG spec says). Numba's compiled CPU kernels go to its numba/
folder unless NUMBA_CACHE_DIR is set; the kernel emulator's builds go to emu/ unless
GPUGRAD_EMU_CACHE is set.
"""
import os
from pathlib import Path


def user_cache_dir(name):
    """<the user's cache directory>/gpugrad/<name> (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "gpugrad" / name
