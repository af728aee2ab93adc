"""Symbolic VJPs: an op's `formulas` string with the graph's tensors put in, as a Python expression tree.

`explain.py` chains these trees into the backward pass. Every tree is printed two ways from the
same nodes, so the two can never disagree: as textbook maths (`Xᵀ · dL/dZ1`: `·` matrix product,
`⊙` elementwise product, `ᵀ` transpose, `1[Z1 > 0]` an indicator, `Σ_rows` a column sum) and as
numpy code (`X.mT @ dL_dZ1`) that the tests evaluate against autograd's `.grad`.

Trees are `ast` expressions. Names in them are looked up in a `Scope`: tensors (their arrays),
gradients (computed from their own formulas) and op parameters that are not plain literals.
"""
from __future__ import annotations

import ast
import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.engine import unbroadcast
from .graph import format_number, format_shape
from ..core.ops import FORMULA_HELPERS

ATOM, UNARY, PRODUCT, SUM = 5, 3, 2, 1
_BINOPS = {
    ast.Add: (" + ", SUM),
    ast.Sub: (" − ", SUM),
    ast.Mult: (" ⊙ ", PRODUCT),
    ast.Div: (" / ", PRODUCT),
    ast.FloorDiv: (" // ", PRODUCT),
    ast.MatMult: (" · ", PRODUCT),
}
_COMPARE = {ast.Gt: ">", ast.Lt: "<", ast.GtE: "≥", ast.LtE: "≤", ast.Eq: "=", ast.NotEq: "≠"}
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass
class Symbol:
    """What a name in a formula stands for: `text` is how it prints, `value` what it evaluates to."""

    text: str
    value: Any
    kind: str = "tensor"


class Scope:
    """The names formulas may use, with numpy and the helpers of ops.FORMULA_HELPERS."""

    def __init__(self) -> None:
        self.symbols: dict[str, Symbol] = {}
        self._env: dict[str, Any] = {**FORMULA_HELPERS, "np": np, "unbroadcast": unbroadcast}

    def add(self, ident: str, text: str, value: Any, kind: str = "tensor") -> ast.Name:
        self.symbols[ident] = Symbol(text, value, kind)
        self._env[ident] = value
        return name(ident)

    def namespace(self) -> dict[str, Any]:
        """Everything an expression needs to run: helpers first, then the symbols' values."""
        return dict(self._env)

    def evaluate(self, node: ast.expr) -> Any:
        code = compile(ast.fix_missing_locations(ast.Expression(body=node)), "<formula>", "eval")
        return eval(code, self._env)

    def shape(self, node: ast.expr) -> tuple[int, ...]:
        return np.shape(self.evaluate(node))


def name(ident: str) -> ast.Name:
    return ast.Name(id=ident, ctx=ast.Load())


def call(func: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=name(func), args=list(args), keywords=[])


def constant(value: Any) -> ast.Constant:
    return ast.Constant(value=value)


def total(nodes: list[ast.expr]) -> ast.expr:
    """a + b + c, for the contributions of several paths."""
    out = nodes[0]
    for node in nodes[1:]:
        out = ast.BinOp(left=out, op=ast.Add(), right=node)
    return out


def to_numpy(node: ast.expr) -> str:
    """The evaluable form: plain numpy code over the scope's identifiers."""
    return ast.unparse(node)


def literal(value: Any) -> Any:
    """value as a Python literal that can sit in a formula (ints, floats, bools, None, tuples), else raise."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return tuple(literal(v) for v in value)
    raise TypeError(f"not a literal: {type(value).__name__}")


def instantiate(formula: str, bindings: dict[str, ast.expr], shapes: dict[str, tuple[int, ...]],
                params: dict[str, ast.expr]) -> ast.expr:
    """Parse an op's formula and put in the graph's nodes: g, x, y, out and the op's parameters.

    `x.shape`, `x.size` and `x.ndim` become numbers, since the shapes of a recorded graph are known.
    """
    tree = ast.parse(formula, mode="eval").body

    class Substitute(ast.NodeTransformer):
        def visit_Attribute(self, node: ast.Attribute) -> Any:
            if isinstance(node.value, ast.Name) and node.value.id in shapes and node.attr in ("shape", "size", "ndim"):
                shape = shapes[node.value.id]
                return constant({"shape": shape, "size": math.prod(shape), "ndim": len(shape)}[node.attr])
            self.generic_visit(node)
            return node

        def visit_Name(self, node: ast.Name) -> Any:
            if node.id in bindings:
                return copy.deepcopy(bindings[node.id])
            if node.id in params:
                return copy.deepcopy(params[node.id])
            return node

    return Substitute().visit(tree)


# ---------------------------------------------------------------- simplification


def simplify(node: ast.expr, scope: Scope) -> ast.expr:
    """Fold constants and drop broadcasts that change nothing, bottom-up, keeping every value exact.

    `expand(1 / N, S) ⊙ A` becomes `A / N` when A already has shape S: the broadcast of a mean's
    gradient disappears into the elementwise product it feeds, as it does on paper.
    """
    for field_name, value in ast.iter_fields(node):
        if isinstance(value, ast.expr):
            setattr(node, field_name, simplify(value, scope))
        elif isinstance(value, list):
            setattr(node, field_name, [simplify(v, scope) if isinstance(v, ast.expr) else v for v in value])
    while True:
        new = _rewrite(node, scope)
        if new is node:
            return node
        node = new


def _number(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)


def _is_one(node: ast.expr) -> bool:
    return _number(node) and node.value == 1


def _expand_parts(node: ast.expr) -> tuple[ast.expr, ast.expr, ast.expr] | None:
    """(g, shape, keepdims) when node is expand(g, shape, None, keepdims), else None."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "expand"
            and len(node.args) == 4 and isinstance(node.args[2], ast.Constant) and node.args[2].value is None):
        return node.args[0], node.args[1], node.args[3]
    return None


def _rewrite(node: ast.expr, scope: Scope) -> ast.expr:
    if isinstance(node, ast.IfExp) and not any(isinstance(n, ast.Name) for n in ast.walk(node.test)):
        return node.body if scope.evaluate(node.test) else node.orelse
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and _number(node.operand):
        return constant(-node.operand.value)
    if isinstance(node, ast.Call) and _all_constant(node):
        folded = _fold_call(node, scope)
        if folded is not None:
            return folded
    parts = _expand_parts(node)
    if parts and isinstance(parts[1], ast.Constant) and scope.shape(parts[0]) == tuple(parts[1].value):
        return parts[0]
    if not isinstance(node, ast.BinOp):
        return node
    left, op, right = node.left, node.op, node.right
    if _number(left) and _number(right):
        folded = _fold_numbers(left.value, op, right.value)
        if folded is not None:
            return constant(folded)
    if isinstance(op, ast.Mult) and _is_one(right) or isinstance(op, ast.Div) and _is_one(right):
        return left
    if isinstance(op, ast.Mult) and _is_one(left):
        return right
    if isinstance(op, ast.Mult) and _is_reciprocal(right):
        return ast.BinOp(left=left, op=ast.Div(), right=right.right)
    if isinstance(op, ast.Mult) and _is_reciprocal(left):
        return ast.BinOp(left=right, op=ast.Div(), right=left.right)
    for side, other in (("left", right), ("right", left)):
        parts = _expand_parts(getattr(node, side))
        if parts is None:
            continue
        g, shape, keepdims = parts
        if _number(other) and isinstance(op, (ast.Mult, ast.Div)) and (side == "left" or isinstance(op, ast.Mult)):
            inner = ast.BinOp(left=g, op=op, right=other) if side == "left" else ast.BinOp(left=other, op=op, right=g)
            return call("expand", inner, shape, constant(None), keepdims)
        if isinstance(op, (ast.Mult, ast.Div, ast.Add, ast.Sub)) and isinstance(shape, ast.Constant):
            theirs = scope.shape(other)
            if np.broadcast_shapes(theirs, tuple(shape.value)) == np.broadcast_shapes(theirs, scope.shape(g)):
                pair = {side: g, ("right" if side == "left" else "left"): other}
                return ast.BinOp(left=pair["left"], op=op, right=pair["right"])
    return node


def _is_reciprocal(node: ast.expr) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and _is_one(node.left) and _number(node.right)


def _fold_numbers(a: float, op: ast.operator, b: float) -> float | None:
    """a op b when the result is as short to read as the expression (never a long decimal)."""
    if isinstance(op, ast.Add):
        out = a + b
    elif isinstance(op, ast.Sub):
        out = a - b
    elif isinstance(op, ast.Mult):
        out = a * b
    elif isinstance(op, ast.FloorDiv) and b != 0:
        out = a // b
    elif isinstance(op, ast.Pow) and isinstance(a, int) and isinstance(b, int) and 0 <= b < 8:
        out = a**b
    elif isinstance(op, ast.Div) and b != 0 and a % b == 0:
        out = a // b if isinstance(a, int) and isinstance(b, int) else a / b
    else:
        return None
    return out if len(format_number(out)) <= 6 and float(format_number(out)) == out else None


def _all_constant(node: ast.Call) -> bool:
    return all(isinstance(a, ast.Constant) for a in node.args) and not node.keywords


def _fold_call(node: ast.Call, scope: Scope) -> ast.expr | None:
    """np.argsort((1, 0)) -> (1, 0): a call on constants that gives a few integers becomes them."""
    func = node.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "np"):
        return None
    value = np.asarray(scope.evaluate(node))
    if value.dtype.kind in "iu" and value.ndim <= 1 and value.size <= 8:
        return constant(tuple(int(v) for v in value.reshape(-1)) if value.ndim else int(value))
    return None


# ---------------------------------------------------------------- printing


def render(node: ast.expr, scope: Scope, shapes: bool = False) -> str:
    """Textbook form of a formula; with shapes=True every tensor term prints as its shape, [1046×4]."""
    return _Render(scope, shapes).visit(node)[0]


def summed_axes(grad_shape: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes engine.unbroadcast sums to bring a gradient of grad_shape back to shape."""
    lead = len(grad_shape) - len(shape)
    return tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad_shape[lead + i] != 1
    )


def sum_label(grad_shape: tuple[int, ...], shape: tuple[int, ...]) -> str:
    """Σ_rows for .sum(axis=0) of a matrix (a column sum), Σ_cols for axis=1, else the axes."""
    axes = summed_axes(grad_shape, shape)
    if axes == (0,) and len(grad_shape) == 2:
        return "Σ_rows"
    if axes == (1,) and len(grad_shape) == 2:
        return "Σ_cols"
    if axes == tuple(range(len(grad_shape))):
        return "Σ_all"
    return "Σ_axes" + ",".join(map(str, axes))


class _Render:
    def __init__(self, scope: Scope, shapes: bool) -> None:
        self.scope, self.shapes = scope, shapes

    def shape_of(self, node: ast.expr) -> str:
        return f"[{format_shape(self.scope.shape(node))}]"

    def visit(self, node: ast.expr) -> tuple[str, int]:
        if isinstance(node, ast.Name):
            symbol = self.scope.symbols.get(node.id)
            if symbol is None:
                return node.id, ATOM
            if self.shapes and symbol.kind in ("tensor", "grad") and np.ndim(symbol.value) > 0:
                return self.shape_of(node), ATOM
            return symbol.text, ATOM
        if isinstance(node, ast.Constant):
            return _constant_text(node.value), ATOM if not _number(node) or node.value >= 0 else UNARY
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            text, prec = self.visit(node.operand)
            return "−" + (text if prec >= UNARY else f"({text})"), UNARY
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            if self.shapes:
                return self.shape_of(node), ATOM
            left, right = self.visit(node.left)[0], self.visit(node.comparators[0])[0]
            return f"1[{left} {_COMPARE[type(node.ops[0])]} {right}]", ATOM
        if isinstance(node, ast.Attribute) and node.attr in ("mT", "T"):
            if self.shapes:
                return self.shape_of(node), ATOM
            return self.postfix(node.value, "ᵀ"), ATOM
        if _is_mask(node):
            return self.binop(ast.BinOp(left=node.args[1], op=ast.Mult(), right=node.args[0]))
        if isinstance(node, ast.Call):
            return self.call(node), ATOM
        return ast.unparse(node), ATOM

    def postfix(self, node: ast.expr, mark: str) -> str:
        text, prec = self.visit(node)
        return (text if prec >= ATOM else f"({text})") + mark

    def binop(self, node: ast.BinOp) -> tuple[str, int]:
        if isinstance(node.op, ast.Pow):
            base = self.postfix(node.left, "")
            exponent = node.right
            if _number(exponent) and float(exponent.value).is_integer() and 0 <= exponent.value < 10:
                return base + str(int(exponent.value)).translate(_SUPERSCRIPT), ATOM
            return f"{base}^({self.visit(exponent)[0]})", ATOM
        symbol, prec = _BINOPS[type(node.op)]
        left, lprec = self.visit(node.left)
        right, rprec = self.visit(node.right)
        if lprec < prec or prec == PRODUCT and self.mixes(node.left, node.op):
            left = f"({left})"
        if rprec <= prec:
            right = f"({right})"
        return left + symbol + right, prec

    @staticmethod
    def mixes(child: ast.expr, op: ast.operator) -> bool:
        """A matrix product next to an elementwise one always gets brackets: (A · B) ⊙ C."""
        if not isinstance(child, ast.BinOp) or _BINOPS.get(type(child.op), ("", 0))[1] != PRODUCT:
            return False
        return isinstance(child.op, ast.MatMult) != isinstance(op, ast.MatMult)

    def call(self, node: ast.Call) -> str:
        func = node.func
        args = node.args
        if isinstance(func, ast.Name) and func.id == "expand":
            if self.shapes:
                return self.shape_of(node)
            g = self.visit(args[0])[0]
            target = self.visit(args[1])[0]
            axis = args[2]
            extra = "" if isinstance(axis, ast.Constant) and axis.value is None else f", axis={self.visit(axis)[0]}"
            return f"broadcast({g}, {target}{extra})"
        if isinstance(func, ast.Name) and func.id == "unbroadcast":
            shape = tuple(args[1].value)
            label = sum_label(self.scope.shape(args[0]), shape)
            return f"{label}({self.visit(args[0])[0]})"
        if isinstance(func, ast.Attribute) and func.attr == "transpose" and len(args) == 1:
            axes = args[0].value if isinstance(args[0], ast.Constant) else None
            if axes == (1, 0):
                return self.postfix(func.value, "ᵀ")
            return f"transpose({self.visit(func.value)[0]}, axes={axes if axes is not None else ast.unparse(args[0])})"
        if isinstance(func, ast.Attribute) and not (isinstance(func.value, ast.Name) and func.value.id == "np"):
            inner = [self.visit(func.value)[0]] + [self.visit(a)[0] for a in args]
            return f"{func.attr}({', '.join(inner)})"
        label = func.attr if isinstance(func, ast.Attribute) else ast.unparse(func)
        return f"{label}({', '.join(self.visit(a)[0] for a in args)})"


def _is_mask(node: ast.expr) -> bool:
    """where(c, a, 0): printed as the textbook's a ⊙ 1[c]."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "where"
            and len(node.args) == 3 and _number(node.args[2]) and node.args[2].value == 0)


def _constant_text(value: Any) -> str:
    if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
        return format_shape(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value)
    return repr(value)
