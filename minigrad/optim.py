"""Optimizers: turn the gradients that backward() left in `.grad` into a step on each parameter.

An update is plain numpy on `p.data`, in place, so it records no graph and keeps the parameter's
dtype. The update rules are torch.optim's, written out line by line (SGD with momentum, Adam with
bias correction); the tests check them against torch to 1e-6 in float64.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .core.tensor import Tensor


class Optimizer:
    """Base class: holds the parameters and clears their gradients.

    Args:
        params: the Tensors to update, e.g. `model.parameters()`. Each must be a leaf.
        lr: learning rate, a finite number > 0.

    Raises:
        ValueError: no parameters, a parameter listed twice, a non-leaf tensor, or a bad lr.
        TypeError: something that is not a Tensor.
    """

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list; pass model.parameters()")
        for p in self.params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer params must be Tensors, got {type(p).__name__}; pass model.parameters()")
            if not p.is_leaf:
                raise ValueError(
                    f"cannot optimize a non-leaf tensor (made by op {p.op!r}); optimize the leaves it came from"
                )
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError("a parameter appears more than once in the optimizer's params")
        _check(lr > 0 and math.isfinite(lr), f"lr must be a finite number > 0, got {lr!r}")
        self.lr = lr

    def zero_grad(self) -> None:
        """Set every parameter's gradient to None (torch's default, set_to_none=True)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum, as torch.optim.SGD.

    Without momentum: p <- p - lr * g. With momentum: buf <- g on a parameter's first step,
    then buf <- momentum * buf + g; and p <- p - lr * buf. Parameters whose grad is None are
    skipped.

    Args:
        params: the Tensors to update, e.g. `model.parameters()`.
        lr: learning rate, > 0.
        momentum: momentum factor, >= 0 (0 is plain SGD).

    Raises:
        ValueError: lr <= 0 or momentum < 0, or bad params (see `Optimizer`).

    Example:
        >>> opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
        >>> loss_fn(model(X), Y).backward()
        >>> opt.step(); opt.zero_grad()
    """

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0) -> None:
        super().__init__(params, lr)
        _check(momentum >= 0 and math.isfinite(momentum), f"momentum must be a finite number >= 0, got {momentum!r}")
        self.momentum = momentum
        self.buffers: list[np.ndarray | None] = [None] * len(self.params)
        self._lr_arrays: list[np.ndarray] = []
        self._lr_arrays_for: float | None = None

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        if self.momentum:
            self._step_momentum()
            return
        # NOTE: lr as a 0-d array of the parameter's dtype: numpy multiplies by it about twice as
        # fast as by a Python float, with the same float32 result. Rebuilt if `lr` was changed.
        if self._lr_arrays_for != self.lr:
            self._lr_arrays = [np.asarray(self.lr, dtype=p.data.dtype) for p in self.params]
            self._lr_arrays_for = self.lr
        for p, lr in zip(self.params, self._lr_arrays):
            g = None if p.grad is None else p.grad.data
            if g is not None:
                p.data -= lr * g

    def _step_momentum(self) -> None:
        lr, momentum = self.lr, self.momentum
        for i, p in enumerate(self.params):
            g = None if p.grad is None else p.grad.data
            if g is None:
                continue
            buf = self.buffers[i]
            if buf is None:
                buf = self.buffers[i] = g.copy()
            else:
                buf *= momentum
                buf += g
            p.data -= lr * buf

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum})"


class Adam(Optimizer):
    """Adam, as torch.optim.Adam: running averages of g and g**2, corrected for their zero start.

    For each parameter, at its t-th step:
        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g**2
        p <- p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    Parameters whose grad is None are skipped and their t does not advance.

    Args:
        params: the Tensors to update, e.g. `model.parameters()`.
        lr: learning rate, > 0.
        betas: decay rates (beta1, beta2) of the two averages, each in [0, 1).
        eps: added to the denominator so it is never 0, >= 0.

    Raises:
        ValueError: a value out of range, or bad params (see `Optimizer`).

    Example:
        >>> opt = Adam(model.parameters(), lr=0.01)
        >>> loss_fn(model(X), Y).backward()
        >>> opt.step(); opt.zero_grad()
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr)
        beta1, beta2 = betas
        for name, beta in (("betas[0]", beta1), ("betas[1]", beta2)):
            _check(0 <= beta < 1, f"{name} must be in [0, 1), got {beta!r}")
        _check(eps >= 0 and math.isfinite(eps), f"eps must be a finite number >= 0, got {eps!r}")
        self.betas, self.eps = (beta1, beta2), eps
        self.steps = [0] * len(self.params)
        self.exp_avg = [np.zeros_like(p.data) for p in self.params]
        self.exp_avg_sq = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        lr, eps = self.lr, self.eps
        beta1, beta2 = self.betas
        for i, p in enumerate(self.params):
            g = None if p.grad is None else p.grad.data
            if g is None:
                continue
            self.steps[i] = t = self.steps[i] + 1
            m, v = self.exp_avg[i], self.exp_avg_sq[i]
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * (g * g)
            denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
            p.data -= (lr / (1 - beta1**t)) * m / denom

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps})"


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
