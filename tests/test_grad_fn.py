"""`grad_fn`, `next_functions` and `AccumulateGrad`: the same graph walked in minigrad and in torch.

Each case builds one expression in both libraries from the same inputs; `walk` turns a grad_fn into
nested (name, children) tuples, with each AccumulateGrad replaced by the index of its input, so the
two walks compare names, order, the (None, 0) edges and which leaf each edge reaches.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor, nn
from minigrad.core import grad_fn as graph_view

torch = pytest.importorskip("torch")


def walk(node: Any, leaves: list[Any]) -> Any:
    """node as (name, children); a leaf's AccumulateGrad as ("leaf", its index in `leaves`)."""
    if node is None:
        return None
    if type(node).__name__ == "AccumulateGrad":
        return ("leaf", next(i for i, t in enumerate(leaves) if t is node.variable))
    assert all(index == 0 for _, index in node.next_functions)
    return (node.name(), tuple(walk(n, leaves) for n, _ in node.next_functions))


def node(name: str, *children: Any) -> Any:
    return (name, children)


def both(fn: Callable[..., Any], arrays: list[np.ndarray], torch_fn: Callable[..., Any] | None = None,
         grads: tuple[bool, ...] | None = None) -> tuple[Any, Any]:
    """The walks of fn's grad_fn in minigrad and in torch, inputs requiring grad as `grads` says."""
    grads = grads or (True,) * len(arrays)
    mine = [Tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    theirs = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    return walk(fn(*mine).grad_fn, mine), walk((torch_fn or fn)(*theirs).grad_fn, theirs)


RNG = np.random.default_rng(0)
A, B, V = RNG.uniform(0.5, 1.5, (3, 4)), RNG.uniform(0.5, 1.5, (3, 4)), RNG.uniform(0.5, 1.5, (4,))
M = RNG.uniform(-1, 1, (4, 5))

CASES = {
    "add": (lambda x, y: x + y, [A, B]),
    "sub, mul, div": (lambda x, y: (x - y) * y / x, [A, B]),
    "a number operand": (lambda x: x * 2.0 + 1.0, [A]),
    "neg, pow, square": (lambda x: (-x) ** 3 + x.square(), [A]),
    "tensor exponent": (lambda x, y: x ** y, [A, B]),
    "exp log tanh sigmoid relu": (lambda x: x.exp().log().tanh().sigmoid().relu(), [A]),
    "sqrt abs clamp": (lambda x: x.abs().sqrt().clamp(0.9, 1.1), [A]),
    "maximum minimum": (lambda x, y: x.maximum(y).minimum(x), [A, B]),
    "sum and mean": (lambda x: x.sum() + x.sum(1).mean() + x.mean(0).sum(), [A]),
    "max and min": (lambda x: x.max() + x.max(1).values.sum() + x.min(0)[0].sum() + x.min(), [A]),
    "softmax": (lambda x: x.softmax(1).log() + x.log_softmax(-1), [A]),
    "matmul": (lambda x, w: x @ w, [A, M]),
    "reshape view flatten": (lambda x: x.reshape(4, 3).view(12).flatten().unsqueeze(0).squeeze(0), [A]),
    "squeeze(dim), squeeze(dims)": (lambda x: x.unsqueeze(0).squeeze(0).unsqueeze(2).squeeze((2,)), [A]),
    "expand, clone": (lambda v: v.expand(3, 4).clone(), [V]),
    "permute": (lambda x: x.permute(1, 0), [A]),
    "to float64": (lambda x: x.to(x.dtype, copy=True) * 1.0, [A]),
    "index, select, slice": (lambda x: x[[0, 2]].sum() + x[1].sum() + x[:, 1:3].sum(), [A]),
    "where": (lambda x, y: mg.where(x > 1.0, x, y), [A, B], lambda x, y: torch.where(x > 1.0, x, y)),
    "cat of two": (lambda x, y: mg.cat([x, y], 1), [A, B], lambda x, y: torch.cat([x, y], 1)),
    "cat of three, one twice": (lambda x, y: mg.cat([x, y, x]), [A, B], lambda x, y: torch.cat([x, y, x])),
    "stack of five": (lambda x, y: mg.stack([x, y, x * 2.0, y, x], -1), [A, B],
                      lambda x, y: torch.stack([x, y, x * 2.0, y, x], -1)),
    "a reused input": (lambda x: x * x + x, [A]),
    "an x @ W + b layer written out": (lambda x, w, b: ((x @ w + b).relu() - 1.0).square().mean(), [A, M, V[:1].repeat(5)]),
}


@pytest.mark.parametrize("case", CASES)
def test_the_graph_walks_as_in_torch(case) -> None:
    fn, arrays, *torch_fn = CASES[case]
    mine, theirs = both(fn, arrays, *torch_fn)
    assert mine == theirs


@pytest.mark.parametrize("case", ["add", "sub, mul, div", "matmul", "tensor exponent", "where"])
def test_an_input_that_needs_no_grad_is_a_none_edge(case) -> None:
    fn, arrays, *torch_fn = CASES[case]
    mine, theirs = both(fn, arrays, *torch_fn, grads=(False,) + (True,) * (len(arrays) - 1))
    assert mine == theirs
    assert "None" in repr(mine)


def test_a_model_walks_as_its_torch_twin_with_the_same_names() -> None:
    """The fare net in minigrad (nn.Sequential, nn.MSELoss) and the same math in torch, op for op."""
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.ReLU(), nn.Linear(4, 1, dtype=np.float64))
    X, Y = RNG.standard_normal((8, 3)), RNG.standard_normal((8, 1))
    loss = nn.MSELoss()(model(Tensor(X)), Y)
    params = [p for _, p in model.named_parameters()]
    t = [torch.tensor(p.data, requires_grad=True) for p in params]
    h = (torch.tensor(X) @ t[0] + t[1]).relu()
    torch_loss = ((h @ t[2] + t[3]) - torch.tensor(Y)).square().mean()
    assert walk(loss.grad_fn, params) == walk(torch_loss.grad_fn, t)
    assert walk(loss.grad_fn, params) == node(
        "MeanBackward0", node("PowBackward0", node("SubBackward0", node("AddBackward0", node("MmBackward0", node(
            "ReluBackward0", node("AddBackward0", node("MmBackward0", None, ("leaf", 0)), ("leaf", 1))), ("leaf", 2)),
            ("leaf", 3)), None)))


def test_torchs_linear_is_one_fused_node_where_minigrad_has_two() -> None:
    """The documented difference: torch.nn.Linear records AddmmBackward0; minigrad, AddBackward0 over MmBackward0."""
    layer = torch.nn.Linear(3, 2)
    assert type(layer(torch.ones(4, 3)).grad_fn).__name__ == "AddmmBackward0"
    out = nn.Linear(3, 2)(mg.ones(4, 3))
    assert out.grad_fn.name() == "AddBackward0"
    assert out.grad_fn.next_functions[0][0].name() == "MmBackward0"


def test_accumulate_grad_holds_the_leaf_and_ends_the_walk() -> None:
    w = mg.ones(3, requires_grad=True)
    edge = (w * 2.0).grad_fn.next_functions[0]
    assert edge[1] == 0 and isinstance(edge[0], graph_view.AccumulateGrad)
    assert edge[0].variable is w and edge[0].next_functions == ()
    assert edge[0].name() == torch.ones(1, requires_grad=True).mul(2).grad_fn.next_functions[0][0].name()


def test_leaves_and_untracked_results_have_no_grad_fn() -> None:
    w = mg.ones(3, requires_grad=True)
    assert w.grad_fn is None and mg.ones(3).grad_fn is None
    assert (mg.ones(3) * 2).grad_fn is None
    with mg.no_grad():
        assert (w * 2).grad_fn is None
    assert (w > 0).grad_fn is None and w.argmax().grad_fn is None


def test_a_node_reads_as_torchs() -> None:
    y = mg.ones(3, requires_grad=True) * 2.0
    node = y.grad_fn
    assert type(node).__name__ == "MulBackward0" and node.name() == "MulBackward0"
    assert repr(node).startswith("<MulBackward0 object at 0x")
    assert node == y.grad_fn and hash(node) == hash(y.grad_fn) and repr(node) == repr(y.grad_fn)
    assert node != (y * 1.0).grad_fn


def test_next_functions_after_backward_says_the_graph_was_released() -> None:
    x = mg.ones(3, requires_grad=True)
    loss = (x * 2.0).sum()
    loss.backward()
    assert loss.grad_fn.name() == "SumBackward0"
    with pytest.raises(RuntimeError, match="released.*retain_graph=True"):
        loss.grad_fn.next_functions
    kept = (x * 2.0).sum()
    kept.backward(retain_graph=True)
    assert kept.grad_fn.next_functions[0][0].name() == "MulBackward0"


def test_in_place_ops_are_named_as_torch_names_them() -> None:
    for lib in (mg, torch):
        x = lib.ones(3, 4, requires_grad=True)
        y = x * 1
        y += 1
        assert y.grad_fn.name() == "AddBackward0"
        y[0] = 2.0
        assert type(y.grad_fn).__name__ == "CopySlices" and y.grad_fn.name() == "torch::autograd::CopySlices"
        y[[0, 1]] = 3.0
        assert y.grad_fn.name() == "IndexPutBackward0"
        y.copy_(x)
        assert y.grad_fn.name() == "torch::autograd::CopyBackwards"


@pytest.mark.parametrize(
    ("fn", "name"),
    [
        (lambda x: x.sum(dim=0), "SumBackward1"),
        (lambda x: x.mean(dim=(0, 1)), "MeanBackward1"),
        (lambda x: x.max(), "MaxBackward1"),
        (lambda x: x.max(1)[0], "MaxBackward0"),
        (lambda x: x.min(), "MinBackward1"),
        (lambda x: x.min(0).values, "MinBackward0"),
        (lambda x: x.unsqueeze(0).squeeze(), "SqueezeBackward0"),
        (lambda x: x.unsqueeze(0).squeeze(0), "SqueezeBackward1"),
        (lambda x: x.unsqueeze(0).squeeze((0,)), "SqueezeBackward2"),
        (lambda x: x[..., None], "UnsqueezeBackward0"),
        (lambda x: x[0], "SelectBackward0"),
        (lambda x: x[0:2], "SliceBackward0"),
        (lambda x: x[x > 1], "IndexBackward0"),
        (lambda x: x.T, "PermuteBackward0"),
        (lambda x: x.double(), "ToCopyBackward0"),
        (lambda x: x.clamp(min=0), "ClampBackward1"),
    ],
)
def test_names_that_depend_on_the_arguments(fn, name) -> None:
    mine, theirs = fn(mg.ones(3, 4, requires_grad=True)), fn(torch.ones(3, 4, requires_grad=True))
    assert mine.grad_fn.name() == type(theirs.grad_fn).__name__ == name


def test_every_op_names_its_torch_node() -> None:
    from minigrad.core import ops

    for op in ops.Op.__subclasses__():
        if op.__module__ == ops.__name__:
            assert op.torch_name and (op.torch_name.endswith(("Backward0", "Backward1")) or op.torch_name == "CopySlices"), op
