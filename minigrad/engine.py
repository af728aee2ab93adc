"""The backward pass: grad mode, broadcast reduction, and the iterative reverse-mode sweep.

A Tensor produced by an op holds that op in `_ctx`; the op holds its input Tensors in
`_parents`. `backward` counts how many consumers each node has, then walks the graph from
the root in reverse topological order (Kahn's algorithm, as PyTorch's engine does), so a node's
gradient is complete, summed over every consumer, before its own VJP runs. No recursion:
a 100,000-op chain costs a loop, not a stack overflow.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])


class _Mode:
    """Process-wide switches read on every op: grad recording and anomaly detection."""

    grad_enabled = True
    detect_anomaly = False


MODE = _Mode()


class no_grad:
    """Context manager and decorator that stops ops from recording a graph (as torch.no_grad).

    Example:
        >>> with no_grad():
        ...     y = w * 2          # y.requires_grad is False, nothing is saved for backward
        >>> @no_grad               # or @no_grad()
        ... def evaluate(x): ...
    """

    _enabled = False

    def __new__(cls, fn: F | None = None) -> Any:
        self = super().__new__(cls)
        # NOTE: bare `@no_grad` (no parentheses) passes the function here; wrap it directly.
        return self if fn is None else self(fn)

    def __enter__(self) -> None:
        self._prev = MODE.grad_enabled
        MODE.grad_enabled = self._enabled

    def __exit__(self, *exc: object) -> None:
        MODE.grad_enabled = self._prev

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class enable_grad(no_grad):
    """Re-enable graph recording inside a `no_grad` block (as torch.enable_grad)."""

    _enabled = True


def is_grad_enabled() -> bool:
    """True when ops record the graph for backward."""
    return MODE.grad_enabled


class detect_anomaly:
    """Context manager: raise, naming the op, as soon as a forward or a VJP produces NaN or inf.

    Each op created inside also records where in user code it was called, so a failing VJP
    can point back to the forward line that built it.
    """

    def __enter__(self) -> None:
        self._prev = MODE.detect_anomaly
        MODE.detect_anomaly = True

    def __exit__(self, *exc: object) -> None:
        MODE.detect_anomaly = self._prev


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `grad` over the axes numpy broadcasting added or stretched, so it has `shape`.

    Forward broadcasting copies an input along some axes; the adjoint of a copy is a sum.
    Example: b of shape (4,) added to Z of shape (N, 4) gets grad_b = grad_out.sum(axis=0).
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"cannot reduce a gradient of shape {grad.shape} to shape {shape}")
    if grad.shape[lead:] == shape:
        return grad.sum(axis=0) if lead == 1 else grad.sum(axis=tuple(range(lead)))
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1
    )
    out = grad.sum(axis=axes, keepdims=True)
    if out.shape[lead:] != shape:
        raise ValueError(f"cannot reduce a gradient of shape {grad.shape} to shape {shape}")
    return out.reshape(shape)


_FREED = (
    "Trying to backward through the graph a second time: the arrays that op {op!r} saved for "
    "backward were freed by the first backward(). Pass retain_graph=True to the first "
    "backward() call if you need to run backward through this graph again."
)


def _consumers(root: Any) -> dict:
    """Count, for every non-leaf node reachable from `root`, how many edges lead into it."""
    counts = {root: 0}
    stack = [root]
    while stack:
        ctx = stack.pop()._ctx
        if ctx._saved is None:
            raise RuntimeError(_FREED.format(op=ctx.name))
        for p in ctx._parents:
            if p._ctx is not None:
                if p in counts:
                    counts[p] += 1
                else:
                    counts[p] = 1
                    stack.append(p)
    return counts


def _check_finite(array: np.ndarray, ctx: Any, where: str) -> None:
    if not np.isfinite(array).all():
        origin = f"; the op was created at {ctx._trace}" if ctx._trace else ""
        raise RuntimeError(f"detect_anomaly: op {ctx.name!r} produced NaN or inf in its {where}{origin}")


def backward(root: Any, grad: np.ndarray, retain_graph: bool) -> None:
    """Propagate `grad` (d out / d root) from `root` and add the result into each leaf's `.grad`.

    Leaf gradients are all collected first, so an error raised mid-pass leaves every `.grad`
    as it was.
    """
    accumulate(leaf_grads(root, grad, retain_graph))


def leaf_grads(root: Any, grad: np.ndarray, retain_graph: bool) -> dict:
    """d root / d leaf (times `grad`) for every leaf that requires grad, without touching `.grad`."""
    if root._ctx is None:
        return {root: grad.copy()}
    pending = _consumers(root)
    grads = {root: grad}
    leaves: dict = {}
    ready = [root]
    anomaly = MODE.detect_anomaly
    while ready:
        node = ready.pop()
        grad_out = grads.pop(node)
        if node._retains_grad:
            node.grad = grad_out.copy() if node.grad is None else node.grad + grad_out
        ctx = node._ctx
        input_grads = ctx.vjp(grad_out)
        if not retain_graph:
            ctx._saved = None
        for parent, g in zip(ctx._parents, input_grads):
            if g is None:
                continue
            data = parent.data
            if g.shape != data.shape:
                try:
                    g = unbroadcast(g, data.shape)
                except ValueError as err:
                    raise RuntimeError(f"op {ctx.name!r} returned a bad gradient: {err}") from None
            if g.dtype != data.dtype:
                g = g.astype(data.dtype)
            if anomaly:
                _check_finite(g, ctx, "backward (vjp)")
            if parent._ctx is None:
                if not parent._requires_grad:
                    continue
                prev = leaves.get(parent)
                if prev is not None:
                    leaves[parent] = prev + g
                elif g is grad_out or g.base is not None:
                    # NOTE: a pass-through gradient (add, reshape) may be the same array another
                    # input receives; copy it before it becomes a leaf's `.grad` the user can edit.
                    leaves[parent] = g.copy()
                else:
                    leaves[parent] = g
            else:
                prev = grads.get(parent)
                grads[parent] = g if prev is None else prev + g
                pending[parent] -= 1
                if pending[parent] == 0:
                    ready.append(parent)
    return leaves


def accumulate(leaves: dict) -> None:
    """Add each collected gradient into its leaf's `.grad` (PyTorch accumulates, never assigns)."""
    for leaf, g in leaves.items():
        leaf.grad = g if leaf.grad is None else leaf.grad + g
