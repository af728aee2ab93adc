"""The picture of the backward pass: the graph of dL/dW1 that create_graph=True records, beside the graph of L.

On the exercise's fare net (3 -> 4 ReLU -> 1, MSE, 1046 passengers) the description is checked box by
box: which nodes each forward op's VJP made, their names and roles, the edges between them, and the
colour each box shares with its op's oval in the forward graph. Then the errors, and real SVG from
each renderer that is installed.
"""
from __future__ import annotations

import numpy as np
import pytest
from helpers import titanic_net
from test_viz import renderer_available, svg_texts

import minigrad
from minigrad import Tensor, autograd
from minigrad.see import (
    backward_description, draw_backward, draw_forward_and_backward, forward_and_backward_description, render_svg,
)
from minigrad.see.graph import VJP_COLOURS

# Each forward op whose VJP recorded nodes below dL/dW1, in forward order, with what its box holds.
BOXES = {
    "from matmul's VJP (X·W1)": [("Xᵀ", "data"), ("∂L/∂W1", "gradient")],
    "from relu's VJP (H)": [("0", "constant"), ("∂L/∂Z1", "gradient")],
    "from matmul's VJP (H·W2)": [("W2ᵀ", "intermediate"), ("∂L/∂H", "gradient")],
    "from square's VJP ((Ŷ − Y)²)": [("2 ⊙ (Ŷ − Y)", "intermediate"), ("∂L/∂(Ŷ − Y)", "gradient")],
    "from mean's VJP (L)": [("∂L/∂((Ŷ − Y)²)", "gradient")],
}
# The forward tensors the VJPs read, drawn outside the boxes with their forward names and roles,
# and the number constant 2 (of square's 2 * x * g), which every graph shares.
OUTSIDE = [("2", "constant"), ("Ŷ − Y", "intermediate"), ("W2", "param"), ("Z1", "intermediate")]


@pytest.fixture()
def fare():
    """The fare net's loss, W1, and dL/dW1 recorded with create_graph=True."""
    model, loss = titanic_net()
    W1 = model[0].weight
    (grad,) = autograd.grad(loss, W1, create_graph=True)
    return model, loss, W1, grad


def boxes(desc) -> dict[str, list[tuple[str, str]]]:
    """{box label: [(tensor label, role), ...]} in drawing order."""
    return {label: [(n.label, n.role) for n in desc.tensors if n.cluster == key] for key, label in desc.clusters.items()}


def edge(desc, tail: str, op: str, head: str) -> bool:
    """Whether tensor `tail` flows into an `op` oval whose result is tensor `head`."""
    ids = {n.id: n for n in desc.nodes}
    into = {(e.tail, e.head) for e in desc.edges if e.kind == "data"}
    return any((desc.node(tail).id, o.id) in into and (o.id, desc.node(head).id) in into
               for o in ids.values() if o.kind == "op" and o.label == op)


def test_each_forward_op_whose_vjp_recorded_nodes_has_a_box_holding_them(fare) -> None:
    model, loss, W1, grad = fare
    desc = backward_description(grad, loss, W1, params=model)
    assert boxes(desc) == BOXES
    assert [(n.label, n.role) for n in desc.tensors if n.cluster is None] == OUTSIDE
    assert [n.label for n in desc.ops] == ["mul", "mul", "transpose", "matmul", "where", "matmul"]
    assert desc.node("∂L/∂W1").colour is not None and desc.node("∂L/∂H").colour is None
    assert desc.node("Xᵀ").lines == ("3×1046",) and desc.node("∂L/∂W1").shape == (3, 4)


def test_the_edges_are_the_derivative_formulas_of_the_ops(fare) -> None:
    model, loss, W1, grad = fare
    desc = backward_description(grad, loss, W1, params=model)
    assert edge(desc, "Ŷ − Y", "mul", "2 ⊙ (Ŷ − Y)")                 # square: 2 * x * g
    assert edge(desc, "∂L/∂((Ŷ − Y)²)", "mul", "∂L/∂(Ŷ − Y)")
    assert edge(desc, "W2", "transpose", "W2ᵀ")                        # matmul: g @ y.mT
    assert edge(desc, "∂L/∂(Ŷ − Y)", "matmul", "∂L/∂H")               # sub and add pass g on unchanged
    assert edge(desc, "∂L/∂H", "where", "∂L/∂Z1")                      # relu: where(x > 0, g, 0)
    assert edge(desc, "Xᵀ", "matmul", "∂L/∂W1") and edge(desc, "∂L/∂Z1", "matmul", "∂L/∂W1")
    (read,) = [e for e in desc.edges if e.kind == "read"]
    where = next(n for n in desc.ops if n.label == "where")
    assert (read.tail, read.head, read.label) == (desc.node("Z1").id, where.id, "Z1 > 0")
    assert len([e for e in desc.edges if e.kind == "data"]) == 17


def test_the_graph_it_describes_is_the_real_one(fare) -> None:
    """The values behind the names: dL/dW1 is backward's gradient, Xᵀ views X, each node knows its VJP."""
    model, loss, W1, grad = fare
    x_t, dz1 = grad.inputs
    X, xw1 = loss_inputs(loss)
    assert grad.made_by_vjp_of is xw1 and x_t.made_by_vjp_of is xw1 and np.shares_memory(x_t.data, X.data)
    assert dz1.op == "where" and dz1.made_by_vjp_of.op == "relu" and dz1.inputs[1].made_by_vjp_of is dz1.made_by_vjp_of
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(grad.data, W1.grad.data, rtol=1e-12)


def loss_inputs(loss: Tensor) -> tuple[Tensor, Tensor]:
    """(X, X·W1) of the fare net, walked down from L by the public graph view."""
    t = loss
    while t.op != "matmul" or not t.inputs[0].is_leaf:
        t = t.inputs[0]
    return t.inputs[0], t


def test_a_number_constant_that_graphs_share_belongs_to_no_vjp(fare) -> None:
    model, loss, W1, grad = fare
    (again,) = autograd.grad(loss, W1, create_graph=True)
    two = next(t for t in walk(again) if t.is_leaf and t.data.ndim == 0 and t.data == 2)
    assert two.made_by_vjp_of is None
    assert backward_description(again, loss, W1).node("2").cluster is None


def walk(t: Tensor) -> list[Tensor]:
    """Every tensor of a gradient's own graph and what it reads (not into the forward graph)."""
    found, stack = [], [t]
    while stack:
        t = stack.pop()
        found.append(t)
        if t.made_by_vjp_of is not None:
            stack.extend(t.inputs)
    return found


def test_names_are_the_same_without_the_loss_or_wrt_and_through_backward_create_graph(fare) -> None:
    model, loss, W1, grad = fare
    full = backward_description(grad, loss, W1, params=model)
    assert boxes(backward_description(grad)) == boxes(full)
    loss.backward(create_graph=True)
    assert W1.grad.made_by_vjp_of is not None
    assert boxes(backward_description(W1.grad, loss)) == boxes(full)


def test_each_box_shares_its_colour_with_its_ops_oval_in_the_forward_graph(fare) -> None:
    model, loss, W1, grad = fare
    desc = forward_and_backward_description(loss, W1, grad, params=model)
    assert desc.clusters["f_pass"] == "forward: the graph of L"
    assert desc.clusters["b_pass"] == "backward: the graph of ∂L/∂W1 (create_graph=True)"
    assert {desc.parents[k] for k in desc.clusters if k.startswith("b_vjp")} == {"b_pass"}
    forward_ops = [n for n in desc.ops if n.id.startswith("f_")]
    coloured = [(n.label, n.colour, n.fill) for n in forward_ops if n.colour]
    assert coloured == [(op, *VJP_COLOURS[k]) for k, op in enumerate(["matmul", "relu", "matmul", "square", "mean"])]
    assert [n.label for n in forward_ops if not n.colour] == ["add", "add", "sub"]
    by_label = {label: key for key, label in desc.clusters.items()}
    for k, label in enumerate(BOXES):
        key = by_label[label]
        assert (desc.colours[key], desc.tints[key]) == VJP_COLOURS[k]
    assert {n.label for n in desc.tensors if n.id.startswith("f_")} >= {"X", "W1", "Z1", "H", "W2", "Ŷ − Y", "L"}


def test_grad_is_computed_when_not_given_and_leaves_grad_alone(fare) -> None:
    model, loss, W1, _ = fare
    desc = forward_and_backward_description(loss, W1, params=model)
    assert "b_vjp4" in desc.clusters and W1.grad is None


def test_a_tensor_without_recorded_backward_says_to_use_create_graph(fare) -> None:
    model, loss, W1, _ = fare
    with pytest.raises(ValueError, match=r"no recorded backward pass.*create_graph=True"):
        draw_backward(loss)
    loss.backward(retain_graph=True)
    with pytest.raises(ValueError, match=r"create_graph=True"):
        draw_backward(W1.grad, loss)
    with pytest.raises(TypeError, match="minigrad Tensor"):
        draw_backward(np.zeros(3))


def test_a_released_graph_is_named_with_the_fix(fare) -> None:
    model, loss, W1, grad = fare
    grad.sum().backward()
    with pytest.raises(RuntimeError, match=r"graph of this gradient was released.*retain_graph=True"):
        draw_backward(grad, loss)
    model, loss = titanic_net()
    (grad,) = autograd.grad(loss, model[0].weight, create_graph=True, retain_graph=False)
    with pytest.raises(RuntimeError, match=r"forward graph this gradient reads was released"):
        draw_backward(grad, loss)


def test_a_small_hand_case_tanh() -> None:
    """d/dx sum(tanh(x)) = g ⊙ (1 − out²): tanh's VJP reads its own output, sum's hands on a constant."""
    x = Tensor([0.5, -1.0], requires_grad=True, dtype=np.float64, name="x")
    y = x.tanh()
    (g,) = autograd.grad(y.sum(), x, create_graph=True)
    desc = backward_description(g, wrt=x)
    assert boxes(desc) == {"from tanh's VJP (tanh(x))": [("tanh(x)²", "intermediate"), ("1 − tanh(x)²", "intermediate"),
                                                         ("∂L/∂x", "gradient")],
                           "from sum's VJP (L)": [("∂L/∂(tanh(x))", "gradient")]}
    assert edge(desc, "tanh(x)", "pow(2)", "tanh(x)²") and edge(desc, "1", "sub", "1 − tanh(x)²")
    assert edge(desc, "∂L/∂(tanh(x))", "mul", "∂L/∂x") and edge(desc, "1 − tanh(x)²", "mul", "∂L/∂x")
    assert desc.node("tanh(x)").cluster is None and desc.node("tanh(x)").role == "intermediate"


@pytest.mark.parametrize("renderer", ["dot", "pygraphviz"])
def test_renders_svg_with_both_graphs_and_every_box(fare, renderer) -> None:
    renderer_available(renderer)
    model, loss, W1, grad = fare
    texts = svg_texts(render_svg(draw_forward_and_backward(loss, W1, grad, params=model), renderer))
    for label in BOXES:
        assert label.replace("²", "2") in texts            # the square is a superscript run
    for text in ("forward: the graph of L", "backward: the graph of ∂L/∂W1 (create_graph=True)", "Z1 > 0",
                 "∂L/∂W1 ∈ ℝ3×4", "Xᵀ ∈ ℝ3×1046", "hidden layer 1", "W1 ∈ ℝ3×4", "nodes an op's VJP made,"):
        assert text in texts
    forward, backward = draw_forward_and_backward(loss, W1, grad, params=model, side_by_side=False)
    assert "from relu's VJP (H)" in svg_texts(render_svg(backward, renderer))
    assert "hidden layer 1" in svg_texts(render_svg(forward, renderer))


def test_second_order_example_writes_the_pair_and_the_side_by_side_picture(tmp_path) -> None:
    renderer_available("dot")
    from helpers import load_example

    example = load_example("second_order")
    data = minigrad.datasets.load_fare()
    X, Y = data.X_train.astype(np.float64), data.y_train.astype(np.float64)
    written = example.write_graphs(X, Y, example.trained_parameters(X, Y, epochs=2), tmp_path)
    assert [p.name for p in written] == ["forward_and_backward.svg", "forward_graph.svg", "backward_graph.svg"]
    both, forward, backward = (svg_texts(p.read_text(encoding="utf-8")) for p in written)
    assert "forward: the graph of L" in both and "from relu's VJP (H)" in both
    assert "relu" in forward and "from relu's VJP (H)" not in forward
    assert "∂L/∂W1 ∈ ℝ3×4" in backward and "hidden layer 1" not in backward


def test_a_tensor_several_ops_read_gets_a_share_from_each_vjp_and_their_sum_is_the_gradient() -> None:
    x = Tensor([0.3, -0.2, 0.9], requires_grad=True, dtype=np.float64, name="x")
    y = (x * x).sum() + x.exp().sum()
    (g,) = autograd.grad(y, x, create_graph=True)
    desc = backward_description(g, y, x)
    assert boxes(desc)["from exp's VJP (exp(x))"] == [("∂L/∂x via exp(x)", "gradient")]
    assert sorted(n.label for n in desc.ops if n.cluster == "vjp0") == ["add", "add", "mul", "mul"]
    assert edge(desc, "∂L/∂x via exp(x)", "add", "add1") and edge(desc, "add1", "add", "∂L/∂x")
    np.testing.assert_allclose(g.data, 2 * x.data + np.exp(x.data), rtol=1e-15)
