"""The explanation's formulas as Typst: each translation reads right, and every formula of three nets compiles."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import titanic_net
from test_explain import mlp

from minigrad import Tensor, manual_seed, nn
from minigrad.see.explain import explain_backward
from minigrad.see.graph import format_space
from minigrad.see.typeset import typst_math, typst_text


@pytest.mark.parametrize("text, math", [
    ("∂L/∂W1 = Xᵀ · ∂L/∂Z1", "(partial L)/(partial W_(1)) = X^T dot (partial L)/(partial Z_(1))"),
    ("∂L/∂(X·W1)", "(partial L)/(partial (X dot W_(1)))"),
    ("(2/1046)(Ŷ − Y)", "2/1046 (hat(Y) - Y)"),
    ("1[Z1 > 0] ⊙ 𝟙ᵀ", "bb(1)[Z_(1) > 0] dot.o bb(1)^T"),
    ("Σ_rows(H2²)", 'sum_"rows" (H_(2)^(2))'),
    ("(∂L/∂Z1)ᵢⱼ", "((partial L)/(partial Z_(1)))_(i j)"),
    ("W1 ∈ ℝ³ˣ⁴", "W_(1) in RR^(3 times 4)"),
    ("h2,1 = tanh(Z1)", "h_(2,1) = tanh(Z_(1))"),
    ("ReLU(Z1)", '"ReLU"(Z_(1))'),
    ("L ← mean ← sub", 'L <- "mean" <- "sub"'),
])
def test_formulas_become_typst_math(text: str, math: str) -> None:
    assert typst_math(text) == math


def test_on_one_line_a_derivative_is_a_slash() -> None:
    assert typst_math("∂L/∂H = (2/7) ∂L/∂Ŷ", fractions=False) == \
        "partial L \\/ partial H = (2 \\/ 7) partial L \\/ partial hat(Y)"


def test_prose_escapes_markup_and_keeps_scripts_and_code() -> None:
    assert typst_text("W1 ∈ ℝ⁴ˣ¹ #1 *x*") == "W#sub[1] ∈ ℝ#super[4×1] \\#1 \\*x\\*"
    assert typst_text("its `grad_fn` and [b]", code=True) == 'its #raw("grad_fn") and \\[b\\]'


def custom_module_loss():
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = nn.Linear(3, 5, dtype=np.float64)
            self.out = nn.Linear(5, 2, dtype=np.float64)

        def forward(self, x):
            return self.out(self.hidden(x).sigmoid())

    manual_seed(0)
    model = Net()
    rng = np.random.default_rng(0)
    return nn.MSELoss()(model(Tensor(rng.normal(size=(6, 3)))), rng.normal(size=(6, 2))), model


def test_every_formula_of_three_nets_compiles(tmp_path) -> None:
    """The fare net, a 2-hidden-layer tanh net and a custom Module: each printed piece is valid Typst math."""
    typst = pytest.importorskip("typst")
    model, fare = titanic_net()
    custom, module = custom_module_loss()
    lines = []
    for loss, params in ((fare, model), (mlp([3, 5, 4, 1], ["tanh", "tanh"], backward=False)[0], None),
                         (custom, module)):
        expl = explain_backward(loss, params=params)
        for g in expl.gradients:
            pieces = [g.symbol, g.formula, g.shapes, g.final, *g.paths, f"x ∈ {format_space(g.shape)}"]
            for chain in g.chains:
                pieces += [chain.product, chain.values, chain.dims, chain.misfit or ""]
                pieces += [x for f in chain.factors for x in (f.equation, f.shapes, f.entries, f.value)]
            for piece in filter(None, pieces):
                lines += [f"$ {typst_math(piece)} $", f"${typst_math(piece, fractions=False)}$"]
            lines += [typst_text(f.note) for chain in g.chains for f in chain.factors]
    source = tmp_path / "formulas.typ"
    source.write_text("\n\n".join(lines), encoding="utf-8")
    typst.compile(str(source), output=str(tmp_path / "formulas.pdf"))
    assert (tmp_path / "formulas.pdf").stat().st_size > 1000
