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
from minigrad.see.graph import forward_order
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
    ("Yhat", "1046×1", "intermediate"),
    ("Y", "1046×1", "data"),
    ("Yhat − Y", "1046×1", "intermediate"),
    ("(Yhat − Y)²", "1046×1", "intermediate"),
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
    """Parse the SVG (it must be valid XML) and return the text of every <text> element."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return [t.text or "" for t in root.iter(f"{SVG}text")]


# ---------------------------------------------------------------- the graph description


def test_titanic_description_has_every_tensor_with_name_shape_and_role(titanic):
    model, loss = titanic
    desc = graph_description(loss, params=model)
    got = [(n.label, n.lines[-2] if n.role == "param" else n.lines[-1], n.role) for n in desc.tensors]
    assert got == TITANIC_TENSORS
    assert [n.label for n in desc.ops] == TITANIC_OPS
    assert [n.id for n in desc.nodes] == [f"n{k}" for k in range(len(desc.nodes))]


def test_parameters_show_module_path_and_gradient_shape(titanic):
    model, loss = titanic
    desc = graph_description(loss, params=model)
    assert desc.node("W1").lines == ("0.weight", "3×4", "grad 3×4")
    assert desc.node("b2").lines == ("2.bias", "1", "grad 1")
    assert desc.node("Z1").lines == ("1046×4",)


def test_edges_carry_the_shape_flowing_along_them(titanic):
    _, loss = titanic
    desc = graph_description(loss)
    shape_of = {n.id: n.shape for n in desc.tensors}
    assert len(desc.edges) == 21
    for edge in desc.edges:
        tensor = edge.tail if edge.tail in shape_of else edge.head
        expected = "×".join(map(str, shape_of[tensor])) or "scalar"
        assert edge.label == expected


def test_layers_are_grouped_in_boxes_named_after_modules(titanic):
    model, loss = titanic
    desc = graph_description(loss, params=model)
    assert desc.clusters == {"layer1": "Linear 0", "layer2": "Linear 2"}
    in_first = [n.label for n in desc.nodes if n.cluster == "layer1"]
    assert in_first == ["W1", "matmul", "X·W1", "b1", "add"]
    assert desc.node("Z1").cluster is None and desc.node("X").cluster is None
    assert graph_description(loss, params=model, clusters=False).clusters == {}


def test_without_a_model_the_boxes_are_numbered_layers(titanic):
    _, loss = titanic
    assert graph_description(loss).clusters == {"layer1": "layer 1 (0)", "layer2": "layer 2 (2)"}


def test_names_from_tensor_name_from_names_argument_and_generated():
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(5, 2)), name="inputs")
    w = Tensor(rng.normal(size=(2, 3)), requires_grad=True)
    c = Tensor(rng.normal(size=(5, 3)))
    out = ((x @ w) * c).exp().sum()
    labels = [n.label for n in graph_description(out, names={c: "C"}).tensors]
    assert labels == ["inputs", "W1", "Yhat", "C", "Yhat ⊙ C", "exp(Yhat ⊙ C)", "L"]


def test_show_values_and_gradient_edges():
    w = Tensor([[1.0, -2.0]], requires_grad=True, dtype=np.float64, name="w")
    loss = (w * 3.0).sum()
    loss.backward(retain_graph=True)
    desc = graph_description(loss, show_values=True, grad_edges=True)
    assert desc.node("w").lines == ("1×2", "= [1, -2]", "grad 1×2 [3, 3]")
    assert desc.node("3").role == "data"
    assert desc.node("L").lines == ("scalar", "= -3")
    grads = [e for e in desc.edges if e.kind == "grad"]
    assert [e.label for e in grads] == ["dL/dw 1×2", "dL/d(w ⊙ 3) 1×2"]


def test_dot_source_is_byte_identical_from_run_to_run(titanic):
    model, loss = titanic
    assert draw_graph(loss, params=model).source == draw_graph(loss, params=model).source
    manual_seed(0)
    twin = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    x = from_numpy(np.ones((1046, 3), dtype=np.float32))
    other = nn.MSELoss()(twin(x), np.zeros((1046, 1), dtype=np.float32))
    other.backward(retain_graph=True)
    assert draw_graph(other, params=twin).source == draw_graph(loss, params=model).source


def test_labels_are_plain_or_record_never_html(titanic):
    _, loss = titanic
    source = draw_graph(loss, show_values=True, grad_edges=True).source
    assert "label=<" not in source
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
        assert node.label in texts
    for _, shape, _ in TITANIC_TENSORS:
        assert shape in texts
    assert "grad 3×4" in texts and "Linear 0" in texts and "parameter" in texts


@pytest.mark.parametrize("renderer", ["dot", "pygraphviz"])
def test_network_scheme_renders_with_neurons_in_their_columns(titanic, renderer):
    renderer_available(renderer)
    model, _ = titanic
    scheme = draw_network(model, feature_names=("pclass", "age", "survived"), target_name="fare", n_samples=1046)
    svg = render_svg(scheme, renderer)
    texts = svg_texts(svg)
    for label in ("pclass", "age", "survived", "h1", "h4", "ŷ"):
        assert label in texts
    for label in ("W1 ∈ R^{3×4}, b1 ∈ R^4", "W2 ∈ R^{4×1}, b2 ∈ R^1"):
        assert label in texts
    assert "H = ReLU(X·W1 + b1) ∈ R^{1046×4}" in texts and "L = mean((Yhat − Y)²) ∈ R" in texts
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
    assert "W1 ∈ R^{3×4}, b1 ∈ R^4" in source and "1\\nb1" in source
    assert "hidden layer 1, ReLU" in source and "output layer, no activation" in source
    assert "MSE loss" in source and "X ∈ R^{1046×3}" in source


def test_network_scheme_of_a_deep_wide_net():
    manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 12), nn.ReLU(), nn.Linear(12, 5), nn.ReLU(), nn.Linear(5, 2, bias=False))
    layers = network_layers(model)
    assert [(s.n_in, s.n_out, s.weight, s.bias, s.activation) for s in layers] == [
        (3, 12, "W1", "b1", "ReLU"), (12, 5, "W2", "b2", "ReLU"), (5, 2, "W3", None, None)]
    source = draw_network(model, loss="").source
    assert "⋮ 3 more" in source and "h1.12" in source and "h1.9" not in source
    assert "H1 = ReLU(X·W1 + b1)" in source and "Yhat = H2·W3 ∈ R^{N×2}" in source
    assert "loss" not in source


def test_network_scheme_refuses_what_it_cannot_draw():
    with pytest.raises(TypeError, match="before the first Linear"):
        draw_network(nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    with pytest.raises(ValueError, match="2 feature names for 3 inputs"):
        draw_network(nn.Sequential(nn.Linear(3, 1)), feature_names=("a", "b"))

