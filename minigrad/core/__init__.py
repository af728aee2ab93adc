"""The computing wing: Tensor, the op table, the backward sweep, grad mode and gradcheck (numpy only).

Nothing here imports the explaining wing (`minigrad.see`), `nn`, `optim` or graphviz; the pictures
read a tensor's graph through its public, read-only view (`inputs`, `op`, `op_type`, ...).
"""
from .grad_mode import detect_anomaly, enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .random import manual_seed
from .tensor import Tensor, from_numpy

__all__ = ["GradcheckError", "Tensor", "detect_anomaly", "enable_grad", "from_numpy", "gradcheck", "gradgradcheck",
           "inference_mode", "is_grad_enabled", "manual_seed", "no_grad", "set_grad_enabled"]
