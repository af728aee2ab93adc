"""The backward pass as a graph: the sweep that `create_graph=True` runs, on Tensors.

Each op's VJP is compiled a second time from the same `formulas` (ops._compile_vjp with the Tensor
namespace below), so running it records ordinary ops: the gradient it returns has a history and
can be differentiated again. The helpers of the formulas become differentiable ops (`expand` is
Expand, `where` is Where with a constant mask, `index_backward` is IndexBackward, `index_zero` is
IndexZero), whose own formulas make third derivatives work the same way. Every node recorded while
node N's VJP ran, and every constant it made (Xᵀ of a data matrix, the 0 of relu's where), remembers N
(`Tensor.made_by_vjp_of`), for the picture of the backward graph.
"""
from __future__ import annotations

import operator
import types
from heapq import heappop, heappush
from typing import Any

import numpy as np

from . import ops
from .engine import _FREED, _check_finite, next_seq
from .versions import _as_of, _check_versions
from .grad_mode import MODE, enable_grad
from .tensor import _CONSTANTS, Tensor, _binary, _lift, _unary, _wrap

_COMPARE = {"Gt": operator.gt, "GtE": operator.ge, "Lt": operator.lt, "LtE": operator.le, "Eq": operator.eq,
            "NotEq": operator.ne, "Is": operator.is_, "IsNot": operator.is_not}


def _array(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


def compare(symbol: str, a: Any, b: Any) -> Any:
    """A comparison in a formula, made on the arrays: a mask is a constant, with no gradient."""
    return _COMPARE[symbol](_array(a), _array(b))


def expand(g: Tensor, shape: tuple[int, ...], axis: Any = None, keepdims: bool = False) -> Tensor:
    """ops.expand on a Tensor: put back the reduced axes (Reshape), then broadcast (Expand)."""
    shape = tuple(shape)
    if axis is not None and not keepdims:
        axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
        g = g.reshape(tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return g if g.shape == shape else _unary(ops.Expand, g, shape)


def where(condition: Any, a: Any, b: Any) -> Any:
    """ops.where on Tensors: differentiable in a and b, the condition an array."""
    condition = _array(condition)
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            return np.where(condition, a, b)
        a = _lift(a, b)
    return _binary(ops.Where, a, b, condition)


def index_backward(g: Tensor, shape: tuple[int, ...], index: Any) -> Tensor:
    """ops.index_backward on a Tensor: an op whose own VJP is indexing."""
    return _unary(ops.IndexBackward, g, tuple(shape), index)


def index_zero(g: Tensor, index: Any) -> Tensor:
    """ops.index_zero on a Tensor: an op whose own VJP zeroes the same entries."""
    return _unary(ops.IndexZero, g, index)


TENSOR_HELPERS: dict[str, Any] = {
    "np": types.SimpleNamespace(argsort=np.argsort),  # only for permutations of an op's parameters
    "compare": compare, "expand": expand, "where": where, "index_backward": index_backward,
    "index_zero": index_zero, "exp": lambda t: t.exp(), "log": lambda t: t.log(),
    "sign": lambda t: _wrap(np.sign(_array(t))), "along_axis": ops.along_axis, "cat_piece": ops.cat_piece,
}
"""The formulas' vocabulary on Tensors: one entry for each name of ops.FORMULA_HELPERS."""

_TENSOR_VJPS: dict[type, Any] = {}


def tensor_vjp(op: type[ops.Op]) -> Any:
    """`op`'s VJP over Tensors, `vjp(ctx, g, x, y)`, compiled once from its formulas."""
    vjp = _TENSOR_VJPS.get(op)
    if vjp is None:
        if not op.formulas:
            raise RuntimeError(f"op {op.name!r} writes its vjp by hand, without formulas: it cannot be "
                               "differentiated twice (create_graph=True)")
        vjp = _TENSOR_VJPS[op] = ops._compile_vjp(op, TENSOR_HELPERS)
    return vjp


def unbroadcast(grad: Tensor, shape: tuple[int, ...]) -> Tensor:
    """engine.unbroadcast with differentiable sums: sum over the axes broadcasting added or stretched."""
    lead = grad.ndim - len(shape)
    if lead < 0:
        raise RuntimeError(f"cannot reduce a gradient of shape {grad.shape} to shape {shape}")
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    if out.shape[lead:] != shape:
        raise RuntimeError(f"cannot reduce a gradient of shape {grad.shape} to shape {shape}")
    return out.reshape(shape)


def _shared(t: Tensor) -> bool:
    """Whether t is a cached number constant (the 2 of `2 * x`), which every graph shares and no VJP owns."""
    return t.data.ndim == 0 and _CONSTANTS[t.data.dtype].get(t.data.item()) is t


def _tag(tensors: list[Tensor], node: Tensor, mark: int, given: set[int]) -> None:
    """Mark every node recorded after `mark` that feeds `tensors` as made by `node`'s VJP, and every
    constant the VJP made there (a leaf without gradient that is none of the tensors, by id, in `given`)."""
    stack = [t for t in tensors if t is not None]
    while stack:
        t = stack.pop()
        if getattr(t, "_vjp_of", None) is not None:
            continue
        if t._op is None:
            if not t._requires_grad and id(t) not in given and not _shared(t):
                t._vjp_of = node
            continue
        if t._seq >= mark:
            continue
        t._vjp_of = node
        stack.extend(p for p in (t._x, t._y) if p is not None)


def graph_grads(roots: list[tuple[Tensor, Tensor]], retain_graph: bool, capture: frozenset = frozenset()) -> dict:
    """Like engine.leaf_grads, with Tensor gradients recorded as a graph: d root / d t (times each
    root's gradient) for every leaf that requires grad and every non-leaf in `capture`."""
    found: dict = {}
    heap: list = []

    def send(t: Tensor, g: Tensor) -> Tensor:
        if t._op is not None:
            if t._pending is None:
                t._pending = g
                heappush(heap, (t._seq, t))
                return g
            t._pending = t._pending + g
            return t._pending
        if t._requires_grad or t in capture:
            found[t] = g if t not in found else found[t] + g
            return found[t]
        return g

    anomaly, observer = MODE.detect_anomaly, MODE.observer
    seeds = {id(g) for _, g in roots}
    try:
        with enable_grad():
            for root, g in roots:
                send(root, g)
            while heap:
                node = heappop(heap)[1]
                grad_out, node._pending = node._pending, None
                if node._saved is None:
                    raise RuntimeError(_FREED.format(op=node._op.name))
                if node._retains_grad or node in capture:
                    found[node] = grad_out
                stale = node._seq > MODE.last_inplace
                if stale:
                    _check_versions(node)
                x = _as_of(node._x, node) if stale else node._x
                y = node._y if not stale or node._y is None else _as_of(node._y, node)
                mark = next_seq()
                grads = tensor_vjp(node._op)(node, grad_out, x, y)
                fresh = []
                for parent, g in zip((x, y), grads):
                    if g is None:
                        fresh.append(None)
                        continue
                    if not isinstance(g, Tensor):
                        g = _wrap(np.asarray(g, dtype=parent.data.dtype))
                    if anomaly:
                        _check_finite(g.data, node, "backward (vjp)")
                    if g.shape != parent.shape:
                        g = unbroadcast(g, parent.shape)
                    fresh.append(send(parent, g))
                _tag(fresh, node, mark, seeds | {id(grad_out), id(x), id(y)})
                if not retain_graph:
                    node._saved = node._x = node._y = None
                if observer is not None:
                    observer(node, grad_out.data, tuple(None if g is None else g.data for g in fresh))
    except BaseException:
        for _, t in heap:
            t._pending = None
        raise
    return found
