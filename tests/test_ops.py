"""Every op's gradient, checked three ways, from one table of (op, function, input shapes).

Each row runs through both oracles of the `check` fixture: float64 gradcheck and PyTorch. The same
rows then call the op's `vjp` directly on numpy arrays, against finite differences, so an op bug
cannot pass for an engine bug; and evaluate the op's `formulas` (what explain.py shows) against
that `vjp`. The hypothesis tests at the end generate the shapes, axes and indices too.
"""
from __future__ import annotations

import inspect
import operator
from dataclasses import dataclass
from itertools import product
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import Tensor
from minigrad.core import ops
from minigrad.core.engine import unbroadcast
from minigrad.core.tensor import _binary, _unary

Shapes = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Row:
    """One table row: `fn` records `op` on Tensors of each entry of `shapes`.

    `domains` gives each input's value range (see conftest.DOMAINS); `torch_fn` is torch's
    spelling of `fn` where it differs.
    """

    name: str
    op: type[ops.Op]
    fn: Callable[..., Any]
    shapes: tuple[Shapes, ...]
    domains: tuple[str, ...] = ("any", "any")
    torch_fn: Callable[..., Any] | None = None


# HIPS's arg_pairs: scalar, vector, matrix and the two broadcastable matrices, every pair.
ARG_SHAPES = [(), (4,), (3, 4), (1, 4), (3, 1)]
PAIRS = tuple(product(ARG_SHAPES, ARG_SHAPES)) + (((5, 3), (3,)), ((5, 1), (1, 4)))
UNARY: tuple[Shapes, ...] = (((),), ((4,),), ((3, 4),), ((2, 3, 4),))
# Shapes that broadcast with the (3, 4) constant C.
WITH_C: tuple[Shapes, ...] = (((),), ((4,),), ((3, 4),), ((3, 1),), ((1, 4),))
MATMUL: tuple[Shapes, ...] = (
    ((3, 4), (4, 5)),
    ((4,), (4,)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((4,), (2, 4, 5)),
    ((2, 3, 4), (4,)),
)
C = np.linspace(-1.5, 1.5, 12).reshape(3, 4)
M_LEFT = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
M_RIGHT = np.linspace(-1.0, 1.0, 8).reshape(4, 2)
MASK = np.array([True, False, True])
WHERE_SHAPES: tuple[Shapes, ...] = (((3, 4), (3, 4)), ((4,), (3, 1)), ((), (3, 4)), ((3, 1), ()))


def _torch() -> Any:
    """torch, imported only by the torch oracle's spellings."""
    import torch

    return torch


def reflected(name: str, op: type[ops.Op], f: Callable[[Any, Any], Any], right: str) -> list[Row]:
    """f with a Python number or an ndarray on either side; `right` is the domain of a right-hand x."""
    return [
        Row(f"{name}(2.5, x)", op, lambda x: f(2.5, x), WITH_C, (right,)),
        Row(f"{name}(x, 2.5)", op, lambda x: f(x, 2.5), WITH_C),
        Row(f"{name}(ndarray, x)", op, lambda x: f(C, x), WITH_C, (right,), lambda x: f(x.new_tensor(C), x)),
        Row(f"{name}(x, ndarray)", op, lambda x: f(x, C), WITH_C, ("any",), lambda x: f(x, x.new_tensor(C))),
    ]


def reduction(name: str, op: type[ops.Op], axis: Any, keepdims: bool, shapes: tuple[Shapes, ...]) -> Row:
    return Row(
        f"{name}(axis={axis}, keepdims={keepdims})",
        op,
        lambda x: getattr(x, name)(axis=axis, keepdims=keepdims),
        shapes,
        torch_fn=lambda x: getattr(x, name)(dim=axis, keepdim=keepdims),
    )


def reverse_axes(x: Any) -> Any:
    """torch's spelling of numpy's x.transpose() for any ndim."""
    return x.permute(tuple(reversed(range(x.dim()))))


def _assigned(x: Any, y: Any, index: Any) -> Any:
    """t = x * 1; t[index] = y: an assignment into a non-leaf, recorded (as torch records it)."""
    t = x * 1
    t[index] = y
    return t


COND = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, True]])


def _torch_scatter(x: Any) -> Any:
    import torch

    return torch.zeros(5, 4, dtype=x.dtype).index_put((torch.tensor([0, 2, 0]),), x, accumulate=True)


# NOTE: Expand, Where, IndexBackward and IndexZero are the ops a backward with create_graph=True
# records for the formulas' helpers (minigrad.core.higher); they are applied here directly.
RECORDED_BY_BACKWARD: list[Row] = [
    Row("expand (2, 3, 4)", ops.Expand, lambda x: _unary(ops.Expand, x, (2, 3, 4)), (((3, 4),), ((1, 4),), ((),)),
        ("any",), lambda x: x.expand(2, 3, 4)),
    Row("where(COND, x, y)", ops.Where, lambda x, y: _binary(ops.Where, x, y, COND),
        (((3, 4), (3, 4)), ((3, 4), ()), ((4,), (3, 1))), torch_fn=lambda x, y: (x * x.new_tensor(COND) + y * x.new_tensor(~COND))),
    Row("index_backward", ops.IndexBackward, lambda x: _unary(ops.IndexBackward, x, (5, 4), ([0, 2, 0],)),
        (((3, 4),),), ("any",), _torch_scatter),
    Row("index_zero", ops.IndexZero, lambda x: _unary(ops.IndexZero, x, (slice(None), [0, 2])), (((3, 4),),),
        ("any",), lambda x: x * x.new_tensor([0.0, 1.0, 0.0, 1.0])),
]

TABLE: list[Row] = [
    Row("x + y", ops.Add, operator.add, PAIRS),
    Row("x - y", ops.Sub, operator.sub, PAIRS),
    Row("x * y", ops.Mul, operator.mul, PAIRS),
    Row("x / y", ops.Div, operator.truediv, PAIRS, ("any", "nonzero")),
    *reflected("add", ops.Add, operator.add, "any"),
    *reflected("sub", ops.Sub, operator.sub, "any"),
    *reflected("mul", ops.Mul, operator.mul, "any"),
    *reflected("div", ops.Div, operator.truediv, "nonzero"),
    Row("-x", ops.Neg, operator.neg, UNARY),
    Row("x ** 2", ops.Pow, lambda x: x**2, UNARY),
    Row("x ** 3", ops.Pow, lambda x: x**3, UNARY),
    Row("x ** 1", ops.Pow, lambda x: x**1, UNARY),
    Row("x ** 0", ops.Pow, lambda x: x**0, UNARY),
    Row("x ** 0.5", ops.Pow, lambda x: x**0.5, UNARY, ("pos",)),
    Row("x ** -1.5", ops.Pow, lambda x: x**-1.5, UNARY, ("pos",)),
    Row("x ** -2", ops.Pow, lambda x: x**-2, UNARY, ("nonzero",)),
    Row("x ** np.float64(2.5)", ops.Pow, lambda x: x ** np.float64(2.5), UNARY, ("pos",)),
    Row("2.0 ** x", ops.PowTensor, lambda x: 2.0**x, UNARY),
    Row("x ** y", ops.PowTensor, operator.pow, PAIRS, ("pos", "any")),
    Row("x.pow(y)", ops.PowTensor, lambda x, y: x.pow(y), (((3, 4), (3, 4)),), ("pos", "any")),
    Row("x ** ndarray", ops.PowTensor, lambda x: x**C, WITH_C, ("pos",), lambda x: x ** x.new_tensor(C)),
    Row("sqrt", ops.Sqrt, lambda x: x.sqrt(), UNARY, ("pos",)),
    Row("abs", ops.Abs, lambda x: x.abs(), UNARY, ("nonzero",)),
    Row("abs()", ops.Abs, abs, UNARY, ("nonzero",)),
    Row("clamp(min=-0.5)", ops.Clamp, lambda x: x.clamp(min=-0.5), UNARY),
    Row("clamp(max=0.5)", ops.Clamp, lambda x: x.clamp(max=0.5), UNARY),
    Row("clamp(-0.5, 0.5)", ops.Clamp, lambda x: x.clamp(-0.5, 0.5), UNARY),
    Row("clip(-0.5, 0.5)", ops.Clamp, lambda x: x.clip(-0.5, 0.5), UNARY),
    Row("maximum", ops.Maximum, lambda x, y: x.maximum(y), PAIRS),
    Row("minimum", ops.Minimum, lambda x, y: x.minimum(y), PAIRS),
    Row("maximum(x, x)", ops.Maximum, lambda x: x.maximum(x), UNARY),
    Row("minimum(x, x)", ops.Minimum, lambda x: x.minimum(x), UNARY),
    Row("x.max(y)", ops.Maximum, lambda x, y: x.max(y), (((3, 4), (4,)),)),
    Row("x.min(y)", ops.Minimum, lambda x, y: x.min(y), (((3, 4), (4,)),)),
    Row("maximum(x, 0.5)", ops.Maximum, lambda x: mg.maximum(x, 0.5), UNARY,
        torch_fn=lambda x: _torch().maximum(x, x.new_tensor(0.5))),
    Row("where(cond, x, y)", ops.Where, lambda x, y: mg.where(COND, x, y), WHERE_SHAPES,
        torch_fn=lambda x, y: _torch().where(_torch().tensor(COND), x, y)),
    Row("where(cond, x, 0.0)", ops.Where, lambda x: mg.where(COND, x, 0.0), WITH_C,
        torch_fn=lambda x: _torch().where(_torch().tensor(COND), x, 0.0)),
    Row("where(tensor cond, 0.0, x)", ops.Where, lambda x: mg.where(Tensor(C) > 0, 0.0, x), WITH_C,
        torch_fn=lambda x: _torch().where(x.new_tensor(C) > 0, 0.0, x)),
    Row("x.where(cond, y)", ops.Where, lambda x, y: x.where(COND, y), (((3, 4), (3, 4)),),
        torch_fn=lambda x, y: x.where(_torch().tensor(COND), y)),
    Row("softmax(-1)", ops.Softmax, lambda x: x.softmax(-1), UNARY[1:]),
    Row("softmax(0)", ops.Softmax, lambda x: x.softmax(0), (((3, 4),), ((2, 3, 4),))),
    Row("mg.softmax(x, 1)", ops.Softmax, lambda x: mg.softmax(x, 1), (((3, 4),),),
        torch_fn=lambda x: _torch().softmax(x, 1)),
    Row("log_softmax(-1)", ops.LogSoftmax, lambda x: x.log_softmax(-1), UNARY[1:]),
    Row("log_softmax(1)", ops.LogSoftmax, lambda x: x.log_softmax(1), (((3, 4),), ((2, 3, 4),))),
    Row("relu", ops.ReLU, lambda x: x.relu(), UNARY, ("nonzero",)),
    Row("square", ops.Square, lambda x: x.square(), UNARY),
    Row("exp", ops.Exp, lambda x: x.exp(), UNARY),
    Row("log", ops.Log, lambda x: x.log(), UNARY, ("pos",)),
    Row("tanh", ops.Tanh, lambda x: x.tanh(), UNARY),
    Row("sigmoid", ops.Sigmoid, lambda x: x.sigmoid(), UNARY),
    Row("x @ y", ops.MatMul, operator.matmul, MATMUL),
    Row("x.matmul(y)", ops.MatMul, lambda x, y: x.matmul(y), MATMUL),
    Row("ndarray @ x", ops.MatMul, lambda x: M_LEFT @ x, (((3, 4),), ((3,),), ((2, 3, 4),)), ("any",),
        lambda x: x.new_tensor(M_LEFT) @ x),
    Row("x @ ndarray", ops.MatMul, lambda x: x @ M_RIGHT, (((3, 4),), ((4,),), ((2, 3, 4),)), ("any",),
        lambda x: x @ x.new_tensor(M_RIGHT)),
    *[
        reduction(name, op, axis, keepdims, shapes)
        for name, op in (("sum", ops.Sum), ("mean", ops.Mean))
        for axis, keepdims, shapes in (
            (None, False, UNARY),
            (None, True, (((3, 4),), ((2, 3, 4),))),
            (0, False, (((4,),), ((3, 4),), ((2, 3, 4),))),
            (1, True, (((3, 4),), ((2, 3, 4),))),
            (-1, False, (((3, 4),), ((2, 3, 4),))),
            (-2, True, (((2, 3, 4),),)),
            ((0, 2), False, (((2, 3, 4),),)),
            ((-1, 0), True, (((2, 3, 4),),)),
        )
    ],
    Row("max()", ops.Max, lambda x: x.max(), UNARY),
    Row("min()", ops.Min, lambda x: x.min(), UNARY),
    Row("max() with ties", ops.Max, lambda x: (x * 0.0 + 1.0).maximum(x).max(), (((3, 4),),)),
    *[
        Row(f"{name}({dim}, keepdim={keepdim})", op, lambda x, name=name, dim=dim, keepdim=keepdim:
            getattr(x, name)(dim, keepdim).values, shapes)
        for name, op in (("max", ops.Max), ("min", ops.Min))
        for dim, keepdim, shapes in (
            (0, False, (((4,),), ((3, 4),))),
            (1, False, (((3, 4),), ((2, 3, 4),))),
            (-1, True, (((3, 4),), ((2, 3, 4),))),
            (-2, False, (((2, 3, 4),),)),
        )
    ],
    Row("mg.max(x, 0)[0]", ops.Max, lambda x: mg.max(x, 0)[0], (((3, 4),),), torch_fn=lambda x: _torch().max(x, 0)[0]),
    # NOTE: numpy's axis=() reduces nothing; torch's dim=() reduces everything.
    Row("sum(axis=())", ops.Sum, lambda x: x.sum(axis=()), (((3, 4),),), torch_fn=lambda x: x.clone()),
    Row("reshape(2, 6)", ops.Reshape, lambda x: x.reshape(2, 6), (((3, 4),),)),
    Row("reshape((-1,))", ops.Reshape, lambda x: x.reshape((-1,)), (((3, 4),), ((2, 3, 4),))),
    Row("reshape([4, -1])", ops.Reshape, lambda x: x.reshape([4, -1]), (((2, 3, 4),),)),
    Row("reshape(1, 1)", ops.Reshape, lambda x: x.reshape(1, 1), (((),),)),
    Row("transpose()", ops.Transpose, lambda x: x.transpose(), UNARY, torch_fn=reverse_axes),
    Row("transpose(2, 0, 1)", ops.Transpose, lambda x: x.transpose(2, 0, 1), (((2, 3, 4),),),
        torch_fn=lambda x: x.permute(2, 0, 1)),
    Row("transpose((1, 0))", ops.Transpose, lambda x: x.transpose((1, 0)), (((3, 4),),),
        torch_fn=lambda x: x.permute(1, 0)),
    Row(".T", ops.Transpose, lambda x: x.T, (((4,),), ((3, 4),), ((2, 3, 4),)), torch_fn=reverse_axes),
    Row("view(-1)", ops.Reshape, lambda x: x.view(-1), (((3, 4),), ((2, 3, 4),))),
    Row("view(4, 3)", ops.Reshape, lambda x: x.view(4, 3), (((3, 4),),)),
    Row("flatten()", ops.Reshape, lambda x: x.flatten(), (((),), ((3, 4),), ((2, 3, 4),))),
    Row("flatten(1)", ops.Reshape, lambda x: x.flatten(1), (((2, 3, 4),),)),
    Row("flatten(0, 1)", ops.Reshape, lambda x: x.flatten(0, 1), (((2, 3, 4),),)),
    Row("unsqueeze(0)", ops.Unsqueeze, lambda x: x.unsqueeze(0), UNARY),
    Row("unsqueeze(-1)", ops.Unsqueeze, lambda x: x.unsqueeze(-1), UNARY),
    Row("unsqueeze(1)", ops.Unsqueeze, lambda x: x.unsqueeze(1), (((3, 4),),)),
    Row("squeeze()", ops.Squeeze, lambda x: x.squeeze(), (((),), ((1, 4),), ((3, 1),), ((1, 3, 1),))),
    Row("squeeze(0)", ops.Squeeze, lambda x: x.squeeze(0), (((1, 4),), ((3, 4),), ((),))),
    Row("squeeze(-1)", ops.Squeeze, lambda x: x.squeeze(-1), (((3, 1),), ((1, 3, 1),))),
    Row("squeeze((0, 2))", ops.Squeeze, lambda x: x.squeeze((0, 2)), (((1, 3, 1),), ((1, 3, 4),))),
    Row("expand(3, 4)", ops.Expand, lambda x: x.expand(3, 4), (((),), ((4,),), ((3, 1),), ((1, 4),), ((3, 4),))),
    Row("expand(2, -1, -1)", ops.Expand, lambda x: x.expand(2, -1, -1), (((3, 4),), ((1, 4),))),
    Row("expand((2, 3, 4))", ops.Expand, lambda x: x.expand((2, 3, 4)), (((3, 1),),)),
    Row("expand_as", ops.Expand, lambda x: x.expand_as(Tensor(C)), (((4,),), ((3, 1),), ((),)),
        torch_fn=lambda x: x.expand_as(x.new_tensor(C))),
    Row("clone", ops.Clone, lambda x: x.clone(), UNARY),
    Row("to(dtype, copy=True)", ops.Cast, lambda x: x.to(x.dtype, copy=True), UNARY),
    Row("cat([x, y])", ops.Cat, lambda x, y: mg.cat([x, y]), (((3, 4), (2, 4)), ((4,), (2,))),
        torch_fn=lambda x, y: _torch().cat([x, y])),
    Row("cat([x, y], 1)", ops.Cat, lambda x, y: mg.cat([x, y], 1), (((3, 4), (3, 2)), ((2, 3, 4), (2, 1, 4))),
        torch_fn=lambda x, y: _torch().cat([x, y], 1)),
    Row("cat([x, y, z], -1)", ops.Cat, lambda *ts: mg.cat(ts, -1), (((3, 4), (3, 1), (3, 2)),), ("any",) * 3,
        lambda *ts: _torch().cat(ts, -1)),
    Row("cat of five", ops.Cat, lambda *ts: mg.cat(list(ts)), (((1, 2), (2, 2), (3, 2), (1, 2), (2, 2)),),
        ("any",) * 5, lambda *ts: _torch().cat(ts)),
    Row("cat([x, x])", ops.Cat, lambda x: mg.cat([x, x * 2.0]), (((3, 4),),), torch_fn=lambda x: _torch().cat([x, x * 2.0])),
    Row("stack([x, y])", ops.Cat, lambda x, y: mg.stack([x, y]), (((3, 4), (3, 4)), ((), ())),
        torch_fn=lambda x, y: _torch().stack([x, y])),
    Row("stack([x, y, z], 1)", ops.Cat, lambda *ts: mg.stack(ts, 1), (((3, 4),) * 3,), ("any",) * 3,
        lambda *ts: _torch().stack(ts, 1)),
    Row("stack of five, -1", ops.Cat, lambda *ts: mg.stack(list(ts), -1), (((2, 3),) * 5,), ("any",) * 5,
        lambda *ts: _torch().stack(ts, -1)),
    Row("x[1]", ops.Index, lambda x: x[1], (((3, 4),),)),
    Row("x[1, 2]", ops.Index, lambda x: x[1, 2], (((3, 4),),)),
    Row("x[:, 1:3]", ops.Index, lambda x: x[:, 1:3], (((3, 4),), ((2, 3, 4),))),
    Row("x[-1, ::2]", ops.Index, lambda x: x[-1, ::2], (((3, 4),),)),
    Row("x[::-1]", ops.Index, lambda x: x[::-1], (((3, 4),),), torch_fn=lambda x: x.flip(0)),
    Row("x[..., None]", ops.Index, lambda x: x[..., None], (((3, 4),),)),
    Row("x[[0, 2, 0]]", ops.Index, lambda x: x[[0, 2, 0]], (((3, 4),), ((3,),))),
    Row("x[[0, 1, 1], [3, 3, 0]]", ops.Index, lambda x: x[[0, 1, 1], [3, 3, 0]], (((3, 4),),)),
    Row("x[1:, [0, 0, 3]]", ops.Index, lambda x: x[1:, [0, 0, 3]], (((3, 4),),)),
    Row("t[1] = y", ops.IndexPut, lambda x, y: _assigned(x, y, 1), (((3, 4), (4,)), ((3, 4), ()))),
    Row("t[:, [0, 2]] = y", ops.IndexPut, lambda x, y: _assigned(x, y, (slice(None), [0, 2])), (((3, 4), (3, 1)),)),
    Row("x[ndarray]", ops.Index, lambda x: x[np.array([2, 2, 1])], (((3, 4),),)),
    Row("x[mask]", ops.Index, lambda x: x[MASK], (((3, 4),), ((3,),))),
    Row("x[Tensor]", ops.Index, lambda x: x[Tensor([0, 0, 2])], (((3, 4),),), torch_fn=lambda x: x[[0, 0, 2]]),
    Row("x[x > 0]", ops.Index, lambda x: x[x > 0], (((3, 4),), ((4,),)), ("nonzero",)),
    Row("x[argmax]", ops.Index, lambda x: x[x.argmax(0), [0, 1, 2, 3]], (((3, 4),),)),
    *RECORDED_BY_BACKWARD,
]
CASES = [
    pytest.param(row, shapes, id=f"{row.name}-{'-'.join(map(str, shapes))}") for row in TABLE for shapes in row.shapes
]


def inputs(row: Row, shapes: Shapes, random_array: Callable[..., np.ndarray]) -> list[np.ndarray]:
    return [random_array(shape, domain) for shape, domain in zip(shapes, row.domains)]


@pytest.mark.parametrize(("row", "shapes"), CASES)
def test_gradients(row: Row, shapes: Shapes, random_array: Callable, check: Callable) -> None:
    """Forward and every input's gradient, against gradcheck and against PyTorch."""
    check(row.fn, inputs(row, shapes, random_array), row.torch_fn)


def applied_op(row: Row, arrays: list[np.ndarray]) -> tuple[Tensor, list[np.ndarray]]:
    """The node of `row.op` that `row.fn` records, nearest the output, and the arrays it was
    applied to (constants included)."""
    stack = [row.fn(*[Tensor(a, requires_grad=True) for a in arrays])]
    while stack:
        node = stack.pop(0)
        if node.op_type is row.op:
            return node, [p.data.copy() for p in node.inputs]
        stack.extend(p for p in node.inputs if not p.is_leaf)
    raise AssertionError(f"{row.name} records no {row.op.__name__}")


def forward_params(op_type: type[ops.Op], params: dict) -> dict:
    """The recorded parameters that forward takes (max(dim) records its indices, which forward finds)."""
    accepted = inspect.signature(op_type.forward).parameters
    return {k: v for k, v in params.items() if k in accepted}


def numeric_vjp(op_type: type[ops.Op], arrays: list[np.ndarray], params: dict, g: np.ndarray, k: int) -> np.ndarray:
    """d sum(g * op(arrays)) / d arrays[k], by central differences on the arrays alone."""
    eps, grad = 1e-6, np.zeros_like(arrays[k])
    for j in np.ndindex(arrays[k].shape):
        total = []
        for step in (eps, -eps):
            shifted = [a.copy() for a in arrays]
            shifted[k][j] += step
            total.append(np.sum(g * op_type.forward(SimpleNamespace(), *shifted, **forward_params(op_type, params))))
        grad[j] = (total[0] - total[1]) / (2 * eps)
    return grad


def direct_vjp(op_type: type[ops.Op], arrays: list[np.ndarray], params: dict) -> tuple[Any, np.ndarray, np.ndarray]:
    """Run the op's forward, then its vjp for every input, as recording and backward do, with a
    bare namespace in place of the node: the inputs' and the output's arrays, and the flags."""
    ctx = SimpleNamespace(_needs_input_grad=(True,) * len(arrays))
    out = np.asarray(op_type.forward(ctx, *arrays, **forward_params(op_type, params)))
    ctx.data = out
    for slot, a in zip(("_x", "_y"), arrays):
        setattr(ctx, slot, SimpleNamespace(data=a))
    g = np.random.default_rng(1).uniform(-1.0, 1.0, out.shape)
    return op_type.vjp(ctx, g), g, out


@pytest.mark.parametrize(("row", "shapes"), CASES)
def test_vjp_called_directly_matches_finite_differences(row: Row, shapes: Shapes, random_array: Callable) -> None:
    """The op's own vjp on arrays (no Tensor, no engine), reduced to each input's shape."""
    recorded, arrays = applied_op(row, inputs(row, shapes, random_array))
    params = row.op.param_values(recorded)
    grads, g, _ = direct_vjp(row.op, arrays, params)
    assert len(grads) == len(arrays)
    for k, (a, grad) in enumerate(zip(arrays, grads)):
        np.testing.assert_allclose(
            unbroadcast(grad, a.shape), numeric_vjp(row.op, arrays, params, g, k), rtol=1e-6, atol=1e-7,
            err_msg=f"input {k}",
        )


@pytest.mark.parametrize(("row", "shapes"), CASES)
def test_formulas_match_vjp(row: Row, shapes: Shapes, random_array: Callable) -> None:
    """Each symbolic formula, evaluated with numpy, equals the numeric vjp (explain.py shows them)."""
    recorded, arrays = applied_op(row, inputs(row, shapes, random_array))
    params = row.op.param_values(recorded)
    grads, g, out = direct_vjp(row.op, arrays, params)
    assert len(row.op.formulas) == len(arrays)
    names = dict(zip(("x", "y"), arrays))
    for k, (formula, a, grad) in enumerate(zip(row.op.formulas, arrays, grads)):
        value = eval(formula, {"g": g, **names, "out": out, **params, **ops.FORMULA_HELPERS})
        np.testing.assert_allclose(
            unbroadcast(np.asarray(value), a.shape), unbroadcast(grad, a.shape), rtol=1e-12, atol=1e-15,
            err_msg=f"{formula!r} for input {k}",
        )


def test_table_covers_every_op() -> None:
    """Every op class in ops.py has rows in the table."""
    assert {row.op for row in TABLE} == {c for c in ops.Op.__subclasses__() if c.__module__ == ops.__name__}


# ---------------------------------------------------------------- generated shapes and values

BINARY = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv}
UNARY_OPS = {
    "neg": (operator.neg, "any"),
    "relu": (lambda x: x.relu(), "nonzero"),
    "square": (lambda x: x.square(), "any"),
    "exp": (lambda x: x.exp(), "any"),
    "log": (lambda x: x.log(), "pos"),
    "tanh": (lambda x: x.tanh(), "any"),
    "sigmoid": (lambda x: x.sigmoid(), "any"),
    "pow 3": (lambda x: x**3, "any"),
    "pow -0.5": (lambda x: x**-0.5, "pos"),
}
small_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_ops_on_generated_broadcast_shapes(name: str, data: st.DataObject, draw_values, check) -> None:
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
    x, y = shapes.input_shapes
    arrays = [data.draw(draw_values(x)), data.draw(draw_values(y, "nonzero" if name == "div" else "any"))]
    check(BINARY[name], arrays)


@given(data=st.data())
def test_matmul_on_generated_shapes(data: st.DataObject, draw_values, check) -> None:
    """1-D, 2-D and broadcast batched operands, as np.matmul's signature (n?,k),(k,m?)->(n?,m?)."""
    shapes = data.draw(hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2, max_side=3))
    check(operator.matmul, [data.draw(draw_values(s)) for s in shapes.input_shapes])


@pytest.mark.parametrize("name", UNARY_OPS)
@given(data=st.data())
def test_unary_ops_on_generated_shapes(name: str, data: st.DataObject, draw_values, check) -> None:
    fn, domain = UNARY_OPS[name]
    check(fn, [data.draw(draw_values(data.draw(small_shapes), domain))])


@pytest.mark.parametrize("name", ["sum", "mean"])
@given(data=st.data())
def test_reductions_on_generated_axes(name: str, data: st.DataObject, draw_values, check) -> None:
    """axis None, int (either sign) or a tuple, with and without keepdims."""
    shape = data.draw(small_shapes)
    ndim = len(shape)
    axes = st.none()
    if ndim:
        axes |= st.integers(-ndim, ndim - 1) | hnp.valid_tuple_axes(ndim, min_size=1)
    axis, keepdims = data.draw(axes), data.draw(st.booleans())
    check(
        lambda x: getattr(x, name)(axis=axis, keepdims=keepdims),
        [data.draw(draw_values(shape))],
        lambda x: getattr(x, name)(dim=axis, keepdim=keepdims),
    )


@given(data=st.data())
def test_reshape_and_transpose_on_generated_shapes(data: st.DataObject, draw_values, check) -> None:
    shape = data.draw(small_shapes)
    axes = data.draw(st.permutations(range(len(shape))))
    size = int(np.prod(shape))
    check(
        lambda x: x.permute(*axes).reshape(size, 1),
        [data.draw(draw_values(shape))],
        lambda x: x.permute(tuple(axes)).reshape(size, 1),
    )


def positive_steps(index: Any) -> bool:
    """torch has no negative-step slices."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(not isinstance(p, slice) or p.step is None or p.step > 0 for p in parts)


@given(data=st.data())
def test_basic_indexing_on_generated_indices(data: st.DataObject, draw_values, check) -> None:
    """Integers, slices, Ellipsis and None, as numpy's basic indexing."""
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True).filter(positive_steps))
    check(lambda x: x[index], [data.draw(draw_values(shape))])


@given(data=st.data())
def test_integer_array_indexing_on_generated_indices(data: st.DataObject, draw_values, check) -> None:
    """Integer arrays, with repeated entries adding up in the gradient."""
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    result_shape = hnp.array_shapes(min_dims=1, max_dims=2, max_side=5)
    index = data.draw(hnp.integer_array_indices(shape, result_shape=result_shape))
    check(lambda x: x[index], [data.draw(draw_values(shape))])


# ---------------------------------------------------------------- edge values against PyTorch


def test_sigmoid_keeps_its_relative_precision_for_negative_inputs(torch) -> None:
    """sigmoid(-40) is 4.2e-18, not 0: forward and gradient match torch in relative terms (no atol)."""
    values = np.array([-745.0, -300.0, -40.0, -20.0, -10.0, 0.0, 10.0, 20.0, 40.0])
    x = Tensor(values, requires_grad=True)
    out = x.sigmoid()
    out.backward(np.ones_like(values))
    t = torch.tensor(values, requires_grad=True)
    expected = torch.sigmoid(t)
    expected.backward(torch.ones_like(t))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12, atol=0)


def test_relu_blocks_an_infinite_gradient_at_an_inactive_unit(torch) -> None:
    """sqrt(relu(x)) at x < 0: the inf from sqrt at 0 stops at the ReLU, as in threshold_backward."""
    x = Tensor(np.array([-1.0, 0.0, 4.0]), requires_grad=True)
    with np.errstate(divide="ignore"):
        (x.relu() ** 0.5).sum().backward()
    t = torch.tensor([-1.0, 0.0, 4.0], dtype=torch.float64, requires_grad=True)
    (t.relu() ** 0.5).sum().backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.25])


def test_relu_blocks_an_infinite_gradient_on_a_big_array_too() -> None:
    """Big arrays take the mask-product path; an inf at a masked entry must still give 0, not NaN."""
    x = Tensor(np.r_[-np.ones(5000), 0.0, 4.0], requires_grad=True, dtype=np.float64)
    with np.errstate(divide="ignore"):
        (x.relu() ** 0.5).sum().backward()
    assert not np.isnan(x.grad.numpy()).any()
    np.testing.assert_array_equal(x.grad.numpy()[-3:], [0.0, 0.0, 0.25])
    assert (x.grad.numpy()[:-1] == 0).all()


def test_relu_gradient_on_a_big_array_matches_torch() -> None:
    """Big arrays with a finite grad_out take the mask-product path; it must equal torch's threshold_backward."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    data = np.where(rng.random((64, 40)) < 0.1, 0.0, rng.normal(size=(64, 40)))  # some exact zeros
    upstream = rng.normal(size=(64, 40))
    x = Tensor(data, requires_grad=True)
    x.relu().backward(upstream)
    t = torch.tensor(data, requires_grad=True)
    t.relu().backward(torch.tensor(upstream))
    np.testing.assert_array_equal(x.grad, t.grad.numpy())
