"""Higher-order gradients: create_graph, autograd.grad, functional, gradgradcheck, against torch and finite differences."""
from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import Tensor
from minigrad.autograd import functional, grad, gradgradcheck
from minigrad.core import ops
from minigrad.core.higher import tensor_vjp
from tests.test_ops import CASES, applied_op

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(12)


def values(row, shapes):
    out = []
    for shape, domain in zip(shapes, row.domains):
        a = RNG.uniform(0.3, 1.5, shape) * (RNG.choice([-1.0, 1.0], shape) if domain in ("any", "nonzero") else 1.0)
        out.append(np.asarray(a, dtype=np.float64))
    return out


@pytest.mark.parametrize(("row", "shapes"), CASES)
def test_every_formula_gives_the_same_vjp_on_arrays_and_on_tensors(row, shapes) -> None:
    node, _ = applied_op(row, values(row, shapes))
    g = RNG.standard_normal(node.shape)
    on_arrays = node.op_type.vjp(node, g)
    on_tensors = tensor_vjp(node.op_type)(node, Tensor(g, dtype=np.float64), *node.inputs, *([None] * (2 - len(node.inputs))))
    for a, t in zip(on_arrays, on_tensors):
        assert (a is None) == (t is None)
        if a is not None:
            np.testing.assert_allclose(np.broadcast_to(a, np.shape(a)), t.data if isinstance(t, Tensor) else t, rtol=1e-12, atol=1e-12)


def test_every_op_has_formulas_that_compile_over_tensors() -> None:
    for op in ops.Op.__subclasses__():
        if op.formulas:
            tensor_vjp(op)


def _second(fn, arrays, module):
    """(first derivatives, H·u of <first, w>), in minigrad or torch, for every input at once (mixed terms included)."""
    rng = np.random.default_rng(3)
    if module == "torch":
        xs = [torch.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*xs)
        v = torch.tensor(rng.standard_normal(tuple(out.shape)))
        firsts = torch.autograd.grad(out, xs, v, create_graph=True, allow_unused=True)
        ws = [torch.tensor(rng.standard_normal(a.shape)) for a in arrays]
        pairs = [(f, w) for f, w in zip(firsts, ws) if f is not None and f.requires_grad]
        if not pairs:
            return [f.detach().numpy() for f in firsts], None
        seconds = torch.autograd.grad([f for f, _ in pairs], xs, [w for _, w in pairs], allow_unused=True)
        # NOTE: torch answers a derivative it knows is zero (abs's second) with a ZeroTensor, which has no array
        return [f.detach().numpy() for f in firsts], [None if s is None or s._is_zerotensor() else s.numpy() for s in seconds]
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    v = rng.standard_normal(out.shape)
    firsts = grad(out, xs, v, create_graph=True, allow_unused=True)
    ws = [rng.standard_normal(a.shape) for a in arrays]
    pairs = [(f, w) for f, w in zip(firsts, ws) if f is not None and f.requires_grad]
    if not pairs:
        return [f.data for f in firsts], None
    seconds = grad([f for f, _ in pairs], xs, [w for _, w in pairs], allow_unused=True)
    return [f.data for f in firsts], [None if s is None else s.data for s in seconds]


@pytest.mark.parametrize(("row", "shapes"), CASES)
def test_every_op_second_derivative_matches_torch(row, shapes) -> None:
    arrays = values(row, shapes)
    mine_first, mine_second = _second(row.fn, arrays, "minigrad")
    theirs_first, theirs_second = _second(row.torch_fn or row.fn, arrays, "torch")
    for a, b in zip(mine_first, theirs_first):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    if theirs_second is None or mine_second is None:
        assert all(s is None or not np.any(s) for s in (mine_second or []) + (theirs_second or []))
        return
    for a, b in zip(mine_second, theirs_second):
        np.testing.assert_allclose(0 if a is None else a, 0 if b is None else b, rtol=1e-10, atol=1e-12)


FIRST_SHAPES = {}
for case in CASES:
    FIRST_SHAPES.setdefault(case.values[0].name, case)


@pytest.mark.parametrize(("row", "shapes"), list(FIRST_SHAPES.values()))
def test_every_op_second_derivative_matches_finite_differences(row, shapes) -> None:
    assert gradgradcheck(row.fn, values(row, shapes), atol=1e-5, rtol=1e-4)


def test_third_derivatives_of_tanh_match_torch() -> None:
    a = np.linspace(-2, 2, 7)
    x, tx = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    g, tg = x.tanh().sum(), tx.tanh().sum()
    for order in range(1, 4):
        (g,) = grad(g, x, create_graph=True)
        (tg,) = torch.autograd.grad(tg, tx, create_graph=True)
        np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-12, atol=1e-14)
        g, tg = g.sum(), tg.sum()


def test_double_backward_idiom_penalises_the_gradient_norm() -> None:
    a, b = RNG.standard_normal((5, 3)), RNG.standard_normal((3, 2))
    W, tW = Tensor(b, requires_grad=True), torch.tensor(b, requires_grad=True)
    for w, X in ((W, Tensor(a)), (tW, torch.tensor(a))):
        loss = (X @ w).tanh().sum()
        loss.backward(create_graph=True)
        assert w.grad.requires_grad
        penalty = (w.grad ** 2).sum()
        w.grad = None
        penalty.backward()
    np.testing.assert_allclose(W.grad.data, tW.grad.numpy(), rtol=1e-12)


def test_grad_outputs_with_several_outputs() -> None:
    a = RNG.standard_normal(4)
    x, tx = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    v1, v2 = RNG.standard_normal(4), RNG.standard_normal(())
    (g,) = grad([x.exp(), (x * x).sum()], [x], [v1, v2])
    (tg,) = torch.autograd.grad([tx.exp(), (tx * tx).sum()], [tx], [torch.tensor(v1), torch.tensor(v2)])
    np.testing.assert_allclose(g.data, tg.numpy(), rtol=1e-12)
    assert x.grad is None


def test_allow_unused() -> None:
    x, z = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph. Set allow_unused=True"):
        grad((x * 2).sum(), [x, z])
    gx, gz = grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None and gx.data.tolist() == [2.0, 2.0]


def test_retain_graph_defaults_to_create_graph() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    grad(y, x, create_graph=True)
    grad(y, x)  # the graph was kept, since create_graph=True kept it
    with pytest.raises(RuntimeError, match="second time"):
        grad(y, x)


def test_backward_inputs_restricts_accumulation() -> None:
    x, w = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
    h = x * w
    (h * h).sum().backward(inputs=[w, h])
    assert x.grad is None
    np.testing.assert_allclose(w.grad.data, 2 * h.data * x.data)  # d sum(h²)/dw = 2 h x
    np.testing.assert_allclose(h.grad.data, 2 * h.data)


def test_grad_of_a_non_leaf_input() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    (gh,) = grad((h ** 2).sum(), h)
    np.testing.assert_allclose(gh.data, 2 * h.data)
    assert h.grad is None


def _cube_with_a_wrong_second_derivative(x: Tensor) -> Tensor:
    """x³, whose first derivative 3x² is right, but computed from a constant, so the second is 0, not 6x."""
    c = x.detach()
    return (x ** 3).detach() + 3 * c ** 2 * (x - c)


def test_gradgradcheck_rejects_a_wrong_second_derivative() -> None:
    x = np.array([0.5, -1.3])
    assert minigrad.gradcheck(_cube_with_a_wrong_second_derivative, [Tensor(x, requires_grad=True, dtype=np.float64)])
    assert gradgradcheck(lambda t: t ** 3, [x])
    with pytest.raises(minigrad.GradcheckError, match="gradgradcheck"):
        gradgradcheck(_cube_with_a_wrong_second_derivative, [x])
    assert gradgradcheck(_cube_with_a_wrong_second_derivative, [x], raise_exception=False) is False


def test_functional_matches_torch() -> None:
    a, b, v = RNG.standard_normal((3, 2)), RNG.standard_normal(2), RNG.standard_normal(2)

    def f(m, x):
        return ((m @ x).tanh() ** 2).sum() * x.exp().sum()

    xs, txs = (Tensor(a), Tensor(b)), (torch.tensor(a), torch.tensor(b))
    H, tH = functional.hessian(f, xs), torch.autograd.functional.hessian(f, txs)
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(H[i][j].data, tH[i][j].numpy(), rtol=1e-10, atol=1e-12)
    g = lambda x: (Tensor(a) @ x).tanh() if isinstance(x, Tensor) else (torch.tensor(a) @ x).tanh()
    J, tJ = functional.jacobian(g, Tensor(b)), torch.autograd.functional.jacobian(g, torch.tensor(b))
    np.testing.assert_allclose(J.data, tJ.numpy(), rtol=1e-12)
    w = RNG.standard_normal(3)
    for name in ("vjp", "jvp"):
        vec = w if name == "vjp" else v
        (out, r) = getattr(functional, name)(g, Tensor(b), Tensor(vec))
        (tout, tr) = getattr(torch.autograd.functional, name)(g, torch.tensor(b), torch.tensor(vec))
        np.testing.assert_allclose(r.data, tr.numpy(), rtol=1e-12)
    h = lambda x: (x.tanh() * x).sum()
    for name in ("hvp", "vhp"):
        (out, r) = getattr(functional, name)(h, Tensor(b), Tensor(v))
        (tout, tr) = getattr(torch.autograd.functional, name)(h, torch.tensor(b), torch.tensor(v))
        np.testing.assert_allclose(r.data, tr.numpy(), rtol=1e-12)
    Hc = functional.hessian(h, Tensor(b, requires_grad=True), create_graph=True)
    assert Hc.requires_grad


def test_backward_graph_nodes_know_the_forward_node_whose_vjp_made_them() -> None:
    x = Tensor([0.5, -1.0], requires_grad=True, name="x")
    y = x.tanh()
    (g,) = grad(y.sum(), x, create_graph=True)
    assert g.made_by_vjp_of is y
    assert y.made_by_vjp_of is None


def test_fare_net_full_hessian_equals_torch() -> None:
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "second_order.py"
    spec = importlib.util.spec_from_file_location("second_order", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    data = minigrad.datasets.load_fare()
    X, Y = data.X_train.astype(np.float64), data.y_train.astype(np.float64)
    params = example.trained_parameters(X, Y, epochs=20)
    mine = example.full_hessian(example.fare_loss(X, Y), params)
    tX, tY = torch.tensor(X), torch.tensor(Y)
    loss = lambda W1, b1, W2, b2: (((tX @ W1 + b1).relu() @ W2 + b2 - tY) ** 2).mean()
    blocks = torch.autograd.functional.hessian(loss, tuple(torch.tensor(p) for p in params))
    sizes = [p.size for p in params]
    theirs = np.block([[blocks[i][j].numpy().reshape(sizes[i], sizes[j]) for j in range(4)] for i in range(4)])
    np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-8)
    H = np.maximum(X @ params[0] + params[1], 0)
    np.testing.assert_allclose(mine[16:20, 16:20], 2 / len(X) * H.T @ H, rtol=1e-12)
