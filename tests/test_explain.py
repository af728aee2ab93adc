"""Tests for the backward explanation: every printed formula is evaluated and compared with autograd.

Each formula is checked twice: its numpy form (`Gradient.expression`) is run, and the printed
textbook form itself is translated back to numpy and run, both against `.grad` (float64, 1e-10).
"""
from __future__ import annotations

import ast
import re

import numpy as np
import pytest
from helpers import titanic_net
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad import Tensor
from minigrad.see.explain import BackwardExplanation, explain_backward

TOL = dict(rtol=1e-10, atol=1e-12)
ACTIVATIONS = ("relu", "tanh", "sigmoid")


def printed_to_numpy(text: str) -> str:
    """Translate a printed formula back into numpy: · -> @, ⊙ -> *, ᵀ -> .T, 1[a > 0] -> (a > 0), ..."""
    text = re.sub(r"1\[([^\[\]]+)\]", r"(\1)", text)
    text = text.replace("Ŷ", "Yhat")
    text = re.sub(r"∂(\w+)/∂(\w+)", r"d\1_d\2", text)
    text = re.sub(r"^(−?)\((\d+)/(\d+)\) ?", r"\1(\2/\3) * ", text)
    for printed, code in (("·", "@"), ("⊙", "*"), ("ᵀ", ".T"), ("−", "-"), ("²", "**2")):
        text = text.replace(printed, code)
    return text


def check(expl: BackwardExplanation, tensors: dict[str, Tensor]) -> None:
    """Every form of every parameter's formula equals autograd's gradient; the numpy forms need numpy alone."""
    values = expl.scope.values()
    env = values | {"Σ_rows": lambda a: a.sum(axis=0)}
    assert sorted(g.name for g in expl.params) == sorted(tensors)
    for g in expl.params:
        grad = tensors[g.name].grad
        assert set(values) >= {n.id for n in ast.walk(ast.parse(g.expression)) if isinstance(n, ast.Name)} - {"z"}
        np.testing.assert_allclose(eval(g.expression, dict(values)), grad, **TOL)
        np.testing.assert_allclose(eval(g.final_expression, dict(values)), grad, **TOL)
        np.testing.assert_allclose(eval(printed_to_numpy(g.formula), env), grad, **TOL)
        for forbidden in ("unbroadcast", "expand(", "where(", "index_backward"):
            assert forbidden not in g.expression.replace("np.where(", "").replace("np.", ""), g.expression
        assert g.check is not None and g.check < 1e-9
        assert g.shape == grad.shape


def mlp(widths: list[int], activations: list[str], n: int = 7, seed: int = 0, bias: bool = True,
        backward: bool = True):
    """A float64 MLP from Tensors and ops: Z_k = H_{k-1} @ W_k + b_k, H_k = act(Z_k); MSE loss."""
    rng = np.random.default_rng(seed)
    X = Tensor(rng.normal(size=(n, widths[0])), dtype=np.float64)
    Y = Tensor(rng.normal(size=(n, widths[-1])), dtype=np.float64)
    params: dict[str, Tensor] = {}
    h = X
    for k, (a, b) in enumerate(zip(widths, widths[1:]), start=1):
        params[f"W{k}"] = Tensor(rng.normal(size=(a, b)), requires_grad=True, dtype=np.float64)
        h = h @ params[f"W{k}"]
        if bias:
            params[f"b{k}"] = Tensor(rng.normal(size=b), requires_grad=True, dtype=np.float64)
            h = h + params[f"b{k}"]
        if k < len(widths) - 1:
            h = getattr(h, activations[k - 1])()
    loss = (h - Y).square().mean()
    if backward:
        loss.backward(retain_graph=True)
    return loss, params


@pytest.fixture(scope="module")
def titanic():
    model, loss = titanic_net()
    expl = explain_backward(loss, params=model)
    loss.backward(retain_graph=True)
    return model, loss, expl


# ---------------------------------------------------------------- the Titanic net (exercise 6.3)


def test_titanic_formulas_read_as_on_the_exercise_sheet(titanic):
    _, _, expl = titanic
    formulas = {g.symbol: g.formula for g in expl.gradients}
    assert formulas == {
        "∂L/∂Ŷ": "(2/1046)(Ŷ − Y)",
        "∂L/∂W1": "Xᵀ · ((∂L/∂Ŷ · W2ᵀ) ⊙ 1[Z1 > 0])",
        "∂L/∂b1": "Σ_rows((∂L/∂Ŷ · W2ᵀ) ⊙ 1[Z1 > 0])",
        "∂L/∂W2": "Hᵀ · ∂L/∂Ŷ",
        "∂L/∂b2": "Σ_rows(∂L/∂Ŷ)",
    }
    assert [g.alias for g in expl.params] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert expl["∂L/∂W1"].shapes == "[3×1046] · (([1046×1] · [1×4]) ⊙ [1046×4])"


def test_titanic_formulas_equal_autograd(titanic):
    model, _, expl = titanic
    check(expl, {g.name: p for g, (_, p) in zip(expl.params, model.named_parameters())})
    np.testing.assert_allclose(expl["Ŷ"].evaluate(), expl.namespace()["dL_dYhat"], **TOL)


def test_titanic_paths_and_steps_with_shapes(titanic):
    _, _, expl = titanic
    w1 = expl["W1"]
    path = "L ← mean ← square ← sub ← Ŷ ← add ← matmul ← H ← relu ← Z1 ← add ← matmul ← W1"
    assert w1.paths == [path]
    steps = [(s.op, s.equation, s.shape_text) for s in w1.steps[0]]
    assert steps == [
        ("add", "∂L/∂(H·W2) = ∂L/∂Ŷ", "1046×1"),
        ("matmul", "∂L/∂H = ∂L/∂(H·W2) · W2ᵀ", "[1046×1] · [1×4] → 1046×4"),
        ("relu", "∂L/∂Z1 = ∂L/∂H ⊙ 1[Z1 > 0]", "[1046×4] ⊙ [1046×4] → 1046×4"),
        ("add", "∂L/∂(X·W1) = ∂L/∂Z1", "1046×4"),
        ("matmul", "∂L/∂W1 = Xᵀ · ∂L/∂(X·W1)", "[3×1046] · [1046×4] → 3×4"),
    ]
    assert expl["b1"].steps[0][-1].equation == "∂L/∂b1 = Σ_rows(∂L/∂Z1)"
    loss_part = [s.equation for s in expl["Ŷ"].steps[0]]
    assert loss_part == [
        "∂L/∂((Ŷ − Y)²) = broadcast(1 / 1046, 1046×1)",
        "∂L/∂(Ŷ − Y) = 2 ⊙ (Ŷ − Y) ⊙ ∂L/∂((Ŷ − Y)²)",
        "∂L/∂Ŷ = ∂L/∂(Ŷ − Y)",
    ]


def test_titanic_text_and_markdown(titanic, tmp_path):
    _, _, expl = titanic
    text = str(expl)
    assert "∂L/∂W1  (W1 = 0.weight ∈ ℝ³ˣ⁴, path drawn in blue)" in text
    assert "result  ∂L/∂W1 = Xᵀ · ((∂L/∂Ŷ · W2ᵀ) ⊙ 1[Z1 > 0]) ∈ ℝ³ˣ⁴" in text
    assert "∂L/∂b1  (b1 = 0.bias ∈ ℝ⁴, path drawn in red)" in text and "Σ_rows(A) = A.sum(axis=0)" in text
    assert "final   ∂L/∂W1 = (2/1046) Xᵀ · (((Ŷ − Y) · W2ᵀ) ⊙ 1[Z1 > 0])" in text
    md = expl.to_markdown()
    assert md.startswith("# Backward pass of L\n")
    assert "## ∂L/∂W1  (W1 = 0.weight ∈ ℝ³ˣ⁴, path drawn in blue)" in md
    assert "| relu | `∂L/∂Z1 = ∂L/∂H ⊙ 1[Z1 > 0]` | `[1046×4] ⊙ [1046×4] → 1046×4` |" in md
    assert "**∂L/∂b2 = Σ_rows(∂L/∂Ŷ)** ∈ ℝ¹" in md and "numpy: `2 * sub1.sum(axis=0) / 1046`" in md
    assert "unbroadcast" not in md and "where(" not in md.replace("np.where(", "")
    path = expl.save_markdown(tmp_path / "backprop.md")
    assert path.read_text(encoding="utf-8") == md


def test_explanation_does_not_need_backward_to_have_run():
    loss, params = mlp([3, 4, 1], ["relu"], backward=False)
    expl = explain_backward(loss)
    loss.backward(retain_graph=True)
    check(expl, params)


# ---------------------------------------------------------------- random MLPs


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("depth", [2, 3])
def test_random_mlps_agree_with_autograd(depth, activation):
    widths = [3, 5, 4, 2][: depth + 1] if depth == 3 else [3, 5, 2]
    loss, params = mlp(widths, [activation] * (depth - 1), seed=depth)
    check(explain_backward(loss), params)


def test_three_layer_formula_is_fully_chained():
    loss, params = mlp([3, 5, 4, 1], ["relu", "tanh"])
    expl = explain_backward(loss)
    assert expl["W1"].formula == "Xᵀ · ((((∂L/∂Ŷ · W3ᵀ) ⊙ (1 − H2²)) · W2ᵀ) ⊙ 1[Z1 > 0])"
    assert expl["W3"].formula == "H2ᵀ · ∂L/∂Ŷ"


@settings(max_examples=25, deadline=None)
@given(
    widths=st.lists(st.integers(1, 5), min_size=3, max_size=4),
    activations=st.lists(st.sampled_from(ACTIVATIONS), min_size=2, max_size=2),
    n=st.integers(1, 6),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_any_mlp_agrees_with_autograd(widths, activations, n, bias, seed):
    loss, params = mlp(widths, activations, n=n, seed=seed, bias=bias)
    check(explain_backward(loss), params)


# ---------------------------------------------------------------- every op's symbolic VJP


OPS = [
    ("add", lambda x, y: x + y, [(3, 4), (4,)]),
    ("add column", lambda x, y: x + y, [(3, 4), (3, 1)]),
    ("sub scalar", lambda x, y: x - y, [(3, 4), ()]),
    ("mul", lambda x, y: x * y, [(3, 4), (1, 4)]),
    ("div", lambda x, y: x / y, [(3, 4), (4,)]),
    ("neg", lambda x: -x, [(3, 4)]),
    ("pow", lambda x: x**3, [(3, 4)]),
    ("pow fractional", lambda x: x**2.5, [(3, 4)]),
    ("square", lambda x: x.square(), [(3, 4)]),
    ("exp", lambda x: x.exp(), [(3, 4)]),
    ("log", lambda x: x.log(), [(3, 4)]),
    ("tanh", lambda x: x.tanh(), [(3, 4)]),
    ("sigmoid", lambda x: x.sigmoid(), [(3, 4)]),
    ("relu", lambda x: x.relu(), [(3, 4)]),
    ("sum", lambda x: x.sum(axis=0), [(3, 4)]),
    ("sum keepdims", lambda x: x.sum(axis=1, keepdims=True), [(3, 4)]),
    ("mean", lambda x: x.mean(axis=0), [(3, 4)]),
    ("matmul", lambda x, y: x @ y, [(3, 4), (4, 2)]),
    ("batched matmul", lambda x, y: x @ y, [(2, 3, 4), (4, 2)]),
    ("reshape", lambda x: x.reshape(4, 3), [(3, 4)]),
    ("transpose", lambda x: x.T, [(3, 4)]),
    ("transpose 3-D", lambda x: x.transpose(1, 2, 0), [(2, 3, 4)]),
    ("index", lambda x: x[np.array([0, 0, 2])], [(3, 4)]),
    ("slice", lambda x: x[1:, ::2], [(3, 4)]),
    ("matmul 1-D", lambda x, y: x @ y, [(3, 4), (4,)]),
    ("1-D matmul 1-D", lambda x, y: x @ y, [(4,), (4,)]),
]


@pytest.mark.parametrize("label, fn, shapes", OPS)
def test_each_op_formula_agrees_with_its_vjp(label, fn, shapes):
    rng = np.random.default_rng(abs(hash(label)) % 2**32)
    positive = label.startswith(("pow", "log", "div"))
    xs = [Tensor(np.abs(rng.normal(size=s)) + 0.5 if positive else rng.normal(size=s), requires_grad=True,
                 dtype=np.float64, name=f"a{k}") for k, s in enumerate(shapes)]
    out = fn(*xs)
    loss = (out * Tensor(rng.normal(size=out.shape), dtype=np.float64)).sum()
    loss.backward(retain_graph=True)
    expl = explain_backward(loss)
    for g, x in zip(expl.params, xs):
        np.testing.assert_allclose(g.evaluate(), x.grad, **TOL)


# ---------------------------------------------------------------- reuse: several paths add up


def test_a_reused_tensor_sums_its_paths():
    rng = np.random.default_rng(3)
    X = Tensor(rng.normal(size=(4, 3)), dtype=np.float64, name="X")
    W = Tensor(rng.normal(size=(3, 3)), requires_grad=True, dtype=np.float64, name="W")
    h = X @ W
    loss = ((h @ W) * h).mean()
    loss.backward(retain_graph=True)
    expl = explain_backward(loss)
    w = expl["W"]
    assert w.total_paths == 3 and len(w.paths) == 3
    assert any(s.accumulates for steps in w.steps for s in steps)
    np.testing.assert_allclose(w.evaluate(), W.grad, **TOL)
    assert [g.name for g in expl.shared] == ["Ŷ ⊙ Z1", "Z1"]
    assert expl["Z1"].formula == "(∂L/∂(Ŷ ⊙ Z1) ⊙ Z1) · Wᵀ + ∂L/∂(Ŷ ⊙ Z1) ⊙ Ŷ"
    assert w.formula == "Xᵀ · ∂L/∂Z1 + Z1ᵀ · (∂L/∂(Ŷ ⊙ Z1) ⊙ Z1)"


def test_path_list_is_capped_but_the_formula_sums_every_path():
    x = Tensor([0.5, -1.0, 2.0], requires_grad=True, dtype=np.float64, name="x")
    y = x
    for _ in range(6):
        y = y * y + y
    loss = y.sum()
    loss.backward(retain_graph=True)
    expl = explain_backward(loss, max_paths=4)
    g = expl["x"]
    assert len(g.paths) == 4 and g.total_paths > 4
    assert f"and {g.total_paths - 4} more" in str(g)
    np.testing.assert_allclose(g.evaluate(), x.grad, **TOL)


# ---------------------------------------------------------------- what it refuses


def test_refuses_what_is_not_a_recorded_scalar():
    w = Tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(ValueError, match="one-element"):
        explain_backward(w * 2.0)
    with pytest.raises(ValueError, match="a leaf"):
        explain_backward(Tensor([1.0], requires_grad=True))


def test_unknown_names_are_a_key_error(titanic):
    with pytest.raises(KeyError, match="no gradient named 'W9'"):
        titanic[2]["W9"]


def test_a_deep_chain_is_split_into_named_gradients_and_still_exact():
    x = Tensor([0.5, -1.0, 2.0], requires_grad=True, dtype=np.float64, name="x")
    y = x
    for _ in range(300):
        y = (y * 1.001).tanh()
    loss = y.sum()
    loss.backward(retain_graph=True)
    expl = explain_backward(loss)
    assert len(expl.shared) > 300 // 12
    np.testing.assert_allclose(expl["x"].evaluate(), x.grad, **TOL)


# ---------------------------------------------------------------- the chain rule as exercise 6.3 grades it


def chain_of(g):
    """(kind, symbol, value, dimensions) of each factor of a gradient's first chain."""
    return [(f.kind, f.symbol, f.value, f.shape) for f in g.chains[0].factors]


def test_titanic_chain_naive_product_reorder_and_final(titanic):
    _, _, expl = titanic
    w1 = expl["W1"]
    chain = w1.chains[0]
    assert chain.stops == ["L", "Ŷ", "H", "Z1", "W1"]
    assert chain.product == "∂L/∂Ŷ · ∂Ŷ/∂H · ∂H/∂Z1 · ∂Z1/∂W1"
    assert chain.values == "(2/1046)(Ŷ − Y) · W2 · 1[Z1 > 0] · X"
    assert chain.dims == "[1046×1] · [4×1] · [1046×4] · [1046×3]"
    assert chain.misfit == "[1046×1] · [4×1]: the inner dimensions 1 ≠ 4"
    moves = [(f.kind, f.equation, f.shapes) for f in chain.factors[1:]]
    assert moves == [
        ("right", "∂L/∂H = ∂L/∂Ŷ · W2ᵀ", "[1046×1] · [1×4] → 1046×4"),
        ("elementwise", "∂L/∂Z1 = ∂L/∂H ⊙ 1[Z1 > 0]", "[1046×4] ⊙ [1046×4] → 1046×4"),
        ("left", "∂L/∂W1 = Xᵀ · ∂L/∂Z1", "[3×1046] · [1046×4] → 3×4"),
    ]
    assert "goes on the right, transposed" in chain.factors[1].note
    assert chain.factors[2].entries == "(∂L/∂Z1)ᵢⱼ = (∂L/∂H)ᵢⱼ · 1[(Z1)ᵢⱼ > 0]"
    assert w1.final == "(2/1046) Xᵀ · (((Ŷ − Y) · W2ᵀ) ⊙ 1[Z1 > 0])"
    assert w1.masks == ["1[Z1 > 0] is 1 where (Z1)ᵢⱼ > 0 and 0 elsewhere"]
    assert w1.colour == ("blue", "#1f5fbf") and w1.check < 1e-12
    b1 = expl["b1"].chains[0].factors[-1]
    assert (b1.kind, b1.value, b1.shape) == ("rows", "𝟙", (1046, 1))
    assert b1.equation == "∂L/∂b1 = 𝟙ᵀ · ∂L/∂Z1 = Σ_rows(∂L/∂Z1)"
    assert b1.shapes == "[1×1046] · [1046×4] → 1×4 → 4"
    assert chain_of(expl["W2"]) == [("start", "∂L/∂Ŷ", "(2/1046)(Ŷ − Y)", (1046, 1)),
                                    ("left", "∂Ŷ/∂W2", "H", (1046, 4))]
    assert expl["W2"].chains[0].misfit == "[1046×1] · [1046×4]: the inner dimensions 1 ≠ 1046"
    assert expl["b2"].final == "(2/1046) Σ_rows(Ŷ − Y)"


def test_two_hidden_tanh_layers_chain_through_both_derivatives():
    loss, params = mlp([3, 5, 4, 1], ["tanh", "tanh"])
    expl = explain_backward(loss)
    check(expl, params)
    w1 = expl["W1"]
    assert w1.chains[0].product == "∂L/∂Ŷ · ∂Ŷ/∂H2 · ∂H2/∂Z2 · ∂Z2/∂H1 · ∂H1/∂Z1 · ∂Z1/∂W1"
    assert [k for k, *_ in chain_of(w1)] == ["start", "right", "elementwise", "right", "elementwise", "left"]
    assert w1.chains[0].values == "(2/7)(Ŷ − Y) · W3 · (1 − H2²) · W2 · (1 − H1²) · X"
    assert w1.chains[0].dims == "[7×1] · [4×1] · [7×4] · [5×4] · [7×5] · [7×3]"
    assert w1.chains[0].factors[2].entries == "(∂L/∂Z2)ᵢⱼ = (∂L/∂H2)ᵢⱼ · (1 − (H2)ᵢⱼ²)"
    assert w1.final == "(2/7) Xᵀ · (((((Ŷ − Y) · W3ᵀ) ⊙ (1 − H2²)) · W2ᵀ) ⊙ (1 − H1²))"
    assert w1.masks == []
    assert [g.colour[0] for g in expl.params] == ["blue", "red", "green", "purple", "brown", "teal"]


def test_a_custom_module_gets_the_same_steps_and_names():
    from minigrad import manual_seed, nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = nn.Linear(3, 5, dtype=np.float64)
            self.out = nn.Linear(5, 2, dtype=np.float64)

        def forward(self, x):
            return self.out(self.hidden(x).relu())

    manual_seed(0)
    model = Net()
    rng = np.random.default_rng(0)
    loss = nn.MSELoss()(model(Tensor(rng.normal(size=(6, 3)))), rng.normal(size=(6, 2)))
    expl = explain_backward(loss, params=model)
    loss.backward()
    check(expl, dict(zip(("W1", "b1", "W2", "b2"), model.parameters())))
    assert [g.alias for g in expl.params] == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    w1 = expl["hidden.weight"]
    assert w1.chains[0].stops == ["L", "Ŷ", "H", "Z1", "W1"]
    assert w1.chains[0].misfit == "[6×2] · [5×2]: the inner dimensions 2 ≠ 5"
    assert w1.final == "(2/12) Xᵀ · (((Ŷ − Y) · W2ᵀ) ⊙ 1[Z1 > 0])"
    b2 = expl["b2"].chains[0].factors[-1]
    assert b2.kind == "rows" and b2.shapes == "[1×6] · [6×2] → 1×2 → 2"


def test_markdown_carries_the_graded_steps(titanic):
    _, _, expl = titanic
    md = expl.to_markdown()
    assert "Chain rule over the scheme's variables: `∂L/∂W1 = ∂L/∂Ŷ · ∂Ŷ/∂H · ∂H/∂Z1 · ∂Z1/∂W1`" in md
    assert "| `∂Ŷ/∂H` | `W2` | `4×1` |" in md
    assert "does not fit: [1046×1] · [4×1]: the inner dimensions 1 ≠ 4" in md
    assert "| `∂L/∂H = ∂L/∂Ŷ · W2ᵀ` | `[1046×1] · [1×4] → 1046×4` |" in md
    assert "Final, in the scheme's terms: **∂L/∂W1 = (2/1046) Xᵀ · (((Ŷ − Y) · W2ᵀ) ⊙ 1[Z1 > 0])**" in md
    assert "Check against autograd" in md
    assert "numpy: `2 * (X.T @ np.where(Z1 > 0, sub1 @ W2.T, 0)) / 1046`" in md
