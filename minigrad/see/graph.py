"""Names, roles and layers for the tensors of a recorded graph, shared by the pictures and the explanation.

The computation graph (`viz.py`), the network scheme (`scheme.py`) and the backward explanation
(`explain.py`) all call a tensor by the same name, so a student can find `Z1` in the picture, in
the scheme and in `dL/dW1 = Xᵀ · ((dL/dYhat · W2ᵀ) ⊙ 1[Z1 > 0])`. Names come, in this order, from
the caller's `names=`, from `Tensor.name`, from the layer a tensor belongs to (`X`, `W1`, `b1`, `Z1`,
`H`, `Yhat`), from its place (`L` for a scalar root, `X`/`Y` for data) or from the op that made it
(`Yhat − Y`, `(Yhat − Y)²`). A parameter's module path (`0.weight`, from `named_parameters()`) is
kept beside its layer name as an alias.
"""
from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core import Tensor
from ..core.ops import Add, MatMul

RESERVED = frozenset({"np", "expand", "scatter_add", "unbroadcast", "g"})
MAX_NAME = 16

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ATOM = re.compile(r"^(?:[^\W\d][\w.]*|[-+]?\d[\d.e+-]*)$")


@dataclass
class Layer:
    """One affine layer found in the graph: pre = x @ weight (+ bias), then an optional activation."""

    index: int
    weight: Tensor
    bias: Tensor | None
    product: Tensor
    pre: Tensor
    activation: Tensor | None = None


@dataclass
class GraphInfo:
    """Everything the renderer and the explanation need to know about the tensors of one graph.

    `order` lists every tensor parents-first (a forward topological order, deterministic for a
    given graph); `consumers[t]` lists (output tensor, input position) for each op that reads t.
    """

    root: Tensor
    order: list[Tensor]
    names: dict[Tensor, str]
    roles: dict[Tensor, str]
    aliases: dict[Tensor, str]
    idents: dict[Tensor, str]
    atomic: set[Tensor]
    consumers: dict[Tensor, list[tuple[Tensor, int]]]
    layers: list[Layer]
    model: Any = None
    generated: set[Tensor] = field(default_factory=set)

    def operand(self, t: Tensor) -> str:
        """The name as it reads inside a longer expression: parenthesised unless atomic."""
        name = self.names[t]
        return name if t in self.atomic else f"({name})"

    def differential(self, t: Tensor) -> str:
        """'dL/dW1', or 'dL/d(X·W1)' when the name is more than one word."""
        name = self.names[t]
        word = name.isidentifier() and not set(name) & set("·ᵀ⁰¹²³⁴⁵⁶⁷⁸⁹")
        return f"d{self.names[self.root]}/d{name if word else f'({name})'}"


def forward_order(root: Tensor) -> list[Tensor]:
    """Every tensor reachable from root, each after all of its inputs (explicit stack, no recursion).

    Inputs are visited in argument order, so `X @ W1` lists X before W1 on every run.
    """
    order: list[Tensor] = []
    seen = {root}
    stack: list[tuple[Tensor, int]] = [(root, 0)]
    while stack:
        t, i = stack.pop()
        parents = t.inputs if not t.is_leaf else ()
        if i < len(parents):
            stack.append((t, i + 1))
            p = parents[i]
            if p not in seen:
                seen.add(p)
                stack.append((p, 0))
        else:
            order.append(t)
    return order


def format_shape(shape: tuple[int, ...]) -> str:
    """(1046, 3) -> '1046×3', (4,) -> '4', () -> 'scalar'."""
    return "×".join(str(n) for n in shape) if shape else "scalar"


def format_space(shape: tuple[int | str, ...]) -> str:
    """The space a tensor lives in, as on the exercise sheet: R, R^4, R^{3×4}."""
    if not shape:
        return "R"
    return f"R^{shape[0]}" if len(shape) == 1 else "R^{" + "×".join(str(n) for n in shape) + "}"


def format_number(value: float) -> str:
    """A short, stable text for a number: 2, 0.5, -1.25e-05."""
    return f"{float(value):.4g}"


def parameter_paths(params: Any) -> tuple[dict[Tensor, str], Any]:
    """{tensor: dotted path} from a Module (anything with named_parameters()) or a name -> Tensor mapping."""
    if params is None:
        return {}, None
    if hasattr(params, "named_parameters"):
        return {t: path for path, t in params.named_parameters()}, params
    if isinstance(params, Mapping):
        return {t: path for path, t in params.items()}, None
    raise TypeError(f"params must be a Module or a dict of name -> Tensor, got {type(params).__name__}")


def submodule(model: Any, path: str) -> Any:
    """The module at a dotted path ('0', 'encoder.1'), or None when it cannot be found."""
    module = model
    for part in path.split(".") if path else ():
        child = getattr(module, "_modules", {}).get(part) if module is not None else None
        if child is None:
            return None
        module = child
    return module


def inspect_graph(root: Tensor, names: Mapping[Tensor, str] | None = None, params: Any = None) -> GraphInfo:
    """Walk the graph below root and name, classify and group every tensor in it.

    Args:
        root: the tensor whose graph to inspect (usually the loss).
        names: optional {tensor: name} overriding every other source of names.
        params: a Module or {dotted name: tensor}, as torchviz's `params=dict(model.named_parameters())`.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"expected a minigrad Tensor, got {type(root).__name__}")
    order = forward_order(root)
    consumers: dict[Tensor, list[tuple[Tensor, int]]] = {t: [] for t in order}
    for t in order:
        if not t.is_leaf:
            for i, p in enumerate(t.inputs):
                consumers[p].append((t, i))
    paths, model = parameter_paths(params)
    roles = {t: _role(t, root) for t in order}
    aliases: dict[Tensor, str] = {}
    for t in order:
        path = paths.get(t) or (t.name if _path_like(t.name) and roles[t] == "param" else None)
        if path:
            aliases[t] = path
    layers = _find_layers(order, consumers, roles)
    namer = _Namer(root, order, roles, aliases, names or {})
    namer.run(layers)
    return GraphInfo(
        root=root,
        order=order,
        names=namer.names,
        roles=roles,
        aliases=aliases,
        idents=_identifiers(order, namer),
        atomic=namer.atomic,
        consumers=consumers,
        layers=layers,
        model=model,
        generated=namer.generated,
    )


def _role(t: Tensor, root: Tensor) -> str:
    if t is root and not t.is_leaf:
        return "loss"
    if not t.is_leaf:
        return "intermediate"
    return "param" if t.requires_grad else "data"


def _path_like(name: str | None) -> bool:
    """Names that nn.Module gives its parameters ('weight', '0.bias'), as opposed to a user's 'W1'."""
    return bool(name) and ("." in name or name in ("weight", "bias"))


def _find_layers(order: list[Tensor], consumers: dict, roles: dict) -> list[Layer]:
    """Affine layers: a matmul with a parameter on the right, plus a bias add and an activation if present."""
    layers: list[Layer] = []
    for t in order:
        if t.op_type is not MatMul or roles[t.inputs[1]] != "param":
            continue
        weight, pre, bias = t.inputs[1], t, None
        uses = consumers[t]
        if len(uses) == 1 and uses[0][0].op_type is Add:
            out = uses[0][0]
            other = out.inputs[1 - uses[0][1]]
            if roles[other] == "param" and other is not weight:
                pre, bias = out, other
        act = None
        after = consumers[pre]
        if len(after) == 1 and after[0][0].op_type is not None and after[0][0].op_type.activation:
            act = after[0][0]
        layers.append(Layer(len(layers) + 1, weight, bias, t, pre, act))
    return layers


class _Namer:
    """Assigns display names in three passes: the caller's, the layers', then everything else."""

    def __init__(self, root: Tensor, order: list[Tensor], roles: dict, aliases: dict, given: Mapping) -> None:
        self.root, self.order, self.roles, self.aliases, self.given = root, order, roles, aliases, given
        self.names: dict[Tensor, str] = {}
        self.atomic: set[Tensor] = set()
        self.generated: set[Tensor] = set()
        self.taken: set[str] = set()
        self.op_counts: dict[str, int] = {}

    def assign(self, t: Tensor, name: str, atomic: bool | None = None, dedupe: bool = True) -> None:
        if dedupe and name in self.taken:
            k = 2
            while f"{name}_{k}" in self.taken:
                k += 1
            name = f"{name}_{k}"
        self.names[t] = name
        self.taken.add(name)
        if atomic if atomic is not None else bool(_ATOM.match(name)):
            self.atomic.add(t)

    def run(self, layers: list[Layer]) -> None:
        for t in self.order:
            own = t.name if t.name and t.name != self.aliases.get(t) else None
            user = self.given.get(t) or own
            if user:
                self.assign(t, user, dedupe=False)
        for t, name in self._layer_names(layers):
            if t not in self.names:
                self.assign(t, name)
        data_names = iter(["X", "Y"] + [f"D{k}" for k in range(1, len(self.order) + 1)])
        params = 0
        for t in self.order:
            if t in self.names:
                continue
            role = self.roles[t]
            if role == "data" and t.size == 1:
                self.assign(t, format_number(t.data.reshape(-1)[0]), atomic=True, dedupe=False)
            elif role == "data":
                self.assign(t, next(n for n in data_names if n not in self.taken))
            elif role == "param":
                params += 1
                self.assign(t, self.aliases.get(t) or f"P{params}")
            elif t is self.root and t.size == 1:
                self.assign(t, "L")
            else:
                self._expression_name(t)

    def _layer_names(self, layers: list[Layer]) -> list[tuple[Tensor, str]]:
        if not layers:
            return []
        out: list[tuple[Tensor, str]] = []
        first_input = layers[0].product.inputs[0]
        if self.roles[first_input] == "data":
            out.append((first_input, "X"))
        hidden = [layer for layer in layers[:-1] if layer.activation is not None]
        for layer in layers:
            k = layer.index
            out.append((layer.weight, f"W{k}"))
            if layer.bias is not None:
                out.append((layer.bias, f"b{k}"))
            last = layer is layers[-1]
            out.append((layer.pre, "Yhat" if last and layer.activation is None else f"Z{k}"))
            if layer.activation is not None:
                out.append((layer.activation, "Yhat" if last else ("H" if len(hidden) == 1 else f"H{k}")))
        return out

    def _expression_name(self, t: Tensor) -> None:
        """Name an intermediate after the op that made it (its `output_name`), e.g. 'Yhat − Y'; else 'sub3'."""
        operands = [self.names[p] if p in self.atomic else f"({self.names[p]})" for p in t.inputs]
        name, atomic = t.op_type.output_name(operands, [self.names[p] for p in t.inputs], t.op_params)
        if len(name) > MAX_NAME:
            count = self.op_counts[t.op] = self.op_counts.get(t.op, 0) + 1
            name, atomic = f"{t.op}{count}", True
        self.generated.add(t)
        self.assign(t, name, atomic=atomic)


def _identifiers(order: list[Tensor], namer: _Namer) -> dict[Tensor, str]:
    """A unique Python identifier per tensor, for the evaluable (numpy) form of formulas."""
    idents: dict[Tensor, str] = {}
    used: set[str] = set(RESERVED)
    counts: dict[str, int] = {}
    for t in order:
        name = namer.names[t]
        if t in namer.generated or namer.roles[t] == "data" and t.size == 1 and not _IDENT.match(name):
            base = t.op if not t.is_leaf else "c"
            counts[base] = counts.get(base, 0) + 1
            candidate = f"{base}{counts[base]}"
        else:
            candidate = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "t"
            if candidate[0].isdigit():
                candidate = f"t_{candidate}"
        if keyword.iskeyword(candidate):
            candidate += "_"
        ident, k = candidate, 2
        while ident in used:
            ident, k = f"{candidate}_{k}", k + 1
        used.add(ident)
        idents[t] = ident
    return idents

