"""Turn an op's numpy text (its forward `expression`, a derivative in `formulas`) into nodes of the joint graph.

The op table writes every derivative once, as a numpy expression over `g`, `x`, `y`, `out` and the op's
params (`MatMul`: "g @ y.mT"; `ReLU`: "where(x > 0, g, 0)"). This module reads such a text as a
tree and evaluates it on graph nodes instead of arrays: each numpy operation on a node becomes a node,
and everything that depends only on shapes and parameters (`x.shape`, `x.size // out.size`,
`np.argsort(axes)`, the `if` of `Pow`'s formula) is computed right away, so the program holds numbers.
"""
from __future__ import annotations

import ast
import functools
from typing import Any

import numpy as np

from .ir import Builder, Node

# numpy functions of the formulas' vocabulary (and of ops.FORMULA_HELPERS) and the node each becomes
_FUNCTIONS = {
    "np.exp": "exp", "np.log": "log", "np.tanh": "tanh", "np.sqrt": "sqrt", "np.maximum": "maximum",
    "np.where": "where", "where": "where", "np.add.reduce": "sum", "np.sum": "sum",
    "np.broadcast_to": "broadcast_to", "np.expand_dims": "expand_dims", "np.negative": "neg",
    "np.abs": "abs", "np.sign": "sign", "sign": "sign", "exp": "exp", "log": "log", "np.minimum": "minimum",
    "np.clip": "clip", "np.max": "max",
}
_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow", ast.MatMult: "matmul",
           ast.BitAnd: "and", ast.BitOr: "or", ast.BitXor: "xor"}
# comparisons of arrays and the node each becomes; `a < b` is written `b > a`, `a <= b` is `b >= a`
_ARRAY_COMPARE = {ast.Gt: ("gt", False), ast.Lt: ("gt", True), ast.GtE: ("ge", False), ast.LtE: ("ge", True),
                  ast.Eq: ("eq", False), ast.NotEq: ("ne", False)}
_STATIC_BINOPS = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b, ast.Pow: lambda a, b: a**b,
    ast.Mod: lambda a, b: a % b, ast.MatMult: lambda a, b: a @ b,
}
_COMPARE = {
    ast.Gt: lambda a, b: a > b, ast.Lt: lambda a, b: a < b, ast.GtE: lambda a, b: a >= b,
    ast.LtE: lambda a, b: a <= b, ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
}
_BUILTINS = {"max": max, "min": min, "abs": abs, "len": len, "int": int, "float": float, "tuple": tuple}


class LoweringError(ValueError):
    """An op's text uses something the compiler cannot turn into numpy code."""


class Shaped:
    """Stands for an array of which only the shape is known (an op's `out` in its forward expression)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape, self.ndim = tuple(shape), len(shape)
        self.size = int(np.prod(shape)) if shape else 1


class _Dotted:
    """A dotted name such as np.add.reduce, resolved when it is called."""

    def __init__(self, path: str) -> None:
        self.path = path

    def resolve(self) -> Any:
        head, *rest = self.path.split(".")
        value: Any = {"np": np}.get(head) or _BUILTINS.get(head)
        if value is None:
            raise LoweringError(f"unknown name {head!r}")
        for part in rest:
            value = getattr(value, part)
        return value


@functools.lru_cache(maxsize=None)
def _parse(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def lower(text: str, env: dict[str, Any], builder: Builder) -> Any:
    """Evaluate numpy text `text` with the names of `env` (nodes or plain values); returns a node or a value."""
    try:
        return _Lowering(env, builder).visit(_parse(text))
    except LoweringError as err:
        raise LoweringError(f"cannot compile {text!r}: {err}") from None


class _Lowering(ast.NodeVisitor):
    def __init__(self, env: dict[str, Any], builder: Builder) -> None:
        self.env, self.b = env, builder

    def generic_visit(self, node: ast.AST) -> Any:
        raise LoweringError(f"{type(node).__name__} is not supported")

    def visit_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in self.env:
            return self.env[node.id]
        if node.id in ("np", "expand", "where", "index_backward", "sign", "exp", "log") or node.id in _BUILTINS:
            return _Dotted(node.id)
        raise LoweringError(f"unknown name {node.id!r}")

    def visit_Tuple(self, node: ast.Tuple) -> Any:
        items = [self.visit(e) for e in node.elts]
        if any(isinstance(i, Node) for i in items):
            raise LoweringError("a tuple of arrays")
        return tuple(items)

    visit_List = visit_Tuple

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        base = self.visit(node.value)
        if isinstance(base, _Dotted):
            return _Dotted(f"{base.path}.{node.attr}")
        if isinstance(base, Node):
            if node.attr in ("shape", "size", "ndim", "dtype"):
                return getattr(base.value if node.attr != "size" else np.asarray(base.value), node.attr)
            if node.attr == "T":
                return self.b.op("transpose", base, axes=tuple(reversed(range(base.ndim))))
            if node.attr == "mT":
                axes = list(range(base.ndim))
                axes[-2:] = axes[:-3:-1]
                return self.b.op("transpose", base, axes=tuple(axes))
            raise LoweringError(f"attribute .{node.attr} of an array")
        return getattr(base, node.attr)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(operand, Node):
            if isinstance(node.op, ast.USub):
                return self.b.op("neg", operand)
            if isinstance(node.op, ast.Invert):
                return self.b.op("invert", operand)
            raise LoweringError(f"{type(node.op).__name__} of an array")
        return {ast.USub: lambda v: -v, ast.Not: lambda v: not v, ast.Invert: lambda v: ~v}[type(node.op)](operand)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(left, Node) or isinstance(right, Node):
            name = _BINOPS.get(type(node.op))
            if name is None:
                raise LoweringError(f"{type(node.op).__name__} of arrays")
            return self.b.op(name, left, right)
        return _STATIC_BINOPS[type(node.op)](left, right)

    def visit_Compare(self, node: ast.Compare) -> Any:
        if len(node.ops) != 1:
            raise LoweringError("a chained comparison")
        left, right, op = self.visit(node.left), self.visit(node.comparators[0]), type(node.ops[0])
        if isinstance(left, Node) or isinstance(right, Node):
            name, swap = _ARRAY_COMPARE[op] if op in _ARRAY_COMPARE else (None, False)
            if name is None:
                raise LoweringError(f"{op.__name__} of arrays")
            return self.b.op(name, right, left) if swap else self.b.op(name, left, right)
        return _COMPARE[op](left, right)

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        values = [self.visit(v) for v in node.values]
        if any(isinstance(v, Node) for v in values):
            raise LoweringError("and/or of arrays")
        return all(values) if isinstance(node.op, ast.And) else any(values)

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        test = self.visit(node.test)
        if isinstance(test, Node):
            raise LoweringError("an if on an array's values")
        return self.visit(node.body if test else node.orelse)

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        value, index = self.visit(node.value), self.visit(node.slice)
        if isinstance(index, Node):
            raise LoweringError("an index that is an array node")
        if isinstance(value, Node):
            return self.b.op("index", value, index=index)
        return value[index]

    def visit_Slice(self, node: ast.Slice) -> Any:
        parts = [None if p is None else self.visit(p) for p in (node.lower, node.upper, node.step)]
        return slice(*parts)

    def visit_Call(self, node: ast.Call) -> Any:
        args = [self.visit(a) for a in node.args]
        kwargs = {k.arg: self.visit(k.value) for k in node.keywords}
        if isinstance(node.func, ast.Attribute):
            owner = self.visit(node.func.value)
            if isinstance(owner, Node):
                return self._method(owner, node.func.attr, args, kwargs)
            func = _Dotted(f"{owner.path}.{node.func.attr}") if isinstance(owner, _Dotted) else getattr(
                owner, node.func.attr)
        else:
            func = self.visit(node.func)
        if isinstance(func, _Dotted):
            if func.path == "expand":
                return self._expand(*args, **kwargs)
            if func.path == "index_backward":
                g, shape, index = args
                return self.b.op("index_add", g, shape=tuple(shape), index=index)
            name = _FUNCTIONS.get(func.path)
            if name is not None and any(isinstance(a, Node) for a in args):
                return self._function(name, args, kwargs)
            func = func.resolve()
        if any(isinstance(a, Node) for a in [*args, *kwargs.values()]):
            raise LoweringError(f"{getattr(func, '__name__', func)!s}() on arrays")
        return func(*args, **kwargs)

    # ------------------------------------------------------------ numpy on nodes

    def _function(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Node:
        if name == "sum":
            x, *rest = args
            axis = rest[0] if rest else kwargs.get("axis")
            return self.b.op("sum", x, axis=_axis(axis), keepdims=bool(kwargs.get("keepdims", False)))
        if name == "max":
            x, *rest = args
            axis = rest[0] if rest else kwargs.get("axis")
            return self.b.op("max", x, axis=_axis(axis), keepdims=bool(kwargs.get("keepdims", False)))
        if name == "broadcast_to":
            return self.b.op("broadcast_to", args[0], shape=tuple(args[1]))
        if name == "expand_dims":
            return self.b.op("expand_dims", args[0], axis=_axis(args[1]))
        return self.b.op(name, *args)

    def _method(self, x: Node, name: str, args: list[Any], kwargs: dict[str, Any]) -> Node:
        if name == "reshape":
            shape = args[0] if len(args) == 1 and not isinstance(args[0], int) else args
            return self.b.op("reshape", x, shape=tuple(np.empty(x.shape, dtype=np.bool_).reshape(shape).shape))
        if name == "transpose":
            axes = args[0] if len(args) == 1 and not isinstance(args[0], int) else args
            axes = tuple(reversed(range(x.ndim))) if axes is None or len(axes) == 0 else tuple(int(a) for a in axes)
            return self.b.op("transpose", x, axes=axes)
        if name == "sum":
            axis = args[0] if args else kwargs.get("axis")
            return self.b.op("sum", x, axis=_axis(axis), keepdims=bool(kwargs.get("keepdims", False)))
        if name == "astype":
            return self.b.op("astype", x, dtype=np.dtype(args[0]))
        raise LoweringError(f"method .{name}() of an array")

    def _expand(self, g: Any, shape: tuple[int, ...], axis: Any = None, keepdims: bool = False) -> Node:
        """ops.expand: put back the axes a reduction removed, then broadcast to `shape`."""
        if not isinstance(g, Node):
            g = self.b.const(g)
        if g.ndim and axis is not None and not keepdims:
            g = self.b.op("expand_dims", g, axis=_axis(axis))
        return self.b.op("broadcast_to", g, shape=tuple(shape))


def _axis(axis: Any) -> Any:
    if axis is None or isinstance(axis, int):
        return axis
    return tuple(int(a) for a in axis)

