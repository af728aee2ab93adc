"""Every differentiable op: its forward and its vector-Jacobian product (VJP), side by side.

An op works on numpy arrays only. `forward(*arrays, **params)` returns the output array and
keeps in `self._saved` just the arrays its VJP needs (never Tensors, never the output Tensor).
`vjp(grad_out)` returns one gradient per input (None where `needs_input_grad` is False), at the
output's broadcast shape: the engine sums it back to the input's shape (`engine.unbroadcast`).

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
    """One recorded application of a differentiable function.

    Subclasses set `name` (for repr and the renderer), `formulas` and `params`, and implement
    `forward` and `vjp`. The engine fills `_parents` (the input Tensors) and
    `needs_input_grad` only when the graph is recorded, and frees `_saved` after backward.

    Example:
        >>> class Cube(Op):
        ...     name, formulas = "cube", ("3 * x**2 * g",)
        ...     def forward(self, x): self._saved = (x,); return x**3
        ...     def vjp(self, g): (x,) = self._saved; return (3 * x**2 * g,)
    """

    __slots__ = ("_saved", "_parents", "needs_input_grad", "_seq", "_grad", "_trace")
    name = "op"
    formulas: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    hint = ""

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def vjp(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    def param_values(self) -> dict[str, Any]:
        """The op's non-array arguments by name (axis, exponent, ...), for formulas and repr."""
        return {p: getattr(self, p) for p in self.params}


# ---------------------------------------------------------------- elementwise, binary


class Add(Op):
    """out = x + y;  grad_x = grad_out;  grad_y = grad_out"""

    __slots__ = ()
    name, formulas = "add", ("g", "g")

    def forward(self, x, y):
        self._saved = ()
        return x + y

    def vjp(self, g):
        nx, ny = self.needs_input_grad
        return (g if nx else None), (g if ny else None)


class Sub(Op):
    """out = x - y;  grad_x = grad_out;  grad_y = -grad_out"""

    __slots__ = ()
    name, formulas = "sub", ("g", "-g")

    def forward(self, x, y):
        self._saved = ()
        return x - y

    def vjp(self, g):
        nx, ny = self.needs_input_grad
        return (g if nx else None), (-g if ny else None)


class Mul(Op):
    """out = x * y;  grad_x = grad_out * y;  grad_y = grad_out * x"""

    __slots__ = ()
    name, formulas = "mul", ("g * y", "g * x")

    def forward(self, x, y):
        self._saved = (x, y)
        return x * y

    def vjp(self, g):
        x, y = self._saved
        nx, ny = self.needs_input_grad
        return (g * y if nx else None), (g * x if ny else None)


class Div(Op):
    """out = x / y;  grad_x = grad_out / y;  grad_y = -grad_out * x / y**2"""

    __slots__ = ()
    name, formulas = "div", ("g / y", "-g * x / y**2")

    def forward(self, x, y):
        self._saved = (x, y)
        return x / y

    def vjp(self, g):
        x, y = self._saved
        nx, ny = self.needs_input_grad
        return (g / y if nx else None), (-g * x / (y * y) if ny else None)


# ---------------------------------------------------------------- elementwise, unary


class Neg(Op):
    """out = -x;  grad_x = -grad_out"""

    __slots__ = ()
    name, formulas = "neg", ("-g",)

    def forward(self, x):
        self._saved = ()
        return -x

    def vjp(self, g):
        return (-g,)


class Pow(Op):
    """out = x ** exponent (a number);  grad_x = grad_out * exponent * x ** (exponent - 1)"""

    __slots__ = ("exponent",)
    name, formulas, params = "pow", ("g * exponent * x**(exponent - 1)",), ("exponent",)

    def forward(self, x, exponent):
        self.exponent = exponent
        self._saved = (x,)
        return x**exponent

    def vjp(self, g):
        (x,) = self._saved
        p = self.exponent
        if p == 0:
            return (np.zeros_like(x),)
        # NOTE: Python-number exponents keep x's dtype (NEP 50), so float32 stays float32.
        return (g * p * x ** (p - 1),)


class Square(Op):
    """out = x ** 2;  grad_x = 2 * x * grad_out"""

    __slots__ = ()
    name, formulas = "square", ("2 * x * g",)

    def forward(self, x):
        self._saved = (x,)
        return x * x

    def vjp(self, g):
        (x,) = self._saved
        return ((x + x) * g,)


class Exp(Op):
    """out = exp(x);  grad_x = grad_out * out"""

    __slots__ = ()
    name, formulas = "exp", ("g * out",)

    def forward(self, x):
        out = np.exp(x)
        self._saved = (out,)
        return out

    def vjp(self, g):
        (out,) = self._saved
        return (g * out,)


class Log(Op):
    """out = log(x);  grad_x = grad_out / x"""

    __slots__ = ()
    name, formulas = "log", ("g / x",)

    def forward(self, x):
        self._saved = (x,)
        return np.log(x)

    def vjp(self, g):
        (x,) = self._saved
        return (g / x,)


class Tanh(Op):
    """out = tanh(x);  grad_x = grad_out * (1 - out**2)"""

    __slots__ = ()
    name, formulas = "tanh", ("g * (1 - out**2)",)

    def forward(self, x):
        out = np.tanh(x)
        self._saved = (out,)
        return out

    def vjp(self, g):
        (out,) = self._saved
        return (g * (1 - out * out),)


class Sigmoid(Op):
    """out = 1 / (1 + exp(-x));  grad_x = grad_out * out * (1 - out)"""

    __slots__ = ()
    name, formulas = "sigmoid", ("g * out * (1 - out)",)

    def forward(self, x):
        # NOTE: exp(-x) overflows to inf for x << 0, and 1 / inf = 0 is the right limit.
        with np.errstate(over="ignore"):
            out = 1 / (1 + np.exp(-x))
        self._saved = (out,)
        return out

    def vjp(self, g):
        (out,) = self._saved
        return (g * out * (1 - out),)


class ReLU(Op):
    """out = max(x, 0);  grad_x = grad_out * 1[out > 0]"""

    __slots__ = ()
    name, formulas = "relu", ("g * (out > 0)",)

    def forward(self, x):
        out = np.maximum(x, _zero(x.dtype))
        self._saved = (out,)
        return out

    def vjp(self, g):
        (out,) = self._saved
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

    __slots__ = ("axis", "keepdims", "shape")
    name, formulas, params = "sum", ("expand(g, x.shape, axis, keepdims)",), ("axis", "keepdims")

    def forward(self, x, axis=None, keepdims=False):
        self.axis, self.keepdims, self.shape = axis, keepdims, x.shape
        self._saved = ()
        return np.add.reduce(x, axis=axis, keepdims=keepdims)

    def vjp(self, g):
        return (_expand(g, self.shape, self.axis, self.keepdims),)


class Mean(Op):
    """out = x.mean(axis, keepdims);  grad_x = grad_out broadcast back to x's shape / count"""

    __slots__ = ("axis", "keepdims", "shape", "count")
    name, params = "mean", ("axis", "keepdims")
    formulas = ("expand(g, x.shape, axis, keepdims) / (x.size // out.size)",)

    def forward(self, x, axis=None, keepdims=False):
        total = np.add.reduce(x, axis=axis, keepdims=keepdims)
        self.axis, self.keepdims, self.shape = axis, keepdims, x.shape
        # NOTE: each input element contributes 1/count to the mean, count = elements reduced.
        self.count = x.size if axis is None else x.size // max(total.size, 1)
        self._saved = ()
        return total / self.count

    def vjp(self, g):
        if g.ndim == 0:
            grad = np.empty(self.shape, g.dtype)
            grad.fill(g.item() / self.count)
            return (grad,)
        return (_expand(g / self.count, self.shape, self.axis, self.keepdims),)


# ---------------------------------------------------------------- matmul


class MatMul(Op):
    """out = x @ y;  grad_x = grad_out @ y.T;  grad_y = x.T @ grad_out  (batched as np.matmul)"""

    __slots__ = ()
    name, formulas = "matmul", ("g @ y.mT", "x.mT @ g")
    # NOTE: Tensor.__matmul__ reshapes 1-D operands to matrices, so x and y here have ndim >= 2.
    hint = "x @ y needs x.shape[-1] == y.shape[-2], as in (n, k) @ (k, m) -> (n, m)"

    def forward(self, x, y):
        self._saved = (x, y)
        return x @ y

    def vjp(self, g):
        x, y = self._saved
        nx, ny = self.needs_input_grad
        # NOTE: .mT transposes the last two axes; batch axes that broadcast are summed by the engine.
        return (g @ y.mT if nx else None), (x.mT @ g if ny else None)


# ---------------------------------------------------------------- shape


class Reshape(Op):
    """out = x.reshape(shape);  grad_x = grad_out.reshape(x.shape)"""

    __slots__ = ("shape", "in_shape")
    name, formulas, params = "reshape", ("g.reshape(x.shape)",), ("shape",)

    def forward(self, x, shape):
        self.in_shape = x.shape
        out = x.reshape(shape)
        self.shape = out.shape
        self._saved = ()
        return out

    def vjp(self, g):
        return (g.reshape(self.in_shape),)


class Transpose(Op):
    """out = x.transpose(axes);  grad_x = grad_out.transpose(inverse of axes)"""

    __slots__ = ("axes",)
    name, formulas, params = "transpose", ("g.transpose(np.argsort(axes))",), ("axes",)

    def forward(self, x, axes=None):
        self.axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(axes)
        self._saved = ()
        return x.transpose(self.axes)

    def vjp(self, g):
        return (g.transpose(np.argsort(self.axes)),)


class Index(Op):
    """out = x[index];  grad_x = zeros like x with grad_out added at index (repeats add up)"""

    __slots__ = ("index", "shape")
    name, params = "index", ("index",)
    formulas = ("scatter_add(np.zeros_like(x), index, g)",)

    def forward(self, x, index):
        self.index, self.shape = index, x.shape
        self._saved = (x.dtype,)
        return x[index]

    def vjp(self, g):
        (dtype,) = self._saved
        grad = np.zeros(self.shape, dtype=dtype)
        np.add.at(grad, self.index, g)
        return (grad,)


def scatter_add(target: np.ndarray, index: Any, values: np.ndarray) -> np.ndarray:
    """target[index] += values, adding repeated indices instead of keeping the last one."""
    np.add.at(target, index, values)
    return target


FORMULA_HELPERS = {"np": np, "expand": _expand, "scatter_add": scatter_add}
