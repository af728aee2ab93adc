"""The computation graph as a picture: graph description from a tensor -> graphviz.Digraph -> SVG.

As in torchviz's dot.py, finding what to draw is separate from drawing it. `graph_description(root)`
walks the recorded graph (explicit stack, no recursion) into plain nodes and edges: a node per
tensor (name, shape, gradient shape after backward), per op (matmul, add, relu, ...) and per
implicit broadcast, and an edge per tensor flowing into or out of an op, labelled with its shape.
`draw_graph` turns that into a `graphviz.Digraph`; `render_svg` and `save_svg` turn the Digraph
into SVG. Every name comes from the one naming policy (`graph.py`), so the graph says W1, Z1, H, Ŷ
and "hidden layer 1" exactly where the network scheme does.

Colours, also drawn as a legend in the picture:
    light blue     inputs and targets: leaves that need no gradient (X, Y, constants)
    orange         parameters: leaves that require grad (W1, b1, ...)
    white          intermediate results (Z1, H, Ŷ, ...)
    green          the loss, the root the graph is drawn from
    grey ovals     ops; a dashed oval is a broadcast numpy does implicitly (b1: 4 -> 1046×4)
    tinted boxes   one box per layer and one for the loss, tinted as the scheme's layers
    coloured edges (paths=True) each parameter's chain-rule path from the loss, one colour each
    red, dashed    gradient edges (grad_edges=True): ∂L/∂(input), flowing back through each op

Rendering uses, in order: the Graphviz `dot` program through the `graphviz` package; pygraphviz,
whose wheels (>= 2.0) bundle the Graphviz libraries (`pip install "minigrad[svg]"`); else it raises
RendererNotFoundError naming both remedies. Labels are Graphviz HTML-like labels, whose <SUB> and
<SUP> both renderers draw; `render_svg` then writes each sub- or superscript as a plain shifted
<text>, so every SVG viewer (a browser, Typst) shows W₁ and ℝ³ˣ⁴ alike. Node ids are sequential
in the graph's forward order, so the DOT source is byte-identical from run to run.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from .graph import (
    LOSS_TITLE, format_number, format_shape, format_space, inspect_graph, math_runs, path_colour,
)
from .symbolic import gradient_shape
from ..core import Tensor

COLOURS = {"data": "#cfe2f3", "param": "#f9cb9c", "intermediate": "#ffffff", "loss": "#b6d7a8", "op": "#eeeeee",
           "gradient": "#f4cccc", "constant": "#e3e3e3"}
# Tints of the layer boxes, the same in the graph and in the network scheme (`layer_tint`).
HIDDEN_TINTS = ("#fff2cc", "#e6f0fa", "#fde9d9", "#eeeeff")
OUTPUT_TINT, LOSS_TINT = "#f3e5f5", "#e8f5e9"
LEGEND = (
    ("data", "input / target"),
    ("param", "parameter"),
    ("intermediate", "intermediate result"),
    ("loss", "loss (root)"),
    ("op", "op"),
)
# Roles only the graph of a gradient has (backward.py); the legend lists them when they are drawn.
EXTRA_LEGEND = (("gradient", "gradient (∂L/∂…)"), ("constant", "constant a VJP made"))
GRAD_COLOUR = "#cc0000"
BORDER = "#555555"
RENDERERS = ("dot", "pygraphviz")
INSTALL_HINT = (
    "Drawing SVG needs Graphviz, and none was found. Either install the Graphviz program "
    "(apt-get install graphviz on Debian/Ubuntu, brew install graphviz on macOS), or install "
    'pygraphviz, whose wheels bundle Graphviz: pip install "minigrad[svg]".'
)
MAX_INLINE_NODES = 400
FONT = "DejaVu Sans"
SCRIPT_SCALE = 0.85
_GRAPHS = (graphviz.Digraph, graphviz.Graph)


class RendererNotFoundError(RuntimeError):
    """Neither the Graphviz `dot` program nor pygraphviz is available to draw SVG."""


class _Unavailable(Exception):
    pass


@dataclass(frozen=True)
class GraphNode:
    """A tensor, op or broadcast of the recorded graph, as drawn: `lines` are the label's lines after the first.

    `colour` is the border colour of a parameter whose chain-rule path is drawn (paths=True), or of an
    op whose VJP the graph of a gradient shows (backward.py), which `fill` then tints.
    """

    id: str
    kind: str
    label: str
    role: str
    shape: tuple[int, ...] | None = None
    lines: tuple[str, ...] = ()
    cluster: str | None = None
    colour: str | None = None
    fill: str | None = None


@dataclass(frozen=True)
class GraphEdge:
    """An arrow: a tensor into an op, an op to its output tensor, (kind 'grad') a gradient flowing back, or
    (kind 'read') a forward tensor that a VJP reads only through a mask.

    `colours` are the colours of the chain-rule paths that run along it (paths=True).
    """

    tail: str
    head: str
    label: str
    kind: str = "data"
    colours: tuple[str, ...] = ()


@dataclass
class GraphDescription:
    """Plain data for one graph: nodes in forward order, edges, and the boxes (layers, loss).

    `clusters` maps a box's key to its label, `tints` to its fill colour, `colours` to its border
    colour and `parents` to the key of the box around it; `paths` lists (parameter name, colour
    name, hex) for each chain-rule path drawn.
    """

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    clusters: dict[str, str] = field(default_factory=dict)
    tints: dict[str, str] = field(default_factory=dict)
    paths: list[tuple[str, str, str]] = field(default_factory=list)
    colours: dict[str, str] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)

    @property
    def tensors(self) -> list[GraphNode]:
        return [n for n in self.nodes if n.kind == "tensor"]

    @property
    def ops(self) -> list[GraphNode]:
        return [n for n in self.nodes if n.kind == "op"]

    def node(self, label: str) -> GraphNode:
        """The tensor node called `label` (e.g. 'W1')."""
        for n in self.tensors:
            if n.label == label:
                return n
        raise KeyError(f"no tensor node {label!r}; have {[n.label for n in self.tensors]}")


class Graph(graphviz.Digraph):
    """A graphviz.Digraph that renders through minigrad's fallbacks and shows inline in Jupyter.

    Jupyter display never raises: without a renderer it shows the install hint as text.
    """

    def svg(self, renderer: str | None = None) -> str:
        """This graph as SVG text (see `render_svg`)."""
        return render_svg(self, renderer)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **_: Any) -> dict[str, str]:
        return _bundle(self)


def layer_tint(title: str, index: int = 1) -> str:
    """The fill of a layer's box and neurons, shared by the graph and the scheme."""
    if title == LOSS_TITLE:
        return LOSS_TINT
    if title == "output layer":
        return OUTPUT_TINT
    return HIDDEN_TINTS[(index - 1) % len(HIDDEN_TINTS)]


def graph_description(
    root: Tensor,
    show_values: bool = False,
    show_grads: bool = True,
    names: Mapping[Tensor, str] | None = None,
    params: Any = None,
    grad_edges: bool = False,
    clusters: bool = True,
    paths: bool = False,
    module_paths: bool = False,
    broadcasts: bool = True,
    op_colours: Mapping[Tensor, tuple[str, str]] | None = None,
) -> GraphDescription:
    """Walk the graph below root into nodes and edges, ids n0, n1, ... in forward order.

    Args:
        root: the tensor to draw the graph of (usually the loss).
        show_values: add small values (or the norm, for bigger arrays) of tensors and gradients.
        show_grads: add the gradient's shape to every tensor that has a `.grad`.
        names: {tensor: name} overriding the generated names.
        params: a Module or {dotted name: tensor}, for module paths and layer boxes.
        grad_edges: add a dashed red edge from each op back to each input it sends a gradient to.
        clusters: group each layer's parameters, ops and results in a box, and the loss's in another.
        paths: colour each parameter's chain-rule path from the root, as `explain_backward` does.
        module_paths: add a parameter's module path (0.weight) under its name.
        broadcasts: draw each implicit broadcast as a node between its input and the op.
        op_colours: {tensor: (border, fill)} for the ops to colour, as the graph of a gradient pairs
            each op with the nodes its VJP recorded.
    """
    info = inspect_graph(root, names, params)
    boxes, labels, tints = _boxes(info) if clusters else ({}, {}, {})
    on_paths = _path_colours(info) if paths else {}
    nodes: list[GraphNode] = []
    edges: list[GraphEdge] = []
    ids: dict[Tensor, str] = {}

    def new_id() -> str:
        return f"n{len(nodes)}"

    def colours(p: Tensor, t: Tensor) -> tuple[str, ...]:
        """The paths through the edge p -> t: those of targets below p that reach t."""
        return tuple(c for k, c in on_paths.get(p, ()) if (k, c) in on_paths.get(t, ()))

    for t in info.order:
        op_id = None
        if not t.is_leaf:
            op_id = new_id()
            border, fill = (op_colours or {}).get(t, (None, None))
            nodes.append(GraphNode(op_id, "op", t.op_type.label(t.op_params), "op", cluster=boxes.get(("op", t)),
                                   colour=border, fill=fill))
            for i, p in enumerate(t.inputs):
                tail, label = ids[p], format_shape(p.shape)
                stretched = gradient_shape(t, i) if broadcasts else p.shape
                if stretched != p.shape:
                    tail = new_id()
                    nodes.append(GraphNode(tail, "broadcast", "broadcast", "op", stretched,
                                           (f"{format_shape(p.shape)} → {format_shape(stretched)}",),
                                           cluster=boxes.get(("op", t))))
                    edges.append(GraphEdge(ids[p], tail, label, colours=colours(p, t)))
                    label = format_shape(stretched)
                edges.append(GraphEdge(tail, op_id, label, colours=colours(p, t)))
            if grad_edges:
                for i, p in enumerate(t.inputs):
                    if t.needs_input_grad[i]:
                        label = f"{info.differential(p)} {format_shape(p.shape)}"
                        edges.append(GraphEdge(op_id, ids[p], label, "grad"))
        ids[t] = new_id()
        lines = []
        if module_paths and t in info.aliases and info.aliases[t] != info.names[t]:
            lines.append(info.aliases[t])
        lines.append(format_shape(t.shape))
        if show_values:
            lines.append(f"= {_values(t.data)}")
        if show_grads and t.grad is not None:
            grad = np.asarray(t.grad)
            lines.append(f"grad {format_shape(grad.shape)}" + (f" {_values(grad)}" if show_values else ""))
        own = [c for k, c in on_paths.get(t, ()) if t.is_leaf]
        nodes.append(GraphNode(ids[t], "tensor", info.names[t], info.roles[t], t.shape, tuple(lines), boxes.get(t),
                               own[0] if own else None))
        if op_id is not None:
            edges.append(GraphEdge(op_id, ids[t], format_shape(t.shape), colours=colours(t, t)))
    drawn = [(info.names[t], *path_colour(k)) for k, t in enumerate(info.gradient_targets())] if paths else []
    return GraphDescription(nodes, edges, labels, tints, drawn)


def draw_graph(
    root: Tensor,
    show_values: bool = False,
    show_grads: bool = True,
    rankdir: str = "TB",
    *,
    names: Mapping[Tensor, str] | None = None,
    params: Any = None,
    grad_edges: bool = False,
    clusters: bool = True,
    paths: bool = False,
    module_paths: bool = False,
    legend: bool = True,
    edge_labels: bool = True,
    size: str | None = None,
    fontsize: float = 11,
) -> Graph:
    """The computation graph below root as a graphviz.Digraph (see the module docstring for colours).

    Args:
        root: the tensor to draw the graph of (usually the loss).
        show_values, show_grads, names, params, grad_edges, clusters, paths, module_paths: as in
            `graph_description`.
        rankdir: "TB" (top to bottom, the default: it fits a page) or "LR" (left to right).
        legend: draw the colour legend.
        edge_labels: write each edge's shape on it (a broadcast's node always says its shapes). Dot
            gives each label a rank of its own, so without them the graph is half as tall. A mask's
            dotted edge in the graph of a gradient keeps its label.
        size: Graphviz's maximum size in inches, e.g. "10,6", to shrink a large graph.
        fontsize: the size of node text in points; edge labels and ops are one point smaller.

    Example:
        >>> loss = nn.MSELoss()(model(X), Y); loss.backward()
        >>> draw_graph(loss, params=model)             # shows inline in Jupyter
        >>> save_svg(loss, "computation_graph.svg", params=model, paths=True)
    """
    desc = graph_description(root, show_values, show_grads, names, params, grad_edges, clusters, paths,
                             module_paths)
    return to_digraph(desc, rankdir, legend, size, edge_labels, fontsize)


def to_digraph(desc: GraphDescription, rankdir: str = "TB", legend: bool = True, size: str | None = None,
               edge_labels: bool = True, fontsize: float = 11) -> Graph:
    """Lay a GraphDescription out as DOT: HTML-like labels for tensors, ovals for ops, tinted boxes for layers."""
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"rankdir must be LR, RL, TB or BT, got {rankdir!r}")
    small = f"{fontsize - 1:g}"
    graph = Graph(
        "computation_graph",
        graph_attr={"rankdir": rankdir, "nodesep": "0.2", "ranksep": "0.14", "fontname": FONT,
                    "fontsize": f"{fontsize:g}"},
        node_attr={"fontname": FONT, "fontsize": f"{fontsize:g}", "penwidth": "0.8", "margin": "0.06,0.03"},
        edge_attr={"fontname": FONT, "fontsize": small, "arrowsize": "0.6", "penwidth": "0.8"},
    )
    if size:
        graph.attr(size=size)
    for key in (k for k in desc.clusters if k not in desc.parents):
        with graph.subgraph(name=f"cluster_{key}") as box:
            _style_box(box, desc, key, fontsize)
            for inner in (k for k, parent in desc.parents.items() if parent == key):
                with box.subgraph(name=f"cluster_{inner}") as sub:
                    _style_box(sub, desc, inner, fontsize)
                    for node in desc.nodes:
                        if node.cluster == inner:
                            _add_node(sub, node, fontsize)
            for node in desc.nodes:
                if node.cluster == key:
                    _add_node(box, node, fontsize)
    for node in desc.nodes:
        if node.cluster is None:
            _add_node(graph, node, fontsize)
    for edge in desc.edges:
        attrs = {"label": html_label(edge.label, size=fontsize - 1)} if edge_labels or edge.kind == "read" else {}
        if edge.kind == "grad":
            graph.edge(edge.tail, edge.head, color=GRAD_COLOUR, fontcolor=GRAD_COLOUR, style="dashed",
                       constraint="false", **attrs)
        elif edge.kind == "read":
            graph.edge(edge.tail, edge.head, color="#777777", fontcolor="#555555", style="dotted", penwidth="1.2",
                       **attrs)
        elif edge.colours:
            graph.edge(edge.tail, edge.head, color=":".join(edge.colours), penwidth="1.4", **attrs)
        else:
            graph.edge(edge.tail, edge.head, **attrs)
    if legend:
        _add_legend(graph, desc, any(n.kind == "broadcast" for n in desc.nodes))
    return graph


def _style_box(box: graphviz.Digraph, desc: GraphDescription, key: str, fontsize: float) -> None:
    """A box's label, tint and border: grey and dashed, or solid in the box's own colour when it has one."""
    colour = desc.colours.get(key)
    own = {"style": "filled", "color": colour, "fontcolor": colour, "penwidth": "1.4"} if colour else {
        "style": "dashed,filled", "color": "#777777", "fontcolor": "#333333"}
    box.attr(label=html_label(desc.clusters[key], size=fontsize), fillcolor=desc.tints.get(key, "white"),
             labeljust="l", **own)


def html_label(text: str, *extra: str, size: float | None = None, bold_first: bool = False,
               pad: bool = False) -> str:
    """A Graphviz HTML-like label: names with subscripts (W<SUB>1</SUB>), spaces with exponents (ℝ<SUP>4</SUP>).

    `extra` lines go under the first, in a borderless table whose padding keeps one line's
    superscripts clear of the line above's subscripts; a script is set at SCRIPT_SCALE of `size`
    when size is given. `pad` ends a line that has scripts with a no-break space, for a label in a box.
    """
    lines = [_html_runs(line, size, pad) for line in (text, *extra)]
    if bold_first:
        lines[0] = f"<B>{lines[0]}</B>"
    if len(lines) == 1:
        return f"<{lines[0]}>"
    rows = "".join(f"<TR><TD>{line}</TD></TR>" for line in lines)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{rows}</TABLE>>'


def _html_runs(text: str, size: float | None, pad: bool = False) -> str:
    out = []
    runs = math_runs(text)
    for run, kind in runs:
        run = run.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if kind:
            tag = "SUB" if kind == "sub" else "SUP"
            inner = f'<FONT POINT-SIZE="{size * SCRIPT_SCALE:.3g}">{run}</FONT>' if size else run
            out.append(f"<{tag}>{inner}</{tag}>")
        else:
            out.append(run)
    if pad and any(kind for _, kind in runs):
        # NOTE: a reader's font is often a little wider than the metrics Graphviz measured the runs
        # with; a trailing no-break space keeps a line with scripts inside its box.
        out.append("&#160;")
    return "".join(out)


def _tensor_text(node: GraphNode) -> list[str]:
    """'W1 ∈ ℝ³ˣ⁴' first, then the other lines (module path, value, gradient)."""
    lines = list(node.lines)
    shape_line = format_shape(node.shape) if node.shape is not None else None
    first = node.label
    if shape_line in lines:
        lines.remove(shape_line)
        first = f"{node.label} ∈ {format_space(node.shape)}"
    return [first] + lines


def _add_node(graph: graphviz.Digraph, node: GraphNode, size: float) -> None:
    small = f"{size - 1:g}"
    if node.kind == "op":
        paired = {"color": node.colour, "penwidth": "2", "fontcolor": node.colour} if node.colour else {}
        graph.node(node.id, label=html_label(node.label), shape="ellipse", style="filled",
                   fillcolor=node.fill or COLOURS["op"], fontsize=small, height="0.22", margin="0.03,0.01", **paired)
        return
    if node.kind == "broadcast":
        graph.node(node.id, label=html_label(node.label, *node.lines), shape="ellipse", style="dashed",
                   fontsize=small, height="0.22", margin="0.02,0.01", color="#777777")
        return
    rows = _tensor_text(node)
    cells = "".join(f"<TR><TD>{_html_runs(row, size, pad=True)}</TD></TR>" for row in rows)
    border = node.colour or BORDER
    width = "2" if node.colour else "1"
    table = (f'<<TABLE BORDER="{width}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" COLOR="{border}" '
             f'BGCOLOR="{COLOURS[node.role]}">{cells}</TABLE>>')
    graph.node(node.id, label=table, shape="plain")


def _add_legend(graph: graphviz.Digraph, desc: GraphDescription, broadcast: bool) -> None:
    """A column of small entries joined by invisible edges: one rank each, so no rank grows taller."""
    size = float(graph.node_attr["fontsize"]) - 1
    entries = [("legend_title", {"label": "legend", "shape": "plaintext"})]
    for k, (role, text) in enumerate(LEGEND):
        entries.append((f"legend{k}", {"label": text, "shape": "ellipse" if role == "op" else "box",
                                       "style": "filled", "fillcolor": COLOURS[role], "height": "0.22"}))
    drawn = {node.role for node in desc.nodes}
    for role, text in EXTRA_LEGEND:
        if role in drawn:
            entries.append((f"legend_{role}", {"label": html_label(text, size=size), "shape": "box",
                                               "style": "filled", "fillcolor": COLOURS[role], "height": "0.22"}))
    if desc.colours:
        entries.append(("legend_vjp", {"label": html_label("nodes an op's VJP made,", "in its oval's colour", size=size),
                                       "shape": "box", "style": "filled", "fillcolor": "#f5f5f5", "color": "#555555",
                                       "penwidth": "1.4", "height": "0.22"}))
    if broadcast:
        entries.append(("legend_broadcast", {"label": "implicit broadcast", "shape": "ellipse", "style": "dashed",
                                             "color": "#777777", "height": "0.22"}))
    for name, _, colour in desc.paths:
        entries.append((f"legend_path{len(entries)}", {"label": html_label(f"path to {name}", size=size),
                                                       "shape": "box", "color": colour, "fontcolor": colour,
                                                       "penwidth": "1.6", "height": "0.22"}))
    with graph.subgraph(name="cluster_legend") as box:
        box.attr(label="", style="rounded", color="#bbbbbb")
        for key, attrs in entries:
            box.node(key, fontsize=f"{size:g}", margin="0.04,0.01", **attrs)
        for (tail, _), (head, _) in zip(entries, entries[1:]):
            box.edge(tail, head, style="invis")
    tensors = desc.tensors
    if len(tensors) > len(entries) // 2:
        # NOTE: hung below a tensor halfway down, the column fills the empty corner beside the
        # later layers instead of widening the picture.
        graph.edge(tensors[len(tensors) // 2 - 2].id, "legend_title", style="invis")


def _values(array: np.ndarray) -> str:
    """Up to four numbers as they are, more as a norm: '[0.5, -1]' or '‖·‖ 12.3'."""
    if array.size == 1:
        return format_number(array.reshape(-1)[0])
    if array.size <= 4:
        return "[" + ", ".join(format_number(v) for v in array.reshape(-1)) + "]"
    return f"‖·‖ {format_number(np.linalg.norm(array))}"


def _boxes(info: Any) -> tuple[dict[Any, str], dict[str, str], dict[str, str]]:
    """Which nodes go in which box, each box's label and tint: the policy's layer titles, then the loss.

    A layer's box holds its parameters, its ops and their results ("hidden layer 1": W1, b1, X·W1,
    Z1, H); the loss box holds what follows the last layer's result, up to the root.
    """
    members: dict[Any, str] = {}
    labels: dict[str, str] = {}
    tints: dict[str, str] = {}
    for layer in info.layers:
        key = f"layer{layer.index}"
        if layer.weight in members:
            continue
        labels[key], tints[key] = layer.title, layer_tint(layer.title, layer.index)
        for t in layer.members:
            members.setdefault(t, key)
        for t in layer.op_members:
            members.setdefault(("op", t), key)
    if info.layers and not info.root.is_leaf:
        last = next(i for i, t in enumerate(info.order) if t is info.layers[-1].result)  # == is elementwise
        loss = [t for t in info.order[last + 1:] if not t.is_leaf and t not in members]
        if loss:
            labels["loss"], tints["loss"] = LOSS_TITLE, layer_tint(LOSS_TITLE)
            for t in loss:
                members[t] = members[("op", t)] = "loss"
    return members, labels, tints


def _path_colours(info: Any) -> dict[Tensor, list[tuple[int, str]]]:
    """For each tensor, the (index, hex colour) of every parameter whose chain-rule path passes it."""
    below = info.reaches()
    return {t: [(k, path_colour(k)[1]) for k in sorted(ks)] for t, ks in below.items()}


# ---------------------------------------------------------------- rendering


def render_svg(graph: graphviz.Digraph | graphviz.Graph | str, renderer: str | None = None) -> str:
    """SVG text for a Digraph (or DOT source), with the first renderer available.

    Args:
        graph: a graphviz.Digraph or Graph, or DOT source text.
        renderer: "dot" or "pygraphviz" to use only that one; None tries them in that order.

    Raises:
        RendererNotFoundError: no renderer is available; the message says how to install one.
    """
    source = graph if isinstance(graph, str) else graph.source
    if renderer is not None and renderer not in RENDERERS:
        raise ValueError(f"renderer must be one of {RENDERERS} or None, got {renderer!r}")
    reasons = []
    for name in (renderer,) if renderer else RENDERERS:
        try:
            return place_scripts(_RENDER[name](source))
        except _Unavailable as err:
            reasons.append(f"{name}: {err}")
    raise RendererNotFoundError(f"{INSTALL_HINT} ({'; '.join(reasons)})")


_TEXT = re.compile(r'<text([^>]*)>([^<]*)</text>\n?')
_ATTR = re.compile(r'([\w:-]+)="([^"]*)"')
SHIFT = {"sub": 0.3, "super": -0.4}


def place_scripts(svg: str) -> str:
    """Join each line Graphviz writes in pieces (W, 1 as a subscript, ' ∈ ℝ', 3×4 as a superscript) into one <text>.

    Graphviz places every run of an HTML-like label at its own x, measured with its own font
    metrics, and marks scripts with `baseline-shift`, which browsers honour and other SVG readers
    (Typst's among them) ignore. One <text> per line, its runs as <tspan>s moved up or down by
    `dy`, reads the same in every reader and lets the reader's font set the spacing, so no run
    overlaps the next when its font is wider than the one Graphviz measured.
    """
    out: list[str] = []
    line: list[tuple[dict[str, str], str]] = []

    def flush() -> None:
        if line:
            out.append(_joined(line))
            line.clear()

    last = 0
    for m in _TEXT.finditer(svg):
        between = svg[last:m.start()]
        if between.strip():
            flush()
        out.append(between) if not line or between.strip() else None
        attrs, text = dict(_ATTR.findall(m.group(1))), m.group(2)
        if line and not _continues(line[-1], attrs):
            flush()
        line.append((attrs, text))
        last = m.end()
    flush()
    out.append(svg[last:])
    return "".join(out)


def _continues(previous: tuple[dict[str, str], str], attrs: dict[str, str]) -> bool:
    """Whether a run goes on the line of the previous one: same baseline, starting about where it ends."""
    before, text = previous
    if before.get("y") != attrs.get("y") or "start" not in (before.get("text-anchor"), attrs.get("text-anchor")):
        return False
    size = float(before.get("font-size", "10"))
    gap = float(attrs.get("x", "0")) - float(before.get("x", "0"))
    return 0 <= gap <= size * max(len(text), 1) + 2


def _joined(line: list[tuple[dict[str, str], str]]) -> str:
    first = line[0][0]
    keep = {k: v for k, v in first.items() if k not in ("baseline-shift", "font-size")}
    base = max(float(a.get("font-size", "10")) for a, _ in line if "baseline-shift" not in a) if any(
        "baseline-shift" not in a for a, _ in line) else float(first.get("font-size", "10"))
    spans, offset = [], 0.0
    for attrs, text in line:
        size = float(attrs.get("font-size", base))
        target = SHIFT.get(attrs.get("baseline-shift", ""), 0.0) * size
        extra = {"font-size": f"{size:.2f}"}
        if attrs.get("fill") and attrs.get("fill") != first.get("fill"):
            extra["fill"] = attrs["fill"]
        for key in ("font-weight", "font-style"):
            if key in attrs:
                extra[key] = attrs[key]
        if abs(target - offset) > 1e-9:
            extra["dy"] = f"{target - offset:.2f}"
            offset = target
        text = text.replace(" ", "\u00a0") if len(line) > 1 else text
        spans.append("<tspan " + " ".join(f'{k}="{v}"' for k, v in extra.items()) + f">{text}</tspan>")
    head = " ".join(f'{k}="{v}"' for k, v in keep.items())
    return f'<text {head} font-size="{base:.2f}">' + "".join(spans) + "</text>\n"


def _render_dot(source: str) -> str:
    try:
        return graphviz.Source(source).pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound:
        raise _Unavailable("the Graphviz program `dot` is not on PATH") from None


def _render_pygraphviz(source: str) -> str:
    try:
        import pygraphviz
    except ImportError:
        raise _Unavailable("pygraphviz is not installed") from None
    agraph = pygraphviz.AGraph(string=source)
    return agraph.draw(format="svg", prog=agraph.graph_attr.get("layout") or "dot").decode("utf-8")


_RENDER = {"dot": _render_dot, "pygraphviz": _render_pygraphviz}


def save_svg(
    obj: Tensor | graphviz.Digraph | graphviz.Graph,
    path: str | Path,
    renderer: str | None = None,
    **draw_kwargs: Any,
) -> Path:
    """Write the SVG of a graph (a Digraph, or the computation graph of a tensor) to path.

    `draw_kwargs` go to `draw_graph` when obj is a tensor. Without a renderer the DOT source is
    written next to path (same name, .dot) before RendererNotFoundError is raised, so nothing is lost.
    """
    path = Path(path)
    graph = obj if isinstance(obj, _GRAPHS) else draw_graph(obj, **draw_kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        svg = render_svg(graph, renderer)
    except RendererNotFoundError as err:
        dot_path = path.with_suffix(".dot")
        dot_path.write_text(graph.source, encoding="utf-8")
        raise RendererNotFoundError(
            f"{err}\nThe DOT source was written to {dot_path}; with Graphviz installed, "
            f"`dot -Tsvg {dot_path} -o {path}` draws it."
        ) from None
    path.write_text(svg, encoding="utf-8")
    return path


def _bundle(graph: graphviz.Digraph) -> dict[str, str]:
    # NOTE: a display hook must never raise in Jupyter; any failure becomes the text shown instead.
    try:
        return {"image/svg+xml": render_svg(graph)}
    except Exception as err:
        return {"text/plain": str(err)}


def tensor_mimebundle(t: Tensor, include: Any = None, exclude: Any = None) -> dict[str, str]:
    """What Jupyter shows for a tensor: its repr, plus the SVG of its graph when it has one.

    Like `Graph._repr_mimebundle_` it never raises; graphs of more than MAX_INLINE_NODES nodes
    are left to `save_svg`.
    """
    bundle = {"text/plain": repr(t)}
    if t.is_leaf:
        return bundle
    try:
        desc = graph_description(t)
        if len(desc.nodes) > MAX_INLINE_NODES:
            bundle["text/plain"] += f"\n(a graph of {len(desc.nodes)} nodes: draw it with minigrad.viz.save_svg)"
        else:
            bundle["image/svg+xml"] = render_svg(to_digraph(desc))
    except Exception as err:
        bundle["text/plain"] += f"\n({err})"
    return bundle
