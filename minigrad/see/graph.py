"""The one naming policy: names, roles, layers and colours for the tensors of a recorded graph.

Every picture and formula asks this module what to call a tensor, so the network scheme
(`scheme.py`), the computation graph (`draw.py`) and the backward explanation (`explain.py`) agree
by construction: `Z1` in the scheme is `Z1` in the graph and in `∂L/∂W1 = Xᵀ · (… ⊙ 1[Z1 > 0])`.
Names come, in this order, from the caller's `names=`, from `Tensor.name`, from the layer a tensor
belongs to (`layer_names`: `X`, `W1`, `b1`, `Z1`, `H`, `Ŷ`, boxes titled "hidden layer 1" and
"output layer"), from its place (`L` for a scalar root, `X`/`Y` for data) or from the op that made
it (`Ŷ − Y`, `(Ŷ − Y)²`). A parameter's module path (`0.weight`, from `named_parameters()`) is kept
beside its layer name as an alias.

Names are Unicode text: a digit run after a letter is a subscript (`W1` is W₁) and superscript
characters are exponents (`ℝ³ˣ⁴`); `math_runs` splits a text into those pieces for the renderers
that typeset them (Graphviz HTML labels, Typst). The numpy spelling of a name is an identifier
(`Yhat` for `Ŷ`).
"""
from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core import Tensor
from ..core.ops import Add, MatMul

RESERVED = frozenset({"np", "expand", "scatter_add", "unbroadcast", "g"})
MAX_NAME = 16
INPUT, TARGET, LOSS, PREDICTION = "X", "Y", "L", "Ŷ"
LOSS_TITLE, INPUT_TITLE = "loss", "input layer"
IDENT_SPELLING = {"Ŷ": "Yhat", "ŷ": "yhat"}
# One colour per parameter's chain-rule path, the same in the graph, the explanation and the PDF.
PATH_COLOURS = (
    ("blue", "#1f5fbf"), ("red", "#c62828"), ("green", "#2e7d32"), ("purple", "#7b1fa2"),
    ("brown", "#8d5524"), ("teal", "#00838f"), ("magenta", "#ad1457"), ("olive", "#827717"),
)
# One (border, tint) per forward op whose VJP the graph of a gradient shows: its oval in the forward
# graph and the box of the nodes its VJP recorded share it (backward.py).
VJP_COLOURS = (
    ("#1565c0", "#e3eefb"), ("#c62828", "#fbe4e4"), ("#2e7d32", "#e2f2e3"), ("#6a1b9a", "#f0e4f7"),
    ("#ef6c00", "#fdebd8"), ("#00838f", "#ddf3f5"), ("#ad1457", "#fbe2ee"), ("#5d4037", "#efe7e4"),
)
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹ˣ⁻ᴺ"
_SCRIPT_TO_TEXT = str.maketrans(_SUPERSCRIPTS, "0123456789×−N")
_TEXT_TO_SCRIPT = str.maketrans("0123456789×-−N", "⁰¹²³⁴⁵⁶⁷⁸⁹ˣ⁻⁻ᴺ")
_RUNS = re.compile(rf"(?<=[^\W\d_])(\d+(?:,\d+)*)(?![^\W\d_])|([{_SUPERSCRIPTS}]+)")

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ATOM = re.compile(r"^(?:[^\W\d][\w.]*|[-+]?\d[\d.e+-]*)$")


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
        """'∂L/∂W1', or '∂L/∂(X·W1)' when the name is more than one word."""
        return differential(self.names[self.root], self.names[t])

    def reached(self) -> set[Tensor]:
        """The tensors a gradient reaches from the root: along edges whose op needs that input's gradient."""
        up = {self.root}
        for t in reversed(self.order):
            if t in up and not t.is_leaf:
                up.update(p for i, p in enumerate(t.inputs) if t.needs_input_grad[i] and p.requires_grad)
        return up

    def gradient_targets(self) -> list[Tensor]:
        """The leaves backward() fills a gradient for, in forward order (W1, b1, W2, b2): path k is colour k."""
        up = self.reached()
        return [t for t in self.order if t.is_leaf and t.requires_grad and t in up]

    def reaches(self) -> dict[Tensor, set[int]]:
        """For each tensor on a gradient path, the indices (in `gradient_targets`) of the leaves below it."""
        up = self.reached()
        index = {t: k for k, t in enumerate(self.gradient_targets())}
        below: dict[Tensor, set[int]] = {}
        for t in self.order:
            found = {index[t]} if t in index else set()
            if not t.is_leaf:
                for i, p in enumerate(t.inputs):
                    if t.needs_input_grad[i] and p.requires_grad:
                        found |= below[p]
            below[t] = found
        return {t: ks for t, ks in below.items() if t in up and ks}

    def layer_of(self, t: Tensor) -> Layer | None:
        """The layer whose box holds t (its parameters, ops and results), or None."""
        for layer in self.layers:
            if t in layer.members:
                return layer
        return None


def differential(of: str, wrt: str) -> str:
    """'∂L/∂W1', or '∂L/∂(X·W1)' when wrt is more than one word."""
    word = wrt.isidentifier() and not set(wrt) & set("·ᵀ" + _SUPERSCRIPTS)
    return f"∂{of}/∂{wrt if word else f'({wrt})'}"


@dataclass(frozen=True)
class LayerNames:
    """What the policy calls one affine layer's tensors: `pre = x·weight + bias`, `out = act(pre)`."""

    index: int
    title: str
    weight: str
    bias: str
    pre: str
    out: str | None

    @property
    def result(self) -> str:
        """The name of what the layer hands on: its activation, else its affine result."""
        return self.out or self.pre


def layer_names(activated: list[bool]) -> list[LayerNames]:
    """The names of a stack of affine layers, given whether each has an activation after it.

    Layer k has weight Wk and bias bk and computes Zk = x·Wk + bk; an activation gives H (Hk when
    several hidden layers have one). The last layer's result is the prediction Ŷ. Its box, in the
    graph and in the scheme, is "hidden layer k" or "output layer".
    """
    hidden = sum(activated[:-1])
    names = []
    for k, act in enumerate(activated, start=1):
        last = k == len(activated)
        pre = PREDICTION if last and not act else f"Z{k}"
        out = (PREDICTION if last else "H" if hidden == 1 else f"H{k}") if act else None
        names.append(LayerNames(k, "output layer" if last else f"hidden layer {k}", f"W{k}", f"b{k}", pre, out))
    return names


def neuron_name(layer_result: str, j: int) -> str:
    """Neuron j (from 1) of a layer whose result is called layer_result: H -> h1, H2 -> h2,1, Ŷ -> ŷ1."""
    base = layer_result.rstrip("0123456789")
    index = layer_result[len(base):]
    return f"{base.lower()}{index + ',' if index else ''}{j}"


def own_name(t: Any) -> str | None:
    """A name the user gave a tensor (W1), not the module path nn assigns (0.weight), else None."""
    name = getattr(t, "name", None)
    return name if name and not _path_like(name) else None


def path_colour(k: int) -> tuple[str, str]:
    """(colour name, hex) of the k-th parameter's chain-rule path, cycling through PATH_COLOURS."""
    return PATH_COLOURS[k % len(PATH_COLOURS)]


def vjp_colour(k: int) -> tuple[str, str]:
    """(border, tint) of the k-th forward op whose VJP a gradient's graph shows, cycling through VJP_COLOURS."""
    return VJP_COLOURS[k % len(VJP_COLOURS)]


def math_runs(text: str) -> list[tuple[str, str]]:
    """Split a name or formula into ('text', ''), ('1', 'sub') and ('3×4', 'sup') runs, for typesetting.

    'W1 ∈ ℝ³ˣ⁴' -> [('W', ''), ('1', 'sub'), (' ∈ ℝ', ''), ('3×4', 'sup')]. A digit run after a letter
    is a subscript unless a letter follows it (so 'fc1' is fc₁ but 'layer2out' stays as it is).
    """
    runs: list[tuple[str, str]] = []
    last = 0
    for m in _RUNS.finditer(text):
        if m.start() > last:
            runs.append((text[last:m.start()], ""))
        runs.append((m.group(1), "sub") if m.group(1) else (m.group(2).translate(_SCRIPT_TO_TEXT), "sup"))
        last = m.end()
    if last < len(text):
        runs.append((text[last:], ""))
    return runs


@dataclass
class Layer:
    """One affine layer found in the graph: pre = x @ weight (+ bias), then an optional activation.

    `names` is what the policy calls its tensors and its box; `members` are the tensors its box
    holds (parameters, the product, the affine result and the activation), and `op_members` the
    tensors whose op is drawn inside the box.
    """

    index: int
    weight: Tensor
    bias: Tensor | None
    product: Tensor
    pre: Tensor
    activation: Tensor | None = None
    names: LayerNames | None = None

    @property
    def title(self) -> str:
        return self.names.title if self.names else f"layer {self.index}"

    @property
    def result(self) -> Tensor:
        return self.activation if self.activation is not None else self.pre

    @property
    def members(self) -> list[Tensor]:
        found = [self.weight, self.product] + ([self.bias] if self.bias is not None else [])
        return found + [t for t in (self.pre, self.activation) if t is not None and all(t is not f for f in found)]

    @property
    def op_members(self) -> list[Tensor]:
        return [t for t in (self.product, self.pre, self.activation) if t is not None]


def forward_order(root: Tensor, inputs: Callable[[Tensor], Sequence[Tensor]] | None = None) -> list[Tensor]:
    """Every tensor reachable from root, each after all of its inputs (explicit stack, no recursion).

    Inputs are visited in argument order, so `X @ W1` lists X before W1 on every run. `inputs(t)`
    says where the walk goes from t (by default a non-leaf's `inputs`, and nowhere from a leaf).
    """
    order: list[Tensor] = []
    seen = {root}
    stack: list[tuple[Tensor, int]] = [(root, 0)]
    while stack:
        t, i = stack.pop()
        parents = inputs(t) if inputs is not None else t.inputs if not t.is_leaf else ()
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
    """The space a tensor lives in, as on the exercise sheet: ℝ, ℝ⁴, ℝ³ˣ⁴ (ℝᴺˣ³ for a symbolic N)."""
    if not shape:
        return "ℝ"
    return "ℝ" + "×".join(str(n) for n in shape).translate(_TEXT_TO_SCRIPT)


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
        data_names = iter([INPUT, TARGET] + [f"D{k}" for k in range(1, len(self.order) + 1)])
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
                self.assign(t, LOSS)
            else:
                self._expression_name(t)

    def _layer_names(self, layers: list[Layer]) -> list[tuple[Tensor, str]]:
        if not layers:
            return []
        out: list[tuple[Tensor, str]] = []
        first_input = layers[0].product.inputs[0]
        if self.roles[first_input] == "data":
            out.append((first_input, INPUT))
        for layer, names in zip(layers, layer_names([layer.activation is not None for layer in layers])):
            layer.names = names
            out.append((layer.weight, names.weight))
            if layer.bias is not None:
                out.append((layer.bias, names.bias))
            out.append((layer.pre, names.pre))
            if layer.activation is not None:
                out.append((layer.activation, names.out))
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
            spelled = "".join(IDENT_SPELLING.get(ch, ch) for ch in name)
            candidate = re.sub(r"[^A-Za-z0-9_]+", "_", spelled).strip("_") or "t"
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

