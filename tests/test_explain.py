"""Tests for the backward explanation: every printed formula is evaluated and compared with autograd.

Each formula is checked twice: its numpy form (`Gradient.expression`) is run, and the printed
textbook form itself is translated back to numpy and run, both against `.grad` (float64, 1e-10).
"""
from __future__ import annotations

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
    text = re.sub(r"d(\w+)/d(\w+)", r"d\1_d\2", text)
    for printed, code in (("·", "@"), ("⊙", "*"), ("ᵀ", ".T"), ("−", "-"), ("²", "**2")):
        text = text.replace(printed, code)
    return text


def check(expl: BackwardExplanation, tensors: dict[str, Tensor]) -> None:
    """Both forms of every parameter's formula equal autograd's gradient."""
    env = expl.namespace() | {"Σ_rows": lambda a: a.sum(axis=0)}
    assert sorted(g.name for g in expl.params) == sorted(tensors)
    for g in expl.params:
        grad = tensors[g.name].grad
        np.testing.assert_allclose(g.evaluate(), grad, **TOL)
        np.testing.assert_allclose(eval(printed_to_numpy(g.formula), env), grad, **TOL)
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
        "dL/dYhat": "2 ⊙ (Yhat − Y) / 1046",
        "dL/dW1": "Xᵀ · ((dL/dYhat · W2ᵀ) ⊙ 1[Z1 > 0])",
        "dL/db1": "Σ_rows((dL/dYhat · W2ᵀ) ⊙ 1[Z1 > 0])",
        "dL/dW2": "Hᵀ · dL/dYhat",
        "dL/db2": "Σ_rows(dL/dYhat)",
    }
    assert [g.alias for g in expl.params] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert expl["dL/dW1"].shapes == "[3×1046] · (([1046×1] · [1×4]) ⊙ [1046×4])"


def test_titanic_formulas_equal_autograd(titanic):
    model, _, expl = titanic
    check(expl, {g.name: p for g, (_, p) in zip(expl.params, model.named_parameters())})
    np.testing.assert_allclose(expl["Yhat"].evaluate(), expl.namespace()["dL_dYhat"], **TOL)


def test_titanic_paths_and_steps_with_shapes(titanic):
    _, _, expl = titanic
    w1 = expl["W1"]
    path = "L ← mean ← square ← sub ← Yhat ← add ← matmul ← H ← relu ← Z1 ← add ← matmul ← W1"
    assert w1.paths == [path]
    steps = [(s.op, s.equation, s.shape_text) for s in w1.steps[0]]
    assert steps == [
        ("add", "dL/d(H·W2) = dL/dYhat", "1046×1"),
        ("matmul", "dL/dH = dL/d(H·W2) · W2ᵀ", "[1046×1] · [1×4] → 1046×4"),
        ("relu", "dL/dZ1 = dL/dH ⊙ 1[Z1 > 0]", "[1046×4] ⊙ [1046×4] → 1046×4"),
        ("add", "dL/d(X·W1) = dL/dZ1", "1046×4"),
        ("matmul", "dL/dW1 = Xᵀ · dL/d(X·W1)", "[3×1046] · [1046×4] → 3×4"),
    ]
    assert expl["b1"].steps[0][-1].equation == "dL/db1 = Σ_rows(dL/dZ1)"
    loss_part = [s.equation for s in expl["Yhat"].steps[0]]
    assert loss_part == [
        "dL/d((Yhat − Y)²) = broadcast(1 / 1046, 1046×1)",
        "dL/d(Yhat − Y) = 2 ⊙ (Yhat − Y) ⊙ dL/d((Yhat − Y)²)",
        "dL/dYhat = dL/d(Yhat − Y)",
    ]


def test_titanic_text_and_markdown(titanic, tmp_path):
    _, _, expl = titanic
    text = str(expl)
    assert "dL/dW1  (W1 = 0.weight ∈ R^{3×4})" in text
    assert "result dL/dW1 = Xᵀ · ((dL/dYhat · W2ᵀ) ⊙ 1[Z1 > 0])" in text
    assert "dL/db1  (b1 = 0.bias ∈ R^4)" in text and "Σ_rows(A) = A.sum(axis=0)" in text
    md = expl.to_markdown()
    assert md.startswith("# Backward pass of L\n")
    assert "## dL/dW1  (W1 = 0.weight ∈ R^{3×4})" in md
    assert "| relu | `dL/dZ1 = dL/dH ⊙ 1[Z1 > 0]` | `[1046×4] ⊙ [1046×4] → 1046×4` |" in md
    assert "**dL/db2 = Σ_rows(dL/dYhat)**" in md and "numpy: `unbroadcast(dL_dYhat, (1,))`" in md
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
    assert expl["W1"].formula == "Xᵀ · ((((dL/dYhat · W3ᵀ) ⊙ (1 − H2²)) · W2ᵀ) ⊙ 1[Z1 > 0])"
    assert expl["W3"].formula == "H2ᵀ · dL/dYhat"


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
    assert [g.name for g in expl.shared] == ["Yhat ⊙ Z1", "Z1"]
    assert expl["Z1"].formula == "(dL/d(Yhat ⊙ Z1) ⊙ Z1) · Wᵀ + dL/d(Yhat ⊙ Z1) ⊙ Yhat"
    assert w.formula == "Xᵀ · dL/dZ1 + Z1ᵀ · (dL/d(Yhat ⊙ Z1) ⊙ Z1)"


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
