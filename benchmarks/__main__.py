"""python -m benchmarks: the CPU-versus-GPU benchmark suite of issue 7 (see --help)."""
import sys

from .suite.cli import main

if __name__ == "__main__":
    sys.exit(main())
