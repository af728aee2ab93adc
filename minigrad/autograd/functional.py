"""torch.autograd.functional on minigrad: jacobian, hessian, vjp, jvp, hvp, vhp, with torch's signatures.

Each is a few calls of `autograd.grad`: a Jacobian row by row (one backward per output element),
a Hessian as the Jacobian of a gradient recorded with create_graph=True, and jvp by the
double-vjp trick (the vjp is linear in its v, so its gradient with respect to v is the jvp).
Inputs and results are a Tensor or a tuple of Tensors, as the caller gave them; results are cut
from the graph unless create_graph=True.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..core.autograd import grad
from ..core.tensor import Tensor


def _as_tuple(value: Any) -> tuple[bool, tuple]:
    return (True, (value,)) if isinstance(value, Tensor) else (False, tuple(value))


def _prepare(inputs: tuple[Tensor, ...], create_graph: bool) -> tuple[Tensor, ...]:
    """Inputs that require grad: themselves under create_graph, else detached copies (as torch)."""
    return tuple(t if create_graph and t.requires_grad else t.detach().requires_grad_() for t in inputs)


def _grads(outputs: Any, inputs: tuple[Tensor, ...], v: Any, create_graph: bool) -> tuple[Tensor, ...]:
    """grad(...) with zeros for an input the outputs do not use (as torch.autograd.functional)."""
    gs = grad(outputs, inputs, v, retain_graph=True, create_graph=create_graph, allow_unused=True)
    return tuple(Tensor(np.zeros(t.shape, t.dtype)) if g is None else g for g, t in zip(gs, inputs))


def _result(values: tuple, single: bool, create_graph: bool) -> Any:
    values = tuple(v if create_graph else v.detach() for v in values)
    return values[0] if single else values


def _v(v: Any, like: tuple[Tensor, ...]) -> tuple:
    if v is None:
        if any(t.data.size != 1 for t in like):
            raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                               "Tensor with a single element.")
        return tuple(Tensor(np.ones(t.shape, t.dtype)) for t in like)
    return _as_tuple(v)[1]


def vjp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), vᵀ·J): the vector-Jacobian product at inputs."""
    single, xs = _as_tuple(inputs)
    xs = _prepare(xs, create_graph)
    out_single, outs = _as_tuple(func(*xs))
    gs = _grads(outs, xs, _v(v, outs), create_graph)
    return _result(outs, out_single, create_graph), _result(gs, single, create_graph)


def jvp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), J·v): the Jacobian-vector product, by differentiating a vjp with respect to its vector."""
    single, xs = _as_tuple(inputs)
    xs = _prepare(xs, create_graph)
    out_single, outs = _as_tuple(func(*xs))
    us = tuple(Tensor(np.zeros(o.shape, o.dtype), requires_grad=True) for o in outs)
    gs = grad(outs, xs, us, create_graph=True, allow_unused=True)
    used = [g for g in gs if g is not None]
    vs = [vi for g, vi in zip(gs, _v(v, xs)) if g is not None]
    jv = _grads(used, us, vs, create_graph) if used else tuple(Tensor(np.zeros(o.shape, o.dtype)) for o in outs)
    return _result(outs, out_single, create_graph), _result(jv, out_single, create_graph)


def jacobian(func: Callable[..., Any], inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """d func / d inputs: for one output and one input a Tensor of shape out.shape + in.shape; tuples
    of them (indexed [output][input]) when func returns or takes tuples. One backward per output element."""
    single, xs = _as_tuple(inputs)
    xs = _prepare(xs, create_graph)
    out_single, outs = _as_tuple(func(*xs))
    blocks = []
    for out in outs:
        rows: list[list[Any]] = [[] for _ in xs]
        for e in np.ndindex(out.shape):
            onehot = np.zeros(out.shape, out.dtype)
            onehot[e] = 1
            for j, g in enumerate(_grads(out, xs, onehot, create_graph)):
                rows[j].append(g)
        blocks.append(tuple(_stack(r, out.shape, x.shape, create_graph) for r, x in zip(rows, xs)))
    blocks = [b[0] if single else b for b in blocks]
    return blocks[0] if out_single else tuple(blocks)


def _stack(rows: list[Tensor], out_shape: tuple, in_shape: tuple, create_graph: bool) -> Tensor:
    """The rows d out[e] / d x, one per element e of out, as one Tensor of shape out_shape + in_shape."""
    if not create_graph:
        return Tensor(np.stack([r.data for r in rows]).reshape(out_shape + in_shape), dtype=rows[0].dtype)
    n = len(rows)
    total = None
    for e, r in enumerate(rows):
        onehot = np.zeros((n,) + (1,) * len(in_shape), r.dtype)
        onehot[e] = 1
        term = r.reshape((1,) + in_shape) * onehot
        total = term if total is None else total + term
    return total.reshape(out_shape + in_shape)


def hessian(func: Callable[..., Any], inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The second derivatives of a scalar func: the Jacobian of its gradient, recorded with create_graph=True.
    One input: a Tensor of shape in.shape + in.shape; tuple inputs: a tuple of tuples, [i][j] = d²f/dxᵢdxⱼ."""
    single, xs = _as_tuple(inputs)

    def gradient(*args: Tensor) -> tuple[Tensor, ...]:
        out = func(*args)
        if out.data.size != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor with a single element")
        return _grads(out, args, None, True)

    h = jacobian(gradient, xs, create_graph=create_graph)
    return h[0][0] if single else h


def hvp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), H·v) for a scalar func: the gradient of (∇f · v), two backward sweeps."""
    single, xs = _as_tuple(inputs)
    xs = _prepare(xs, create_graph)
    out = func(*xs)
    gs = _grads(out, xs, None, True)
    hv = _grads(gs, xs, _v(v, xs), create_graph)
    return _result((out,), True, create_graph), _result(hv, single, create_graph)


def vhp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), vᵀ·H) for a scalar func; equal to hvp when the Hessian is symmetric."""
    return hvp(func, inputs, v, create_graph, strict)
