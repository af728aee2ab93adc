"""The backward pass as a whole: graph shapes, accumulation, grad mode, memory and anomalies.

Ops are checked one by one in test_ops.py; here the graph around them is the subject. Small
hand-derived cases come first and double as documentation of what backward computes.
"""
from __future__ import annotations

import contextlib
import gc
import inspect
import sys
import warnings
import weakref
from typing import Any, Iterator

import numpy as np
import pytest

from minigrad import GradcheckError, Tensor, detect_anomaly, enable_grad, gradcheck, is_grad_enabled, no_grad
from minigrad.core import ops


def scalar(value: float) -> Tensor:
    return Tensor(value, requires_grad=True, dtype=np.float64)


# ---------------------------------------------------------------- hand-derived gradients


@pytest.mark.parametrize(
    ("fn", "x", "expected"),
    [
        pytest.param(lambda x: x**3, 2.0, 12.0, id="d(x^3)/dx at 2 = 3*2^2"),
        pytest.param(lambda x: x * x, 3.0, 6.0, id="d(x*x)/dx at 3 = 2*3"),
        pytest.param(lambda x: x.square(), -1.5, -3.0, id="d(x^2)/dx at -1.5 = 2*-1.5"),
        pytest.param(lambda x: 1 / x, 2.0, -0.25, id="d(1/x)/dx at 2 = -1/2^2"),
        pytest.param(lambda x: x.log(), 4.0, 0.25, id="d(log x)/dx at 4 = 1/4"),
        pytest.param(lambda x: x.exp(), 0.0, 1.0, id="d(exp x)/dx at 0 = exp 0"),
        pytest.param(lambda x: x.tanh(), 0.0, 1.0, id="d(tanh x)/dx at 0 = 1 - 0^2"),
        pytest.param(lambda x: x.sigmoid(), 0.0, 0.25, id="d(sigmoid x)/dx at 0 = 0.5*0.5"),
        pytest.param(lambda x: x.relu(), 0.0, 0.0, id="d(relu x)/dx at 0 = 0 (PyTorch's choice)"),
        pytest.param(lambda x: x.relu(), 2.0, 1.0, id="d(relu x)/dx at 2 = 1"),
        pytest.param(lambda x: 3 - x, 5.0, -1.0, id="d(3-x)/dx = -1"),
        pytest.param(lambda x: x**0, 5.0, 0.0, id="d(x^0)/dx = 0"),
    ],
)
def test_hand_derived_scalar_gradients(fn, x, expected) -> None:
    t = scalar(x)
    fn(t).backward()
    assert t.grad.item() == expected
    assert t.grad.shape == () and t.grad.dtype == np.float64


def test_hand_derived_linear_layer() -> None:
    """loss = sum(x @ W + b): grad_W[i, j] = sum of column i of x, grad_b = batch size."""
    x = Tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=np.float64)
    w = Tensor(np.zeros((2, 4)), requires_grad=True)
    b = Tensor(np.zeros(4), requires_grad=True)
    (x @ w + b).sum().backward()
    np.testing.assert_array_equal(w.grad, [[9.0] * 4, [12.0] * 4])
    np.testing.assert_array_equal(b.grad, [3.0] * 4)


def test_hand_derived_mean_spreads_one_over_count() -> None:
    x = Tensor(np.arange(8.0).reshape(2, 4), requires_grad=True)
    x.mean().backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 4), 0.125))


# ---------------------------------------------------------------- graph shapes


def test_reuse_adds_both_paths() -> None:
    """b = a + a; c = b + b gives dc/da = 4, not 1 or 2 (micrograd #64)."""
    a = scalar(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert c.item() == 12.0
    assert a.grad.item() == 4.0


def test_diamond() -> None:
    """a feeds b and c, both feed d: d = (2a)(3a) = 6a^2, dd/da = 12a."""
    a = scalar(1.5)
    b = a * 2
    c = a * 3
    d = b * c
    d.backward()
    assert a.grad.item() == 18.0


def test_hips_mutating_outgrad() -> None:
    """An op must not change a gradient array another path still uses (HIPS test_mutating_outgrad)."""
    a = Tensor(np.arange(5.0), requires_grad=True)
    b = a + 1.0
    c = b + 1.5
    d = a + b
    e = d + c
    e.backward(np.ones(5))
    np.testing.assert_array_equal(a.grad, np.full(5, 3.0))


@pytest.mark.parametrize(
    "fn",
    [
        pytest.param(lambda a, b: a + b, id="a + b"),
        pytest.param(lambda a, b: (a + b).sum(), id="(a + b).sum()"),
        pytest.param(lambda a, b: (a - b).mean(), id="(a - b).mean()"),
        pytest.param(lambda a, b: a.reshape(12) + b.reshape(12), id="reshape + reshape"),
        pytest.param(lambda a, b: a.T + b.T, id="a.T + b.T"),
        pytest.param(lambda a, b: a[0] + b[0], id="a[0] + b[0]"),
        pytest.param(lambda a, b: a + b[0], id="a + broadcast b[0]"),
        pytest.param(lambda a, b: a.sum() + b.sum(), id="a.sum() + b.sum()"),
    ],
)
def test_leaf_gradients_are_separate_writable_arrays(fn, rand) -> None:
    """No two leaves share a gradient array, nor with any data or the grad passed in (HIPS)."""
    a, b = rand(3, 4), rand(3, 4)
    out = fn(a, b)
    grad_out = np.ones(out.shape)
    out.backward(grad_out)
    for t, other in ((a, b), (b, a)):
        assert t.grad.data.flags.writeable and t.grad.shape == t.shape
        for array in (other.grad, a.data, b.data, grad_out, out.data):
            assert not np.shares_memory(t.grad.data, array)
    b_before = b.grad.numpy().copy()
    a.grad += 100.0
    np.testing.assert_array_equal(b.grad, b_before)


def test_ten_thousand_op_chain_with_ten_thousand_uses_of_one_leaf() -> None:
    """y = x + x + ... (10,001 times): dy/dx = 10001, exactly."""
    x = scalar(0.5)
    y = x
    for _ in range(10_000):
        y = y + x
    y.backward()
    assert y.item() == 5000.5
    assert x.grad.item() == 10001.0


def test_hundred_thousand_op_chain_needs_no_recursion() -> None:
    """Build, backward and free a 100,000-op chain with the recursion limit at 200."""
    x = scalar(1.0)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        y = x
        for _ in range(100_000):
            y = y + 1.0
        y.backward()
        value = y.item()
        del y
        gc.collect()
    finally:
        sys.setrecursionlimit(limit)
    assert value == 100_001.0
    assert x.grad.item() == 1.0


# ---------------------------------------------------------------- accumulation and retain_graph


def test_gradients_accumulate_across_backward_calls() -> None:
    """Two losses, two backward calls: x.grad is the sum, as in PyTorch (reset with x.grad = None)."""
    x = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    (x * x).sum().backward()
    (3 * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 7.0])


def test_retain_graph_allows_a_second_backward_that_adds_again() -> None:
    """Each backward through a retained graph adds the gradient again; the last one frees it."""
    x = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    loss.backward()
    np.testing.assert_array_equal(x.grad, [6.0, 12.0])
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()
    np.testing.assert_array_equal(x.grad, [6.0, 12.0])


# ---------------------------------------------------------------- grad mode


def test_no_grad_context_records_nothing() -> None:
    x = scalar(2.0)
    with no_grad():
        assert not is_grad_enabled()
        y = x * 3
    assert is_grad_enabled()
    assert y.item() == 6.0
    assert not y.requires_grad and y.is_leaf and y.op is None


def test_enable_grad_inside_no_grad_records_again() -> None:
    x = scalar(2.0)
    with no_grad():
        with enable_grad():
            y = x * 3
        z = x * 3
    assert y.requires_grad and y.op == "mul"
    assert not z.requires_grad
    y.backward()
    assert x.grad.item() == 3.0


def test_no_grad_as_decorator() -> None:
    x = scalar(2.0)

    @no_grad()
    def step(t: Tensor) -> Tensor:
        """An optimiser-style update."""
        return t * 0.5

    y = step(x)
    assert not y.requires_grad and y.is_leaf
    assert is_grad_enabled()
    assert step.__name__ == "step" and step.__doc__ == "An optimiser-style update."


def test_no_grad_restores_grad_mode_after_an_exception() -> None:
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            1 / 0
    assert is_grad_enabled()


def test_detach_cuts_the_graph() -> None:
    """x * x.detach(): the detached factor is a constant, so the gradient is x, not 2x."""
    x = Tensor([1.0, 3.0], requires_grad=True, dtype=np.float64)
    d = x.detach()
    assert d.is_leaf and not d.requires_grad and np.shares_memory(d.data, x.data)
    (x * d).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 3.0])
    assert d.grad is None


def test_inputs_without_requires_grad_get_no_gradient() -> None:
    a = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    b = Tensor([3.0, 4.0], dtype=np.float64)
    (a * b).sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])
    assert b.grad is None


def test_retain_grad_keeps_a_non_leaf_gradient() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    h = x * 2
    h.retain_grad()
    loss = (h * h).sum()
    loss.retain_grad()
    loss.backward()
    assert h.retains_grad
    np.testing.assert_array_equal(h.grad, [4.0, 8.0])
    np.testing.assert_array_equal(x.grad, [8.0, 16.0])
    assert loss.grad.item() == 1.0


def test_non_leaf_gradients_are_dropped_by_default() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    h = x * 2
    (h * h).sum().backward()
    assert h.grad is None and not h.retains_grad
    assert x.grad is not None


def test_non_scalar_backward_takes_an_explicit_gradient() -> None:
    """backward(grad) computes the vector-Jacobian product grad^T J."""
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True, dtype=np.float64)
    y = x * x
    y.backward(np.array([1.0, 10.0, 100.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 40.0, 600.0])


def test_non_scalar_backward_without_gradient_names_scalar_outputs(snapshot) -> None:
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True, dtype=np.float64)
    y = x * x
    state = snapshot(x, y)
    with pytest.raises(RuntimeError, match=r"only for scalar outputs.*\(3,\)"):
        y.backward()
    state.assert_unchanged()


# ---------------------------------------------------------------- memory


def graph_ops(root: Tensor) -> list[Tensor]:
    """Every op node (a tensor made by a recorded op) reachable from root (iteratively)."""
    found, stack = [], [root]
    while stack:
        node = stack.pop()
        if not node.is_leaf and not any(node is o for o in found):
            found.append(node)
            stack.extend(p for p in (node._x, node._y) if p is not None)
    return found


def test_backward_releases_each_node_unless_retain_graph() -> None:
    x = Tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    loss = ((x * 2).tanh().exp() @ x.T).sigmoid().mean()
    loss.backward(retain_graph=True)
    assert all(node._saved is not None for node in graph_ops(loss))
    loss.backward()
    assert all(node._saved is None for node in graph_ops(loss))


class MaskedReLU(ops.ReLU):
    """ReLU that saves a private mask: an array nothing but `_saved` holds, so its life is observable."""

    @staticmethod
    def forward(ctx, x):
        mask = x > 0
        ctx._saved = (mask,)
        return x * mask

    @staticmethod
    def vjp(ctx, g):
        (mask,) = ctx._saved
        return (g * mask,)


@pytest.mark.parametrize("retain_graph", [False, True])
def test_backward_releases_saved_arrays_while_the_loss_lives(retain_graph, apply_op) -> None:
    """tinygrad's test_gc: the saved mask dies at backward(), not when the loss is dropped.

    (The built-in ops save their inputs' or their output's `.data`, which the graph keeps for
    explain.py and viz.py anyway; only a private saved array shows the release.)
    """
    x = Tensor(np.linspace(-1, 1, 6), requires_grad=True)
    loss = apply_op(MaskedReLU, x).sum()
    mask = weakref.ref(loss.inputs[0]._saved[0])
    loss.backward(retain_graph=retain_graph)
    gc.collect()
    assert (mask() is None) is not retain_graph
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])


def test_dropping_the_loss_frees_the_graph_without_the_cycle_collector() -> None:
    """A node holds its inputs, never its consumers: no reference cycle (micrograd's closure has one)."""
    x = Tensor(np.ones(4), requires_grad=True)
    h = x * 2
    e = h.exp()
    loss = (e * h).sum()
    loss.backward(retain_graph=True)
    refs = [weakref.ref(t) for t in (h, e, loss)] + [weakref.ref(a) for a in (h.data, e.data)]
    gc.disable()
    try:
        del h, e, loss
        assert [r() for r in refs] == [None] * 5
    finally:
        gc.enable()


@pytest.mark.parametrize("op", [lambda t: t * 1.5, lambda t: t.tanh(), lambda t: t + t])
def test_a_recorded_op_leaves_one_object_for_the_cycle_collector(op) -> None:
    """The output tensor is the op's node: no op object and no tuple of inputs beside it, so a long
    graph gives the cyclic GC one object per op to rescan."""
    x = Tensor(np.ones(4), requires_grad=True)
    y = op(x)
    gc.collect()
    gc.disable()
    try:
        before = len(gc.get_objects())
        for _ in range(1000):
            y = op(y)
        assert len(gc.get_objects()) - before == 1000
    finally:
        gc.enable()


# ---------------------------------------------------------------- anomalies and broken ops


def test_detect_anomaly_names_the_op_and_the_line_of_a_bad_forward() -> None:
    x = Tensor([-1.0, 1.0], requires_grad=True, dtype=np.float64)
    with detect_anomaly(check_forward=True), np.errstate(invalid="ignore"):
        with pytest.raises(RuntimeError, match=r"'log'.*forward") as err:
            line = inspect.currentframe().f_lineno + 1
            x.log()
    assert f"{__file__}:{line}" in str(err.value)


def test_detect_anomaly_points_at_the_callers_line_through_named_methods() -> None:
    """x.matmul(y) goes through two Tensor methods; the location is still the caller's line."""
    x = Tensor([[1e200]], requires_grad=True, dtype=np.float64)
    with detect_anomaly(check_forward=True, check_inf=True), np.errstate(over="ignore"):
        with pytest.raises(RuntimeError, match="'matmul'") as err:
            x.matmul(x)
    assert __file__ in str(err.value)


def test_detect_anomaly_names_the_op_of_a_bad_backward_and_changes_no_grad() -> None:
    """d sqrt(x)/dx at 0 is inf: the pow VJP is named; x.grad stays as it was."""
    x = Tensor([0.0, 4.0], requires_grad=True, dtype=np.float64)
    loss = (x**0.5).sum()
    with detect_anomaly(check_inf=True), np.errstate(divide="ignore"):
        with pytest.raises(RuntimeError, match=r"'pow'.*backward"):
            loss.backward()
    assert x.grad is None


@contextlib.contextmanager
def torch_anomaly(torch: Any) -> Iterator[None]:
    """torch's detect_anomaly without the warning it gives on entry (it slows torch down)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with torch.autograd.detect_anomaly():
            yield


def test_detect_anomaly_flags_nan_from_a_vjp_as_torch_does(torch) -> None:
    """sqrt at 0 gives inf in its VJP; times the 0 that relu sends back there it is NaN."""
    values = [0.0, 4.0]
    x = Tensor(values, requires_grad=True, dtype=np.float64)
    loss = (x.sqrt() * 0.0).sum()
    with detect_anomaly(), np.errstate(divide="ignore", invalid="ignore"):
        with pytest.raises(RuntimeError, match=r"'sqrt'.*backward"):
            loss.backward()
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    with torch_anomaly(torch):
        with pytest.raises(RuntimeError, match="SqrtBackward0.*nan"):
            (t.sqrt() * 0.0).sum().backward()


def test_detect_anomaly_checks_no_forward_unless_asked(torch) -> None:
    """torch checks backward only: a NaN made in forward that backward does not turn into a NaN
    gradient passes; check_forward=True is minigrad's stricter check."""
    x = Tensor([-1.0, 1.0], requires_grad=True, dtype=np.float64)
    with detect_anomaly(), np.errstate(invalid="ignore"):
        y = x.log()
    assert np.isnan(y.data[0])
    t = torch.tensor([-1.0, 1.0], dtype=torch.float64, requires_grad=True)
    with torch_anomaly(torch):
        assert torch.isnan(t.log()[0])
    with detect_anomaly(check_forward=True), np.errstate(invalid="ignore"):
        with pytest.raises(RuntimeError, match=r"'log' produced NaN in its forward"):
            x.log()


def test_detect_anomaly_lets_an_inf_gradient_pass_as_torch_does(torch) -> None:
    """d sqrt(x)/dx at 0 is inf, not NaN: torch's detect_anomaly lets it through."""
    x = Tensor([0.0, 4.0], requires_grad=True, dtype=np.float64)
    with detect_anomaly(), np.errstate(divide="ignore"):
        x.sqrt().sum().backward()
    t = torch.tensor([0.0, 4.0], dtype=torch.float64, requires_grad=True)
    with torch_anomaly(torch):
        t.sqrt().sum().backward()
    np.testing.assert_array_equal(x.grad.data, t.grad.numpy())


def test_without_detect_anomaly_the_inf_reaches_the_gradient() -> None:
    x = Tensor([0.0, 4.0], requires_grad=True, dtype=np.float64)
    with np.errstate(divide="ignore"):
        (x**0.5).sum().backward()
    assert np.isinf(x.grad.data[0]) and x.grad.data[1] == 0.25


class WrongMul(ops.Mul):
    """Mul with grad_x = grad_out * y + 1: the kind of slip gradcheck exists to catch."""

    @staticmethod
    def vjp(ctx, g):
        grad_x, grad_y = ops.Mul.vjp(ctx, g)
        return grad_x + 1, grad_y


def test_gradcheck_catches_a_wrong_vjp_in_the_graph(apply_op, rand) -> None:
    x, y = rand(2, 3), rand(2, 3)
    assert gradcheck(lambda a, b: a * b, [x, y])
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(lambda a, b: apply_op(WrongMul, a, b).tanh(), [x, y])


@pytest.mark.parametrize("seed", range(20))
def test_random_dags_with_reuse_match_finite_differences(seed: int) -> None:
    """Random graphs where nodes feed several later ops: the visiting order must still be right."""
    rng = np.random.default_rng(seed)
    x = Tensor(rng.normal(size=(2, 2)), requires_grad=True, dtype=np.float64)
    w = Tensor(rng.normal(size=(2, 2)), requires_grad=True, dtype=np.float64)

    def f(x: Tensor, w: Tensor) -> Tensor:
        nodes = [x, w]
        pick = np.random.default_rng(seed)
        for _ in range(12):
            a, b = (nodes[i] for i in pick.integers(0, len(nodes), size=2))
            kind = pick.integers(0, 4)
            if kind == 0:
                nodes.append(a + b)
            elif kind == 1:
                nodes.append(a * b.tanh())
            elif kind == 2:
                nodes.append(a.sigmoid() - b)
            else:
                nodes.append(a @ w)
        return sum(n.sum() for n in nodes[2:])

    f(x, w).backward()  # one pass, graph freed as it goes: each node must be visited exactly once
    for t in (x, w):
        numeric = np.zeros_like(t.data)
        for i in np.ndindex(t.shape):
            orig = t.data[i]
            t.data[i] = orig + 1e-6
            plus = f(x, w).item()
            t.data[i] = orig - 1e-6
            minus = f(x, w).item()
            t.data[i] = orig
            numeric[i] = (plus - minus) / 2e-6
        grad = np.zeros_like(t.data) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


def test_a_node_waits_for_a_newer_consumer_among_its_siblings() -> None:
    """c = p + q with q = p * 3: p must not run before q has added its share (one pass, no retain)."""
    x = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    p = x * 2
    q = p * 3
    (p + q).sum().backward()
    np.testing.assert_array_equal(x.grad, [8.0, 8.0])


def test_implicit_seed_never_reaches_a_grad_the_user_can_edit() -> None:
    """backward()'s ones seed is shared and read-only; every .grad it flows into is a writable copy."""
    leaf = scalar(2.0)
    leaf.backward()
    passed = scalar(3.0)
    (passed.reshape(1, 1) + 0.0).backward()
    for t in (leaf, passed):
        t.grad += 1.0
        assert t.grad.data.flags.writeable and t.grad.item() == 2.0
    leaf.backward()
    assert leaf.grad.item() == 3.0
