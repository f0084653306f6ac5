"""Neural-network building blocks (functional ops now; modules arrive with the training issue)."""
from . import functional
