"""The network scheme of exercise 6.1: neurons as circles, layer by layer, with every variable's dimensions.

`draw_network(model)` reads a `Sequential` of `Linear` layers and activations and draws what the
exercise asks for by hand: the input neurons (named after the features when given), each layer's
neurons with its activation, a bias node feeding each layer, every variable of each layer with
its dimensions (Z1 = X·W1 + b1 ∈ ℝ¹⁰⁴⁶ˣ⁴, W1 ∈ ℝ³ˣ⁴, b1 ∈ ℝ⁴), and the loss. It names nothing
itself: the names, the layer titles ("hidden layer 1", "output layer") and the tints come from
the naming policy of `graph.py` and `draw.layer_tint`, which the computation graph uses too, so
the two pictures agree by construction.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .draw import COLOURS, FONT, Graph, html_label, layer_tint
from .graph import (
    INPUT, INPUT_TITLE, LOSS, LOSS_TITLE, PREDICTION, TARGET, LayerNames, format_space, layer_names, neuron_name,
    own_name,
)

MAX_NEURONS = 10
BIAS_EDGE = "#e69138"


@dataclass
class LayerSpec:
    """One Linear layer and the activation after it, as read from the model, with the policy's names."""

    index: int
    n_in: int
    n_out: int
    weight: str
    bias: str | None
    activation: str | None
    names: LayerNames | None = None


def network_layers(model: Any) -> list[LayerSpec]:
    """The Linear layers of a Sequential (or any iterable of modules), each with its activation.

    Raises:
        TypeError: the model holds something that is neither a Linear-like layer (2-D `weight`)
            nor a parameter-free activation, or an activation comes before any Linear.
    """
    found: list[tuple[Any, Any, int, int, str | None]] = []
    for module in list(model):
        weight = getattr(module, "weight", None)
        if weight is not None and len(weight.shape) == 2:
            n_in, n_out = weight.shape
            found.append((weight, getattr(module, "bias", None), n_in, n_out, None))
        elif found and not list(getattr(module, "parameters", lambda: [])()):
            w, b, n_in, n_out, act = found[-1]
            name = type(module).__name__
            found[-1] = (w, b, n_in, n_out, name if act is None else f"{act}∘{name}")
        else:
            raise TypeError(f"draw_network draws Linear layers and activations, got {type(module).__name__} "
                            f"{'before the first Linear' if not found else 'with parameters'}")
    if not found:
        raise TypeError("draw_network needs at least one Linear layer")
    policy = layer_names([act is not None for *_, act in found])
    return [
        LayerSpec(names.index, n_in, n_out, own_name(w) or names.weight,
                  None if b is None else own_name(b) or names.bias, act, names)
        for (w, b, n_in, n_out, act), names in zip(found, policy)
    ]


def draw_network(
    model: Any,
    feature_names: Sequence[str] | None = None,
    target_name: str | None = None,
    n_samples: int | None = None,
    loss: str = "MSE",
    input_note: str | None = None,
    fontsize: float = 10,
) -> Graph:
    """The network scheme of a Sequential of Linear layers and activations, as a graphviz.Digraph.

    Neurons sit in fixed columns (pinned positions, Graphviz's neato layout), so neuron 1 is always
    on top and the picture is the same with either renderer.

    Args:
        model: e.g. `Sequential(Linear(3, 4), ReLU(), Linear(4, 1))`.
        feature_names: names of the input neurons, e.g. ("pclass", "age", "survived").
        target_name: what the output predicts, e.g. "fare", shown on the target Y.
        n_samples: the number of rows N of X, to give real dimensions (X ∈ ℝ¹⁰⁴⁶ˣ³).
        loss: "MSE" (drawn as mean((Ŷ − Y)²)), another loss's name, or "" for none.
        input_note: a line under X, e.g. "standardised".
        fontsize: the size of the text in points (scripts are a little smaller).

    Example:
        >>> draw_network(model, feature_names=("pclass", "age", "survived"), n_samples=1046)
    """
    layers = network_layers(model)
    n = n_samples if n_samples is not None else "N"
    n_in = layers[0].n_in
    if feature_names is not None and len(feature_names) != n_in:
        raise ValueError(f"{len(feature_names)} feature names for {n_in} inputs")
    inputs = [f"x{j + 1}" if feature_names is None else str(feature_names[j]) for j in range(n_in)]
    head = [f"{INPUT} ∈ {format_space((n, n_in))}"] + ([input_note] if input_note else [])
    columns = [_Column(INPUT_TITLE, head, inputs, COLOURS["data"])]
    for layer, lines in zip(layers, _layer_lines(layers, n)):
        names = layer.names
        result = names.result
        labels = [PREDICTION.lower() if result == PREDICTION and layer.n_out == 1 else neuron_name(result, j + 1)
                  for j in range(layer.n_out)]
        columns[-1].bias = layer.bias
        columns.append(_Column(names.title, lines, labels, layer_tint(names.title, names.index)))
    graph = Graph(
        "network",
        graph_attr={"layout": "neato", "splines": "line", "fontname": FONT, "fontsize": f"{fontsize:g}",
                    "outputorder": "edgesfirst"},
        node_attr={"fontname": FONT, "fontsize": f"{fontsize:g}", "style": "filled", "penwidth": "0.8"},
        edge_attr={"arrowsize": "0.5", "penwidth": "0.6", "color": "#777777"},
    )
    tallest = max(len(c.rows) + (c.bias is not None) for c in columns)
    row = max(ROW, max(c.width(fontsize) for c in columns) + 0.1)
    for k, column in enumerate(columns):
        _place(graph, k, column, tallest, fontsize, row)
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
                  len(columns), tallest, fontsize, row)
    return graph


def network_equations(model: Any, n_samples: int | None = None, loss: str = "MSE") -> list[str]:
    """The scheme's equations, one per variable, with dimensions: 'Z1 = X·W1 + b1 ∈ ℝ¹⁰⁴⁶ˣ⁴', ..., the loss last.

    The lines the scheme writes over its layers, for a document to print beside it.
    """
    layers = network_layers(model)
    n = n_samples if n_samples is not None else "N"
    lines = [line for layer_lines in _layer_lines(layers, n) for line in layer_lines if " = " in line]
    return lines + ([_loss_formula(loss)] if loss else [])


def _layer_lines(layers: list[LayerSpec], n: Any) -> list[list[str]]:
    """Each layer's lines: its affine result, its activation, its parameters' spaces (and 'no activation')."""
    out, x_name = [], INPUT
    for layer in layers:
        names, act = layer.names, layer.activation
        space = format_space((n, layer.n_out))
        affine = f"{x_name}·{layer.weight}" + (f" + {layer.bias}" if layer.bias else "")
        lines = [f"{names.pre} = {affine} ∈ {space}"]
        if act:
            lines.append(f"{names.out} = {act}({names.pre}) ∈ {space}")
        lines.append(f"{layer.weight} ∈ {format_space((layer.n_in, layer.n_out))}" + (
            f", {layer.bias} ∈ {format_space((layer.n_out,))}" if layer.bias else ""))
        if not act and layer is layers[-1]:
            lines.append("no activation")
        out.append(lines)
        x_name = names.result
    return out


def _loss_formula(loss: str) -> str:
    if loss.upper() == "MSE":
        return f"{LOSS} = mean(({PREDICTION} − {TARGET})²) ∈ ℝ"
    return f"{LOSS} = {loss}({PREDICTION}, {TARGET}) ∈ ℝ"


COLUMN, ROW = 2.05, 0.62


@dataclass
class _Column:
    """One layer's neurons as drawn: its title and lines, the neuron labels, and the bias feeding the next layer."""

    title: str
    lines: list[str]
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

    def width(self, size: float) -> float:
        """The diameter of a circle wide enough for the longest label ('survived'), at least 0.5 in."""
        longest = max((len(label) for label in self.labels), default=1)
        return round(max(0.5, 0.56 * size * longest / 72 + 0.1), 2)


def _pos(x: float, y: float) -> str:
    return f"{x:.2f},{y:.2f}!"


def _place(graph: Graph, k: int, column: _Column, tallest: int, size: float, row: float) -> None:
    """Pin column k's header, neurons and bias node, centred on the tallest column."""
    x = k * COLUMN
    rows = column.rows
    top = (tallest - len(rows) - (column.bias is not None)) / 2 * row
    header = html_label(column.title, *column.lines, size=size, bold_first=True)
    graph.node(f"title{k}", label=header, shape="plaintext", style="", pos=_pos(x, row * 0.5 + 0.16 * len(column.lines)))
    for r, j in enumerate(rows):
        y = -(top + r * row)
        if j is None:
            graph.node(f"l{k}more", label=f"⋮ {len(column.labels) - MAX_NEURONS + 1} more", shape="plaintext",
                       style="", pos=_pos(x, y))
        else:
            graph.node(f"l{k}n{j}", label=html_label(column.labels[j], size=size), shape="circle", width=f"{column.width(size):g}",
                       fixedsize="true", fillcolor=column.colour, pos=_pos(x, y))
    if column.bias:
        graph.node(f"bias{k + 1}", label=html_label("1", column.bias, size=size), shape="circle", width="0.45",
                   fixedsize="true", fillcolor=COLOURS["param"], pos=_pos(x, -(top + len(rows) * row)))


def _add_loss(graph: Graph, outputs: list[str], loss: str, target_name: str | None, n: Any, n_out: int,
              k: int, tallest: int, size: float, row: float) -> None:
    x, middle = (k - 0.15) * COLUMN, -(tallest - 1) / 2 * row
    target = [f"target {TARGET} ∈ {format_space((n, n_out))}"] + ([f"({target_name})"] if target_name else [])
    label = html_label(f"{LOSS_TITLE}: {loss}", _loss_formula(loss), size=size, pad=True)
    graph.node("loss", label=label, shape="box", fillcolor=layer_tint(LOSS_TITLE), pos=_pos(x, middle))
    graph.node("target", label=html_label(*target, size=size, pad=True), shape="box", fillcolor=COLOURS["data"],
               pos=_pos(x, middle - 1.6 * row))
    for tail in outputs:
        graph.edge(tail, "loss")
    graph.edge("target", "loss")
