"""`python -m gpugrad ...` runs the command line (see gpugrad/cli.py)."""
from .cli import main

raise SystemExit(main())
