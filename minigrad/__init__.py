"""minigrad: reverse-mode autograd on numpy, small enough to read, exact enough to match PyTorch."""
from . import datasets, nn, optim
from .grad_mode import detect_anomaly, enable_grad, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck
from .random import manual_seed
from .tensor import Tensor, from_numpy

__all__ = [
    "GradcheckError",
    "Tensor",
    "detect_anomaly",
    "enable_grad",
    "from_numpy",
    "gradcheck",
    "is_grad_enabled",
    "datasets",
    "manual_seed",
    "nn",
    "no_grad",
    "optim",
]
__version__ = "0.1.0"
