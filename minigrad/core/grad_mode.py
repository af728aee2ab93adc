"""Grad mode: the switches every op reads (record a graph? watch for NaN?) and their contexts.

`no_grad` and `enable_grad` turn graph recording off and on, as torch's do, `set_grad_enabled`
sets it from a flag and `inference_mode` is `no_grad` under torch's other name; `detect_anomaly`
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
        self.observer: Any = None  # called after each VJP of a sweep, see observe_backward


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


class inference_mode(no_grad):
    """torch.inference_mode, here the same switch as `no_grad` (minigrad has no inference tensors).

    `inference_mode(False)` turns recording on again, as torch's does inside a `no_grad` block.
    Like `no_grad` it also decorates a function, bare or called.

    Example:
        >>> with inference_mode():
        ...     pred = model(X)       # nothing recorded
    """

    def __new__(cls, mode: bool | F = True) -> Any:
        self = object.__new__(cls)
        if callable(mode):
            self._enabled = False
            return self(mode)
        self._enabled = not mode
        return self

    def __call__(self, fn: F) -> F:
        enabled = self._enabled

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(not enabled):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class set_grad_enabled:
    """Turn graph recording on or off: as a call, as a context manager or as a decorator (as torch's).

    The call itself sets the mode, so `set_grad_enabled(False)` works as a plain statement; used in
    `with`, the previous mode comes back on exit; used as `@set_grad_enabled(False)`, it sets the
    mode only while the decorated function runs.

    Args:
        mode: True to record the graph, False not to.

    Raises:
        TypeError: `mode` is not a bool (torch's rule: 1 and 0 are refused too).

    Example:
        >>> with set_grad_enabled(is_training):
        ...     loss = loss_fn(model(X), Y)
    """

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): mode must be bool, not {type(mode).__name__}")
        self.prev = MODE.grad_enabled
        self.mode = mode
        MODE.grad_enabled = mode

    def __enter__(self) -> None:
        MODE.grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        MODE.grad_enabled = self.prev

    def __call__(self, fn: F) -> F:
        MODE.grad_enabled = self.prev
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"set_grad_enabled(mode={self.mode})"


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


class observe_backward:
    """Context manager: call `fn(node, grad_out, grads_sent)` after each VJP of the sweeps run inside it.

    `grads_sent` holds one gradient per input of `node` (None where none is sent), already summed to
    the input's shape. `minigrad.see.explore` uses it to show the sweep step by step.
    """

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def __enter__(self) -> "observe_backward":
        self._previous, MODE.observer = MODE.observer, self.fn
        return self

    def __exit__(self, *exc: Any) -> None:
        MODE.observer = self._previous
