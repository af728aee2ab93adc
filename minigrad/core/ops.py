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
    """How the output is named from its inputs: {x}, {y} (bracketed unless one word), {x_name}, {y_name}, {name}."""
    notation_atomic = True
    """Whether that name reads as one term inside a longer expression (no brackets needed)."""
    activation = False
    expression = ""
    """The forward as one numpy expression over x, y and the params (`out` only for its shape), for
    `minigrad.compile`, which writes it into the program it generates; "" for an op it cannot compile."""
    reads: tuple[tuple[str, ...], ...] = (("x", "y", "out"), ("x", "y", "out"))
    """Per input, which of x, y and out its gradient reads: backward checks that none changed in place."""
    torch_name: str | None = None
    """The name torch gives this op's backward node, `MulBackward0`; `grad_fn_name` refines it."""

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
    def grad_fn_name(cls, params: dict[str, Any], shapes: tuple[tuple[int, ...], ...]) -> str | None:
        """torch's name for this recorded op's backward node (`Tensor.grad_fn`), from its arguments and
        input shapes (`sum()` is SumBackward0, `sum(dim)` SumBackward1); None for a node that torch
        records as part of its consumer (the inner pairs of a `cat` of several tensors)."""
        return cls.torch_name

    @classmethod
    def output_name(cls, operands: list[str], names: list[str], params: dict[str, Any]) -> tuple[str, bool]:
        """(name, atomic) for the output, from the inputs' names, e.g. ('Yhat − Y', False)."""
        fields = {"name": cls.name, "x_name": names[0], "y_name": names[-1]}
        fields.update(zip(("x", "y"), operands))
        return cls.notation.format(**fields), cls.notation_atomic


def _value_reads(tree: ast.AST) -> set[str]:
    """The names a formula reads the values of: every use but `name.shape`, `.size`, `.ndim`, `.dtype`."""
    shape_only = {id(node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Attribute) and node.attr in ("shape", "size", "ndim", "dtype")}
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and id(node) not in shape_only}


def _compile_vjp(op: type[Op], namespace: dict[str, Any] | None = None) -> Any:
    """Write `op.vjp` from its formulas: read only what they name, compute only the needed inputs.

    For Mul, ("g * y", "g * x") becomes
        def vjp(ctx, g):
            x = ctx._x.data; y = ctx._y.data
            n0, n1 = ctx._needs_input_grad
            return (g * y if n0 else None), (g * x if n1 else None)
    Given a `namespace` of Tensor helpers (minigrad.core.higher), the same formulas become
    `vjp(ctx, g, x, y)` over Tensors: x and y are the inputs as the node saw them, out is the node
    itself, and every comparison is made on the arrays, so a mask is a constant.
    """
    tensors = namespace is not None
    trees = [ast.parse(f, mode="eval") for f in op.formulas]
    names = [{n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} for tree in trees]
    used = set().union(*names)
    # NOTE: a name read only for its shape (x.shape, x.size) needs no saved values, so a later
    # in-place change of it does not stop backward (torch saves only the sizes there).
    op.reads = tuple(tuple(v for v in ("x", "y", "out") if v in _value_reads(tree)) for tree in trees)
    if tensors:
        trees = [ast.fix_missing_locations(_CompareOnArrays().visit(tree)) for tree in trees]
    formulas = [ast.unparse(tree) for tree in trees]
    lines = ["def vjp(ctx, g, x, y):" if tensors else "def vjp(ctx, g):"]
    slots = (("ctx", "out"),) if tensors else (("ctx._x.data", "x"), ("ctx._y.data", "y"), ("ctx.data", "out"))
    for slot, var in slots:
        if var in used:
            lines.append(f"    {var} = {slot}")
    if op.params:
        lines.append(f"    {', '.join(op.params)}, = ctx._params")
    if len(formulas) == 1:
        lines.append(f"    return ({formulas[0]},)")
    else:
        flags = [f"n{i}" for i in range(len(formulas))]
        lines.append(f"    {', '.join(flags)} = ctx._needs_input_grad")
        lines.append("    return " + ", ".join(f"({f} if {n} else None)" for f, n in zip(formulas, flags)))
    namespace = dict(FORMULA_HELPERS if namespace is None else namespace)
    exec(compile("\n".join(lines), f"<{op.__name__}.formulas>", "exec"), namespace)
    vjp = namespace["vjp"]
    vjp.__doc__ = f"{op.__name__}'s VJP, written from its formulas: " + "; ".join(op.formulas)
    return vjp


class _CompareOnArrays(ast.NodeTransformer):
    """Rewrite `a > b` as `compare('>', a, b)`: in the Tensor namespace a mask is built from the arrays."""

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) != 1:
            return node
        symbol = type(node.ops[0]).__name__
        return ast.Call(ast.Name("compare", ast.Load()), [ast.Constant(symbol), node.left, node.comparators[0]], [])


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


def along_axis(shape: tuple[int, ...], axis: int, keepdims: bool, indices: np.ndarray) -> tuple[np.ndarray, ...]:
    """The index of the elements that max(dim) or min(dim) picked: `indices` along `axis`, every
    position along the other axes, shaped as the result (so `x[along_axis(...)]` is the result)."""
    ndim = len(shape)
    axis %= ndim
    kept = indices if keepdims else np.expand_dims(indices, axis)
    index = [np.arange(n).reshape((-1,) + (1,) * (ndim - 1 - d)) for d, n in enumerate(shape)]
    index[axis] = kept
    if not keepdims:
        index = [np.squeeze(np.broadcast_to(i, kept.shape), axis) for i in index]
    return tuple(index)


def cat_piece(g: np.ndarray, shape: tuple[int, ...], axis: int, at_end: bool) -> np.ndarray:
    """The block of g along `axis` that one concatenated input of `shape` filled: the first block,
    or the last (`at_end`). An input with one axis fewer than g (stacked) filled one index of it."""
    length = shape[axis] if len(shape) == g.ndim else 1
    start = g.shape[axis] - length if at_end else 0
    return g[(slice(None),) * axis + (slice(start, start + length),)].reshape(shape)


def _zero(dtype: np.dtype) -> np.ndarray:
    """A shared 0-d zero of `dtype`: numpy takes it faster than the Python number 0."""
    zero = _ZEROS.get(dtype.char)
    if zero is None:
        zero = _ZEROS[dtype.char] = np.zeros((), dtype)
    return zero


_ZEROS: dict[str, np.ndarray] = {}
def index_zero(g: np.ndarray, index: Any) -> np.ndarray:
    """A copy of g with zeros at `index`: the gradient of what an assignment x[index] = v overwrote."""
    grad = np.array(g, copy=True)
    grad[index] = 0
    return grad


FORMULA_HELPERS = {
    "np": np, "expand": expand, "where": where, "index_backward": index_backward, "index_zero": index_zero,
    "exp": np.exp, "log": np.log, "sign": np.sign, "along_axis": along_axis,
    "cat_piece": cat_piece,
}


# ---------------------------------------------------------------- elementwise, binary


class Add(Op):
    """out = x + y"""

    name, formulas = "add", ("g", "g")
    torch_name = "AddBackward0"
    notation, notation_atomic = "{x} + {y}", False
    expression = "x + y"

    @staticmethod
    def forward(ctx, x, y):
        return x + y


class Sub(Op):
    """out = x - y"""

    name, formulas = "sub", ("g", "-g")
    torch_name = "SubBackward0"
    notation, notation_atomic = "{x} − {y}", False
    expression = "x - y"

    @staticmethod
    def forward(ctx, x, y):
        return x - y


class Mul(Op):
    """out = x * y"""

    name, formulas = "mul", ("g * y", "g * x")
    torch_name = "MulBackward0"
    notation, notation_atomic = "{x} ⊙ {y}", False
    expression = "x * y"

    @staticmethod
    def forward(ctx, x, y):
        return x * y


class Div(Op):
    """out = x / y"""

    name, formulas = "div", ("g / y", "-g * x / y**2")
    torch_name = "DivBackward0"
    notation, notation_atomic = "{x} / {y}", False
    expression = "x / y"

    @staticmethod
    def forward(ctx, x, y):
        return x / y


class Maximum(Op):
    """out = the larger of x and y, elementwise; a tie splits the gradient in halves (as torch)"""

    name, torch_name = "maximum", "MaximumBackward0"
    formulas = ("where(x == y, g / 2, where(x > y, g, 0))", "where(x == y, g / 2, where(x < y, g, 0))")
    notation = "max({x_name}, {y_name})"
    expression = "np.maximum(x, y)"

    @staticmethod
    def forward(ctx, x, y):
        return np.maximum(x, y)


class Minimum(Op):
    """out = the smaller of x and y, elementwise; a tie splits the gradient in halves (as torch)"""

    name, torch_name = "minimum", "MinimumBackward0"
    formulas = ("where(x == y, g / 2, where(x < y, g, 0))", "where(x == y, g / 2, where(x > y, g, 0))")
    notation = "min({x_name}, {y_name})"
    expression = "np.minimum(x, y)"

    @staticmethod
    def forward(ctx, x, y):
        return np.minimum(x, y)


class PowTensor(Op):
    """out = x ** y, for a tensor exponent (and a number base: 2 ** x)"""

    # NOTE: torch's pow_backward_self/_exponent: y == 0 gives x no gradient, also at x = 0; and at
    # x = 0 with y >= 0 the exponent gets none, where log(x) is -inf (log(1) = 0 stands in for it).
    name, torch_name = "pow", "PowBackward1"
    formulas = ("where(y == 0, 0, g * y * x ** (y - 1))", "g * out * log(where((x == 0) & (y >= 0), 1, x))")
    notation = "{x}^{y}"

    @staticmethod
    def forward(ctx, x, y):
        return x**y


# ---------------------------------------------------------------- elementwise, unary


class Neg(Op):
    """out = -x"""

    name, formulas = "neg", ("-g",)
    torch_name = "NegBackward0"
    notation, notation_atomic = "−{x}", False
    expression = "-x"

    @staticmethod
    def forward(ctx, x):
        return -x


class Pow(Op):
    """out = x ** exponent, for a number exponent"""

    # NOTE: x ** 0 is 1 everywhere, so its gradient is 0, also at x = 0 where x ** -1 is inf (as torch).
    name, params = "pow", ("exponent",)
    torch_name = "PowBackward0"
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
    torch_name = "PowBackward0"
    notation = "{x}²"
    expression = "x * x"

    @staticmethod
    def forward(ctx, x):
        return x * x


class Exp(Op):
    """out = exp(x)"""

    name, formulas = "exp", ("g * out",)
    torch_name = "ExpBackward0"
    expression = "np.exp(x)"

    @staticmethod
    def forward(ctx, x):
        return np.exp(x)


class Log(Op):
    """out = log(x)"""

    name, formulas = "log", ("g / x",)
    torch_name = "LogBackward0"
    expression = "np.log(x)"

    @staticmethod
    def forward(ctx, x):
        return np.log(x)


class Tanh(Op):
    """out = tanh(x)"""

    name, formulas, activation = "tanh", ("g * (1 - out**2)",), True
    torch_name = "TanhBackward0"
    expression = "np.tanh(x)"

    @staticmethod
    def forward(ctx, x):
        return np.tanh(x)


class Sigmoid(Op):
    """out = 1 / (1 + exp(-x))"""

    name, formulas, activation = "sigmoid", ("g * out * (1 - out)",), True
    torch_name = "SigmoidBackward0"
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
    torch_name = "ReluBackward0"
    expression = "np.maximum(x, 0)"

    @staticmethod
    def forward(ctx, x):
        return np.maximum(x, _zero(x.dtype))


class Sqrt(Op):
    """out = sqrt(x)"""

    name, formulas, torch_name = "sqrt", ("g / (2 * out)",), "SqrtBackward0"
    notation = "√{x}"
    expression = "np.sqrt(x)"

    @staticmethod
    def forward(ctx, x):
        return np.sqrt(x)


class Abs(Op):
    """out = |x|; the subgradient at 0 is 0 (sign(0), as torch)"""

    name, formulas, torch_name = "abs", ("g * sign(x)",), "AbsBackward0"
    notation = "|{x_name}|"
    expression = "np.abs(x)"

    @staticmethod
    def forward(ctx, x):
        return np.abs(x)


class Clamp(Op):
    """out = x limited to [min, max]; a missing bound is stored as -inf or inf"""

    # NOTE: as torch's clamp_backward, the gradient passes where min <= x <= max, bounds included.
    name, params, torch_name = "clamp", ("min", "max"), "ClampBackward1"
    formulas = ("where((x >= min) & (x <= max), g, 0)",)
    expression = "np.clip(x, min, max)"

    @staticmethod
    def forward(ctx, x, min=-math.inf, max=math.inf):
        ctx._params = (min, max)
        return np.clip(x, min, max)

    @classmethod
    def label(cls, params):
        low, high = params["min"], params["max"]
        if math.isinf(high):
            return f"clamp(min={low:.4g})"
        return f"clamp(max={high:.4g})" if math.isinf(low) else f"clamp({low:.4g}, {high:.4g})"


# ---------------------------------------------------------------- reductions


class Sum(Op):
    """out = x.sum(axis, keepdims)"""

    name, formulas, params = "sum", ("expand(g, x.shape, axis, keepdims)",), ("axis", "keepdims")
    torch_name = "SumBackward0"
    expression = "np.add.reduce(x, axis, keepdims=keepdims)"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx._params = (axis, keepdims)
        return np.add.reduce(x, axis=axis, keepdims=keepdims)

    @classmethod
    def label(cls, params):
        return _reduction_label(cls.name, params)

    @classmethod
    def grad_fn_name(cls, params, shapes):
        return cls.torch_name if params["axis"] is None else "SumBackward1"


class Mean(Op):
    """out = x.mean(axis, keepdims)"""

    # NOTE: each element of the mean averages x.size // out.size elements of x, each weighing 1/count.
    name, params = "mean", ("axis", "keepdims")
    torch_name = "MeanBackward0"
    formulas = ("expand(g / (x.size // out.size), x.shape, axis, keepdims)",)
    expression = "np.add.reduce(x, axis, keepdims=keepdims) / (x.size // max(out.size, 1))"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        total = np.add.reduce(x, axis=axis, keepdims=keepdims)
        ctx._params = (axis, keepdims)
        return total / (x.size // max(total.size, 1))

    @classmethod
    def label(cls, params):
        return _reduction_label(cls.name, params)

    @classmethod
    def grad_fn_name(cls, params, shapes):
        return cls.torch_name if params["axis"] is None else "MeanBackward1"


class Max(Op):
    """out = x.max() (a tie shares the gradient equally), or x.max(axis) with the index of each
    maximum kept in `indices` (the gradient goes to that one element), as torch's max and max(dim)"""

    name, params, torch_name = "max", ("axis", "keepdims", "indices"), "MaxBackward1"
    formulas = ("where(x == out, g / (x == out).sum(), 0) if axis is None "
                "else index_backward(g, x.shape, along_axis(x.shape, axis, keepdims, indices))",)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return _extremum(ctx, x, axis, keepdims, np.max, np.argmax)

    @classmethod
    def label(cls, params):
        return _reduction_label(cls.name, params)

    @classmethod
    def grad_fn_name(cls, params, shapes):
        return cls.torch_name if params["axis"] is None else "MaxBackward0"


class Min(Op):
    """out = x.min() or x.min(axis), as Max"""

    name, params, torch_name = "min", ("axis", "keepdims", "indices"), "MinBackward1"
    formulas = ("where(x == out, g / (x == out).sum(), 0) if axis is None "
                "else index_backward(g, x.shape, along_axis(x.shape, axis, keepdims, indices))",)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return _extremum(ctx, x, axis, keepdims, np.min, np.argmin)

    @classmethod
    def label(cls, params):
        return _reduction_label(cls.name, params)

    @classmethod
    def grad_fn_name(cls, params, shapes):
        return cls.torch_name if params["axis"] is None else "MinBackward0"


def _extremum(ctx: Any, x: np.ndarray, axis: int | None, keepdims: bool, reduce: Any, arg: Any) -> np.ndarray:
    """max or min of x, overall or along one axis; along an axis, keep where each one was."""
    if axis is None:
        ctx._params = (None, False, None)
        return reduce(x)
    indices = arg(x, axis=axis, keepdims=keepdims)
    ctx._params = (axis, keepdims, indices)
    return reduce(x, axis=axis, keepdims=keepdims)


def _reduction_label(name: str, params: dict[str, Any]) -> str:
    if params.get("axis") is None:
        return name
    return f"{name}(axis={params['axis']}{', keepdims' if params.get('keepdims') else ''})"


# ---------------------------------------------------------------- softmax


class Softmax(Op):
    """out = exp(x) / exp(x).sum(axis, keepdims=True), computed from x - max(x) so exp cannot overflow"""

    name, params, torch_name = "softmax", ("axis",), "SoftmaxBackward0"
    formulas = ("out * (g - (g * out).sum(axis, keepdims=True))",)
    expression = "np.exp(x - np.max(x, axis, keepdims=True)) / np.add.reduce(np.exp(x - np.max(x, axis, keepdims=True)), axis, keepdims=True)"

    @staticmethod
    def forward(ctx, x, axis):
        ctx._params = (axis,)
        z = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return z / np.add.reduce(z, axis=axis, keepdims=True)

    @classmethod
    def label(cls, params):
        return f"softmax(axis={params['axis']})"


class LogSoftmax(Op):
    """out = x - log(exp(x).sum(axis, keepdims=True)), computed from x - max(x) so exp cannot overflow"""

    name, params, torch_name = "log_softmax", ("axis",), "LogSoftmaxBackward0"
    formulas = ("g - exp(out) * g.sum(axis, keepdims=True)",)
    expression = "x - np.max(x, axis, keepdims=True) - np.log(np.add.reduce(np.exp(x - np.max(x, axis, keepdims=True)), axis, keepdims=True))"

    @staticmethod
    def forward(ctx, x, axis):
        ctx._params = (axis,)
        shifted = x - np.max(x, axis=axis, keepdims=True)
        return shifted - np.log(np.add.reduce(np.exp(shifted), axis=axis, keepdims=True))

    @classmethod
    def label(cls, params):
        return f"log_softmax(axis={params['axis']})"


# ---------------------------------------------------------------- matmul


class MatMul(Op):
    """out = x @ y, batched as np.matmul; .mT transposes the last two axes"""

    # NOTE: Tensor.__matmul__ reshapes 1-D operands to matrices, so x and y here have ndim >= 2;
    # batch axes that broadcast are summed by the engine.
    name, formulas = "matmul", ("g @ y.mT", "x.mT @ g")
    torch_name = "MmBackward0"
    notation, notation_atomic = "{x}·{y}", False
    hint = "x @ y needs x.shape[-1] == y.shape[-2], as in (n, k) @ (k, m) -> (n, m)"
    expression = "x @ y"

    @staticmethod
    def forward(ctx, x, y):
        return x @ y

    @classmethod
    def grad_fn_name(cls, params, shapes):
        return cls.torch_name if len(shapes[0]) == len(shapes[1]) == 2 else "BmmBackward0"


# ---------------------------------------------------------------- shape


class Reshape(Op):
    """out = x.reshape(shape)"""

    name, formulas, params = "reshape", ("g.reshape(x.shape)",), ("shape",)
    torch_name = "ViewBackward0"
    expression = "x.reshape(shape)"

    @staticmethod
    def forward(ctx, x, shape):
        out = x.reshape(shape)
        ctx._params = (out.shape,)
        return out


class Transpose(Op):
    """out = x.transpose(axes)"""

    name, formulas, params = "transpose", ("g.transpose(np.argsort(axes))",), ("axes",)
    torch_name = "PermuteBackward0"
    notation = "{x}ᵀ"
    expression = "x.transpose(axes)"

    @staticmethod
    def forward(ctx, x, axes=None):
        axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(axes)
        ctx._params = (axes,)
        return x.transpose(axes)


class Unsqueeze(Op):
    """out = x with a new axis of length 1 at `dim`"""

    name, formulas, params, torch_name = "unsqueeze", ("g.reshape(x.shape)",), ("dim",), "UnsqueezeBackward0"
    expression = "np.expand_dims(x, dim)"

    @staticmethod
    def forward(ctx, x, dim):
        ctx._params = (dim,)
        return np.expand_dims(x, dim)

    @classmethod
    def label(cls, params):
        return f"unsqueeze({params['dim']})"


class Squeeze(Op):
    """out = x without its axes of length 1: all of them (dim None), or those among `dim` (as torch,
    an axis in `dim` that is not of length 1 stays)"""

    name, formulas, params, torch_name = "squeeze", ("g.reshape(x.shape)",), ("dim",), "SqueezeBackward0"
    expression = "x.reshape(out.shape)"

    @staticmethod
    def forward(ctx, x, dim=None):
        ctx._params = (dim,)
        if dim is None:
            return np.squeeze(x)
        if x.ndim == 0:
            _normalize_axes(dim, 1)  # as torch, dim 0 and -1 name the one axis a 0-d tensor lacks
            return x
        return np.squeeze(x, tuple(d for d in _normalize_axes(dim, x.ndim) if x.shape[d] == 1))

    @classmethod
    def label(cls, params):
        return "squeeze" if params["dim"] is None else f"squeeze({params['dim']})"

    @classmethod
    def grad_fn_name(cls, params, shapes):
        dim = params["dim"]
        return cls.torch_name if dim is None else "SqueezeBackward2" if isinstance(dim, tuple) else "SqueezeBackward1"


def _normalize_axes(dim: int | tuple[int, ...], ndim: int) -> tuple[int, ...]:
    """dim as a tuple of axes in [0, ndim), negative ones counted from the end; AxisError if out of range."""
    return np.lib.array_utils.normalize_axis_tuple(dim, ndim)


class Clone(Op):
    """out = a copy of x"""

    name, formulas, torch_name = "clone", ("g",), "CloneBackward0"
    expression = "x + 0"

    @staticmethod
    def forward(ctx, x):
        return x.copy()


class Cast(Op):
    """out = x as `dtype` (x.float(), x.double(), x.to(dtype)); the engine casts the gradient back to
    x's dtype, so the formula is g itself"""

    name, formulas, params, torch_name = "to", ("g",), ("dtype",), "ToCopyBackward0"
    expression = "x.astype(dtype)"

    @staticmethod
    def forward(ctx, x, dtype):
        ctx._params = (dtype,)
        return x.astype(dtype)

    @classmethod
    def label(cls, params):
        return f"to({params['dtype']})"


class Cat(Op):
    """out = x and y joined along `axis` (np.concatenate); with `ndim` set, an input of fewer axes
    gets a new axis there first, so that stack is a cat too.

    `kind` is "cat" or "stack" for the op a user called, and "part" for the inner pairs of a cat of
    more than two tensors (joined two at a time, in a balanced tree), which torch records as one node.
    """

    name, params, torch_name = "cat", ("axis", "ndim", "kind"), "CatBackward0"
    formulas = ("cat_piece(g, x.shape, axis, False)", "cat_piece(g, y.shape, axis, True)")

    @staticmethod
    def forward(ctx, x, y, axis, ndim=None, kind="cat"):
        ctx._params = (axis, ndim, kind)
        if ndim is not None:
            x = x if x.ndim == ndim else np.expand_dims(x, axis)
            y = y if y.ndim == ndim else np.expand_dims(y, axis)
        return np.concatenate((x, y), axis)

    @classmethod
    def label(cls, params):
        return f"{'cat' if params['ndim'] is None else 'stack'}(axis={params['axis']})"

    @classmethod
    def grad_fn_name(cls, params, shapes):
        return {"cat": cls.torch_name, "stack": "StackBackward0"}.get(params["kind"])


class Index(Op):
    """out = x[index]; repeated indices add up in the gradient"""

    name, formulas, params = "index", ("index_backward(g, x.shape, index)",), ("index",)
    torch_name = "IndexBackward0"
    notation = "{x}[…]"

    @staticmethod
    def forward(ctx, x, index):
        ctx._params = (index,)
        return x[index]

    @classmethod
    def grad_fn_name(cls, params, shapes):
        # NOTE: torch records x[1, 2] as two SelectBackward0 nodes and x[1:, [0]] as a slice, then an
        # index; minigrad records one node, named after the strongest kind of index in it.
        index = params["index"]
        kinds = {_index_kind(p) for p in (index if type(index) is tuple else (index,))}
        return next(name for name in _INDEX_NAMES if name in kinds)


_INDEX_NAMES = ("IndexBackward0", "SelectBackward0", "SliceBackward0", "UnsqueezeBackward0", "AliasBackward0")


def _index_kind(part: Any) -> str:
    """torch's node name for one part of an index: an integer, a slice, None, ... or an array."""
    if isinstance(part, (int, np.integer)) and not isinstance(part, (bool, np.bool_)):
        return "SelectBackward0"
    if isinstance(part, slice):
        return "SliceBackward0"
    if part is None:
        return "UnsqueezeBackward0"
    return "AliasBackward0" if part is Ellipsis else "IndexBackward0"


class IndexPut(Op):
    """out = x with out[index] = y (x[index] = y, recorded as torch records an in-place assignment)"""

    name, formulas, params = "index_put", ("index_zero(g, index)", "g[index]"), ("index",)
    torch_name = "CopySlices"
    notation = "{x_name}[…] ← {y}"
    notation_atomic = False

    @staticmethod
    def forward(ctx, x, y, index):
        ctx._params = (index,)
        out = x.copy()
        out[index] = y
        return out

    @classmethod
    def grad_fn_name(cls, params, shapes):
        kind = Index.grad_fn_name(params, shapes)
        return {"IndexBackward0": "IndexPutBackward0", "AliasBackward0": "CopyBackwards"}.get(kind, cls.torch_name)


# ---------------------------------------------------------------- ops the backward of the backward records


class Expand(Op):
    """out = x broadcast to `shape` (a read-only view, as np.broadcast_to); the engine sums the
    gradient back over the broadcast axes, so the formula is g itself"""

    name, formulas, params, torch_name = "expand", ("g",), ("shape",), "ExpandBackward0"
    expression = "np.broadcast_to(x, shape)"

    @staticmethod
    def forward(ctx, x, shape):
        lead = len(shape) - x.ndim
        if lead < 0:
            raise ValueError(f"expand needs at least as many sizes as x has axes ({x.ndim}), got {shape}")
        shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape))
        ctx._params = (shape,)
        return np.broadcast_to(x, shape)

    @classmethod
    def label(cls, params):
        return f"expand{params['shape']}"


class Where(Op):
    """out = x where condition holds, else y; the condition is a constant boolean array"""

    name, params, torch_name = "where", ("condition",), "WhereBackward0"
    formulas = ("where(condition, g, 0)", "where(condition, 0, g)")
    expression = "np.where(condition, x, y)"
    notation = "where(…, {x_name}, {y})"

    @staticmethod
    def forward(ctx, x, y, condition):
        ctx._params = (condition,)
        return np.where(condition, x, y)

    @classmethod
    def label(cls, params):
        return cls.name


class IndexBackward(Op):
    """out = zeros(shape) with x added at `index` (the VJP of x[index], as an op of its own)"""

    name, formulas, params = "index_backward", ("g[index]",), ("shape", "index")
    torch_name = "IndexPutImplBackward0"
    notation = "scatter({x_name})"

    @staticmethod
    def forward(ctx, x, shape, index):
        ctx._params = (shape, index)
        return index_backward(x, shape, index)


class IndexZero(Op):
    """out = x with zeros at `index` (the VJP of an assignment x[index] = v, as an op of its own)"""

    name, formulas, params = "index_zero", ("index_zero(g, index)",), ("index",)
    torch_name = "IndexPutBackward0"
    notation = "{x_name}[…] ← 0"

    @staticmethod
    def forward(ctx, x, index):
        ctx._params = (index,)
        return index_zero(x, index)
