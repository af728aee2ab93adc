"""Grad mode: the switches every op reads (record a graph? watch for NaN?) and their contexts.

`no_grad` and `enable_grad` turn graph recording off and on, as torch's do; `detect_anomaly`
makes ops check their outputs and gradients for NaN or inf.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _Mode:
    """Process-wide switches: grad recording and anomaly detection (read on every op), and tracing."""

    def __init__(self) -> None:
        # NOTE: instance attributes, not class attributes: CPython 3.11 caches instance lookups.
        self.grad_enabled = True
        self.detect_anomaly = False
        # NOTE: set by minigrad.compile while it traces a step; reading a tensor's value then raises.
        self.tracing = False


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
