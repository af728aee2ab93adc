"""Every differentiable op: its forward and its vector-Jacobian product (VJP), side by side.

An op is a class that holds two functions and is never instantiated, like torch.autograd.Function.
Both take `ctx` first: the op's output Tensor, which is also its node in the graph (as a micrograd
Value is). `forward(ctx, x[, y], *params)` works on numpy arrays: it returns the output array
and keeps its non-array arguments on `ctx._params`, named in `params`. `vjp(ctx, grad_out)` reads
the values it needs from the node: its inputs' arrays `ctx._x.data`, `ctx._y.data` and its output
`ctx.data`, which the graph keeps anyway (as PyTorch keeps the tensors a derivatives.yaml formula
names: self, other, result). It returns one gradient per input (None where
`ctx._needs_input_grad` is False), at the output's broadcast shape: the engine sums it back to the
input's shape (`engine.unbroadcast`). An op that needs more (a mask, say) keeps it in
`ctx._saved`, which backward frees.

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
    `forward` and `vjp`. `ctx._params` outlives backward, so the renderer and the explanation
    can still show them.

    Example:
        >>> class Cube(Op):
        ...     name, formulas = "cube", ("3 * x**2 * g",)
        ...     @staticmethod
        ...     def forward(ctx, x): return x**3
        ...     @staticmethod
        ...     def vjp(ctx, g): return (3 * ctx._x.data**2 * g,)
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
        return x * y

    @staticmethod
    def vjp(ctx, g):
        nx, ny = ctx._needs_input_grad
        return (g * ctx._y.data if nx else None), (g * ctx._x.data if ny else None)


class Div(Op):
    """out = x / y;  grad_x = grad_out / y;  grad_y = -grad_out * x / y**2"""

    name, formulas = "div", ("g / y", "-g * x / y**2")

    @staticmethod
    def forward(ctx, x, y):
        return x / y

    @staticmethod
    def vjp(ctx, g):
        x, y = ctx._x.data, ctx._y.data
        nx, ny = ctx._needs_input_grad
        return (g / y if nx else None), (-g * x / (y * y) if ny else None)


# ---------------------------------------------------------------- elementwise, unary


class Neg(Op):
    """out = -x;  grad_x = -grad_out"""

    name, formulas = "neg", ("-g",)

    @staticmethod
    def forward(ctx, x):
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
        return x**exponent

    @staticmethod
    def vjp(ctx, g):
        x = ctx._x.data
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
        return x * x

    @staticmethod
    def vjp(ctx, g):
        x = ctx._x.data
        return ((x + x) * g,)


class Exp(Op):
    """out = exp(x);  grad_x = grad_out * out"""

    name, formulas = "exp", ("g * out",)

    @staticmethod
    def forward(ctx, x):
        return np.exp(x)

    @staticmethod
    def vjp(ctx, g):
        return (g * ctx.data,)


class Log(Op):
    """out = log(x);  grad_x = grad_out / x"""

    name, formulas = "log", ("g / x",)

    @staticmethod
    def forward(ctx, x):
        return np.log(x)

    @staticmethod
    def vjp(ctx, g):
        x = ctx._x.data
        return (g / x,)


class Tanh(Op):
    """out = tanh(x);  grad_x = grad_out * (1 - out**2)"""

    name, formulas = "tanh", ("g * (1 - out**2)",)

    @staticmethod
    def forward(ctx, x):
        return np.tanh(x)

    @staticmethod
    def vjp(ctx, g):
        out = ctx.data
        return (g * (1 - out * out),)


class Sigmoid(Op):
    """out = 1 / (1 + exp(-x));  grad_x = grad_out * out * (1 - out)"""

    name, formulas = "sigmoid", ("g * out * (1 - out)",)

    @staticmethod
    def forward(ctx, x):
        # NOTE: exp(-x) overflows to inf for x << 0, and 1 / inf = 0 is the right limit.
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-x))

    @staticmethod
    def vjp(ctx, g):
        out = ctx.data
        return (g * out * (1 - out),)


class ReLU(Op):
    """out = max(x, 0);  grad_x = grad_out * 1[out > 0]"""

    name, formulas = "relu", ("g * (out > 0)",)

    @staticmethod
    def forward(ctx, x):
        return np.maximum(x, _zero(x.dtype))

    @staticmethod
    def vjp(ctx, g):
        out = ctx.data
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
        return np.add.reduce(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def vjp(ctx, g):
        return (_expand(g, ctx._x.data.shape, *ctx._params),)


class Mean(Op):
    """out = x.mean(axis, keepdims);  grad_x = grad_out broadcast back to x's shape / count"""

    name, params = "mean", ("axis", "keepdims")
    formulas = ("expand(g, x.shape, axis, keepdims) / (x.size // out.size)",)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        total = np.add.reduce(x, axis=axis, keepdims=keepdims)
        ctx._params = (axis, keepdims)
        return total / _count(x, total)

    @staticmethod
    def vjp(ctx, g):
        x = ctx._x.data
        shape, count = x.shape, _count(x, ctx.data)
        if g.ndim == 0:
            grad = np.empty(shape, g.dtype)
            grad.fill(g.item() / count)
            return (grad,)
        return (_expand(g / count, shape, *ctx._params),)


def _count(x: np.ndarray, out: np.ndarray) -> int:
    """How many elements of x each element of a mean over x averages: each contributes 1/count."""
    return x.size // max(out.size, 1)


# ---------------------------------------------------------------- matmul


class MatMul(Op):
    """out = x @ y;  grad_x = grad_out @ y.T;  grad_y = x.T @ grad_out  (batched as np.matmul)"""

    name, formulas = "matmul", ("g @ y.mT", "x.mT @ g")
    # NOTE: Tensor.__matmul__ reshapes 1-D operands to matrices, so x and y here have ndim >= 2.
    hint = "x @ y needs x.shape[-1] == y.shape[-2], as in (n, k) @ (k, m) -> (n, m)"

    @staticmethod
    def forward(ctx, x, y):
        return x @ y

    @staticmethod
    def vjp(ctx, g):
        x, y = ctx._x.data, ctx._y.data
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
        return out

    @staticmethod
    def vjp(ctx, g):
        return (g.reshape(ctx._x.data.shape),)


class Transpose(Op):
    """out = x.transpose(axes);  grad_x = grad_out.transpose(inverse of axes)"""

    name, formulas, params = "transpose", ("g.transpose(np.argsort(axes))",), ("axes",)

    @staticmethod
    def forward(ctx, x, axes=None):
        axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(axes)
        ctx._params = (axes,)
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
        return x[index]

    @staticmethod
    def vjp(ctx, g):
        x = ctx._x.data
        grad = np.zeros(x.shape, dtype=x.dtype)
        np.add.at(grad, ctx._params[0], g)
        return (grad,)


def scatter_add(target: np.ndarray, index: Any, values: np.ndarray) -> np.ndarray:
    """target[index] += values, adding repeated indices instead of keeping the last one."""
    np.add.at(target, index, values)
    return target


FORMULA_HELPERS = {"np": np, "expand": _expand, "scatter_add": scatter_add}
