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
its error gives. Nothing outside this file matches an op by its name.
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
    reads: tuple[tuple[str, ...], ...] = (("x", "y", "out"), ("x", "y", "out"))
    """Per input, which of x, y and out its gradient reads: backward checks that none changed in place."""

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


FORMULA_HELPERS = {"np": np, "expand": expand, "where": where, "index_backward": index_backward, "index_zero": index_zero}


# ---------------------------------------------------------------- elementwise, binary


class Add(Op):
    """out = x + y"""

    name, formulas = "add", ("g", "g")
    notation, notation_atomic = "{x} + {y}", False

    @staticmethod
    def forward(ctx, x, y):
        return x + y


class Sub(Op):
    """out = x - y"""

    name, formulas = "sub", ("g", "-g")
    notation, notation_atomic = "{x} − {y}", False

    @staticmethod
    def forward(ctx, x, y):
        return x - y


class Mul(Op):
    """out = x * y"""

    name, formulas = "mul", ("g * y", "g * x")
    notation, notation_atomic = "{x} ⊙ {y}", False

    @staticmethod
    def forward(ctx, x, y):
        return x * y


class Div(Op):
    """out = x / y"""

    name, formulas = "div", ("g / y", "-g * x / y**2")
    notation, notation_atomic = "{x} / {y}", False

    @staticmethod
    def forward(ctx, x, y):
        return x / y


# ---------------------------------------------------------------- elementwise, unary


class Neg(Op):
    """out = -x"""

    name, formulas = "neg", ("-g",)
    notation, notation_atomic = "−{x}", False

    @staticmethod
    def forward(ctx, x):
        return -x


class Pow(Op):
    """out = x ** exponent, for a number exponent"""

    # NOTE: x ** 0 is 1 everywhere, so its gradient is 0, also at x = 0 where x ** -1 is inf (as torch).
    name, params = "pow", ("exponent",)
    formulas = ("g * exponent * x**(exponent - 1) if exponent != 0 else 0 * g",)

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

    @staticmethod
    def forward(ctx, x):
        return x * x


class Exp(Op):
    """out = exp(x)"""

    name, formulas = "exp", ("g * out",)

    @staticmethod
    def forward(ctx, x):
        return np.exp(x)


class Log(Op):
    """out = log(x)"""

    name, formulas = "log", ("g / x",)

    @staticmethod
    def forward(ctx, x):
        return np.log(x)


class Tanh(Op):
    """out = tanh(x)"""

    name, formulas, activation = "tanh", ("g * (1 - out**2)",), True

    @staticmethod
    def forward(ctx, x):
        return np.tanh(x)


class Sigmoid(Op):
    """out = 1 / (1 + exp(-x))"""

    name, formulas, activation = "sigmoid", ("g * out * (1 - out)",), True
    notation = "σ({x_name})"

    @staticmethod
    def forward(ctx, x):
        # NOTE: exp(-x) overflows to inf for x << 0, and 1 / inf = 0 is the right limit.
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-x))


class ReLU(Op):
    """out = max(x, 0)"""

    # NOTE: the subgradient at 0 is taken as 0, as PyTorch's threshold_backward does.
    name, formulas, activation = "relu", ("where(x > 0, g, 0)",), True

    @staticmethod
    def forward(ctx, x):
        return np.maximum(x, _zero(x.dtype))


# ---------------------------------------------------------------- reductions


class Sum(Op):
    """out = x.sum(axis, keepdims)"""

    name, formulas, params = "sum", ("expand(g, x.shape, axis, keepdims)",), ("axis", "keepdims")

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

    @staticmethod
    def forward(ctx, x, y):
        return x @ y


# ---------------------------------------------------------------- shape


class Reshape(Op):
    """out = x.reshape(shape)"""

    name, formulas, params = "reshape", ("g.reshape(x.shape)",), ("shape",)

    @staticmethod
    def forward(ctx, x, shape):
        out = x.reshape(shape)
        ctx._params = (out.shape,)
        return out


class Transpose(Op):
    """out = x.transpose(axes)"""

    name, formulas, params = "transpose", ("g.transpose(np.argsort(axes))",), ("axes",)
    notation = "{x}ᵀ"

    @staticmethod
    def forward(ctx, x, axes=None):
        axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(axes)
        ctx._params = (axes,)
        return x.transpose(axes)


class Index(Op):
    """out = x[index]; repeated indices add up in the gradient"""

    name, formulas, params = "index", ("index_backward(g, x.shape, index)",), ("index",)
    notation = "{x}[…]"

    @staticmethod
    def forward(ctx, x, index):
        ctx._params = (index,)
        return x[index]


class IndexPut(Op):
    """out = x with out[index] = y (x[index] = y, recorded as torch records an in-place assignment)"""

    name, formulas, params = "index_put", ("index_zero(g, index)", "g[index]"), ("index",)
    notation = "{x_name}[…] ← {y}"
    notation_atomic = False

    @staticmethod
    def forward(ctx, x, y, index):
        ctx._params = (index,)
        out = x.copy()
        out[index] = y
        return out


# ---------------------------------------------------------------- ops the backward of the backward records


class Expand(Op):
    """out = x broadcast to `shape` (a read-only view, as np.broadcast_to); the engine sums the
    gradient back over the broadcast axes, so the formula is g itself"""

    name, formulas, params = "expand", ("g",), ("shape",)

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

    name, params = "where", ("condition",)
    formulas = ("where(condition, g, 0)", "where(condition, 0, g)")
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
    notation = "scatter({x_name})"

    @staticmethod
    def forward(ctx, x, shape, index):
        ctx._params = (shape, index)
        return index_backward(x, shape, index)


class IndexZero(Op):
    """out = x with zeros at `index` (the VJP of an assignment x[index] = v, as an op of its own)"""

    name, formulas, params = "index_zero", ("index_zero(g, index)",), ("index",)
    notation = "{x_name}[…] ← 0"

    @staticmethod
    def forward(ctx, x, index):
        ctx._params = (index,)
        return index_zero(x, index)
