"""Symbolic VJPs: an op's `formulas` string with the graph's tensors put in, as a Python expression tree.

`explain.py` chains these trees into the backward pass. Every tree is printed two ways from the
same nodes, so the two can never disagree: as textbook maths (`Xᵀ · ∂L/∂Z1`: `·` matrix product,
`⊙` elementwise product, `ᵀ` transpose, `1[Z1 > 0]` an indicator, `Σ_rows` a column sum) and as
plain numpy code (`X.T @ dL_dZ1`, `A.sum(axis=0)`, `np.where(...)`: no helper of minigrad's) that
the tests evaluate against autograd's `.grad`.

Trees are `ast` expressions. Names in them are looked up in a `Scope`: tensors (their arrays),
gradients (computed from their own formulas) and op parameters that are not plain literals.
"""
from __future__ import annotations

import ast
import copy
import functools
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

    def values(self) -> dict[str, Any]:
        """numpy and the symbols' values only: what a `to_numpy` expression needs, and all it gets."""
        return {"np": np} | {ident: symbol.value for ident, symbol in self.symbols.items()}

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


def to_numpy(node: ast.expr, scope: "Scope | None" = None) -> str:
    """The evaluable form in numpy alone, over the scope's identifiers.

    The formula helpers become what they stand for: `unbroadcast(A, (4,))` is `A.sum(axis=0)`,
    `where(c, a, 0)` is `np.where(c, a, 0)`, `expand(g, shape)` is `np.broadcast_to(g, shape)`, and a
    2-D `.mT` is `.T`. With no scope (no shapes known) only the names are rewritten.
    """
    return ast.unparse(_Numpy(scope).visit(copy.deepcopy(node)))


class _Numpy(ast.NodeTransformer):
    def __init__(self, scope: "Scope | None") -> None:
        self.scope = scope

    def shape(self, node: ast.expr) -> tuple[int, ...] | None:
        return None if self.scope is None else self.scope.shape(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr == "mT" and self.shape(node.value) is not None and len(self.shape(node.value)) == 2:
            return ast.Attribute(value=self.visit(node.value), attr="T", ctx=ast.Load())
        self.generic_visit(node)
        return node

    def visit_Call(self, node: ast.Call) -> Any:
        func = node.func.id if isinstance(node.func, ast.Name) else None
        if func == "unbroadcast" and self.scope is not None:
            grad_shape, shape = self.scope.shape(node.args[0]), tuple(node.args[1].value)
            return _sum_to(self.visit(node.args[0]), grad_shape, shape)
        self.generic_visit(node)
        np_attr = lambda attr: ast.Attribute(value=name("np"), attr=attr, ctx=ast.Load())  # noqa: E731
        if func == "where":
            return ast.Call(func=np_attr("where"), args=node.args, keywords=[])
        if func == "expand":
            g, shape, axis, keepdims = (node.args + [constant(None), constant(False)])[:4]
            if not (isinstance(axis, ast.Constant) and axis.value is None) and not (
                    isinstance(keepdims, ast.Constant) and keepdims.value):
                g = ast.Call(func=np_attr("expand_dims"), args=[g, axis], keywords=[])
            return ast.Call(func=np_attr("broadcast_to"), args=[g, shape], keywords=[])
        if func == "index_backward":
            g, shape, index = node.args
            zeros = ast.Call(func=np_attr("zeros"), args=[shape], keywords=[])
            z = ast.NamedExpr(target=ast.Name(id="z", ctx=ast.Store()), value=zeros)
            add_at = ast.Call(func=ast.Attribute(value=np_attr("add"), attr="at", ctx=ast.Load()),
                              args=[name("z"), index, g], keywords=[])
            return ast.Subscript(value=ast.Tuple(elts=[z, add_at, name("z")], ctx=ast.Load()),
                                 slice=constant(-1), ctx=ast.Load())
        return node


def _sum_to(node: ast.expr, grad_shape: tuple[int, ...], shape: tuple[int, ...]) -> ast.expr:
    """node.sum(...) with the axes engine.unbroadcast sums: leading axes away, stretched axes kept as 1."""
    lead = len(grad_shape) - len(shape)
    kept = tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad_shape[lead + i] != 1)
    out = node
    if lead:
        axis = constant(0 if lead == 1 else tuple(range(lead)))
        out = ast.Call(func=ast.Attribute(value=out, attr="sum", ctx=ast.Load()), args=[],
                       keywords=[ast.keyword(arg="axis", value=axis)])
    if kept:
        axes = tuple(k - lead for k in kept)
        out = ast.Call(func=ast.Attribute(value=out, attr="sum", ctx=ast.Load()), args=[],
                       keywords=[ast.keyword(arg="axis", value=constant(axes[0] if len(axes) == 1 else axes)),
                                 ast.keyword(arg="keepdims", value=constant(True))])
    return out


def pull_scalars(node: ast.expr) -> tuple[Any, Any, ast.expr]:
    """(num, den, rest) with node == num / den * rest: the numbers of a product gathered in front.

    `Xᵀ · (2 ⊙ (Ŷ − Y) / 1046 · W2ᵀ)` gives (2, 1046, `Xᵀ · ((Ŷ − Y) · W2ᵀ)`), as a student writes
    (2/n) in front. It looks through products, divisions by numbers, transposes, negation, masks
    (where(c, a, 0) is linear in a) and broadcast sums; a sum of terms keeps its numbers inside.
    """
    if _number(node):
        return node.value, 1, constant(1)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        num, den, rest = pull_scalars(node.operand)
        return -num, den, rest
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.MatMult)):
        n1, d1, left = pull_scalars(node.left)
        n2, d2, right = pull_scalars(node.right)
        if isinstance(node.op, ast.Mult) and _is_one(left):
            return n1 * n2, d1 * d2, right
        if isinstance(node.op, ast.Mult) and _is_one(right):
            return n1 * n2, d1 * d2, left
        return n1 * n2, d1 * d2, ast.BinOp(left=left, op=node.op, right=right)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and _number(node.right):
        num, den, rest = pull_scalars(node.left)
        return num, den * node.right.value, rest
    if isinstance(node, ast.Attribute) and node.attr in ("mT", "T"):
        num, den, rest = pull_scalars(node.value)
        return num, den, ast.Attribute(value=rest, attr=node.attr, ctx=ast.Load())
    if _is_mask(node):
        num, den, rest = pull_scalars(node.args[1])
        return num, den, call("where", node.args[0], rest, node.args[2])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "unbroadcast":
        num, den, rest = pull_scalars(node.args[0])
        return num, den, call("unbroadcast", rest, node.args[1])
    return 1, 1, node


def scaled(num: Any, den: Any, node: ast.expr) -> ast.expr:
    """num * rest / den as a tree again (the evaluable twin of a pulled-out coefficient)."""
    out = node
    if num != 1 or _is_one(node):
        out = ast.BinOp(left=constant(num), op=ast.Mult(), right=out) if not _is_one(node) else constant(num)
    if den != 1:
        out = ast.BinOp(left=out, op=ast.Div(), right=constant(den))
    return out


def render_scaled(num: Any, den: Any, node: ast.expr, scope: Scope) -> str:
    """A coefficient and the rest: '(2/1046)(Ŷ − Y)', '(2/1046) Xᵀ · (…)', or the rest alone."""
    coef = coefficient(num, den)
    if _is_one(node):
        return coef or "1"
    text, prec = _Render(scope, False).visit(node)
    if not coef:
        return text
    if prec <= SUM:
        return f"{coef}({text})"
    return f"{coef}{text}" if text.startswith("(") and _Render.closed(text) else f"{coef} {text}"


def coefficient(num: Any, den: Any) -> str:
    """'(2/1046)', '2', '−1', or '' for 1: a coefficient written in front of a product."""
    if den == 1:
        return "" if num == 1 else ("−" if num == -1 else format_number(num).replace("-", "−"))
    sign = "−" if num < 0 else ""
    return f"{sign}({format_number(abs(num))}/{format_number(den)})"


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


def gradient_shape(t: Any, i: int) -> tuple[int, ...]:
    """The shape of op t's formula for input i before the engine sums it back: where a broadcast shows.

    It differs from the input's shape exactly when the forward pass broadcast that input (b1 of
    shape (4,) added to a (1046, 4) product), since a formula returns the output's broadcast shape.
    The formula runs on stand-in arrays of ones that take no memory (np.broadcast_to).
    """
    x = t.inputs[i]
    if x.shape == t.shape:
        return x.shape
    stand_in = {k: np.broadcast_to(np.ones((), t.dtype), p.shape)
                for k, p in zip(("x", "y"), t.inputs)}
    env = {**FORMULA_HELPERS, **stand_in, **t.op_params,
           "out": np.broadcast_to(np.ones((), t.dtype), t.shape), "g": np.broadcast_to(np.ones((), t.dtype), t.shape)}
    with np.errstate(all="ignore"):
        return np.shape(eval(_compiled(t.op_type.formulas[i]), env))


@functools.lru_cache(maxsize=None)
def _compiled(formula: str) -> Any:
    return compile(formula, "<formula>", "eval")


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
    if _is_mask(node) and _is_one(node.args[1]):
        return node.args[0]
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


def render(node: ast.expr, scope: Scope, shapes: bool = False, index: bool = False) -> str:
    """Textbook form of a formula; with shapes=True every tensor term prints as its shape, [1046×4].

    With index=True every matrix prints as its entry, (Z1)ᵢⱼ, for an elementwise formula read
    entry by entry: `1[(Z1)ᵢⱼ > 0]`.
    """
    return _Render(scope, shapes, index).visit(node)[0]


ENTRY = {1: "ⱼ", 2: "ᵢⱼ"}


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
    def __init__(self, scope: Scope, shapes: bool, index: bool = False) -> None:
        self.scope, self.shapes, self.index = scope, shapes, index

    def shape_of(self, node: ast.expr) -> str:
        return f"[{format_shape(self.scope.shape(node))}]"

    def visit(self, node: ast.expr) -> tuple[str, int]:
        if isinstance(node, ast.Name):
            symbol = self.scope.symbols.get(node.id)
            if symbol is None:
                return node.id, ATOM
            if self.shapes and symbol.kind in ("tensor", "grad") and np.ndim(symbol.value) > 0:
                return self.shape_of(node), ATOM
            if self.index and symbol.kind in ("tensor", "grad") and np.ndim(symbol.value) in ENTRY:
                text = symbol.text if symbol.text.startswith("(") or len(symbol.text) == 1 else f"({symbol.text})"
                return text + ENTRY[np.ndim(symbol.value)], ATOM
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
        if self.index and isinstance(node.op, ast.Mult):
            symbol = " · "
        left, lprec = self.visit(node.left)
        right, rprec = self.visit(node.right)
        if lprec < prec or prec == PRODUCT and self.mixes(node.left, node.op):
            left = f"({left})"
        if rprec <= prec:
            right = f"({right})"
        return left + symbol + right, prec

    @staticmethod
    def closed(text: str) -> bool:
        """Whether text is one bracketed group, '(Ŷ − Y)' but not '(A) · (B)'."""
        depth = 0
        for k, ch in enumerate(text):
            depth += (ch == "(") - (ch == ")")
            if depth == 0 and k < len(text) - 1:
                return False
        return text.startswith("(")

    def arg(self, node: ast.expr) -> str:
        """A call's argument: a name that prints bracketed, '(Ŷ − Y)', loses its brackets there."""
        text = self.visit(node)[0]
        return text[1:-1] if isinstance(node, ast.Name) and self.closed(text) else text

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
            return f"{label}({self.arg(args[0])})"
        if isinstance(func, ast.Attribute) and func.attr == "transpose" and len(args) == 1:
            axes = args[0].value if isinstance(args[0], ast.Constant) else None
            if axes == (1, 0):
                return self.postfix(func.value, "ᵀ")
            return f"transpose({self.visit(func.value)[0]}, axes={axes if axes is not None else ast.unparse(args[0])})"
        if isinstance(func, ast.Attribute) and not (isinstance(func.value, ast.Name) and func.value.id == "np"):
            inner = [self.visit(func.value)[0]] + [self.visit(a)[0] for a in args]
            return f"{func.attr}({', '.join(inner)})"
        label = func.attr if isinstance(func, ast.Attribute) else ast.unparse(func)
        return f"{label}({', '.join(self.arg(a) for a in args)})"


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
