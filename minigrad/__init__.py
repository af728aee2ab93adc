"""minigrad: reverse-mode autograd on numpy, small enough to read, exact enough to match PyTorch.

Two wings: `minigrad.core` computes gradients, `minigrad.see` explains them. This module is the
public face, and the one place that joins the two: it registers Jupyter's display of a Tensor as
its computation graph, so the core never imports the drawing half.
"""
from . import autograd, datasets, nn, optim
from .core import (
    GradcheckError, Tensor, detect_anomaly, enable_grad, from_numpy, gradcheck, gradgradcheck, inference_mode,
    is_grad_enabled, manual_seed, no_grad, set_grad_enabled,
)
from .core import (  # torch's vocabulary: factories, functions, dtype names, the shape error
    ShapeError, ValuesIndices, abs, arange, argmax, argmin, cat, clamp, clip, clone, exp, eye, flatten, float16,
    float32, float64, full, full_like, linspace, log, log_softmax, matmul, max, maximum, mean, min, minimum, numel,
    ones, ones_like, permute, pow, rand, rand_like, randn, randn_like, relu, reshape, sigmoid, softmax, sqrt, square,
    squeeze, stack, sum, tanh, tensor, transpose, unsqueeze, where, zeros, zeros_like,
)

__all__ = [
    "GradcheckError",
    "Tensor",
    "detect_anomaly",
    "enable_grad",
    "from_numpy",
    "autograd",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_grad_enabled",
    "datasets",
    "manual_seed",
    "nn",
    "no_grad",
    "optim",
    "set_grad_enabled",
]
__all__ += [
    "ShapeError", "ValuesIndices", "abs", "arange", "argmax", "argmin", "cat", "clamp", "clip", "clone", "exp", "eye",
    "flatten", "float16", "float32", "float64", "full", "full_like", "linspace", "log", "log_softmax", "matmul", "max",
    "maximum", "mean", "min", "minimum", "numel", "ones", "ones_like", "permute", "pow", "rand", "rand_like", "randn",
    "randn_like", "relu", "reshape", "sigmoid", "softmax", "sqrt", "square", "squeeze", "stack", "sum", "tanh",
    "tensor", "transpose", "unsqueeze", "where", "zeros", "zeros_like",
]
__version__ = "0.1.0"


def _register_jupyter_display() -> None:
    """Show a Tensor as its graph in IPython/Jupyter, through IPython's formatter registry (when running)."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return
    from .see.draw import tensor_mimebundle

    shell.display_formatter.mimebundle_formatter.for_type(Tensor, tensor_mimebundle)


_register_jupyter_display()
