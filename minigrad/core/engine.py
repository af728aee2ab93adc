"""The backward pass: broadcast reduction and the iterative reverse-mode sweep.

A Tensor produced by an op is that op's node: it holds the op in `_op`, its input Tensors in
`_x` and `_y`, and a sequence number `_seq` that orders nodes by creation. `backward` walks the
graph from the root in reverse creation order, which is a reverse topological order, so a node's
gradient is complete, summed over every consumer, before its own VJP runs. No recursion: a
100,000-op chain costs a loop, not a stack overflow.
"""
from __future__ import annotations

import itertools
from heapq import heappop, heappush
from typing import Any

import numpy as np

from .grad_mode import MODE, observe_backward  # noqa: F401  (observe_backward: the sweep's hook)
from .versions import _as_of, _check_versions

# NOTE: counts down, so the heap of the sweep (a min-heap) pops the newest op first.
next_seq = itertools.count(0, -1).__next__
_sum = np.add.reduce


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `grad` over the axes numpy broadcasting added or stretched, so it has `shape`.

    Forward broadcasting copies an input along some axes; the adjoint of a copy is a sum.
    Example: b of shape (4,) added to Z of shape (N, 4) gets grad_b = grad_out.sum(axis=0).
    """
    grad_shape = grad.shape
    if grad_shape == shape:
        return grad
    lead = len(grad_shape) - len(shape)
    if lead < 0:
        raise ValueError(f"cannot reduce a gradient of shape {grad_shape} to shape {shape}")
    if grad_shape[lead:] == shape:  # only leading axes were added, as for the bias of a batch
        return _sum(grad, 0 if lead == 1 else tuple(range(lead)))
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad_shape[lead + i] != 1)
    out = _sum(grad, axes, keepdims=True)
    if out.shape[lead:] != shape:
        raise ValueError(f"cannot reduce a gradient of shape {grad_shape} to shape {shape}")
    return out.reshape(shape)


_FREED = (
    "Trying to backward through the graph a second time: the first backward() released what op "
    "{op!r} kept for it, as PyTorch frees its saved tensors. Pass retain_graph=True to the first "
    "backward() call if you need to run backward through this graph again."
)


def _check_finite(array: np.ndarray, node: Any, where: str) -> None:
    """Under detect_anomaly: raise where a VJP produced NaN (and inf, with check_inf=True), as torch does."""
    bad = not np.isfinite(array).all() if MODE.anomaly_check_inf else np.isnan(array).any()
    if bad:
        trace = getattr(node, "_trace", None)
        origin = f"; the op was created at {trace}" if trace else ""
        what = "NaN or inf" if MODE.anomaly_check_inf else "NaN"
        raise RuntimeError(f"detect_anomaly: op {node._op.name!r} produced {what} in its {where}{origin}")


def leaf_grads(root: Any, grad: np.ndarray, retain_graph: bool, more: tuple = ()) -> dict:
    """d root / d leaf (times `grad`) for every leaf that requires grad, without touching `.grad`.

    `more` holds further (root, grad) pairs swept at once (autograd.grad of several outputs).
    Each op gets a decreasing sequence number when it is recorded, after the ops that made its
    inputs, so when the heap hands out the newest pending node, every consumer of it has already
    added its share to its gradient.
    """
    if root._op is None and not more:
        return {root: grad.copy()}
    leaves: dict = {}
    heap: list = []
    for start, g in ((root, grad), *more):
        if start._op is None:
            leaves[start] = leaves[start] + g if start in leaves else g.copy()
        elif start._pending is None:
            start._pending = g
            heappush(heap, (start._seq, start))
        else:
            start._pending = start._pending + g
    anomaly, observer, last_inplace = MODE.detect_anomaly, MODE.observer, MODE.last_inplace
    held = None
    try:
        node = heappop(heap)[1] if heap else None
        while node is not None:
            grad_out, node._pending = node._pending, None
            if node._saved is None:
                raise RuntimeError(_FREED.format(op=node._op.name))
            if node._retains_grad:
                leaves[node] = grad_out.copy()
            # NOTE: only a node older than the newest in-place change can have had its inputs changed
            # or recorded anew since; in a training loop every graph is newer, so nothing is checked.
            stale = node._seq > last_inplace
            if stale:
                _check_versions(node)
            grads = node._op.vjp(node, grad_out)
            sent = [] if observer is not None else None
            held = None
            parent = node._x if not stale else _as_of(node._x, node)
            for g in grads:
                if g is not None:
                    if anomaly:
                        _check_finite(g, node, "backward (vjp)")
                    data = parent.data
                    if g.shape != data.shape:
                        try:
                            g = unbroadcast(g, data.shape)
                        except ValueError as err:
                            raise RuntimeError(f"op {node._op.name!r} returned a bad gradient: {err}") from None
                    if g.dtype is not data.dtype and g.dtype != data.dtype:  # NOTE: identity first, ~0.1 us a node
                        g = g.astype(data.dtype)
                    if parent._op is not None:
                        if parent._pending is None:
                            parent._pending = g
                            if held is None and not heap:
                                held = parent
                            else:
                                heappush(heap, (parent._seq, parent))
                        else:
                            parent._pending = parent._pending + g
                    elif parent._requires_grad:
                        if parent in leaves:
                            leaves[parent] = leaves[parent] + g
                        else:
                            # NOTE: a pass-through gradient (add, reshape) may be the very array another
                            # input receives; copy it before it becomes a `.grad` the user can edit.
                            leaves[parent] = g.copy() if g is grad_out or g.base is not None else g
                if sent is not None:
                    sent.append(g)
                parent = node._y if not stale or node._y is None else _as_of(node._y, node)
            if not retain_graph:
                # NOTE: the graph lets go as torch's does: the node keeps its op and values but no
                # longer its inputs, so what the user does not hold is freed; None marks it done.
                node._saved = node._x = node._y = None
            if sent is not None:
                observer(node, grad_out, tuple(sent))
            # NOTE: in a chain the one node just made pending runs next, so the heap is used only
            # while several are pending: its push and pop were a sixth of the Titanic backward.
            if held is not None and heap:
                heappush(heap, (held._seq, held))
                held = None
            node = held if held is not None else (heappop(heap)[1] if heap else None)
    except BaseException:
        for _, t in heap:
            t._pending = None
        if held is not None:
            held._pending = None
        raise
    return leaves
