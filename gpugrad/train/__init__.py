"""`gpugrad train` and `gpugrad evaluate`: the training loop, its checkpoints and reports."""
from .loop import Run, evaluate, load_checkpoint
from .parts import SetupError

__all__ = ["Run", "evaluate", "load_checkpoint", "SetupError"]
