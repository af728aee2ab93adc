"""The backward pass explained (exercise 6.3): chain-rule paths, local steps with shapes, final formulas.

`explain_backward(loss)` reads the recorded graph below `loss` and, for every parameter, writes
what the exercise asks a student to write by hand:
1. the path from the loss down to it, and the chain rule over the scheme's variables, as a naive
   product of local derivatives with each factor's dimensions
   (`∂L/∂W1 = ∂L/∂Ŷ · ∂Ŷ/∂H · ∂H/∂Z1 · ∂Z1/∂W1`, `[1046×1] · [4×1] · [1046×4] · [1046×3]`), which
   does not fit as a matrix product;
2. the reorder and transpose that makes it fit, one line per factor (`W2` goes on the right as
   `W2ᵀ`, the ReLU mask acts elementwise, entry by entry, `X` goes on the left as `Xᵀ`, a broadcast
   bias sums the rows);
3. the result with its dimensions, `∂L/∂W1 = Xᵀ · ((∂L/∂Ŷ · W2ᵀ) ⊙ 1[Z1 > 0]) ∈ ℝ³ˣ⁴`, and the final
   formula in the scheme's terms with `∂L/∂Ŷ` put in, `(2/1046) Xᵀ · (((Ŷ − Y) · W2ᵀ) ⊙ 1[Z1 > 0])`,
   checked numerically against autograd's `.grad`;
4. the engine's own view: one vector-Jacobian step per recorded op, with every term's shape.
Each parameter's path has a colour (`graph.path_colour`), the one the computation graph draws it in.

Nothing is written by hand here: each step is an op's symbolic VJP (`Op.formulas` in `ops.py`, the
formulas the engine compiles into its VJPs) with the graph's tensors put in, and broadcast
reductions are the engine's `unbroadcast`. Each formula keeps an evaluable form in numpy alone
(`Gradient.expression`), so the tests check every printed formula against `.grad` instead of
trusting it.
"""
from __future__ import annotations

import ast
import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import symbolic as sym
from .graph import GraphInfo, differential, format_shape, format_space, inspect_graph, path_colour
from .symbolic import Scope
from ..core import Tensor

NOTATION = (
    "· matrix product, ⊙ elementwise product, ᵀ transpose, 1[Z1 > 0] is 1 where Z1 > 0 and 0 elsewhere,",
    "Σ_rows(A) = A.sum(axis=0) = 𝟙ᵀ · A, the column sum that undoes a broadcast over rows (𝟙 a column of ones);",
    "[n×m] is a term's shape, Aᵢⱼ its entry; a `+=` step adds one path's share to a gradient several paths reach.",
)
ONES = "𝟙"
# A chain of more local steps than this gets a named gradient in between, so formulas stay readable
# (a 3-layer MLP's dL/dW1 is 8 steps) and deep graphs never nest formulas deeper than this.
MAX_INLINE_STEPS = 12
# The chain rule over the scheme's variables is written out for paths of up to this many ops.
MAX_CHAIN = 2 * MAX_INLINE_STEPS


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
class Factor:
    """One local derivative of the chain rule over the scheme's variables, and the step that uses it.

    `symbol` is ∂Ŷ/∂H, `value` the derivative as a student writes it first (W2, before any
    transpose), `kind` how it acts on the gradient from above: 'start' (∂L/∂Ŷ itself), 'right'
    (· valueᵀ), 'left' (valueᵀ ·), 'elementwise' (⊙ value), 'rows' or 'cols' (a broadcast bias:
    𝟙ᵀ · G or G · 𝟙), 'identity' or 'general' (a VJP with no matrix shorthand). `equation` and
    `shapes` are the reordered step, `note` says in a line why it is written so, and `entries` is
    the elementwise step read entry by entry.
    """

    symbol: str
    value: str
    shape: tuple[int, ...]
    kind: str
    equation: str
    shapes: str
    note: str
    entries: str = ""
    mask: str = ""


@dataclass
class Chain:
    """The chain rule along one path, over the tensors the scheme names (L, Ŷ, H, Z1, W1)."""

    stops: list[str]
    factors: list[Factor]

    @property
    def product(self) -> str:
        """∂L/∂Ŷ · ∂Ŷ/∂H · ∂H/∂Z1 · ∂Z1/∂W1: the local derivatives, naively multiplied."""
        return " · ".join(f.symbol for f in self.factors)

    @property
    def values(self) -> str:
        """The naive product with each local derivative written out."""
        return " · ".join(f.value if len(self.factors) == 1 or _atomic(f.value) else f"({f.value})"
                          for f in self.factors)

    @property
    def dims(self) -> str:
        """[1046×1] · [4×1] · [1046×4] · [1046×3]: each factor's dimensions."""
        return " · ".join(f"[{format_shape(f.shape)}]" for f in self.factors)

    @property
    def misfit(self) -> str | None:
        """Why the naive product does not multiply as matrices ('[1046×1] · [4×1]: 1 ≠ 4'), or None if it does."""
        shapes = [f.shape for f in self.factors]
        if not all(len(shape) == 2 for shape in shapes):
            return "a factor is not a matrix" if len(shapes) > 1 else None
        rows, cols = shapes[0]
        for shape in shapes[1:]:
            if cols != shape[0]:
                return f"[{rows}×{cols}] · [{format_shape(shape)}]: the inner dimensions {cols} ≠ {shape[0]}"
            cols = shape[1]
        return None


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
    chains: list[Chain] = field(default_factory=list)
    final: str = ""
    final_expression: str = ""
    masks: list[str] = field(default_factory=list)
    colour: tuple[str, str] | None = None
    tensor: Tensor | None = field(default=None, repr=False, compare=False)

    @property
    def check(self) -> float | None:
        """max |final formula − autograd's .grad| once backward() has run, else None."""
        grad = None if self.tensor is None else self.tensor.grad
        if grad is None:
            return None
        return float(np.max(np.abs(self.evaluate_final() - np.asarray(grad)), initial=0.0))

    def evaluate(self) -> np.ndarray:
        """Run `expression`, numpy alone, with the graph's arrays (gradients it names come from their own formulas)."""
        return eval(self.expression, self.scope.values())

    def evaluate_final(self) -> np.ndarray:
        """Run the final formula's numpy form, which names no other gradient."""
        return eval(self.final_expression or self.expression, self.scope.values())

    @property
    def title(self) -> str:
        dims = format_space(self.shape)
        what = f"{self.name} = {self.alias}" if self.alias and self.alias != self.name else self.name
        if self.kind == "shared":
            return f"{self.symbol}, shared by the gradients below ({self.name} ∈ {dims})"
        drawn = f", path drawn in {self.colour[0]}" if self.colour else ""
        return f"{self.symbol}  ({what} ∈ {dims}{drawn})"

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
        lines += ["Derived from the recorded graph and each op's derivative formula (`Op.formulas` in "
                  "`minigrad/core/ops.py`, the formulas the engine runs).",
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
    _check_loss(loss, "explain_backward")
    return _Builder(inspect_graph(loss, names, params), max_paths).build()


@dataclass
class SweepExplanation:
    """The explanation of every tensor and every graph edge of one backward pass, for a step-by-step view.

    `gradients[t]` holds the chain-rule paths and formula of each tensor t that gets a gradient
    (intermediates too, not only the parameters and shared gradients of `explanation`);
    `steps[(consumer, i)]` is the local VJP step that sends consumer's gradient to its input i.
    """

    explanation: BackwardExplanation
    gradients: dict[Tensor, Gradient]
    steps: dict[tuple[Tensor, int], Step]


def explain_sweep(
    loss: Tensor,
    names: Mapping[Tensor, str] | None = None,
    params: Any = None,
    max_paths: int = 8,
) -> SweepExplanation:
    """Like `explain_backward`, and also the formula of every intermediate gradient and every local step.

    Raises:
        ValueError, FormulaError: as `explain_backward`.
    """
    _check_loss(loss, "explain_sweep")
    builder = _Builder(inspect_graph(loss, names, params), max_paths)
    explanation = builder.build()
    gradients: dict[Tensor, Gradient] = {}
    steps: dict[tuple[Tensor, int], Step] = {}
    for t in reversed(builder.active):
        if t is builder.root:
            continue
        parameter = any(t is p for p in builder.targets)  # by identity: == between tensors is elementwise
        kind = "parameter" if parameter else "shared" if t in builder.named else "intermediate"
        gradients[t] = builder.gradient(t, builder.defined[t], kind)
        for c, i in builder.edges_into(t):
            steps[(c, i)] = builder.step(c, i, t)
    return SweepExplanation(explanation, gradients, steps)


def _check_loss(loss: Any, caller: str) -> None:
    if not isinstance(loss, Tensor) or loss.is_leaf or loss.size != 1:
        raise ValueError(f"{caller} needs the one-element result of recorded ops (a loss), "
                         f"got {'a leaf' if isinstance(loss, Tensor) and loss.is_leaf else loss!r}")


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
        self.targets = self.info.gradient_targets()
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
        self.anchor = anchor if anchor is not self.root else None
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
        self.defined = defined
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
        num, den, rest = self.final_parts(t, node)
        final_node = sym.scaled(num, den, rest)
        gradient = Gradient(
            name=info.names[t],
            symbol=self.scope.symbols[self.grad_ident[t]].text,
            shape=t.shape,
            formula=sym.render_scaled(*sym.pull_scalars(node), self.scope),
            shapes=sym.render(node, self.scope, shapes=True),
            expression=sym.to_numpy(node, self.scope),
            paths=texts,
            steps=steps,
            kind=kind,
            alias=info.aliases.get(t),
            total_paths=self.up[t],
            where=self.where(final_node) | self.where(node),
            scope=self.scope,
        )
        if kind == "parameter":
            gradient.colour = path_colour(next(i for i, p in enumerate(self.targets) if p is t))  # by identity: == is elementwise
            gradient.tensor = t
            gradient.chains = [self.chain(path) for path in paths if len(path) <= MAX_CHAIN]
            gradient.final = sym.render_scaled(num, den, rest, self.scope)
            gradient.final_expression = sym.to_numpy(final_node, self.scope)
            gradient.masks = sorted({f.mask for chain in gradient.chains for f in chain.factors if f.mask})
        return gradient

    # ------------------------------------------------------------ the chain rule over the scheme's variables

    def local_kind(self, consumer: Tensor, i: int, target: Tensor) -> str:
        """How an op's derivative for input i acts, read from the shape of its formula (see `Factor.kind`)."""
        tree = ast.parse(consumer.op_type.formulas[i], mode="eval").body
        uses = sum(isinstance(n, ast.Name) and n.id == "g" for n in ast.walk(tree))
        stretched = sym.gradient_shape(consumer, i) != target.shape
        if _is_g(tree):
            if not stretched:
                return "identity"
            axes = sym.summed_axes(sym.gradient_shape(consumer, i), target.shape)
            two_d = len(sym.gradient_shape(consumer, i)) == 2
            return "rows" if two_d and axes == (0,) else "cols" if two_d and axes == (1,) else "general"
        if uses != 1 or stretched:
            return "general"
        if isinstance(tree, ast.BinOp) and isinstance(tree.op, ast.MatMult):
            if _is_g(tree.left):
                return "right"
            if _is_g(tree.right):
                return "left"
        matmul = any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult) for n in ast.walk(tree))
        return "elementwise" if not matmul and consumer.shape == target.shape else "general"

    def segments(self, path: list[tuple[Tensor, int, Tensor]]) -> list[list[tuple[Tensor, int, Tensor]]]:
        """The path cut at each tensor the scheme names; a piece with two kinds of factor is cut at every op."""
        generated = self.info.generated
        pieces, start = [], 0
        for k, (_, _, t) in enumerate(path):
            if t not in generated or k == len(path) - 1:
                pieces.append(path[start:k + 1])
                start = k + 1
        out = pieces[:1]
        for piece in pieces[1:]:
            active = [k for k in (self.local_kind(c, i, t) for c, i, t in piece) if k != "identity"]
            if len(active) <= 1 or all(k == "elementwise" for k in active):
                out.append(piece)
            else:
                out.extend([edge] for edge in piece)
        return out

    def through(self, piece: list[tuple[Tensor, int, Tensor]], g: Any) -> Any:
        """g carried down a piece of the path by each op's VJP: the composite step."""
        node = g
        for c, i, t in piece:
            node = self.step_node(c, i, node, t)
        return sym.simplify(node, self.scope)

    def chain(self, path: list[tuple[Tensor, int, Tensor]]) -> Chain:
        names = self.info.names
        stops, factors, top = [names[self.root]], [], None
        for piece in self.segments(path):
            bottom = piece[-1][2]
            factors.append(self.factor(piece, top, bottom))
            stops.append(names[bottom])
            top = bottom
        return Chain(stops, factors)

    def factor(self, piece: list[tuple[Tensor, int, Tensor]], top: Tensor | None, bottom: Tensor) -> Factor:
        """The local derivative ∂top/∂bottom of one piece of the path, and its reordered step."""
        scope, names = self.scope, self.info.names
        symbol_of = lambda t: scope.symbols[self.grad_ident[t]].text  # noqa: E731
        target = symbol_of(bottom)
        if top is None:
            node = self.through(piece, self.seed())
            value = sym.render_scaled(*sym.pull_scalars(node), scope)
            return Factor(target, value, bottom.shape, "start", f"{target} = {value}",
                          f"[{format_shape(bottom.shape)}]", f"the gradient of the loss, {format_space(bottom.shape)}")
        symbol = differential(names[top], names[bottom])
        g = self.grad_ref(top)
        node = self.through(piece, g)
        equation = f"{target} = {sym.render(node, scope)}"
        shapes = f"{sym.render(node, scope, shapes=True)} → {format_shape(bottom.shape)}"
        kinds = [(self.local_kind(c, i, t), (c, i, t)) for c, i, t in piece]
        active = [(k, e) for k, e in kinds if k != "identity"]
        kind = "identity" if not active else active[0][0] if len(active) == 1 else "elementwise"
        if kind in ("right", "left"):
            c, i, t = active[0][1]
            operand = self.operand(c, i, kind)
            naive = operand.value if isinstance(operand, ast.Attribute) and operand.attr in ("mT", "T") else \
                ast.Attribute(value=operand, attr="mT", ctx=ast.Load())
            value, shape = sym.render(naive, scope), scope.shape(naive)
            side = "right" if kind == "right" else "left"
            inner = top.shape[-1] if kind == "right" else top.shape[0]
            note = (f"{value} ∈ {format_space(shape)} goes on the {side}, transposed, so the inner dimensions "
                    f"match ({inner} = {inner})")
            return Factor(symbol, value, shape, kind, equation, shapes, note)
        if kind == "elementwise":
            local = self.through(piece, sym.constant(1))
            value, shape = sym.render(local, scope), scope.shape(local)
            entries = f"({target}){sym.ENTRY.get(len(bottom.shape), '')} = {sym.render(node, scope, index=True)}"
            note = f"same shape as {names[bottom]} ({format_shape(bottom.shape)}): elementwise (⊙), no transpose"
            mask = ""
            if isinstance(local, ast.Compare):
                mask = f"{value} is 1 where {sym.render(local, scope, index=True)[2:-1]} and 0 elsewhere"
            return Factor(symbol, value, shape, kind, equation, shapes, note, entries, mask)
        if kind in ("rows", "cols"):
            c, i, t = active[0][1]
            stretched = sym.gradient_shape(c, i)
            n = stretched[0] if kind == "rows" else stretched[1]
            summed = sym.render(node, scope)
            product = f"{ONES}ᵀ · {symbol_of(top)}" if kind == "rows" else f"{symbol_of(top)} · {ONES}"
            dims = (f"[1×{n}] · [{format_shape(stretched)}] → 1×{stretched[1]}" if kind == "rows"
                    else f"[{format_shape(stretched)}] · [{n}×1] → {stretched[0]}×1")
            what = "rows" if kind == "rows" else "columns"
            note = (f"{names[bottom]} ∈ {format_space(bottom.shape)} was broadcast over the {n} {what} "
                    f"({format_shape(bottom.shape)} → {format_shape(stretched)}), so its gradient adds them up")
            return Factor(symbol, ONES, (n, 1), kind, f"{target} = {product} = {summed}",
                          f"{dims} → {format_shape(bottom.shape)}", note)
        if kind == "identity":
            return Factor(symbol, "1", (), kind, equation, shapes, "the gradient passes on unchanged")
        return Factor(symbol, sym.render(node, scope), bottom.shape, "general", equation, shapes,
                      "no matrix shorthand: the op's vector-Jacobian product is applied as it is")

    def operand(self, consumer: Tensor, i: int, kind: str) -> Any:
        """The matrix a matmul's VJP multiplies g by (y.mT for x, x.mT for y), with the graph's names put in."""
        tree = ast.parse(consumer.op_type.formulas[i], mode="eval").body
        side = tree.right if kind == "right" else tree.left
        parents = consumer.inputs
        names = {"x": parents[0], "out": consumer} | ({"y": parents[1]} if len(parents) > 1 else {})
        bindings = {k: sym.name(self.info.idents[t]) for k, t in names.items()}
        shapes = {k: t.shape for k, t in names.items()}
        return sym.simplify(sym.instantiate(ast.unparse(side), bindings, shapes, self.params_of(consumer)),
                            self.scope)

    def final_parts(self, t: Tensor, node: Any) -> tuple[Any, Any, Any]:
        """The formula with the loss-side gradient (∂L/∂Ŷ) put in and its numbers gathered in front."""
        node = copy.deepcopy(node)
        if self.anchor is not None and self.anchor is not t and self.anchor in self.defined:
            ident, value = self.grad_ident[self.anchor], self.defined[self.anchor]

            class Put(ast.NodeTransformer):
                def visit_Name(self, n: ast.Name) -> Any:
                    return copy.deepcopy(value) if n.id == ident else n

            node = sym.simplify(Put().visit(node), self.scope)
        return sym.pull_scalars(node)

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


def _is_g(node: Any) -> bool:
    return isinstance(node, ast.Name) and node.id == "g"


def _atomic(text: str) -> bool:
    """Whether a printed factor reads as one term in a product (W2, 1[Z1 > 0], 𝟙), so needs no brackets."""
    depth = 0
    for ch in text:
        depth += ch in "([" and 1 or -(ch in ")]")
        if depth == 0 and ch in " ·⊙+−/":
            return False
    return True


# ---------------------------------------------------------------- text and Markdown


def _gradient_text(g: Gradient) -> str:
    lines = [g.title]
    more = g.total_paths - len(g.paths)
    label = "path" if g.total_paths == 1 else "paths"
    for k, path in enumerate(g.paths):
        lines.append(f"  {label if k == 0 else '':<7} {path}")
    if more > 0:
        lines.append(f"  {'':<7} ... and {more} more (the formula sums all {g.total_paths})")
    for chain in g.chains:
        lines.append(f"  {'chain':<7} {g.symbol} = {chain.product}")
        lines.append(f"  {'':<7} {' ' * len(g.symbol)} = {chain.values}")
        fit = f": does not fit, {chain.misfit}" if chain.misfit else ": fits as it is"
        lines.append(f"  {'dims':<7} {chain.dims}{fit}")
        moves = [f for f in chain.factors if f.kind != "start"]
        width = max((len(f.equation) for f in moves), default=0)
        dims = max((len(f.shapes) for f in moves), default=0)
        for k, f in enumerate(moves):
            head = "reorder" if k == 0 else ""
            lines.append(f"  {head:<7} {f.equation:<{width}}   {f.shapes:<{dims}}   {f.note}")
            if f.entries:
                lines.append(f"  {'':<7} {'':<{width}}   {'':<{dims}}   {f.entries}")
    left = max((len(s.target) for steps in g.steps for s in steps), default=0)
    rows = [[f"{s.target:<{left}} {'+=' if s.accumulates else '=':>2} {s.formula}" for s in steps] for steps in g.steps]
    width = max((len(row) for group in rows for row in group), default=0)
    for k, (steps, group) in enumerate(zip(g.steps, rows)):
        for j, (s, row) in enumerate(zip(steps, group)):
            head = ("steps" if k == 0 else "and") if j == 0 else ""
            lines.append(f"  {head:<7} {s.op:<8} {row:<{width}}   {s.shape_text}")
    lines.append(f"  {'result':<7} {g.symbol} = {g.formula} ∈ {format_space(g.shape)}")
    lines.append(f"  {'shapes':<7} {g.shapes} → {format_shape(g.shape)}")
    if g.final:
        lines.append(f"  {'final':<7} {g.symbol} = {g.final}" + "".join(f", where {m}" for m in g.masks))
    if g.check is not None:
        lines.append(f"  {'check':<7} max |final − autograd's .grad| = {g.check:.2g}")
    lines.append(f"  {'numpy':<7} {g.final_expression or g.expression}" + _where(g, plain=True))
    return "\n".join(lines)


def _where(g: Gradient, plain: bool = False) -> str:
    if not g.where:
        return ""
    quote = (lambda text: text) if plain else _cell
    return " where " + ", ".join(f"{quote(k)} is {quote(v)}" for k, v in g.where.items())


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
    for chain in g.chains:
        lines += [f"Chain rule over the scheme's variables: {_cell(f'{g.symbol} = {chain.product}')}", "",
                  "| factor | local derivative | dimensions |", "| --- | --- | --- |"]
        lines += [f"| {_cell(f.symbol)} | {_cell(f.value)} | {_cell(format_shape(f.shape))} |" for f in chain.factors]
        fit = f"does not fit: {chain.misfit}" if chain.misfit else "fits as it is"
        lines += ["", f"Naive product {_cell(chain.values)}, dimensions {_cell(chain.dims)}: {fit}.", ""]
        moves = [f for f in chain.factors if f.kind != "start"]
        if moves:
            lines += ["Reordered and transposed so the dimensions fit:", "",
                      "| step | dimensions | why |", "| --- | --- | --- |"]
            for f in moves:
                why = f.note + (f"; entry by entry, {_cell(f.entries)}" if f.entries else "")
                lines.append(f"| {_cell(f.equation)} | {_cell(f.shapes)} | {why} |")
            lines.append("")
    lines += [f"**{g.symbol} = {g.formula}** ∈ {format_space(g.shape)}", "",
              f"shapes: {_cell(g.shapes + ' → ' + format_shape(g.shape))}", ""]
    if g.final:
        lines += [f"Final, in the scheme's terms: **{g.symbol} = {g.final}**"
                  + "".join(f", where {m}" for m in g.masks), ""]
    if g.check is not None:
        lines += [f"Check against autograd: max \\|final − `.grad`\\| = {g.check:.2g}", ""]
    if g.steps:
        lines += ["Op by op, as the engine runs it:", ""]
    for steps in g.steps:
        lines += ["| op | local step (vector-Jacobian product) | shapes |", "| --- | --- | --- |"]
        lines += [f"| {s.op} | {_cell(s.equation)} | {_cell(s.shape_text)} |" for s in steps]
        lines.append("")
    lines += [f"numpy: {_cell(g.final_expression or g.expression)}" + _where(g), ""]
    return lines
