"""The backward pass explained (exercise 6.3): chain-rule paths, local steps with shapes, final formulas.

`explain_backward(loss)` reads the recorded graph below `loss` and, for every tensor that gets a
gradient, writes what a student writes by hand: the path(s) from the loss down to it through the
recorded ops, one local vector-Jacobian step per op with the shape of every term, and the final
vectorised formula in the graph's own names, e.g. `dL/dW1 = Xᵀ · ((dL/dYhat · W2ᵀ) ⊙ 1[Z1 > 0])`.

Nothing is written by hand here: each step is an op's symbolic VJP (`Op.formulas` in `ops.py`, the
table next to the numeric `vjp`) with the graph's tensors put in, and broadcast reductions are the
engine's `unbroadcast`. Each formula keeps an evaluable numpy form (`Gradient.expression`), so the
tests check every printed formula against autograd's `.grad` instead of trusting it.
"""
from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import symbolic as sym
from .graph import GraphInfo, format_shape, format_space, inspect_graph
from .symbolic import Scope
from ..core import Tensor

NOTATION = (
    "· matrix product, ⊙ elementwise product, ᵀ transpose, 1[Z1 > 0] is 1 where Z1 > 0 and 0 elsewhere,",
    "Σ_rows(A) = A.sum(axis=0), the column sum that undoes a broadcast over rows; [n×m] is a term's shape;",
    "a `+=` step adds one path's share to a gradient that several paths reach.",
)
# A chain of more local steps than this gets a named gradient in between, so formulas stay readable
# (a 3-layer MLP's dL/dW1 is 8 steps) and deep graphs never nest formulas deeper than this.
MAX_INLINE_STEPS = 12


class FormulaError(RuntimeError):
    """An op's symbolic VJP cannot be used for the graph at hand (missing, or wrong shape)."""


@dataclass
class Step:
    """One local chain-rule step: the gradient of an op's input from the gradient of its output."""

    op: str
    target: str
    formula: str
    shapes: str
    shape: tuple[int, ...]
    accumulates: bool = False

    @property
    def equation(self) -> str:
        return f"{self.target} {'+=' if self.accumulates else '='} {self.formula}"

    @property
    def shape_text(self) -> str:
        result = format_shape(self.shape)
        return result if self.shapes == f"[{result}]" else f"{self.shapes} → {result}"


@dataclass
class Gradient:
    """The explanation of one gradient: paths, steps, and the formula that is checked numerically.

    `formula` is the textbook form and `expression` the same tree as numpy code over the names of
    `BackwardExplanation.namespace()`; `evaluate()` runs it.
    """

    name: str
    symbol: str
    shape: tuple[int, ...]
    formula: str
    shapes: str
    expression: str
    paths: list[str]
    steps: list[list[Step]]
    kind: str = "parameter"
    alias: str | None = None
    total_paths: int = 1
    where: dict[str, str] = field(default_factory=dict)
    scope: Scope | None = field(default=None, repr=False, compare=False)

    def evaluate(self) -> np.ndarray:
        """Run `expression` with the graph's arrays (gradients it names come from their own formulas)."""
        return eval(self.expression, self.scope.namespace())

    @property
    def title(self) -> str:
        dims = format_space(self.shape)
        what = f"{self.name} = {self.alias}" if self.alias and self.alias != self.name else self.name
        if self.kind == "shared":
            return f"{self.symbol}, shared by the gradients below ({self.name} ∈ {dims})"
        return f"{self.symbol}  ({what} ∈ {dims})"

    def __str__(self) -> str:
        return _gradient_text(self)


@dataclass
class BackwardExplanation:
    """The whole backward pass: shared intermediate gradients first, then one entry per parameter."""

    loss: str
    shared: list[Gradient]
    params: list[Gradient]
    scope: Scope = field(repr=False, compare=False)

    @property
    def gradients(self) -> list[Gradient]:
        return self.shared + self.params

    def __getitem__(self, key: str) -> Gradient:
        """Look a gradient up by tensor name ('W1'), module path ('0.weight') or symbol ('dL/dW1')."""
        for g in self.gradients:
            if key in (g.name, g.alias, g.symbol):
                return g
        raise KeyError(f"no gradient named {key!r}; have {[g.name for g in self.gradients]}")

    def namespace(self) -> dict[str, Any]:
        """numpy, the formula helpers, every tensor's array and every shared gradient's value."""
        return self.scope.namespace()

    def __str__(self) -> str:
        head = [f"Backward pass of {self.loss}, from the recorded graph and each op's symbolic VJP", *NOTATION]
        return "\n\n".join(["\n".join(head)] + [str(g) for g in self.gradients]) + "\n"

    __repr__ = __str__

    def to_markdown(self) -> str:
        """The same explanation as Markdown (for backprop.md): a section and a step table per gradient."""
        lines = [f"# Backward pass of {self.loss}", ""]
        lines += ["Derived from the recorded graph and each op's symbolic VJP (`Op.formulas` in `minigrad/ops.py`).",
                  "Notation: " + " ".join(NOTATION), ""]
        for g in self.gradients:
            lines += _gradient_markdown(g)
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def save_markdown(self, path: str | Path) -> Path:
        """Write `to_markdown()` to path (UTF-8) and return the path."""
        path = Path(path)
        path.write_text(self.to_markdown(), encoding="utf-8")
        return path


def explain_backward(
    loss: Tensor,
    names: Mapping[Tensor, str] | None = None,
    params: Any = None,
    max_paths: int = 8,
) -> BackwardExplanation:
    """Explain how backward() gets the gradient of every leaf that requires grad below `loss`.

    Works before or after backward (the formulas use only the tensors' `.data`). Print the
    result for text, or call `to_markdown()`.

    Args:
        loss: a one-element tensor produced by recorded ops.
        names: {tensor: name} to override generated names.
        params: a Module or {dotted name: tensor}, to show module paths next to W1, b1, ...
        max_paths: how many chain-rule paths to list per gradient (the formula sums all of them).

    Raises:
        ValueError: loss is not a recorded one-element tensor, or nothing below it requires grad.
        FormulaError: an op's symbolic VJP does not fit the graph.

    Example:
        >>> L = ((X @ W1 + b1).relu() @ W2 + b2 - Y).square().mean()
        >>> print(explain_backward(L))          # paths, steps and dL/dW1 = Xᵀ · (...)
        >>> explain_backward(L)["W1"].evaluate() # equals W1.grad after L.backward()
    """
    if not isinstance(loss, Tensor) or loss.is_leaf or loss.size != 1:
        raise ValueError("explain_backward needs the one-element result of recorded ops (a loss), "
                         f"got {'a leaf' if isinstance(loss, Tensor) and loss.is_leaf else loss!r}")
    return _Builder(inspect_graph(loss, names, params), max_paths).build()


class _Builder:
    """Derives every gradient formula top-down (loss first), as the engine's backward loop does."""

    def __init__(self, info: GraphInfo, max_paths: int) -> None:
        self.info, self.max_paths = info, max_paths
        self.root = info.root
        self.scope = Scope()
        self.grad_ident: dict[Tensor, str] = {}
        self.param_cache: dict[int, dict[str, Any]] = {}
        root_ident = info.idents[self.root]
        for t in info.order:
            self.scope.add(info.idents[t], info.operand(t), t.data.copy())
            self.grad_ident[t] = f"d{root_ident}_d{info.idents[t]}"
        self._count_paths()

    # ------------------------------------------------------------ graph analysis

    def edges_into(self, t: Tensor) -> list[tuple[Tensor, int]]:
        """The (consumer, input position) pairs through which a gradient reaches t."""
        if not t.requires_grad:
            return []
        return [(c, i) for c, i in self.info.consumers[t] if self.up[c] and c.needs_input_grad[i]]

    def _count_paths(self) -> None:
        """up[t]: paths from the loss down to t; the anchor is the lowest tensor every path passes."""
        order = self.info.order
        self.up = {t: 0 for t in order}
        self.up[self.root] = 1
        for t in reversed(order):
            if not t.is_leaf and self.up[t]:
                for i, p in enumerate(t.inputs):
                    if t.needs_input_grad[i] and p.requires_grad:
                        self.up[p] += self.up[t]
        self.targets = [t for t in order if t.is_leaf and t.requires_grad and self.up[t]]
        if not self.targets:
            raise ValueError("nothing to explain: no leaf below the loss requires grad")
        targets = set(self.targets)  # by identity: == between tensors is elementwise, as in torch
        down = {t: int(t in targets) for t in order}
        for t in order:
            if not t.is_leaf:
                down[t] += sum(down[p] for i, p in enumerate(t.inputs)
                               if t.needs_input_grad[i] and p.requires_grad)
        self.active = [t for t in order if self.up[t] and down[t]]
        whole = down[self.root]
        anchor = next(t for t in self.active if not t.is_leaf and self.up[t] * down[t] == whole)
        self.named = {t for t in self.active if not t.is_leaf and len(self.edges_into(t)) > 1}
        self.named.add(anchor)
        self.named.discard(self.root)

    # ------------------------------------------------------------ formulas

    def params_of(self, node: Tensor) -> dict[str, Any]:
        """The op's parameters as formula nodes: literals inline, anything else (an index) by name."""
        if id(node) not in self.param_cache:
            nodes = {}
            for key, value in node.op_params.items():
                try:
                    nodes[key] = sym.constant(sym.literal(value))
                except TypeError:
                    nodes[key] = self.scope.add(f"{key}{len(self.scope.symbols)}", key, value, kind="param")
            self.param_cache[id(node)] = nodes
        return self.param_cache[id(node)]

    def step_node(self, consumer: Tensor, i: int, g: Any, target: Tensor) -> Any:
        """The consumer op's VJP for input i, with g as grad_out, summed back to target's shape."""
        op = consumer.op_type
        if i >= len(op.formulas):
            raise FormulaError(f"op {op.name!r} declares no symbolic VJP for input {i} (Op.formulas)")
        formula = op.formulas[i]
        parents = consumer.inputs
        names = {"x": parents[0], "out": consumer} | ({"y": parents[1]} if len(parents) > 1 else {})
        bindings = {k: sym.name(self.info.idents[t]) for k, t in names.items()} | {"g": g}
        shapes = {k: t.shape for k, t in names.items()}
        node = sym.simplify(sym.instantiate(formula, bindings, shapes, self.params_of(consumer)), self.scope)
        try:
            shape = self.scope.shape(node)
        except Exception as err:
            raise FormulaError(
                f"op {op.name!r}: its symbolic VJP {formula!r} fails for input shape(s) "
                f"{[p.shape for p in parents]}: {err}"
            ) from None
        if shape != target.shape:
            node = sym.call("unbroadcast", node, sym.constant(target.shape))
        return node

    def seed(self) -> Any:
        """d loss / d loss: 1, as backward() starts."""
        if self.root.shape == ():
            return sym.constant(1.0)
        return self.scope.add("seed", "1", np.ones(self.root.shape, self.root.dtype))

    def grad_ref(self, t: Tensor) -> Any:
        return self.seed() if t is self.root else sym.name(self.grad_ident[t])

    def build(self) -> BackwardExplanation:
        info, scope = self.info, self.scope
        root_name = info.names[self.root]
        defined: dict[Tensor, Any] = {}
        inline: dict[Tensor, Any] = {self.root: self.seed()}
        depth = {self.root: 0}
        for t in reversed(self.active):
            if t is self.root:
                continue
            edges = self.edges_into(t)
            depth[t] = 1 + max(depth[c] for c, _ in edges)
            if depth[t] >= MAX_INLINE_STEPS and not t.is_leaf:
                self.named.add(t)
            if t in self.named:
                depth[t] = 0
            terms = [self.step_node(c, i, inline[c], t) for c, i in edges]
            node = sym.simplify(sym.total(terms), scope)
            value = scope.evaluate(node)
            if np.shape(value) != t.shape:
                raise FormulaError(
                    f"the gradient formula of {info.names[t]} has shape {np.shape(value)}, not {t.shape}")
            scope.add(self.grad_ident[t], info.differential(t), value, kind="grad")
            defined[t] = node
            inline[t] = sym.name(self.grad_ident[t]) if t in self.named else node
        shared = [self.gradient(t, defined[t], "shared") for t in reversed(self.active) if t in self.named]
        params = [self.gradient(t, defined[t], "parameter") for t in self.targets]
        return BackwardExplanation(root_name, shared, params, scope)

    # ------------------------------------------------------------ presentation

    def gradient(self, t: Tensor, node: Any, kind: str) -> Gradient:
        info = self.info
        paths = self.paths_to(t)
        texts = [self.path_text(p) for p in paths]
        steps: list[list[Step]] = []
        for path in paths:
            start = max((k + 1 for k, (_, _, u) in enumerate(path[:-1]) if u in self.named), default=0)
            below = [self.step(c, i, u) for c, i, u in path[start:]]
            if below not in steps:
                steps.append(below)
        return Gradient(
            name=info.names[t],
            symbol=self.scope.symbols[self.grad_ident[t]].text,
            shape=t.shape,
            formula=sym.render(node, self.scope),
            shapes=sym.render(node, self.scope, shapes=True),
            expression=sym.to_numpy(node),
            paths=texts,
            steps=steps,
            kind=kind,
            alias=info.aliases.get(t),
            total_paths=self.up[t],
            where=self.where(node),
            scope=self.scope,
        )

    def where(self, node: Any) -> dict[str, str]:
        """The numpy names in a formula that differ from their printed names: {'sub1': 'Yhat − Y'}."""
        out = {}
        for n in sorted({n.id for n in ast.walk(node) if isinstance(n, ast.Name)}):
            symbol = self.scope.symbols.get(n)
            if symbol is not None and symbol.kind == "tensor" and symbol.text.strip("()") != n:
                out[n] = symbol.text.strip("()") if symbol.text.startswith("(") else symbol.text
        return out

    def step(self, consumer: Tensor, i: int, target: Tensor) -> Step:
        node = self.step_node(consumer, i, self.grad_ref(consumer), target)
        return Step(
            op=consumer.op,
            target=self.scope.symbols[self.grad_ident[target]].text,
            formula=sym.render(node, self.scope),
            shapes=sym.render(node, self.scope, shapes=True),
            shape=target.shape,
            accumulates=len(self.edges_into(target)) > 1,
        )

    def paths_to(self, target: Tensor) -> list[list[tuple[Tensor, int, Tensor]]]:
        """Up to max_paths chain-rule paths from the loss down to target, as (consumer, input, tensor) edges."""
        found: list[list[tuple[Tensor, int, Tensor]]] = []
        stack: list[tuple[Tensor, list]] = [(target, [])]
        while stack and len(found) < self.max_paths:
            t, below = stack.pop()
            if t is self.root:
                found.append(below)
                continue
            for c, i in reversed(self.edges_into(t)):
                stack.append((c, [(c, i, t)] + below))
        return found

    def path_text(self, path: list[tuple[Tensor, int, Tensor]]) -> str:
        """L ← mean ← square ← sub ← Yhat ← ... ← W1: ops, and tensors that have names of their own."""
        info = self.info
        parts = [info.names[self.root]]
        for c, _, t in path:
            parts.append(c.op)
            if t not in info.generated or t is path[-1][2]:
                parts.append(info.names[t])
        return " ← ".join(parts)


# ---------------------------------------------------------------- text and Markdown


def _gradient_text(g: Gradient) -> str:
    lines = [g.title]
    more = g.total_paths - len(g.paths)
    label = "path" if g.total_paths == 1 else "paths"
    for k, path in enumerate(g.paths):
        lines.append(f"  {label if k == 0 else '':<6} {path}")
    if more > 0:
        lines.append(f"  {'':<6} ... and {more} more (the formula sums all {g.total_paths})")
    left = max((len(s.target) for steps in g.steps for s in steps), default=0)
    rows = [[f"{s.target:<{left}} {'+=' if s.accumulates else '=':>2} {s.formula}" for s in steps] for steps in g.steps]
    width = max((len(row) for group in rows for row in group), default=0)
    for k, (steps, group) in enumerate(zip(g.steps, rows)):
        for j, (s, row) in enumerate(zip(steps, group)):
            head = ("steps" if k == 0 else "and") if j == 0 else ""
            lines.append(f"  {head:<6} {s.op:<8} {row:<{width}}   {s.shape_text}")
    lines.append(f"  {'result':<6} {g.symbol} = {g.formula}")
    lines.append(f"  {'shapes':<6} {g.shapes} → {format_shape(g.shape)}")
    return "\n".join(lines)


def _where(g: Gradient) -> str:
    if not g.where:
        return ""
    return " where " + ", ".join(f"{_cell(k)} is {_cell(v)}" for k, v in g.where.items())


def _cell(text: str) -> str:
    return "`" + text.replace("|", "\\|") + "`"


def _gradient_markdown(g: Gradient) -> list[str]:
    lines = [f"## {g.title}", ""]
    more = g.total_paths - len(g.paths)
    for path in g.paths:
        lines.append(f"- path: {_cell(path)}")
    if more > 0:
        lines.append(f"- ... and {more} more paths (the formula sums all {g.total_paths})")
    lines.append("")
    for steps in g.steps:
        lines += ["| op | local step (vector-Jacobian product) | shapes |", "| --- | --- | --- |"]
        lines += [f"| {s.op} | {_cell(s.equation)} | {_cell(s.shape_text)} |" for s in steps]
        lines.append("")
    lines += [f"**{g.symbol} = {g.formula}**", "", f"shapes: {_cell(g.shapes + ' → ' + format_shape(g.shape))}",
              "", f"numpy: {_cell(g.expression)}" + _where(g), ""]
    return lines
