"""The computation graph as a picture: graph description from a tensor -> graphviz.Digraph -> SVG.

As in torchviz's dot.py, finding what to draw is separate from drawing it. `graph_description(root)`
walks the recorded graph (explicit stack, no recursion) into plain nodes and edges: a node per
tensor (name, shape, gradient shape after backward) and per op (matmul, add, relu, ...), and an
edge per tensor flowing into or out of an op, labelled with its shape. `draw_graph` turns that
into a `graphviz.Digraph`; `render_svg` and `save_svg` turn the Digraph into SVG.

Colours, also drawn as a legend in the picture:
    light blue    inputs and targets: leaves that need no gradient (X, Y, constants)
    orange        parameters: leaves that require grad (W1, b1, ...)
    white         intermediate results (Z1, H, Yhat, ...)
    green         the loss, the root the graph is drawn from
    grey ovals    ops
    red, dashed   gradient edges (grad_edges=True): dL/d(input), flowing back through each op
    dashed boxes  one box per layer (module): its parameters and the ops that use them

Rendering uses, in order: the Graphviz `dot` program through the `graphviz` package; pygraphviz,
whose wheels (>= 2.0) bundle the Graphviz libraries (`pip install "minigrad[svg]"`); else it raises
RendererNotFoundError naming both remedies. Labels are plain or record labels (no HTML-like
labels), so both renderers draw the same picture, and node ids are sequential in the graph's
forward order, so the DOT source is byte-identical from run to run.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from .graph import format_number, format_shape, inspect_graph, submodule
from ..core import Tensor

COLOURS = {"data": "#cfe2f3", "param": "#f9cb9c", "intermediate": "#ffffff", "loss": "#b6d7a8", "op": "#eeeeee"}
LEGEND = (
    ("data", "input / target"),
    ("param", "parameter"),
    ("intermediate", "intermediate result"),
    ("loss", "loss (root)"),
    ("op", "op"),
)
GRAD_COLOUR = "#cc0000"
RENDERERS = ("dot", "pygraphviz")
INSTALL_HINT = (
    "Drawing SVG needs Graphviz, and none was found. Either install the Graphviz program "
    "(apt-get install graphviz on Debian/Ubuntu, brew install graphviz on macOS), or install "
    'pygraphviz, whose wheels bundle Graphviz: pip install "minigrad[svg]".'
)
MAX_INLINE_NODES = 400
_GRAPHS = (graphviz.Digraph, graphviz.Graph)
_FONT = "Helvetica"


class RendererNotFoundError(RuntimeError):
    """Neither the Graphviz `dot` program nor pygraphviz is available to draw SVG."""


class _Unavailable(Exception):
    pass


@dataclass(frozen=True)
class GraphNode:
    """A tensor or op of the recorded graph, as drawn: `lines` are the label's lines after the first."""

    id: str
    kind: str
    label: str
    role: str
    shape: tuple[int, ...] | None = None
    lines: tuple[str, ...] = ()
    cluster: str | None = None


@dataclass(frozen=True)
class GraphEdge:
    """An arrow: a tensor into an op, an op to its output tensor, or (kind 'grad') a gradient flowing back."""

    tail: str
    head: str
    label: str
    kind: str = "data"


@dataclass
class GraphDescription:
    """Plain data for one graph: nodes in forward order, edges, and the labels of the layer boxes."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    clusters: dict[str, str] = field(default_factory=dict)

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


def graph_description(
    root: Tensor,
    show_values: bool = False,
    show_grads: bool = True,
    names: Mapping[Tensor, str] | None = None,
    params: Any = None,
    grad_edges: bool = False,
    clusters: bool = True,
) -> GraphDescription:
    """Walk the graph below root into nodes and edges, ids n0, n1, ... in forward order.

    Args:
        root: the tensor to draw the graph of (usually the loss).
        show_values: add small values (or the norm, for bigger arrays) of tensors and gradients.
        show_grads: add the gradient's shape to every tensor that has a `.grad`.
        names: {tensor: name} overriding the generated names.
        params: a Module or {dotted name: tensor}, for module paths and layer boxes.
        grad_edges: add a dashed red edge from each op back to each input it sends a gradient to.
        clusters: group each layer's parameters and ops in a box.
    """
    info = inspect_graph(root, names, params)
    boxes, labels = _layer_boxes(info) if clusters else ({}, {})
    nodes: list[GraphNode] = []
    edges: list[GraphEdge] = []
    ids: dict[Tensor, str] = {}

    def new_id() -> str:
        return f"n{len(nodes)}"

    for t in info.order:
        op_id = None
        if not t.is_leaf:
            op_id = new_id()
            nodes.append(GraphNode(op_id, "op", t.op_type.label(t.op_params), "op", cluster=boxes.get(("op", t))))
            for i, p in enumerate(t.inputs):
                edges.append(GraphEdge(ids[p], op_id, format_shape(p.shape)))
            if grad_edges:
                for i, p in enumerate(t.inputs):
                    if t.needs_input_grad[i]:
                        label = f"{info.differential(p)} {format_shape(p.shape)}"
                        edges.append(GraphEdge(op_id, ids[p], label, "grad"))
        ids[t] = new_id()
        lines = []
        if t in info.aliases and info.aliases[t] != info.names[t]:
            lines.append(info.aliases[t])
        lines.append(format_shape(t.shape))
        if show_values:
            lines.append(f"= {_values(t.data)}")
        if show_grads and t.grad is not None:
            lines.append(f"grad {format_shape(t.grad.shape)}" + (f" {_values(t.grad)}" if show_values else ""))
        nodes.append(GraphNode(ids[t], "tensor", info.names[t], info.roles[t], t.shape, tuple(lines), boxes.get(t)))
        if op_id is not None:
            edges.append(GraphEdge(op_id, ids[t], format_shape(t.shape)))
    return GraphDescription(nodes, edges, labels)


def draw_graph(
    root: Tensor,
    show_values: bool = False,
    show_grads: bool = True,
    rankdir: str = "LR",
    *,
    names: Mapping[Tensor, str] | None = None,
    params: Any = None,
    grad_edges: bool = False,
    clusters: bool = True,
    legend: bool = True,
    size: str | None = None,
) -> Graph:
    """The computation graph below root as a graphviz.Digraph (see the module docstring for colours).

    Args:
        root: the tensor to draw the graph of (usually the loss).
        show_values, show_grads, names, params, grad_edges, clusters: as in `graph_description`.
        rankdir: "LR" (left to right, the default) or "TB" (top to bottom).
        legend: draw the colour legend.
        size: Graphviz's maximum size in inches, e.g. "10,6", to shrink a large graph.

    Example:
        >>> loss = nn.MSELoss()(model(X), Y); loss.backward()
        >>> draw_graph(loss, params=model)             # shows inline in Jupyter
        >>> save_svg(loss, "computation_graph.svg", params=model)
    """
    desc = graph_description(root, show_values, show_grads, names, params, grad_edges, clusters)
    return to_digraph(desc, rankdir, legend, size)


def to_digraph(desc: GraphDescription, rankdir: str = "LR", legend: bool = True, size: str | None = None) -> Graph:
    """Lay a GraphDescription out as DOT: record nodes for tensors, ovals for ops, boxes for layers."""
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"rankdir must be LR, RL, TB or BT, got {rankdir!r}")
    graph = Graph(
        "computation_graph",
        graph_attr={"rankdir": rankdir, "nodesep": "0.2", "ranksep": "0.3", "fontname": _FONT, "fontsize": "11"},
        node_attr={"fontname": _FONT, "fontsize": "11", "style": "filled", "penwidth": "0.8"},
        edge_attr={"fontname": _FONT, "fontsize": "9", "arrowsize": "0.6", "penwidth": "0.8"},
    )
    if size:
        graph.attr(size=size)
    sideways = rankdir in ("LR", "RL")
    for key, label in desc.clusters.items():
        with graph.subgraph(name=f"cluster_{key}") as box:
            box.attr(label=label, style="dashed", color="#888888", fontcolor="#555555")
            for node in desc.nodes:
                if node.cluster == key:
                    _add_node(box, node, sideways)
    for node in desc.nodes:
        if node.cluster is None:
            _add_node(graph, node, sideways)
    for edge in desc.edges:
        if edge.kind == "grad":
            graph.edge(edge.tail, edge.head, label=edge.label, color=GRAD_COLOUR, fontcolor=GRAD_COLOUR,
                       style="dashed", constraint="false")
        else:
            graph.edge(edge.tail, edge.head, label=edge.label)
    if legend:
        _add_legend(graph, sideways)
    return graph


def _add_node(graph: graphviz.Digraph, node: GraphNode, sideways: bool) -> None:
    if node.kind == "op":
        graph.node(node.id, label=node.label, shape="ellipse", fillcolor=COLOURS["op"])
        return
    fields = "|".join(_escape(text) for text in (node.label, *node.lines))
    graph.node(node.id, label=fields if sideways else "{" + fields + "}", shape="record", fillcolor=COLOURS[node.role])


def _add_legend(graph: graphviz.Digraph, sideways: bool) -> None:
    with graph.subgraph(name="cluster_legend") as box:
        box.attr(label="legend", style="rounded", color="#bbbbbb", fontcolor="#555555")
        ids = []
        for k, (role, text) in enumerate(LEGEND):
            ids.append(f"legend{k}")
            box.node(ids[-1], label=text, shape="ellipse" if role == "op" else "box", fillcolor=COLOURS[role])
        for tail, head in zip(ids, ids[1:]):
            box.edge(tail, head, style="invis")


def _escape(text: str) -> str:
    """Record labels treat {, }, |, < and > as structure; escape them inside a field."""
    for ch in "{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text


def _values(array: np.ndarray) -> str:
    """Up to four numbers as they are, more as a norm: '[0.5, -1]' or '‖·‖ 12.3'."""
    if array.size == 1:
        return format_number(array.reshape(-1)[0])
    if array.size <= 4:
        return "[" + ", ".join(format_number(v) for v in array.reshape(-1)) + "]"
    return f"‖·‖ {format_number(np.linalg.norm(array))}"


def _layer_boxes(info: Any) -> tuple[dict[Any, str], dict[str, str]]:
    """Which nodes go in which layer box, and each box's label ('Linear 0', or 'layer 1')."""
    members: dict[Any, str] = {}
    labels: dict[str, str] = {}
    for layer in info.layers:
        key = f"layer{layer.index}"
        if layer.weight in members:
            continue
        path = info.aliases.get(layer.weight, "")
        prefix = path.rpartition(".")[0]
        module = submodule(info.model, prefix) if info.model is not None and path else None
        if module is not None:
            labels[key] = f"{type(module).__name__} {prefix}".strip()
        else:
            labels[key] = f"layer {layer.index}" + (f" ({prefix})" if prefix else "")
        members[layer.weight] = key
        members[("op", layer.product)] = key
        if layer.bias is not None and layer.bias not in members:
            members[layer.bias] = key
            members[layer.product] = key
            members[("op", layer.pre)] = key
    return members, labels


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
            return _RENDER[name](source)
        except _Unavailable as err:
            reasons.append(f"{name}: {err}")
    raise RendererNotFoundError(f"{INSTALL_HINT} ({'; '.join(reasons)})")


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
