"""minigrad.see.explore: the recorded sweep follows the engine, holds its numbers and makes a self-contained page.

The browser half (the page loads, steps and shows these numbers) is in test_explore_browser.py.
"""
from __future__ import annotations

import html
import json
import re
import struct

import numpy as np
import pytest
from browser import SCREENSHOT
from explore_nets import (
    NETS, W1_PATH, chain_net, engine_sweep, fare_net, held, numbers_of, one_pass, reuse_net, shared_net, tanh_net,
)
from helpers import load_example

from minigrad import Tensor
from minigrad.see import Exploration, explore
from minigrad.see import explorer
from minigrad.see.draw import RendererNotFoundError
from minigrad.see.explain import FormulaError, explain_sweep
from minigrad.see.graph import inspect_graph


def embedded(page: str, block: str) -> object:
    """The JSON of <script type="application/json" id=block> in a page."""
    match = re.search(rf'<script type="application/json" id="{block}">(.*?)</script>', page, re.S)
    assert match, block
    return json.loads(match.group(1))


@pytest.mark.parametrize("net", NETS)
def test_steps_are_the_engine_sweep_with_its_gradients(net: str) -> None:
    root = NETS[net]()
    page = explore(root)
    engine = engine_sweep(root)
    assert [s["id"] for s in page.steps] == engine.ids
    assert [s["index"] for s in page.steps] == list(range(len(engine.ids)))
    same = lambda info, array: np.testing.assert_array_equal(held(info), numbers_of(array))  # noqa: E731
    for step, sent in zip(page.steps, engine.sent):
        same(step["grad"], engine.grads[step["id"]])
        assert len(step["sends"]) == len(sent)
        for send, g in zip(step["sends"], sent):
            if g is None:
                assert send["grad"] is None and send["why"]
            else:
                same(send["grad"], g)
        assert step["to"] == [s["node"] for s in step["sends"] if s["grad"] is not None]
    nodes = page.graph["nodes"]
    for id_ in page.graph["leaves"]:
        same(nodes[id_]["grad"], engine.grads[id_])
    for id_, node in nodes.items():
        same(node["value"], engine.values[id_])
    if net in ("fare", "reuse", "chain"):
        assert all("values" in s["grad"] for s in page.steps)


def test_each_net_has_the_expected_sweep() -> None:
    assert [s["node"] for s in explore(fare_net()).steps] == [
        "L", "(Ŷ − Y)²", "Ŷ − Y", "Ŷ", "H·W2", "H", "Z1", "X·W1"]
    assert len(explore(chain_net()).steps) == 100
    assert [s["node"] for s in explore(tanh_net()).steps][-5:] == ["Z2", "H1·W2", "H1", "Z1", "X·W1"]


def test_the_fare_page_has_the_numbers_of_one_pass() -> None:
    X, Y, _ = one_pass.passengers()
    values = one_pass.one_pass(X, Y)
    page = explore(fare_net())
    by_name = {n["name"]: n for n in page.graph["nodes"].values()}
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(by_name[name]["grad"]["values"], values[f"dL/d{name}"])
    for name, sheet in (("Ŷ", "Yhat"), ("H", "H"), ("Z1", "Z1")):
        np.testing.assert_array_equal(by_name[name]["grad"]["values"], values[f"dL/d{sheet}"])
    sends = {s["node"]: s for step in page.steps for s in step["sends"]}
    assert sends["W1"]["formula"] == "∂L/∂W1 = Xᵀ · ∂L/∂(X·W1)"
    assert sends["W1"]["shapes"] == "[3×3] · [3×4] → 3×4"
    assert sends["Y"]["grad"] is None and sends["Y"]["why"] == "Y does not require grad"
    assert by_name["W1"]["formula"] == "Xᵀ · ((∂L/∂Ŷ · W2ᵀ) ⊙ 1[Z1 > 0])"
    assert by_name["W1"]["paths"] == [W1_PATH]


def test_a_reused_tensor_adds_up_its_shares() -> None:
    root = reuse_net()
    x = root.inputs[0].inputs[1]
    page = explore(root)
    shares = [s for step in page.steps for s in step["sends"] if s["node"] == "x"]
    assert [(s["share"], s["shares"]) for s in shares] == [(1, 3), (2, 3), (3, 3)]
    assert sum(np.array(s["grad"]["values"]) for s in shares).tolist() == shares[-1]["total"]["values"]
    root.backward()
    np.testing.assert_allclose(shares[-1]["total"]["values"], 2 * x.data + 1)
    mul = next(step for step in page.steps if step["op"] == "mul")
    assert mul["to"] == ["x", "x"] and all(s["formula"].startswith("∂L/∂x += ") for s in mul["sends"])


def test_shares_of_an_intermediate_arrive_summed() -> None:
    root = shared_net()
    page = explore(root)
    step = next(s for s in page.steps if s["op"] == "tanh")
    assert [(r["step"], r["input"], r["op"]) for r in step["received"]] == [(1, 1, "add"), (2, 0, "mul"), (2, 1, "mul")]
    parts = [np.array(page.steps[r["step"]]["sends"][r["input"]]["grad"]["values"]) for r in step["received"]]
    np.testing.assert_allclose(sum(parts), step["grad"]["values"], rtol=1e-15)
    h = root.inputs[0].inputs[1]
    np.testing.assert_allclose(step["grad"]["values"], 2 * h.data + 1)


def test_explore_changes_no_grad_and_keeps_the_graph() -> None:
    root = fare_net()
    W1 = next(t for t in inspect_graph(root).order if t.name == "W1")
    assert W1.grad is None
    explore(root)
    assert W1.grad is None
    root.backward(retain_graph=True)
    first = np.array(W1.grad)
    held = W1.grad
    page = explore(root)
    assert W1.grad is held
    np.testing.assert_array_equal(held, first)
    assert page.graph["accumulates"] == ["W1", "b1", "W2", "b2"]
    np.testing.assert_array_equal(page.graph["nodes"]["n1"]["grad"]["values"], first)
    root.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        explore(root)
    np.testing.assert_array_equal(W1.grad, 2 * first)


def test_the_page_is_one_self_contained_file(tmp_path) -> None:
    page = explore(fare_net())
    path = page.save(tmp_path / "sub" / "backward.html")
    text = path.read_text(encoding="utf-8")
    assert embedded(text, "minigrad-steps") == page.steps
    assert embedded(text, "minigrad-graph") == page.graph
    assert not re.search(r"https?:", text)
    assert not re.search(r"""\s(src|href)\s*=|<link|@import|url\(""", text)
    assert text.count("<svg") == 1 and "<?xml" not in text
    assert len(text) < 150_000


def test_jupyter_shows_the_page_in_an_iframe() -> None:
    page = explore(reuse_net())
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=")
    assert html.unescape(re.search(r'srcdoc="(.*?)"', frame, re.S).group(1)) == page.html()


def test_without_values_the_page_keeps_shapes_and_norms() -> None:
    root = tanh_net()
    page = explore(root, retain_values=False)
    assert '"values"' not in json.dumps(page.steps) + json.dumps(page.graph)
    engine = engine_sweep(root)
    for step in page.steps:
        assert step["grad"]["norm"] == pytest.approx(np.linalg.norm(engine.grads[step["id"]]))


def test_big_tensors_are_summarised() -> None:
    rng = np.random.default_rng(0)
    W = Tensor(rng.normal(size=(20, 10)), requires_grad=True, dtype=np.float64, name="W")
    root = (Tensor(rng.normal(size=(8, 20))) @ W).tanh().mean()
    page = explore(root)
    root.backward()
    grad = np.asarray(W.grad)
    info = page.graph["nodes"]["n1"]["grad"]
    assert "values" not in info and info["shape"] == [20, 10]
    assert info["norm"] == pytest.approx(np.linalg.norm(grad))
    assert (info["min"], info["max"], info["mean"]) == (grad.min(), grad.max(), pytest.approx(grad.mean()))
    assert page.steps[0]["grad"] == {"shape": [], "values": 1.0}


def test_non_finite_numbers_stay_valid_json() -> None:
    x = Tensor([0.0, 1.0], requires_grad=True, dtype=np.float64, name="x")
    with np.errstate(divide="ignore"):
        page = explore(x.log().sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        text = page.html()
    assert embedded(text, "minigrad-steps")[1]["sends"][0]["grad"]["values"] == ["Infinity", 1.0]


@pytest.mark.parametrize("make, message", [
    (lambda: Tensor([1.0], requires_grad=True), "a leaf"),
    (lambda: Tensor([1.0, 2.0], requires_grad=True) * 2, r"shape \(2,\): reduce it first"),
    (lambda: Tensor([1.0]) * 2, "does any input require grad"),
    (lambda: 2.0, "got float"),
])
def test_explore_needs_a_loss(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        explore(make())


def test_without_graphviz_the_page_says_so_and_still_steps(monkeypatch) -> None:
    def no_renderer(*args: object, **kwargs: object) -> str:
        raise RendererNotFoundError("no Graphviz here\nsecond line")

    monkeypatch.setattr(explorer, "render_svg", no_renderer)
    page = explore(reuse_net())
    assert page.svg is None and "no Graphviz here" in page.graph["notice"]
    assert "<svg" not in page.html() and len(embedded(page.html(), "minigrad-steps")) == 3


def test_without_formulas_the_page_shows_the_op_rule(monkeypatch) -> None:
    def no_formulas(*args: object, **kwargs: object) -> None:
        raise FormulaError("op 'cube' declares no symbolic VJP")

    monkeypatch.setattr(explorer, "explain_sweep", no_formulas)
    page = explore(reuse_net())
    assert "cube" in page.graph["formulas"]
    assert all("formula" not in s for step in page.steps for s in step["sends"])
    assert page.steps[2]["op"] == "mul" and page.steps[2]["rule"] == ["g * y", "g * x"]


def test_names_and_params_reach_the_page() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    page = explore((x * 3).sum(), names={x: "weights"})
    assert isinstance(page, Exploration)
    assert page.steps[-1]["sends"][0]["node"] == "weights"


def test_the_screenshot_is_a_1280x800_png() -> None:
    head = SCREENSHOT.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (1280, 800)


@pytest.mark.parametrize("net", ["fare", "reuse", "shared", "tanh"])
def test_every_formula_of_the_sweep_gives_the_engine_gradient(net: str) -> None:
    root = NETS[net]()
    sweep = explain_sweep(root)
    engine = engine_sweep(root)
    info = inspect_graph(root)
    ids = {t: id_ for t, id_ in zip(info.order, engine.values)}
    assert set(sweep.gradients) == {t for t in info.order if t is not root and ids[t] in engine.grads}
    for t, gradient in sweep.gradients.items():
        np.testing.assert_allclose(gradient.evaluate(), engine.grads[ids[t]], rtol=1e-12, atol=1e-15)
    for (consumer, i), step in sweep.steps.items():
        assert step.op == consumer.op and step.target == sweep.gradients[consumer.inputs[i]].symbol


def test_titanic_fare_writes_the_page_of_the_worked_example(tmp_path, capsys) -> None:
    fare = load_example("titanic_fare")
    assert fare.main(["--epochs", "1", "--out", str(tmp_path)]) == 0
    assert f"wrote {tmp_path / 'backward.html'}" in capsys.readouterr().out
    text = (tmp_path / "backward.html").read_text(encoding="utf-8")
    assert embedded(text, "minigrad-steps") == explore(fare_net()).steps
