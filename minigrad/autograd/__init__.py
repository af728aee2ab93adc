"""torch.autograd's names: `grad`, `gradcheck`, `gradgradcheck`, and `functional` (jacobian, hessian, ...)."""
from ..core.autograd import grad
from ..core.gradcheck import gradcheck, gradgradcheck
from . import functional

__all__ = ["functional", "grad", "gradcheck", "gradgradcheck"]
