"""The network scheme of exercise 6.1: neurons as circles, layer by layer, with every variable's dimensions.

`draw_network(model)` reads a `Sequential` of `Linear` layers and activations and draws what the
exercise asks for by hand: the input neurons (named after the features when given), each layer's
neurons with its activation, a bias node feeding each layer, the weight matrix and bias vector of
each layer with their names and dimensions (W1 ∈ R^{3×4}, b1 ∈ R^4), and the loss. The names are
those of the computation graph (`viz.draw_graph`), so the two pictures can be read side by side.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .graph import format_space
from .draw import COLOURS, Graph

MAX_NEURONS = 10
BIAS_EDGE = "#e69138"


@dataclass
class LayerSpec:
    """One Linear layer and the activation after it, as read from the model."""

    index: int
    n_in: int
    n_out: int
    weight: str
    bias: str | None
    activation: str | None


def network_layers(model: Any) -> list[LayerSpec]:
    """The Linear layers of a Sequential (or any iterable of modules), each with its activation.

    Raises:
        TypeError: the model holds something that is neither a Linear-like layer (2-D `weight`)
            nor a parameter-free activation, or an activation comes before any Linear.
    """
    modules = list(model)
    layers: list[LayerSpec] = []
    for module in modules:
        weight = getattr(module, "weight", None)
        if weight is not None and len(weight.shape) == 2:
            k = len(layers) + 1
            bias = getattr(module, "bias", None)
            n_in, n_out = weight.shape
            layers.append(LayerSpec(k, n_in, n_out, _own_name(weight, f"W{k}"),
                                    None if bias is None else _own_name(bias, f"b{k}"), None))
        elif layers and not list(getattr(module, "parameters", lambda: [])()):
            name = type(module).__name__
            layers[-1].activation = name if layers[-1].activation is None else f"{layers[-1].activation}∘{name}"
        else:
            raise TypeError(f"draw_network draws Linear layers and activations, got {type(module).__name__} "
                            f"{'before the first Linear' if not layers else 'with parameters'}")
    if not layers:
        raise TypeError("draw_network needs at least one Linear layer")
    return layers


def _own_name(t: Any, default: str) -> str:
    """A name the user gave (W1), not the module path nn assigns (0.weight)."""
    name = getattr(t, "name", None)
    return name if name and "." not in name and name not in ("weight", "bias") else default


def draw_network(
    model: Any,
    feature_names: Sequence[str] | None = None,
    target_name: str | None = None,
    n_samples: int | None = None,
    loss: str = "MSE",
) -> Graph:
    """The network scheme of a Sequential of Linear layers and activations, as a graphviz.Digraph.

    Neurons sit in fixed columns (pinned positions, Graphviz's neato layout), so neuron 1 is always
    on top and the picture is the same with either renderer.

    Args:
        model: e.g. `Sequential(Linear(3, 4), ReLU(), Linear(4, 1))`.
        feature_names: names of the input neurons, e.g. ("pclass", "age", "survived").
        target_name: what the output predicts, e.g. "fare", shown on the target Y.
        n_samples: the number of rows N of X, to give real dimensions (X ∈ R^{1046×3}).
        loss: "MSE" (drawn as mean((Yhat − Y)²)), another loss's name, or "" for none.

    Example:
        >>> draw_network(model, feature_names=("pclass", "age", "survived"), n_samples=1046)
    """
    layers = network_layers(model)
    n = n_samples if n_samples is not None else "N"
    n_in = layers[0].n_in
    if feature_names is not None and len(feature_names) != n_in:
        raise ValueError(f"{len(feature_names)} feature names for {n_in} inputs")
    inputs = [f"x{j + 1}" if feature_names is None else str(feature_names[j]) for j in range(n_in)]
    columns = [_Column(f"input layer\\nX ∈ {format_space((n, n_in))}", inputs, COLOURS["data"])]
    x_name = "X"
    hidden = [layer for layer in layers[:-1] if layer.activation]
    for layer in layers:
        act = layer.activation
        if layer is layers[-1]:
            out_name = "Yhat"
            labels = ["ŷ"] if layer.n_out == 1 else [f"ŷ{j + 1}" for j in range(layer.n_out)]
            title = f"output layer, {act or 'no activation'}"
        else:
            out_name = f"Z{layer.index}" if not act else "H" if len(hidden) == 1 else f"H{layer.index}"
            labels = [f"h{layer.index}.{j + 1}" if len(layers) > 2 else f"h{j + 1}" for j in range(layer.n_out)]
            title = f"hidden layer {layer.index}, {act or 'no activation'}"
        affine = f"{x_name}·{layer.weight}" + (f" + {layer.bias}" if layer.bias else "")
        formula = f"{out_name} = {act}({affine})" if act else f"{out_name} = {affine}"
        dims = f"{layer.weight} ∈ {format_space((layer.n_in, layer.n_out))}" + (
            f", {layer.bias} ∈ {format_space((layer.n_out,))}" if layer.bias else "")
        columns[-1].bias = layer.bias
        columns.append(_Column(f"{title}\\n{formula} ∈ {format_space((n, layer.n_out))}\\n{dims}", labels,
                               COLOURS["intermediate"]))
        x_name = out_name
    graph = Graph(
        "network",
        graph_attr={"layout": "neato", "splines": "line", "fontname": _FONT, "fontsize": "10",
                    "outputorder": "edgesfirst"},
        node_attr={"fontname": _FONT, "fontsize": "10", "style": "filled", "penwidth": "0.8"},
        edge_attr={"arrowsize": "0.5", "penwidth": "0.6", "color": "#777777"},
    )
    tallest = max(len(c.rows) + (c.bias is not None) for c in columns)
    for k, column in enumerate(columns):
        _place(graph, k, column, tallest)
        if k:
            before = columns[k - 1]
            for tail in before.neurons(k - 1):
                for head in column.neurons(k):
                    graph.edge(tail, head)
            if before.bias:
                for head in column.neurons(k):
                    graph.edge(f"bias{k}", head, style="dashed", color=BIAS_EDGE)
    if loss:
        _add_loss(graph, columns[-1].neurons(len(columns) - 1), loss, target_name, n, layers[-1].n_out,
                  len(columns), tallest)
    return graph


COLUMN, ROW = 3.0, 0.85
_FONT = "Helvetica"


@dataclass
class _Column:
    """One layer's neurons as drawn: its header, the neuron labels, and the bias feeding the next layer."""

    title: str
    labels: list[str]
    colour: str
    bias: str | None = None

    @property
    def rows(self) -> list[int | None]:
        """Indices of the neurons drawn, None where a '⋮ k more' stands for the hidden ones."""
        count = len(self.labels)
        if count <= MAX_NEURONS:
            return list(range(count))
        return list(range(MAX_NEURONS - 2)) + [None, count - 1]

    def neurons(self, k: int) -> list[str]:
        return [f"l{k}n{j}" for j in self.rows if j is not None]


def _pos(x: float, y: float) -> str:
    return f"{x:.2f},{y:.2f}!"


def _place(graph: Graph, k: int, column: _Column, tallest: int) -> None:
    """Pin column k's header, neurons and bias node, centred on the tallest column."""
    x = k * COLUMN
    rows = column.rows
    top = (tallest - len(rows) - (column.bias is not None)) / 2 * ROW
    graph.node(f"title{k}", label=column.title, shape="plaintext", style="", pos=_pos(x, ROW * 1.2))
    for r, j in enumerate(rows):
        y = -(top + r * ROW)
        if j is None:
            graph.node(f"l{k}more", label=f"⋮ {len(column.labels) - MAX_NEURONS + 1} more", shape="plaintext",
                       style="", pos=_pos(x, y))
        else:
            graph.node(f"l{k}n{j}", label=column.labels[j], shape="circle", width="0.7", fixedsize="true",
                       fillcolor=column.colour, pos=_pos(x, y))
    if column.bias:
        graph.node(f"bias{k + 1}", label=f"1\\n{column.bias}", shape="circle", width="0.5", fixedsize="true",
                   fontsize="8", fillcolor=COLOURS["param"], pos=_pos(x, -(top + len(rows) * ROW)))


def _add_loss(graph: Graph, outputs: list[str], loss: str, target_name: str | None, n: Any, n_out: int,
              k: int, tallest: int) -> None:
    x, middle = k * COLUMN, -(tallest - 1) / 2 * ROW
    target = f"target Y ∈ {format_space((n, n_out))}" + (f"\\n({target_name})" if target_name else "")
    formula = "L = mean((Yhat − Y)²) ∈ R" if loss.upper() == "MSE" else f"L = {loss}(Yhat, Y) ∈ R"
    graph.node("loss", label=f"{loss} loss\\n{formula}", shape="box", fillcolor=COLOURS["loss"], pos=_pos(x, middle))
    graph.node("target", label=target, shape="box", fillcolor=COLOURS["data"], pos=_pos(x, middle - 1.2 * ROW))
    for tail in outputs:
        graph.edge(tail, "loss")
    graph.edge("target", "loss")
