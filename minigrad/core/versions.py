"""Version counters: find where backward would read a value that an in-place op changed since.

Each in-place change appends its sequence number to the tensor's `_modified` list (see
`tensor._inplace`), and an in-place op recorded on a tensor of a graph keeps what the tensor was
before in `_previous`. The engine calls these two for a node older than the newest in-place change.
"""
from __future__ import annotations

from typing import Any

_MODIFIED = (
    "one of the variables needed for gradient computation has been modified by an inplace operation: "
    "[{dtype} {shape}]{which} is at version {now}; expected version {then} instead. Its values were saved "
    "for the backward of op {op!r}{where}. Hint: change a .clone() of it instead, or make the change "
    "before the op reads it; detect_anomaly() records where each op was created."
)


def _check_versions(node: Any) -> None:
    """Raise torch's error when an array the node's VJP reads was changed in place after the node was made."""
    for slot in {v for reads, needed in zip(node._op.reads, node._needs_input_grad) if needed for v in reads}:
        t = node if slot == "out" else node._x if slot == "x" else node._y
        changes = t._modified
        if changes and changes[-1] < node._seq:
            then = sum(1 for c in changes if c > node._seq)
            seen = t if t is node else _as_of(t, node)
            which = "" if seen._op is None else f", which is output 0 of {seen._op.__name__},"
            trace = getattr(node, "_trace", None)
            raise RuntimeError(_MODIFIED.format(
                dtype=t.data.dtype, shape=list(t.data.shape), which=which, now=len(changes), then=then,
                op=node._op.name, where=f" (created at {trace})" if trace else ""))


def _as_of(t: Any, node: Any) -> Any:
    """The tensor t as `node` saw it: before any in-place op that recorded t anew after node was made."""
    while t._op is not None and t._seq < node._seq:
        t = t._previous
    return t
