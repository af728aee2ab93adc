"""Grad mode: the switches every op reads (record a graph? watch for NaN?) and their contexts.

`no_grad` and `enable_grad` turn graph recording off and on, as torch's do; `detect_anomaly`
makes backward check each VJP's gradients for NaN (and, on request, forward outputs and inf).
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _Mode:
    """Process-wide switches read on every op: grad recording and anomaly detection."""

    def __init__(self) -> None:
        # NOTE: instance attributes, not class attributes: CPython 3.11 caches instance lookups.
        self.grad_enabled = True
        self.detect_anomaly = False
        self.anomaly_check_forward = False
        self.anomaly_check_inf = False
        # The sequence number of the newest in-place change of any tensor (sequence numbers count
        # down, see engine.next_seq); backward checks versions only on nodes older than it.
        self.last_inplace = 1


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
    """Context manager: raise, naming the op, as soon as a VJP produces NaN (as torch's).

    Each op created inside also records where in user code it was called, so a failing VJP
    can point back to the forward line that built it.

    minigrad's extra checks, which torch does not make, are explicit options:

    Args:
        check_forward: check each op's forward output too, so the first op that produces a bad
            value is named at once, not only the VJP it later spoils.
        check_inf: count inf as an anomaly, as well as NaN (in forward and backward).
    """

    def __init__(self, check_forward: bool = False, check_inf: bool = False) -> None:
        self.check_forward, self.check_inf = check_forward, check_inf

    def __enter__(self) -> None:
        self._prev = MODE.detect_anomaly, MODE.anomaly_check_forward, MODE.anomaly_check_inf
        MODE.detect_anomaly, MODE.anomaly_check_forward, MODE.anomaly_check_inf = True, self.check_forward, self.check_inf

    def __exit__(self, *exc: object) -> None:
        MODE.detect_anomaly, MODE.anomaly_check_forward, MODE.anomaly_check_inf = self._prev
