"""Tests for the computation graph (viz.py) and the network scheme (scheme.py).

The graph description is checked node by node on the Titanic net; every renderer that is
installed draws real SVG, which must parse as XML and show each tensor's shape.
"""
from __future__ import annotations

import re
import shutil
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from helpers import titanic_net

from minigrad import Tensor, manual_seed, nn
from minigrad.see.graph import forward_order, math_runs
from minigrad.see.scheme import draw_network, network_layers
from minigrad.core.tensor import from_numpy
from minigrad.see.draw import (
    INSTALL_HINT,
    RendererNotFoundError,
    draw_graph,
    graph_description,
    render_svg,
    save_svg,
    tensor_mimebundle,
)

SVG = "{http://www.w3.org/2000/svg}"
TITANIC_TENSORS = [
    ("X", "1046×3", "data"),
    ("W1", "3×4", "param"),
    ("X·W1", "1046×4", "intermediate"),
    ("b1", "4", "param"),
    ("Z1", "1046×4", "intermediate"),
    ("H", "1046×4", "intermediate"),
    ("W2", "4×1", "param"),
    ("H·W2", "1046×1", "intermediate"),
    ("b2", "1", "param"),
    ("Ŷ", "1046×1", "intermediate"),
    ("Y", "1046×1", "data"),
    ("Ŷ − Y", "1046×1", "intermediate"),
    ("(Ŷ − Y)²", "1046×1", "intermediate"),
    ("L", "scalar", "loss"),
]
TITANIC_OPS = ["matmul", "add", "relu", "matmul", "add", "sub", "square", "mean"]


def renderer_available(name: str) -> None:
    """Skip, saying why, when a renderer is missing here (CI installs both, so nothing skips there)."""
    if name == "dot" and shutil.which("dot") is None:
        pytest.skip("the Graphviz `dot` program is not on PATH")
    if name == "pygraphviz":
        pytest.importorskip("pygraphviz", reason="pygraphviz is not installed")


@pytest.fixture(scope="module")
def titanic():
    """The exercise's 3 -> 4 (ReLU) -> 1 net on the 1046 training passengers, after one backward."""
    model, loss = titanic_net()
    loss.backward(retain_graph=True)
    return model, loss


def svg_texts(svg: str) -> list[str]:
    """Parse the SVG (it must be valid XML) and return the text of every <text> element, its runs joined."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return ["".join(t.itertext()).replace("\u00a0", " ").strip() for t in root.iter(f"{SVG}text")]


def plain(source: str) -> str:
    """DOT source with the HTML-like markup taken out, so labels read as text: 'W1 ∈ ℝ3×4'."""
    return re.sub(r"</?[A-Z]+[^<>]*>", "", re.sub(r"</TD></TR>", " | ", source))


# ---------------------------------------------------------------- the graph description


def test_titanic_description_has_every_tensor_with_name_shape_and_role(titanic):
    model, loss = titanic
    desc = graph_description(loss, params=model)
    got = [(n.label, n.lines[-2] if n.role == "param" else n.lines[-1], n.role) for n in desc.tensors]
    assert got == TITANIC_TENSORS
    assert [n.label for n in desc.ops] == TITANIC_OPS
    assert [n.id for n in desc.nodes] == [f"n{k}" for k in range(len(desc.nodes))]


def test_parameters_show_gradient_shape_and_module_path_on_request(titanic):
    model, loss = titanic
    assert graph_description(loss, params=model).node("W1").lines == ("3×4", "grad 3×4")
    desc = graph_description(loss, params=model, module_paths=True)
    assert desc.node("W1").lines == ("0.weight", "3×4", "grad 3×4")
    assert desc.node("b2").lines == ("2.bias", "1", "grad 1")
    assert desc.node("Z1").lines == ("1046×4",)


def test_edges_carry_the_shape_flowing_along_them(titanic):
    _, loss = titanic
    desc = graph_description(loss)
    shape_of = {n.id: n.shape for n in desc.nodes if n.kind != "op"}
    assert len(desc.edges) == 23
    for edge in desc.edges:
        node = edge.tail if edge.tail in shape_of else edge.head
        expected = "×".join(map(str, shape_of[node])) or "scalar"
        assert edge.label == expected


def test_the_broadcast_of_each_bias_is_a_node_with_both_shapes(titanic):
    model, loss = titanic
    desc = graph_description(loss, params=model)
    broadcasts = [n for n in desc.nodes if n.kind == "broadcast"]
    assert [(n.lines, n.cluster) for n in broadcasts] == [(("4 → 1046×4",), "layer1"), (("1 → 1046×1",), "layer2")]
    into = {e.head: e for e in desc.edges}
    assert into[broadcasts[0].id].tail == desc.node("b1").id and into[broadcasts[0].id].label == "4"
    out = next(e for e in desc.edges if e.tail == broadcasts[0].id)
    assert out.label == "1046×4" and out.head == desc.ops[1].id


def test_each_parameter_path_has_its_own_colour(titanic):
    model, loss = titanic
    desc = graph_description(loss, params=model, paths=True)
    assert [(name, colour) for name, colour, _ in desc.paths] == [
        ("W1", "blue"), ("b1", "red"), ("W2", "green"), ("b2", "purple")]
    hexes = {name: h for name, _, h in desc.paths}
    assert desc.node("W1").colour == hexes["W1"] and desc.node("X").colour is None
    by_ends = {(e.tail, e.head): e.colours for e in desc.edges}
    w1_edge = next(c for (t, _), c in by_ends.items() if t == desc.node("W1").id)
    assert w1_edge == (hexes["W1"],)
    to_root = next(c for (_, h), c in by_ends.items() if h == desc.node("L").id)
    assert to_root == tuple(hexes[n] for n in ("W1", "b1", "W2", "b2"))
    assert all(not c for (t, _), c in by_ends.items() if t in (desc.node("X").id, desc.node("Y").id))


def test_layers_and_loss_are_boxes_titled_by_the_naming_policy(titanic):
    model, loss = titanic
    desc = graph_description(loss, params=model)
    assert desc.clusters == {"layer1": "hidden layer 1", "layer2": "output layer", "loss": "loss"}
    in_first = [n.label for n in desc.nodes if n.cluster == "layer1"]
    assert in_first == ["W1", "matmul", "X·W1", "b1", "add", "broadcast", "Z1", "relu", "H"]
    in_loss = [n.label for n in desc.nodes if n.cluster == "loss"]
    assert in_loss == ["sub", "Ŷ − Y", "square", "(Ŷ − Y)²", "mean", "L"]
    assert desc.node("X").cluster is None and desc.node("Y").cluster is None
    assert graph_description(loss, params=model, clusters=False).clusters == {}
    assert graph_description(loss).clusters == desc.clusters
    assert len(set(desc.tints.values())) == 3


def test_scheme_and_graph_use_the_same_names_titles_and_tints(titanic):
    """One naming policy: every layer title and variable of the scheme is in the graph, tinted alike."""
    model, loss = titanic
    desc = graph_description(loss, params=model)
    scheme = plain(draw_network(model, n_samples=1046).source)
    for key, title in desc.clusters.items():
        assert title in scheme and desc.tints[key] in scheme
    for name in ("X", "W1", "b1", "Z1", "H", "W2", "b2", "Ŷ", "Y", "L"):
        assert re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", scheme), name
        desc.node(name)


def test_names_from_tensor_name_from_names_argument_and_generated():
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(5, 2)), name="inputs")
    w = Tensor(rng.normal(size=(2, 3)), requires_grad=True)
    c = Tensor(rng.normal(size=(5, 3)))
    out = ((x @ w) * c).exp().sum()
    labels = [n.label for n in graph_description(out, names={c: "C"}).tensors]
    assert labels == ["inputs", "W1", "Ŷ", "C", "Ŷ ⊙ C", "exp(Ŷ ⊙ C)", "L"]


def test_show_values_and_gradient_edges():
    w = Tensor([[1.0, -2.0]], requires_grad=True, dtype=np.float64, name="w")
    loss = (w * 3.0).sum()
    loss.backward(retain_graph=True)
    desc = graph_description(loss, show_values=True, grad_edges=True)
    assert desc.node("w").lines == ("1×2", "= [1, -2]", "grad 1×2 [3, 3]")
    assert desc.node("3").role == "data"
    assert desc.node("L").lines == ("scalar", "= -3")
    grads = [e for e in desc.edges if e.kind == "grad"]
    assert [e.label for e in grads] == ["∂L/∂w 1×2", "∂L/∂(w ⊙ 3) 1×2"]


def test_dot_source_is_byte_identical_from_run_to_run(titanic):
    model, loss = titanic
    assert draw_graph(loss, params=model).source == draw_graph(loss, params=model).source
    manual_seed(0)
    twin = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    x = from_numpy(np.ones((1046, 3), dtype=np.float32))
    other = nn.MSELoss()(twin(x), np.zeros((1046, 1), dtype=np.float32))
    other.backward(retain_graph=True)
    assert draw_graph(other, params=twin).source == draw_graph(loss, params=model).source


def test_labels_typeset_subscripts_and_exponents(titanic):
    _, loss = titanic
    source = draw_graph(loss, show_values=True, grad_edges=True).source
    assert "W<SUB>" in source and "ℝ<SUP>" in source and "R^{" not in source
    assert "legend" in source and "input / target" in source and "loss (root)" in source


def test_long_chain_is_walked_without_recursion():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    desc = graph_description(y.sum())
    assert len(desc.ops) == 3001
    assert len(forward_order(y)) == 3002  # 3001 results, x, and the one shared constant 1.0


def test_bad_rankdir_is_refused(titanic):
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(titanic[1], rankdir="sideways")


# ---------------------------------------------------------------- rendering with each renderer


@pytest.mark.parametrize("renderer", ["dot", "pygraphviz"])
def test_graph_renders_valid_svg_with_every_shape(titanic, renderer):
    renderer_available(renderer)
    model, loss = titanic
    desc = graph_description(loss, params=model)
    texts = svg_texts(render_svg(draw_graph(loss, params=model), renderer))
    for node in desc.tensors:
        label = "".join(run for run, _ in math_runs(node.label))
        assert any(t.startswith(f"{label} ∈ ℝ") for t in texts), label
    for _, shape, _ in TITANIC_TENSORS:
        assert shape in texts
    assert "grad 3×4" in texts and "hidden layer 1" in texts and "parameter" in texts
    assert "W1 ∈ ℝ3×4" in texts and "Z1 ∈ ℝ1046×4" in texts


@pytest.mark.parametrize("renderer", ["dot", "pygraphviz"])
def test_scripts_are_shifted_runs_that_every_svg_reader_draws(titanic, renderer):
    """No baseline-shift (Typst's reader ignores it): W₁ is a <tspan> moved down by dy, then back up."""
    renderer_available(renderer)
    _, loss = titanic
    svg = render_svg(draw_graph(loss), renderer)
    assert "baseline-shift" not in svg
    w1 = re.search(r"<text[^>]*><tspan[^>]*>W</tspan><tspan ([^>]*)>1</tspan><tspan ([^>]*)>", svg)
    assert w1, "W1 is not one line of runs"
    down = float(re.search(r'dy="([-\d.]+)"', w1.group(1)).group(1))
    back = float(re.search(r'dy="([-\d.]+)"', w1.group(2)).group(1))
    assert down > 0 and back == -down


@pytest.mark.parametrize("renderer", ["dot", "pygraphviz"])
def test_network_scheme_renders_with_neurons_in_their_columns(titanic, renderer):
    renderer_available(renderer)
    model, _ = titanic
    scheme = draw_network(model, feature_names=("pclass", "age", "survived"), target_name="fare", n_samples=1046)
    svg = render_svg(scheme, renderer)
    texts = svg_texts(svg)
    for label in ("pclass", "age", "survived", "h1", "h4", "ŷ"):
        assert label in texts
    for label in ("W1 ∈ ℝ3×4, b1 ∈ ℝ4", "W2 ∈ ℝ4×1, b2 ∈ ℝ1", "Z1 = X·W1 + b1 ∈ ℝ1046×4"):
        assert label in texts
    assert "H = ReLU(Z1) ∈ ℝ1046×4" in texts and "L = mean((Ŷ − Y)2) ∈ ℝ" in texts
    centres = dict(re.findall(r"<title>(l\dn\d)</title>\s*<ellipse[^>]*cx=\"([-\d.]+)\"", svg))
    columns = {k: {round(float(x)) for n, x in centres.items() if n.startswith(f"l{k}")} for k in range(3)}
    assert all(len(xs) == 1 for xs in columns.values())
    assert columns[0].pop() < columns[1].pop() < columns[2].pop()


@pytest.mark.parametrize("renderer", ["dot", "pygraphviz"])
def test_save_svg_writes_the_file(titanic, tmp_path, renderer):
    renderer_available(renderer)
    model, loss = titanic
    path = save_svg(loss, tmp_path / "out" / "computation_graph.svg", renderer=renderer, params=model)
    assert path == tmp_path / "out" / "computation_graph.svg"
    assert "1046×3" in svg_texts(path.read_text(encoding="utf-8"))
    scheme = save_svg(draw_network(model), tmp_path / "network.svg", renderer=renderer)
    assert "x1" in svg_texts(scheme.read_text(encoding="utf-8"))


@pytest.fixture
def no_renderer(monkeypatch, tmp_path):
    """No `dot` on PATH and no importable pygraphviz, as on a fresh machine."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setitem(sys.modules, "pygraphviz", None)


def test_missing_renderer_names_both_remedies_and_keeps_the_dot_source(titanic, tmp_path, no_renderer):
    model, loss = titanic
    target = tmp_path / "computation_graph.svg"
    with pytest.raises(RendererNotFoundError) as err:
        save_svg(loss, target, params=model)
    message = str(err.value)
    for remedy in ("apt-get install graphviz", "brew install graphviz", 'pip install "minigrad[svg]"'):
        assert remedy in message
    dot_file = tmp_path / "computation_graph.dot"
    assert str(dot_file) in message
    assert dot_file.read_text(encoding="utf-8") == draw_graph(loss, params=model).source
    assert not target.exists()


def test_jupyter_display_never_raises_without_a_renderer(titanic, no_renderer):
    model, loss = titanic
    bundle = draw_graph(loss)._repr_mimebundle_()
    assert list(bundle) == ["text/plain"] and INSTALL_HINT in bundle["text/plain"]
    shown = tensor_mimebundle(loss)
    assert shown["text/plain"].startswith("Tensor(") and "minigrad[svg]" in shown["text/plain"]
    assert "image/svg+xml" not in shown


def test_jupyter_display_is_svg_with_a_renderer(titanic):
    if shutil.which("dot") is None:
        renderer_available("pygraphviz")
    _, loss = titanic
    assert "1046×4" in svg_texts(draw_graph(loss)._repr_mimebundle_()["image/svg+xml"])
    assert "image/svg+xml" in tensor_mimebundle(loss)
    leaf = Tensor([1.0])
    assert list(tensor_mimebundle(leaf)) == ["text/plain"]


def test_tensor_shows_its_graph_in_jupyter(titanic, monkeypatch):
    """The package registers Tensor's display with IPython's formatter; the core knows nothing of it."""
    import importlib
    import sys
    import types

    registered = {}
    formatter = types.SimpleNamespace(for_type=lambda cls, fn: registered.setdefault(cls, fn))
    shell = types.SimpleNamespace(display_formatter=types.SimpleNamespace(mimebundle_formatter=formatter))
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    importlib.import_module("minigrad")._register_jupyter_display()
    _, loss = titanic
    assert registered[Tensor](loss) == tensor_mimebundle(loss)
    assert not hasattr(Tensor, "_repr_mimebundle_")


def test_unknown_renderer_is_refused(titanic):
    with pytest.raises(ValueError, match="renderer"):
        render_svg(draw_graph(titanic[1]), renderer="svgwrite")


# ---------------------------------------------------------------- the network scheme


def test_network_scheme_of_the_titanic_net(titanic):
    model, _ = titanic
    source = draw_network(model, feature_names=("pclass", "age", "survived"), n_samples=1046).source
    neurons = re.findall(r"^\s*(l\dn\d+) \[", source, flags=re.M)
    assert neurons == ["l0n0", "l0n1", "l0n2", "l1n0", "l1n1", "l1n2", "l1n3", "l2n0"]
    assert source.count("style=dashed") == 5
    assert len(re.findall(r"-> l\dn\d+", source)) == 3 * 4 + 4 * 1 + 5
    text = plain(source)
    assert "W1 ∈ ℝ3×4, b1 ∈ ℝ4" in text and "1 | b1" in text
    assert "hidden layer 1" in text and "H = ReLU(Z1)" in text and "output layer" in text
    assert "no activation" in text and "loss: MSE" in text and "X ∈ ℝ1046×3" in text


def test_network_scheme_of_a_deep_wide_net():
    manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 12), nn.ReLU(), nn.Linear(12, 5), nn.ReLU(), nn.Linear(5, 2, bias=False))
    layers = network_layers(model)
    assert [(s.n_in, s.n_out, s.weight, s.bias, s.activation) for s in layers] == [
        (3, 12, "W1", "b1", "ReLU"), (12, 5, "W2", "b2", "ReLU"), (5, 2, "W3", None, None)]
    source = draw_network(model, loss="").source
    text = plain(source)
    assert "⋮ 3 more" in text and "h1,12" in text and "h1,9" not in text
    assert "Z1 = X·W1 + b1" in text and "H1 = ReLU(Z1)" in text and "Ŷ = H2·W3 ∈ ℝN×2" in text
    assert "loss" not in text


def test_network_scheme_refuses_what_it_cannot_draw():
    with pytest.raises(TypeError, match="before the first Linear"):
        draw_network(nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    with pytest.raises(ValueError, match="2 feature names for 3 inputs"):
        draw_network(nn.Sequential(nn.Linear(3, 1)), feature_names=("a", "b"))

