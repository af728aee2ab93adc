"""The op table: every differentiable op, its forward, its derivative, and how the pictures show it.

An op is a class that is never instantiated, like torch.autograd.Function. `forward(ctx, x[, y],
*params)` works on numpy arrays; `ctx` is the op's output Tensor, which is also its node in the
graph (as a micrograd Value is), and forward keeps its non-array arguments on `ctx._params`.

Each derivative is written once, in `formulas`: one expression per input, in derivatives.yaml's
vocabulary, over `g` (grad_out), `x`, `y` (the inputs), `out` (the result) and the op's `params`.
That one spelling is everything:
- the engine runs it: `Op.__init_subclass__` turns the formulas into the op's `vjp(ctx, g)`, Python
  code over numpy arrays with the helpers of `FORMULA_HELPERS` (what an op writes by hand is what runs);
- `minigrad.see` prints it: the same text parsed into `Xᵀ · ∂L/∂Z1`, with the graph's names put in;
- the tests evaluate it against finite differences and PyTorch.
A formula returns the gradient at the output's broadcast shape; the engine sums it back to the
input's shape (`engine.unbroadcast`), so no op can forget a broadcast.

Besides its derivative, each class says what the pictures need: its `notation` (how its output is
named from its inputs, `{x}·{y}`), its node `label`, whether it is an `activation`, and the `hint`
its error gives; and, for `minigrad.compile`, its forward as one numpy `expression`. Nothing outside
this file matches an op by its name.
"""
from __future__ import annotations

import ast
import math
from typing import Any

import numpy as np


class Op:
    """A differentiable function: `forward` on arrays and its derivative per input in `formulas`.

    Subclasses set `name`, `formulas` (one per input) and `params` (the names of forward's
    non-array arguments), and implement `forward`. A subclass may write `vjp(ctx, g)` itself
    instead (returning one gradient per input, None where `ctx._needs_input_grad` is False).

    Example:
        >>> class Cube(Op):
        ...     name, formulas = "cube", ("3 * x**2 * g",)
        ...     @staticmethod
        ...     def forward(ctx, x): return x**3
    """

    name = "op"
    formulas: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    hint = ""
    notation = "{name}({x_name})"
    """How the output is named from its inputs: {x}, {y} (bracketed unless one word), {x_name}, {name}."""
    notation_atomic = True
    """Whether that name reads as one term inside a longer expression (no brackets needed)."""
    activation = False
    expression = ""
    """The forward as one numpy expression over x, y and the params (`out` only for its shape): what
    `minigrad.compile` writes into the program it generates, and checks against `forward` when tracing."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.formulas and "vjp" not in cls.__dict__:
            cls.vjp = staticmethod(_compile_vjp(cls))

    @staticmethod
    def forward(ctx: Any, *arrays: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def vjp(ctx: Any, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    @classmethod
    def param_values(cls, ctx: Any) -> dict[str, Any]:
        """The op's non-array arguments by name (axis, exponent, ...), for formulas and labels."""
        return dict(zip(cls.params, ctx._params)) if cls.params else {}

    @classmethod
    def label(cls, params: dict[str, Any]) -> str:
        """The op's node label in the graph: its name, with the arguments that change what it does."""
        return cls.name

    @classmethod
    def output_name(cls, operands: list[str], names: list[str], params: dict[str, Any]) -> tuple[str, bool]:
        """(name, atomic) for the output, from the inputs' names, e.g. ('Yhat − Y', False)."""
        fields = {"name": cls.name, "x_name": names[0]}
        fields.update(zip(("x", "y"), operands))
        return cls.notation.format(**fields), cls.notation_atomic


def _compile_vjp(op: type[Op]) -> Any:
    """Write `op.vjp` from its formulas: read only what they name, compute only the needed inputs.

    For Mul, ("g * y", "g * x") becomes
        def vjp(ctx, g):
            x = ctx._x.data; y = ctx._y.data
            n0, n1 = ctx._needs_input_grad
            return (g * y if n0 else None), (g * x if n1 else None)
    """
    used = {node.id for f in op.formulas for node in ast.walk(ast.parse(f, mode="eval")) if isinstance(node, ast.Name)}
    lines = [f"def vjp(ctx, g):"]
    for slot, var in (("ctx._x.data", "x"), ("ctx._y.data", "y"), ("ctx.data", "out")):
        if var in used:
            lines.append(f"    {var} = {slot}")
    if op.params:
        lines.append(f"    {', '.join(op.params)}, = ctx._params")
    if len(op.formulas) == 1:
        lines.append(f"    return ({op.formulas[0]},)")
    else:
        flags = [f"n{i}" for i in range(len(op.formulas))]
        lines.append(f"    {', '.join(flags)} = ctx._needs_input_grad")
        lines.append("    return " + ", ".join(f"({f} if {n} else None)" for f, n in zip(op.formulas, flags)))
    namespace = dict(FORMULA_HELPERS)
    exec(compile("\n".join(lines), f"<{op.__name__}.formulas>", "exec"), namespace)
    vjp = namespace["vjp"]
    vjp.__doc__ = f"{op.__name__}'s VJP, written from its formulas: " + "; ".join(op.formulas)
    return vjp


# ---------------------------------------------------------------- the formulas' vocabulary on arrays


def expand(g: np.ndarray, shape: tuple[int, ...], axis: Any = None, keepdims: bool = False) -> np.ndarray:
    """Undo a reduction's shape: put back the reduced axes, then broadcast to `shape`."""
    if type(g) is not np.ndarray:
        g = np.asarray(g)
    if g.ndim == 0:
        # NOTE: the gradient of a loss's mean or sum is a 0-d array; filling a new array with it is
        # faster than broadcasting it, because the ops it then feeds read a contiguous array
        # (7-12% of the Titanic steps).
        out = np.empty(shape, g.dtype)
        out.fill(g)
        return out
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, shape)


def where(condition: np.ndarray, a: np.ndarray, b: Any) -> np.ndarray:
    """a where condition holds, else b (np.where), in a's dtype."""
    if type(b) is int and b == 0 and a.size >= 1024 and math.isfinite(np.add.reduce(a, None)):
        # NOTE: a mask product is 2-3x faster than np.where on big arrays (ReLU's backward on the wide
        # MLP); it is taken only when `a` is finite (its sum is), since an inf at a masked entry must
        # give 0, as in torch, not inf * 0 = NaN.
        return a * condition
    return np.where(condition, a, _zero(a.dtype) if type(b) is int and b == 0 else b)


def index_backward(g: np.ndarray, shape: tuple[int, ...], index: Any) -> np.ndarray:
    """Zeros of `shape` with g added at `index`, repeated indices adding up (np.add.at)."""
    grad = np.zeros(shape, dtype=g.dtype)
    np.add.at(grad, index, g)
    return grad


def _zero(dtype: np.dtype) -> np.ndarray:
    """A shared 0-d zero of `dtype`: numpy takes it faster than the Python number 0."""
    zero = _ZEROS.get(dtype.char)
    if zero is None:
        zero = _ZEROS[dtype.char] = np.zeros((), dtype)
    return zero


_ZEROS: dict[str, np.ndarray] = {}
FORMULA_HELPERS = {"np": np, "expand": expand, "where": where, "index_backward": index_backward}


# ---------------------------------------------------------------- elementwise, binary


class Add(Op):
    """out = x + y"""

    name, formulas = "add", ("g", "g")
    notation, notation_atomic = "{x} + {y}", False
    expression = "x + y"

    @staticmethod
    def forward(ctx, x, y):
        return x + y


class Sub(Op):
    """out = x - y"""

    name, formulas = "sub", ("g", "-g")
    notation, notation_atomic = "{x} − {y}", False
    expression = "x - y"

    @staticmethod
    def forward(ctx, x, y):
        return x - y


class Mul(Op):
    """out = x * y"""

    name, formulas = "mul", ("g * y", "g * x")
    notation, notation_atomic = "{x} ⊙ {y}", False
    expression = "x * y"

    @staticmethod
    def forward(ctx, x, y):
        return x * y


class Div(Op):
    """out = x / y"""

    name, formulas = "div", ("g / y", "-g * x / y**2")
    notation, notation_atomic = "{x} / {y}", False
    expression = "x / y"

    @staticmethod
    def forward(ctx, x, y):
        return x / y


# ---------------------------------------------------------------- elementwise, unary


class Neg(Op):
    """out = -x"""

    name, formulas = "neg", ("-g",)
    notation, notation_atomic = "−{x}", False
    expression = "-x"

    @staticmethod
    def forward(ctx, x):
        return -x


class Pow(Op):
    """out = x ** exponent, for a number exponent"""

    # NOTE: x ** 0 is 1 everywhere, so its gradient is 0, also at x = 0 where x ** -1 is inf (as torch).
    name, params = "pow", ("exponent",)
    formulas = ("g * exponent * x**(exponent - 1) if exponent != 0 else 0 * g",)
    expression = "x**exponent"

    @staticmethod
    def forward(ctx, x, exponent):
        ctx._params = (exponent,)
        return x**exponent

    @classmethod
    def label(cls, params):
        return f"pow({float(params['exponent']):.4g})"

    @classmethod
    def output_name(cls, operands, names, params):
        p = float(params["exponent"])
        small = p.is_integer() and 0 <= p < 10
        return operands[0] + (str(int(p)).translate(_SUPERSCRIPT) if small else f"^{p:.4g}"), True


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class Square(Op):
    """out = x ** 2"""

    name, formulas = "square", ("2 * x * g",)
    notation = "{x}²"
    expression = "x * x"

    @staticmethod
    def forward(ctx, x):
        return x * x


class Exp(Op):
    """out = exp(x)"""

    name, formulas = "exp", ("g * out",)
    expression = "np.exp(x)"

    @staticmethod
    def forward(ctx, x):
        return np.exp(x)


class Log(Op):
    """out = log(x)"""

    name, formulas = "log", ("g / x",)
    expression = "np.log(x)"

    @staticmethod
    def forward(ctx, x):
        return np.log(x)


class Tanh(Op):
    """out = tanh(x)"""

    name, formulas, activation = "tanh", ("g * (1 - out**2)",), True
    expression = "np.tanh(x)"

    @staticmethod
    def forward(ctx, x):
        return np.tanh(x)


class Sigmoid(Op):
    """out = 1 / (1 + exp(-x))"""

    name, formulas, activation = "sigmoid", ("g * out * (1 - out)",), True
    notation = "σ({x_name})"
    expression = "1 / (1 + np.exp(-x))"

    @staticmethod
    def forward(ctx, x):
        # NOTE: exp(-x) overflows to inf for x << 0, and 1 / inf = 0 is the right limit.
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-x))


class ReLU(Op):
    """out = max(x, 0)"""

    # NOTE: the subgradient at 0 is taken as 0, as PyTorch's threshold_backward does.
    name, formulas, activation = "relu", ("where(x > 0, g, 0)",), True
    expression = "np.maximum(x, 0)"

    @staticmethod
    def forward(ctx, x):
        return np.maximum(x, _zero(x.dtype))


# ---------------------------------------------------------------- reductions


class Sum(Op):
    """out = x.sum(axis, keepdims)"""

    name, formulas, params = "sum", ("expand(g, x.shape, axis, keepdims)",), ("axis", "keepdims")
    expression = "np.add.reduce(x, axis, keepdims=keepdims)"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx._params = (axis, keepdims)
        return np.add.reduce(x, axis=axis, keepdims=keepdims)

    @classmethod
    def label(cls, params):
        return _reduction_label(cls.name, params)


class Mean(Op):
    """out = x.mean(axis, keepdims)"""

    # NOTE: each element of the mean averages x.size // out.size elements of x, each weighing 1/count.
    name, params = "mean", ("axis", "keepdims")
    formulas = ("expand(g, x.shape, axis, keepdims) / (x.size // out.size)",)
    expression = "np.add.reduce(x, axis, keepdims=keepdims) / (x.size // max(out.size, 1))"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        total = np.add.reduce(x, axis=axis, keepdims=keepdims)
        ctx._params = (axis, keepdims)
        return total / (x.size // max(total.size, 1))

    @classmethod
    def label(cls, params):
        return _reduction_label(cls.name, params)


def _reduction_label(name: str, params: dict[str, Any]) -> str:
    if params.get("axis") is None:
        return name
    return f"{name}(axis={params['axis']}{', keepdims' if params.get('keepdims') else ''})"


# ---------------------------------------------------------------- matmul


class MatMul(Op):
    """out = x @ y, batched as np.matmul; .mT transposes the last two axes"""

    # NOTE: Tensor.__matmul__ reshapes 1-D operands to matrices, so x and y here have ndim >= 2;
    # batch axes that broadcast are summed by the engine.
    name, formulas = "matmul", ("g @ y.mT", "x.mT @ g")
    notation, notation_atomic = "{x}·{y}", False
    hint = "x @ y needs x.shape[-1] == y.shape[-2], as in (n, k) @ (k, m) -> (n, m)"
    expression = "x @ y"

    @staticmethod
    def forward(ctx, x, y):
        return x @ y


# ---------------------------------------------------------------- shape


class Reshape(Op):
    """out = x.reshape(shape)"""

    name, formulas, params = "reshape", ("g.reshape(x.shape)",), ("shape",)
    expression = "x.reshape(shape)"

    @staticmethod
    def forward(ctx, x, shape):
        out = x.reshape(shape)
        ctx._params = (out.shape,)
        return out


class Transpose(Op):
    """out = x.transpose(axes)"""

    name, formulas, params = "transpose", ("g.transpose(np.argsort(axes))",), ("axes",)
    notation = "{x}ᵀ"
    expression = "x.transpose(axes)"

    @staticmethod
    def forward(ctx, x, axes=None):
        axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(axes)
        ctx._params = (axes,)
        return x.transpose(axes)


class Index(Op):
    """out = x[index]; repeated indices add up in the gradient"""

    name, formulas, params = "index", ("index_backward(g, x.shape, index)",), ("index",)
    notation = "{x}[…]"
    expression = "x[index]"

    @staticmethod
    def forward(ctx, x, index):
        ctx._params = (index,)
        return x[index]
