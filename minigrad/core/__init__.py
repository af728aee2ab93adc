"""The computing wing: Tensor, the op table, the backward sweep, grad mode and gradcheck (numpy only).

Nothing here imports the explaining wing (`minigrad.see`), `nn`, `optim` or graphviz; the pictures
read a tensor's graph through its public, read-only view (`inputs`, `op`, `op_type`, ...).
"""
import numpy as _np

from .errors import ShapeError
from .factories import (
    arange, eye, full, full_like, linspace, ones, ones_like, rand, rand_like, randn, randn_like, tensor, zeros,
    zeros_like,
)
from .functional import (
    abs, argmax, argmin, cat, clamp, clip, clone, exp, flatten, log, log_softmax, matmul, max, maximum, mean, min,
    minimum, numel, permute, pow, relu, reshape, sigmoid, softmax, sqrt, square, squeeze, stack, sum, tanh, transpose,
    unsqueeze, where,
)
from .grad_mode import detect_anomaly, enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .random import manual_seed
from .tensor import Tensor, ValuesIndices, from_numpy

# torch's dtype names, as the numpy dtypes minigrad uses: zeros(3, dtype=minigrad.float64)
float16, float32, float64 = _np.float16, _np.float32, _np.float64

__all__ = [
    "GradcheckError", "ShapeError", "Tensor", "ValuesIndices", "abs", "arange", "argmax", "argmin", "cat", "clamp",
    "clip", "clone", "detect_anomaly", "enable_grad", "exp", "eye", "flatten", "float16", "float32", "float64",
    "from_numpy", "full", "full_like", "gradcheck", "gradgradcheck", "inference_mode", "is_grad_enabled", "linspace",
    "log", "log_softmax", "manual_seed", "matmul", "max", "maximum", "mean", "min", "minimum", "no_grad", "numel",
    "ones", "ones_like", "permute", "pow", "rand", "rand_like", "randn", "randn_like", "relu", "reshape",
    "set_grad_enabled", "sigmoid", "softmax", "sqrt", "square", "squeeze", "stack", "sum", "tanh", "tensor",
    "transpose", "unsqueeze", "where", "zeros", "zeros_like",
]
