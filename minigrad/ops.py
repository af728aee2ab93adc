"""Every differentiable op: its forward and its vector-Jacobian product (VJP), side by side.

An op is a class that holds two functions and is never instantiated, like torch.autograd.Function.
Both take `ctx` first: the op's output Tensor, which is also its node in the graph (as a micrograd
Value is). `forward(ctx, *arrays, *params)` works on numpy arrays only: it returns the output
array and keeps on `ctx._saved` just the arrays its VJP needs (never Tensors), and on
`ctx._params` its non-array arguments, named in `params`. `vjp(ctx, grad_out)` returns one
gradient per input (None where `ctx._needs_input_grad` is False), at the output's broadcast
shape: the engine sums it back to the input's shape (`engine.unbroadcast`).

Each op also states its VJP symbolically in `formulas`, one numpy expression per input over the
names `g` (grad_out), `x`, `y` (inputs), `out` and the op's `params`. `explain.py` renders them
as the chain rule of the backward pass and tests evaluate them against `vjp`, so the formulas a
reader sees are the ones that compute.

Docstrings use PyTorch's derivatives.yaml vocabulary: out = f(x); grad_x = ... .
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np


class Op:
    """A differentiable function: `forward` and `vjp`, both called with the output Tensor as `ctx`.

    Subclasses set `name` (for repr and the renderer), `formulas` and `params`, and implement
    `forward` and `vjp`. The engine frees `ctx._saved` after backward; `ctx._params` stays, so
    the renderer and the explanation can still show them.

    Example:
        >>> class Cube(Op):
        ...     name, formulas = "cube", ("3 * x**2 * g",)
        ...     @staticmethod
        ...     def forward(ctx, x): ctx._saved = (x,); return x**3
        ...     @staticmethod
        ...     def vjp(ctx, g): (x,) = ctx._saved; return (3 * x**2 * g,)
    """

    name = "op"
    formulas: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    hint = ""

    @staticmethod
    def forward(ctx: Any, *arrays: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def vjp(ctx: Any, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    @classmethod
    def param_values(cls, ctx: Any) -> dict[str, Any]:
        """The op's non-array arguments by name (axis, exponent, ...), for formulas and repr."""
        return dict(zip(cls.params, ctx._params)) if cls.params else {}


# ---------------------------------------------------------------- elementwise, binary


class Add(Op):
    """out = x + y;  grad_x = grad_out;  grad_y = grad_out"""

    name, formulas = "add", ("g", "g")

    @staticmethod
    def forward(ctx, x, y):
        ctx._saved = ()
        return x + y

    @staticmethod
    def vjp(ctx, g):
        nx, ny = ctx._needs_input_grad
        return (g if nx else None), (g if ny else None)


class Sub(Op):
    """out = x - y;  grad_x = grad_out;  grad_y = -grad_out"""

    name, formulas = "sub", ("g", "-g")

    @staticmethod
    def forward(ctx, x, y):
        ctx._saved = ()
        return x - y

    @staticmethod
    def vjp(ctx, g):
        nx, ny = ctx._needs_input_grad
        return (g if nx else None), (-g if ny else None)


class Mul(Op):
    """out = x * y;  grad_x = grad_out * y;  grad_y = grad_out * x"""

    name, formulas = "mul", ("g * y", "g * x")

    @staticmethod
    def forward(ctx, x, y):
        ctx._saved = (x, y)
        return x * y

    @staticmethod
    def vjp(ctx, g):
        x, y = ctx._saved
        nx, ny = ctx._needs_input_grad
        return (g * y if nx else None), (g * x if ny else None)


class Div(Op):
    """out = x / y;  grad_x = grad_out / y;  grad_y = -grad_out * x / y**2"""

    name, formulas = "div", ("g / y", "-g * x / y**2")

    @staticmethod
    def forward(ctx, x, y):
        ctx._saved = (x, y)
        return x / y

    @staticmethod
    def vjp(ctx, g):
        x, y = ctx._saved
        nx, ny = ctx._needs_input_grad
        return (g / y if nx else None), (-g * x / (y * y) if ny else None)


# ---------------------------------------------------------------- elementwise, unary


class Neg(Op):
    """out = -x;  grad_x = -grad_out"""

    name, formulas = "neg", ("-g",)

    @staticmethod
    def forward(ctx, x):
        ctx._saved = ()
        return -x

    @staticmethod
    def vjp(ctx, g):
        return (-g,)


class Pow(Op):
    """out = x ** exponent (a number);  grad_x = grad_out * exponent * x ** (exponent - 1)"""

    name, formulas, params = "pow", ("g * exponent * x**(exponent - 1)",), ("exponent",)

    @staticmethod
    def forward(ctx, x, exponent):
        ctx._params = (exponent,)
        ctx._saved = (x,)
        return x**exponent

    @staticmethod
    def vjp(ctx, g):
        (x,) = ctx._saved
        (p,) = ctx._params
        if p == 0:
            return (np.zeros_like(x),)
        # NOTE: Python-number exponents keep x's dtype (NEP 50), so float32 stays float32.
        return (g * p * x ** (p - 1),)


class Square(Op):
    """out = x ** 2;  grad_x = 2 * x * grad_out"""

    name, formulas = "square", ("2 * x * g",)

    @staticmethod
    def forward(ctx, x):
        ctx._saved = (x,)
        return x * x

    @staticmethod
    def vjp(ctx, g):
        (x,) = ctx._saved
        return ((x + x) * g,)


class Exp(Op):
    """out = exp(x);  grad_x = grad_out * out"""

    name, formulas = "exp", ("g * out",)

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx._saved = (out,)
        return out

    @staticmethod
    def vjp(ctx, g):
        (out,) = ctx._saved
        return (g * out,)


class Log(Op):
    """out = log(x);  grad_x = grad_out / x"""

    name, formulas = "log", ("g / x",)

    @staticmethod
    def forward(ctx, x):
        ctx._saved = (x,)
        return np.log(x)

    @staticmethod
    def vjp(ctx, g):
        (x,) = ctx._saved
        return (g / x,)


class Tanh(Op):
    """out = tanh(x);  grad_x = grad_out * (1 - out**2)"""

    name, formulas = "tanh", ("g * (1 - out**2)",)

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx._saved = (out,)
        return out

    @staticmethod
    def vjp(ctx, g):
        (out,) = ctx._saved
        return (g * (1 - out * out),)


class Sigmoid(Op):
    """out = 1 / (1 + exp(-x));  grad_x = grad_out * out * (1 - out)"""

    name, formulas = "sigmoid", ("g * out * (1 - out)",)

    @staticmethod
    def forward(ctx, x):
        # NOTE: exp(-x) overflows to inf for x << 0, and 1 / inf = 0 is the right limit.
        with np.errstate(over="ignore"):
            out = 1 / (1 + np.exp(-x))
        ctx._saved = (out,)
        return out

    @staticmethod
    def vjp(ctx, g):
        (out,) = ctx._saved
        return (g * out * (1 - out),)


class ReLU(Op):
    """out = max(x, 0);  grad_x = grad_out * 1[out > 0]"""

    name, formulas = "relu", ("g * (out > 0)",)

    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x, _zero(x.dtype))
        ctx._saved = (out,)
        return out

    @staticmethod
    def vjp(ctx, g):
        (out,) = ctx._saved
        # NOTE: the subgradient at 0 is taken as 0, as PyTorch's threshold_backward does. On big
        # arrays a mask product is 2-3x faster than np.where (0.5 ms of a 3 ms step at 128x512);
        # it is taken only when grad_out is finite (its sum is), since an inf at a masked entry
        # (sqrt(relu(x)) at 0) must give 0 as in torch, not inf * 0 = NaN.
        if g.size >= 1024 and math.isfinite(np.add.reduce(g, None)):
            return (g * (out > 0),)
        return (np.where(out <= 0, _zero(g.dtype), g),)


def _zero(dtype: np.dtype) -> np.ndarray:
    """A shared 0-d zero of `dtype`: numpy takes it faster than the Python number 0 (0.4 vs 0.7 us)."""
    zero = _ZEROS.get(dtype.char)
    if zero is None:
        zero = _ZEROS[dtype.char] = np.zeros((), dtype)
    return zero


_ZEROS: dict[str, np.ndarray] = {}


# ---------------------------------------------------------------- reductions


def _expand(g: np.ndarray, shape: tuple[int, ...], axis: Any, keepdims: bool) -> np.ndarray:
    """Undo a reduction's shape: put back the reduced axes, then broadcast to `shape`."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, shape)


class Sum(Op):
    """out = x.sum(axis, keepdims);  grad_x = grad_out broadcast back to x's shape"""

    name, formulas, params = "sum", ("expand(g, x.shape, axis, keepdims)",), ("axis", "keepdims")

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx._params = (axis, keepdims)
        ctx._saved = (x.shape,)
        return np.add.reduce(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def vjp(ctx, g):
        (shape,) = ctx._saved
        return (_expand(g, shape, *ctx._params),)


class Mean(Op):
    """out = x.mean(axis, keepdims);  grad_x = grad_out broadcast back to x's shape / count"""

    name, params = "mean", ("axis", "keepdims")
    formulas = ("expand(g, x.shape, axis, keepdims) / (x.size // out.size)",)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        total = np.add.reduce(x, axis=axis, keepdims=keepdims)
        # NOTE: each input element contributes 1/count to the mean, count = elements reduced.
        count = x.size if axis is None else x.size // max(total.size, 1)
        ctx._params = (axis, keepdims)
        ctx._saved = (x.shape, count)
        return total / count

    @staticmethod
    def vjp(ctx, g):
        shape, count = ctx._saved
        if g.ndim == 0:
            grad = np.empty(shape, g.dtype)
            grad.fill(g.item() / count)
            return (grad,)
        return (_expand(g / count, shape, *ctx._params),)


# ---------------------------------------------------------------- matmul


class MatMul(Op):
    """out = x @ y;  grad_x = grad_out @ y.T;  grad_y = x.T @ grad_out  (batched as np.matmul)"""

    name, formulas = "matmul", ("g @ y.mT", "x.mT @ g")
    # NOTE: Tensor.__matmul__ reshapes 1-D operands to matrices, so x and y here have ndim >= 2.
    hint = "x @ y needs x.shape[-1] == y.shape[-2], as in (n, k) @ (k, m) -> (n, m)"

    @staticmethod
    def forward(ctx, x, y):
        ctx._saved = (x, y)
        return x @ y

    @staticmethod
    def vjp(ctx, g):
        x, y = ctx._saved
        nx, ny = ctx._needs_input_grad
        # NOTE: .mT transposes the last two axes; batch axes that broadcast are summed by the engine.
        return (g @ y.mT if nx else None), (x.mT @ g if ny else None)


# ---------------------------------------------------------------- shape


class Reshape(Op):
    """out = x.reshape(shape);  grad_x = grad_out.reshape(x.shape)"""

    name, formulas, params = "reshape", ("g.reshape(x.shape)",), ("shape",)

    @staticmethod
    def forward(ctx, x, shape):
        out = x.reshape(shape)
        ctx._params = (out.shape,)
        ctx._saved = (x.shape,)
        return out

    @staticmethod
    def vjp(ctx, g):
        (in_shape,) = ctx._saved
        return (g.reshape(in_shape),)


class Transpose(Op):
    """out = x.transpose(axes);  grad_x = grad_out.transpose(inverse of axes)"""

    name, formulas, params = "transpose", ("g.transpose(np.argsort(axes))",), ("axes",)

    @staticmethod
    def forward(ctx, x, axes=None):
        axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(axes)
        ctx._params = (axes,)
        ctx._saved = ()
        return x.transpose(axes)

    @staticmethod
    def vjp(ctx, g):
        (axes,) = ctx._params
        return (g.transpose(np.argsort(axes)),)


class Index(Op):
    """out = x[index];  grad_x = zeros like x with grad_out added at index (repeats add up)"""

    name, params = "index", ("index",)
    formulas = ("scatter_add(np.zeros_like(x), index, g)",)

    @staticmethod
    def forward(ctx, x, index):
        ctx._params = (index,)
        ctx._saved = (x.shape, x.dtype)
        return x[index]

    @staticmethod
    def vjp(ctx, g):
        shape, dtype = ctx._saved
        grad = np.zeros(shape, dtype=dtype)
        np.add.at(grad, ctx._params[0], g)
        return (grad,)


def scatter_add(target: np.ndarray, index: Any, values: np.ndarray) -> np.ndarray:
    """target[index] += values, adding repeated indices instead of keeping the last one."""
    np.add.at(target, index, values)
    return target


FORMULA_HELPERS = {"np": np, "expand": _expand, "scatter_add": scatter_add}
