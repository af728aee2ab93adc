"""The joint graph of a compiled step: its nodes, the numpy operations they stand for, and a builder that simplifies.

A node is one value of the training step: a step input (`X`), an array the program reads by reference
(a parameter `W1`, an optimizer's momentum buffer, a data constant), a constant folded into the code,
an operation on other nodes (`matmul`, `add`, `sum`, ...), or an in-place update of a parameter. Each
node carries a value of its shape and dtype, so constants fold exactly as numpy would compute them; a
forward value is the eager step's own, and a product that reads no constant only stands in with zeros.

`Builder.op` is the one place that simplifies, as each node is made: constants fold (the gradient of a
mean of 32 rows seeded with 1 becomes the number 1/32), a number times a number folds, the same
operation on the same nodes is made once (common subexpressions), and a few rewrites pick faster numpy
for the same maths: the sum of a square is one `np.vdot`, a column sum of a batch is a product with a
vector of ones, ReLU's mask is read from its output so its input can die early. `trace.py` records the
step once without them, and `optimize` replays that record through a simplifying builder.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

# Python's operator precedences, for printing expressions with only the brackets they need.
ATOM, POWER, UNARY, PRODUCT, SUM, BITAND, BITXOR, BITOR, COMPARE = 15, 13, 12, 11, 10, 8, 7, 6, 5


class Node:
    """One value of the step; see the module docstring for the kinds.

    `name` is the variable name the program gives it (`Z1`, `dL_dW1`), `strong` whether that name comes
    from the graph's naming policy (and so should survive into the code), `display` the name the pictures
    give it (`Yhat − Y`), `stage` the part of the step it belongs to (forward, backward or update of the
    n-th backward/step call), and `index` its creation order.
    """

    __slots__ = ("kind", "op", "args", "attrs", "value", "name", "strong", "display", "stage", "index")

    def __init__(self, kind: str, op: str, args: tuple["Node", ...], attrs: dict[str, Any], value: Any) -> None:
        self.kind, self.op, self.args, self.attrs, self.value = kind, op, args, attrs, value
        self.name: str | None = None
        self.strong = False
        self.display: str | None = None
        self.stage = 0
        self.index = 0

    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(self.value)

    @property
    def ndim(self) -> int:
        return np.ndim(self.value)

    @property
    def dtype(self) -> np.dtype | None:
        """The array dtype, or None for a Python number (numpy's "weak" scalars)."""
        return self.value.dtype if isinstance(self.value, (np.ndarray, np.generic)) else None

    @property
    def fill(self) -> Any:
        """For a constant that is one number repeated over a shape, that number (a 0-d array); else None."""
        return self.attrs.get("fill") if self.kind == "const" else None

    def __repr__(self) -> str:
        return f"<{self.kind} {self.op} {self.name or ''} {self.shape}>"


# ---------------------------------------------------------------- the operations


@dataclass(frozen=True)
class Spec:
    """One numpy operation: how to compute it at trace time and how to write it.

    `symbol` is the infix operator (`+`) when it has one, `ufunc` the numpy function for the forms with
    `out=`, `augmented` whether `a op= b` computes it in place, `view` whether numpy returns a view
    (no new memory: the program writes it inline wherever it is used).
    """

    name: str
    evaluate: Callable[..., Any]
    symbol: str | None = None
    precedence: int = ATOM
    ufunc: str | None = None
    augmented: bool = False
    commutative: bool = False
    view: bool = False
    elementwise: bool = False
    stem: str = ""


def _sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.add.reduce(x, axis=axis, keepdims=keepdims)


def _index_add(g: np.ndarray, shape: tuple[int, ...], index: Any) -> np.ndarray:
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, index, g)
    return out


def _binary(name: str, symbol: str, precedence: int, ufunc: str, fn: Callable, augmented: bool = True,
            commutative: bool = False) -> Spec:
    return Spec(name, fn, symbol, precedence, ufunc, augmented, commutative, elementwise=True)


SPECS: dict[str, Spec] = {
    spec.name: spec
    for spec in [
        _binary("add", "+", SUM, "add", lambda a, b: a + b, commutative=True),
        _binary("sub", "-", SUM, "subtract", lambda a, b: a - b),
        _binary("mul", "*", PRODUCT, "multiply", lambda a, b: a * b, commutative=True),
        _binary("div", "/", PRODUCT, "divide", lambda a, b: a / b),
        _binary("pow", "**", POWER, "power", lambda a, b: a**b),
        Spec("gt", lambda a, b: a > b, ">", COMPARE, "greater", elementwise=True, stem="mask"),
        Spec("ge", lambda a, b: a >= b, ">=", COMPARE, "greater_equal", elementwise=True, stem="mask"),
        Spec("eq", lambda a, b: a == b, "==", COMPARE, "equal", elementwise=True, stem="mask"),
        Spec("ne", lambda a, b: a != b, "!=", COMPARE, "not_equal", elementwise=True, stem="mask"),
        Spec("and", lambda a, b: a & b, "&", BITAND, "bitwise_and", elementwise=True, stem="mask"),
        Spec("or", lambda a, b: a | b, "|", BITOR, "bitwise_or", elementwise=True, stem="mask"),
        Spec("xor", lambda a, b: a ^ b, "^", BITXOR, "bitwise_xor", elementwise=True, stem="mask"),
        Spec("invert", np.invert, "~", UNARY, "invert", elementwise=True, stem="mask"),
        Spec("matmul", lambda a, b: a @ b, "@", PRODUCT, "matmul"),
        Spec("neg", lambda a: -a, "-", UNARY, "negative", elementwise=True),
        Spec("exp", np.exp, ufunc="exp", elementwise=True),
        Spec("log", np.log, ufunc="log", elementwise=True),
        Spec("tanh", np.tanh, ufunc="tanh", elementwise=True),
        Spec("sqrt", np.sqrt, ufunc="sqrt", elementwise=True),
        Spec("abs", np.abs, ufunc="absolute", elementwise=True),
        Spec("sign", np.sign, ufunc="sign", elementwise=True),
        Spec("maximum", np.maximum, ufunc="maximum", elementwise=True),
        Spec("minimum", np.minimum, ufunc="minimum", elementwise=True),
        Spec("clip", np.clip, ufunc="clip", elementwise=True),
        Spec("where", np.where),
        Spec("sum", _sum, ufunc="add.reduce"),
        Spec("max", lambda a, axis=None, keepdims=False: np.max(a, axis=axis, keepdims=keepdims), ufunc="max"),
        Spec("vdot", np.vdot),
        Spec("astype", lambda a, dtype: a.astype(dtype)),
        Spec("index", lambda a, index: a[index]),
        Spec("index_add", _index_add),
        Spec("reshape", lambda a, shape: a.reshape(shape), view=True),
        Spec("transpose", lambda a, axes: a.transpose(axes), view=True),
        Spec("expand_dims", lambda a, axis: np.expand_dims(a, axis), view=True),
        Spec("broadcast_to", lambda a, shape: np.broadcast_to(a, shape), view=True),
        Spec("version", lambda a, update: a, view=True),
    ]
}


def freeze(value: Any) -> Any:
    """A hashable stand-in for an op parameter, for finding common subexpressions."""
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, slice):
        return ("slice", value.start, value.stop, value.step)
    if isinstance(value, np.ndarray):
        return ("array", id(value))
    if isinstance(value, np.dtype):
        return ("dtype", value.str)
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    return value


def _same_number(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b and math.copysign(1, a) == math.copysign(1, b)


def scalar_value(node: Node) -> Any:
    """The number a constant stands for (a Python number or a 0-d array), or None if it is not one number."""
    if node.kind != "const":
        return None
    if node.fill is not None:
        return node.fill
    if np.ndim(node.value) == 0:
        return node.value
    return None


def _is_number(node: Node, number: float) -> bool:
    value = scalar_value(node)
    return value is not None and float(value) == number


# ---------------------------------------------------------------- the builder


@dataclass
class Builder:
    """Makes nodes in creation order; with `simplify`, folds, deduplicates and rewrites as it goes."""

    simplify: bool = False
    nodes: list[Node] = field(default_factory=list)
    stage: int = 0
    _table: dict[Any, Node] = field(default_factory=dict)

    def _add(self, node: Node, key: Any = None) -> Node:
        node.stage, node.index = self.stage, len(self.nodes)
        self.nodes.append(node)
        if key is not None:
            self._table[key] = node
        return node

    def leaf(self, kind: str, value: Any, **attrs: Any) -> Node:
        """A step input ("input") or an array read by reference ("array")."""
        return self._add(Node(kind, kind, (), attrs, value))

    def const(self, value: Any) -> Node:
        """A constant: a Python number, or an array whose values the program may fold."""
        if isinstance(value, Node):
            return value
        key = None
        if isinstance(value, (bool, int, float)):
            key = ("const", type(value), value, math.copysign(1, value) if isinstance(value, float) else 1)
        elif isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
            value = np.asarray(value)
            key = ("const", value.dtype.str, value.tobytes())
        if key is not None and key in self._table:
            return self._table[key]
        return self._add(Node("const", "const", (), {}, value), key)

    def filled(self, value: np.ndarray, shape: tuple[int, ...]) -> Node:
        """The constant array of `shape` holding one number everywhere (as the gradient of a mean)."""
        value = np.asarray(value)
        if shape == ():
            return self.const(value)
        key = ("fill", value.dtype.str, value.tobytes(), shape)
        if key in self._table:
            return self._table[key]
        return self._add(Node("const", "const", (), {"fill": value}, np.broadcast_to(value, shape)), key)

    def ones(self, n: int, dtype: np.dtype) -> Node:
        """The constant vector of n ones, made once per program (for summing the rows of a batch)."""
        key = ("ones", n, dtype.str)
        if key in self._table:
            return self._table[key]
        return self._add(Node("const", "const", (), {"ones": True}, np.ones(n, dtype)), key)

    def update(self, op: str, args: tuple[Node, ...], **attrs: Any) -> Node:
        """An in-place update (an optimizer's step for one parameter); it runs for its effect."""
        return self._add(Node("update", op, args, attrs, None))

    def op(self, name: str, *args: Any, **attrs: Any) -> Node:
        """The node for numpy operation `name` on `args` (nodes or Python numbers), simplified if asked."""
        nodes = tuple(a if isinstance(a, Node) else self.const(a) for a in args)
        if self.simplify:
            simpler = self._simplify(name, nodes, attrs)
            if simpler is not None:
                return simpler
        key = (name, tuple(n.index for n in nodes), freeze(attrs)) if self.simplify else None
        if key is not None and key in self._table:
            return self._table[key]
        spec = SPECS[name]
        with np.errstate(all="ignore"):
            if name in ("matmul", "vdot") and not all(n.kind == "const" for n in nodes):
                value = _stand_in(name, nodes[0].value, nodes[1].value)
            else:
                value = spec.evaluate(*[n.value for n in nodes], **attrs)
        if self.simplify and all(n.kind == "const" for n in nodes) and np.ndim(value) == 0 and name != "version":
            return self.const(value if isinstance(value, (bool, int, float)) else np.asarray(value))
        return self._add(Node("op", name, nodes, attrs, value), key)

    # ------------------------------------------------------------ simplification

    def _simplify(self, name: str, args: tuple[Node, ...], attrs: dict[str, Any]) -> Node | None:
        spec = SPECS[name]
        if spec.elementwise:
            return self._simplify_elementwise(name, args)
        if name == "sum":
            return self._simplify_sum(args[0], attrs)
        if name == "where":
            cond, a, b = args
            if _is_number(b, 0) and cond.dtype == np.bool_ and a.dtype is not None and a.shape == cond.shape:
                # NOTE: a mask product equals np.where(mask, a, 0) wherever a is finite; it is 2-3x faster
                # on big arrays and can run in place. (Where a is inf or NaN it gives NaN, not 0.)
                return self.op("mul", a, cond)
        if name == "astype" and args[0].dtype == np.dtype(attrs["dtype"]):
            return args[0]
        if name == "reshape" and args[0].shape == tuple(attrs["shape"]):
            return args[0]
        if name == "transpose":
            x, axes = args[0], tuple(attrs["axes"])
            if axes == tuple(range(len(axes))):
                return x
            if x.kind == "op" and x.op == "transpose":
                inner = tuple(x.attrs["axes"])
                return self.op("transpose", x.args[0], axes=tuple(inner[i] for i in axes))
        if name == "broadcast_to":
            x, shape = args[0], tuple(attrs["shape"])
            if x.shape == shape:
                return x
            number = scalar_value(x)
            if number is not None and isinstance(number, np.ndarray):
                return self.filled(number, shape)
        return None

    def _simplify_elementwise(self, name: str, args: tuple[Node, ...]) -> Node | None:
        numbers = [scalar_value(a) for a in args]
        if all(n is not None for n in numbers):
            # constants that are one number each (perhaps over a shape): compute the number, keep the shape
            value = SPECS[name].evaluate(*numbers)
            shape = np.broadcast_shapes(*(a.shape for a in args))
            if isinstance(value, (np.ndarray, np.generic)):
                return self.filled(np.asarray(value), shape)
            if shape == ():
                return self.const(value)
            return None
        shape = np.broadcast_shapes(*(a.shape for a in args))
        # a constant array of one number is that number, if the other operand already has the result's shape
        spread = [a.fill is not None and any(b is not a and b.shape == shape for b in args) for a in args]
        if any(spread):
            return self.op(name, *[self.const(a.fill) if s else a for a, s in zip(args, spread)])
        if name == "mul":
            a, b = args
            if scalar_value(a) is not None and scalar_value(b) is None:  # the number goes second
                return self.op("mul", b, a)
            if _is_number(b, 1) and a.shape == shape and _weak_or(b, a.dtype):
                return a
            if (scalar_value(b) is not None and a.kind == "op" and a.op == "mul" and scalar_value(a.args[1]) is not None
                    and _weak_or(b, a.dtype) and _weak_or(a.args[1], a.dtype)):
                # (x * c1) * c2 is x * (c1 * c2): one pass over x instead of two
                return self.op("mul", a.args[0], self.op("mul", a.args[1], b))
            if scalar_value(b) is not None and a.kind == "op" and a.op == "neg":
                return self.op("mul", a.args[0], self.op("neg", b))
        if name == "div" and _is_number(args[1], 1) and args[0].shape == shape and _weak_or(args[1], args[0].dtype):
            return args[0]
        if name == "neg" and args[0].kind == "op" and args[0].op == "neg":
            return args[0].args[0]
        if name == "neg" and args[0].kind == "op" and args[0].op == "mul" and scalar_value(args[0].args[1]) is not None:
            return self.op("mul", args[0].args[0], self.op("neg", args[0].args[1]))
        if name == "gt" and _is_number(args[1], 0):
            # max(x, 0) > 0 exactly where x > 0 (NaN included): read ReLU's mask from its output, so that
            # its input need not stay alive until the backward pass
            relu = self._table.get(("maximum", (args[0].index, args[1].index), ()))
            if relu is not None:
                return self.op("gt", relu, args[1])
        return None

    def _simplify_sum(self, x: Node, attrs: dict[str, Any]) -> Node | None:
        axis, keepdims = attrs.get("axis"), attrs.get("keepdims", False)
        float_dtype = x.dtype in (np.dtype(np.float32), np.dtype(np.float64))
        if (axis is None and not keepdims and x.kind == "op" and x.op == "mul" and float_dtype
                and x.args[0].shape == x.args[1].shape == x.shape and x.args[0].dtype == x.args[1].dtype == x.dtype):
            # the sum of a product of two arrays of one shape is their dot product (one BLAS call)
            return self.op("vdot", *x.args)
        if axis in (0, (0,)) and not keepdims and x.ndim == 2 and float_dtype and x.shape[0] > 1:
            # NOTE: summing the rows of a tall batch through the BLAS (ones @ x) is 2-10x faster than
            # np.add.reduce over axis 0 (16 µs against 1.7 µs on the 1046×4 fare net), with another order
            # of additions
            return self.op("matmul", self.ones(x.shape[0], x.dtype), x)
        return None


def _stand_in(name: str, a: np.ndarray, b: np.ndarray) -> Any:
    """Zeros of the shape and dtype of a @ b (or np.vdot), computed from one column of the contraction.

    NOTE: only the shapes and dtypes of a product matter to the program (constants fold only from
    constants), so the trace skips the BLAS work: on the wide MLP it was most of the trace time.
    """
    if name == "vdot":
        return np.zeros((), np.result_type(a, b))[()]
    a1 = a[..., :1] if np.ndim(a) else a
    b1 = (b[..., :1, :] if np.ndim(b) >= 2 else b[:1]) if np.ndim(b) else b
    return np.zeros_like(a1 @ b1)


def _weak_or(node: Node, dtype: np.dtype | None) -> bool:
    """True when `node` is a Python number or has `dtype`: folding it changes no result dtype."""
    return node.dtype is None or node.dtype == dtype


def output_nodes(output: Any) -> list[Node]:
    """The nodes of a step's result: one node, or those in a (nested) tuple or list of them; numbers are none."""
    if isinstance(output, Node):
        return [output]
    if isinstance(output, (tuple, list)):
        return [n for o in output for n in output_nodes(o)]
    return []


def replay(nodes: list[Node], substitute: dict[int, Any]) -> tuple[Builder, dict[int, Node]]:
    """Build `nodes` again through a simplifying builder, with the constants of `substitute` (by node index)
    replaced; returns the builder and the map from each old node's index to its new node.

    The compiler uses it to fold SGD's learning rate into the backward pass: seeded with lr instead of 1,
    every gradient comes out already scaled, so each update is one subtraction.
    """
    b = Builder(simplify=True)
    new: dict[int, Node] = {}
    for n in nodes:
        b.stage = n.stage
        if n.index in substitute:
            made = b.const(substitute[n.index])
        elif n.kind == "op":
            made = b.op(n.op, *[new[a.index] for a in n.args], **n.attrs)
        elif n.kind == "update":
            made = b.update(n.op, tuple(new[a.index] for a in n.args), **n.attrs)
        elif n.kind == "const" and n.attrs.get("ones"):
            made = b.ones(n.value.shape[0], n.value.dtype)
        elif n.kind == "const" and n.fill is not None:
            made = b.filled(n.fill, n.shape)
        elif n.kind == "const" and n.op == "const":
            made = b.const(n.value)
        else:
            made = b.leaf(n.kind, n.value, **n.attrs)
            made.op = n.op
        if made.name is None and n.name is not None:
            made.name, made.strong, made.display = n.name, n.strong, n.display
        new[n.index] = made
    return b, new
