"""Optimizers: turn the gradients that backward() left in `.grad` into a step on each parameter.

An update is plain numpy on `p.data`, in place, so it records no graph and keeps the parameter's
dtype. The update rules are torch.optim's, written out line by line in torch's order of operations
(SGD with momentum, Adam with bias correction), so float64 runs agree with torch to rounding. As in
torch, the parameters sit in `param_groups`, a list of dicts that each carry their own
hyperparameters, and the running buffers in `state`, keyed by parameter.
"""
from __future__ import annotations

import copy
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Callable

import numpy as np

from .core.grad_mode import enable_grad
from .core.tensor import Tensor

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class: holds the parameter groups and their state, clears gradients, saves and loads.

    Args:
        params: the Tensors to update, e.g. `model.parameters()`, or a list of dicts, each with a
            "params" list and any hyperparameters that differ from the defaults for that group
            (torch's param groups), e.g. `[{"params": body}, {"params": head, "lr": 0.1}]`.
        defaults: each hyperparameter's value for groups that do not set it.

    Raises:
        ValueError: no parameters, a parameter listed twice, a non-leaf tensor, or a bad hyperparameter.
        TypeError: something that is not a Tensor, or a single Tensor instead of an iterable of them.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError("params should be an iterable of Tensors or dicts, got a single Tensor; pass [tensor]")
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._lr_arrays: dict[int, tuple[float, list[np.ndarray]]] = {}
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list; pass model.parameters() "
                             "(a Module lists its nn.Parameter attributes, not plain Tensors)")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (the defaults fill in the rest)."""
        group = dict(param_group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer params must be Tensors, got {type(p).__name__}; pass model.parameters()")
            if not p.is_leaf:
                raise ValueError(
                    f"cannot optimize a non-leaf tensor (made by op {p.op!r}); optimize the leaves it came from"
                )
        ids = [id(p) for p in group["params"]]
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len(set(ids)) != len(ids) or seen.intersection(ids):
            raise ValueError("a parameter appears more than once in the optimizer's params")
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check(group)
        self.param_groups.append(group)

    def _check(self, group: dict[str, Any]) -> None:
        """Raise ValueError for a hyperparameter out of range (each optimizer checks its own)."""
        lr = group["lr"]
        _check(lr >= 0 and math.isfinite(lr), f"lr must be a finite number >= 0, got {lr!r}")
        wd = group.get("weight_decay", 0.0)
        _check(wd >= 0 and math.isfinite(wd), f"weight_decay must be a finite number >= 0, got {wd!r}")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: set it to None (torch's default), or fill it with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place; returns closure() if given (else None).

        A closure recomputes the loss (with grad mode on, as torch's), for optimizers that need it.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update(group)
        return loss

    def _update(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------ saving and loading

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as torch lays it out: {"state": {index: buffers}, "param_groups": [...]}.

        Parameters are numbered in group order; each group lists its hyperparameters and the
        numbers of its parameters. The buffers are the live arrays (as torch's): `copy.deepcopy`
        the result to keep a snapshot while training goes on.
        """
        index = {id(p): i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}
        groups = [{**{k: v for k, v in g.items() if k != "params"}, "params": [index[id(p)] for p in g["params"]]}
                  for g in self.param_groups]
        return {"state": {index[id(p)]: s for p, s in self.state.items()}, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and buffers saved by `state_dict()` onto this optimizer's parameters.

        The groups must have the same sizes; the buffers are copied and cast to each parameter's dtype.

        Raises:
            ValueError: a different number of groups, a group of another size, or a buffer of another shape.
        """
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(self.param_groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of optimizer's group")
        params = {i: p for s, g in zip(saved_groups, self.param_groups) for i, p in zip(s["params"], g["params"])}
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for i, buffers in state_dict["state"].items():
            p = params[i]
            state[p] = {k: _cast_like(p, f"state[{i}][{k!r}]", v) for k, v in buffers.items()}
        for saved, group in zip(saved_groups, self.param_groups):
            saved["params"] = group["params"]
        self.param_groups[:] = saved_groups
        self.state = state
        self._lr_arrays.clear()

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum, as torch.optim.SGD.

    For each parameter p with gradient g (parameters whose grad is None are skipped):
        g <- g + weight_decay * p                      (if weight_decay)
        buf <- g on p's first step, then momentum * buf + (1 - dampening) * g   (if momentum)
        g <- g + momentum * buf if nesterov, else buf   (if momentum)
        p <- p - lr * g

    Args:
        params: the Tensors to update, e.g. `model.parameters()`, or a list of param-group dicts.
        lr: learning rate, >= 0 (torch's default 1e-3; 0 leaves the parameters where they are).
        momentum: momentum factor, >= 0 (0 is plain SGD).
        dampening: how much of each gradient the momentum buffer leaves out.
        weight_decay: L2 penalty added to the gradient, >= 0.
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: step up the gradient instead of down.

    Raises:
        ValueError: a hyperparameter out of range, or bad params (see `Optimizer`).

    Example:
        >>> opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
        >>> loss_fn(model(X), Y).backward()
        >>> opt.step(); opt.zero_grad()
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _check(self, group: dict[str, Any]) -> None:
        super()._check(group)
        momentum = group["momentum"]
        _check(momentum >= 0 and math.isfinite(momentum), f"momentum must be a finite number >= 0, got {momentum!r}")
        _check(not group["nesterov"] or (momentum > 0 and group["dampening"] == 0),
               "Nesterov momentum requires a momentum and zero dampening")

    def _update(self, group: dict[str, Any]) -> None:
        if group["momentum"] or group["weight_decay"] or group["maximize"]:
            self._update_with_options(group)
            return
        # NOTE: lr as a 0-d array of each parameter's dtype, rebuilt when lr or the group changes:
        # numpy multiplies by it about 1.5x as fast as by a Python float, with the same result.
        lr, params = group["lr"], group["params"]
        cached = self._lr_arrays.get(id(group))
        if cached is None or cached[0] != lr or len(cached[1]) != len(params):
            cached = self._lr_arrays[id(group)] = (lr, [np.asarray(lr, dtype=p.data.dtype) for p in params])
        for p, lr in zip(params, cached[1]):
            g = p.grad
            if g is not None:
                data = p.data
                data -= lr * g.data

    def _update_with_options(self, group: dict[str, Any]) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            g = p.grad.data
            if maximize:
                g = -g
            if wd:
                g = g + wd * p.data
            if momentum:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = g.copy()
                else:
                    buf *= momentum
                    buf += (1 - dampening) * g
                g = g + momentum * buf if nesterov else buf
            data = p.data
            data -= lr * g


class Adam(Optimizer):
    """Adam, as torch.optim.Adam: running averages of g and g**2, corrected for their zero start.

    For each parameter, at its t-th step (parameters whose grad is None are skipped, and their t
    does not advance):
        g <- g + weight_decay * p                      (if weight_decay; L2, not AdamW's decoupled decay)
        m <- beta1 * m + (1 - beta1) * g               (torch's lerp)
        v <- beta2 * v + (1 - beta2) * g**2
        v_max <- max(v_max, v), used for v              (if amsgrad)
        p <- p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Args:
        params: the Tensors to update, e.g. `model.parameters()`, or a list of param-group dicts.
        lr: learning rate, >= 0.
        betas: decay rates (beta1, beta2) of the two averages, each in [0, 1).
        eps: added to the denominator so it is never 0, >= 0.
        weight_decay: L2 penalty added to the gradient, >= 0.
        amsgrad: divide by the largest v so far instead of the current one.
        maximize: step up the gradient instead of down.

    Raises:
        ValueError: a value out of range, or bad params (see `Optimizer`).

    Example:
        >>> opt = Adam(model.parameters(), lr=0.01)
        >>> loss_fn(model(X), Y).backward()
        >>> opt.step(); opt.zero_grad()
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _check(self, group: dict[str, Any]) -> None:
        super()._check(group)
        for i, beta in enumerate(group["betas"]):
            _check(0 <= beta < 1, f"betas[{i}] must be in [0, 1), got {beta!r}")
        eps = group["eps"]
        _check(eps >= 0 and math.isfinite(eps), f"eps must be a finite number >= 0, got {eps!r}")

    def _update(self, group: dict[str, Any]) -> None:
        lr, eps, wd, amsgrad = group["lr"], group["eps"], group["weight_decay"], group["amsgrad"]
        beta1, beta2 = group["betas"]
        for p in group["params"]:
            if p.grad is None:
                continue
            g = p.grad.data
            if group["maximize"]:
                g = -g
            if wd:
                g = g + wd * p.data
            state = self.state[p]
            if not state:
                state.update(step=0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))
                if amsgrad:
                    state["max_exp_avg_sq"] = np.zeros_like(p.data)
            state["step"] = t = state["step"] + 1
            m, v = state["exp_avg"], state["exp_avg_sq"]
            _lerp(m, g, 1 - beta1)
            v *= beta2
            v += (1 - beta2) * g * g
            if amsgrad:
                np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                v = state["max_exp_avg_sq"]
            denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
            data = p.data
            data -= (lr / (1 - beta1**t)) * m / denom


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """start <- start + weight * (end - start), in place, with torch's two forms for small and large weights."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def _cast_like(p: Tensor, where: str, value: Any) -> Any:
    """A saved buffer as a fresh array of p's dtype (numbers such as `step` are kept as they are)."""
    if isinstance(value, (int, float)) or value is None:
        return value
    array = np.array(value.data if isinstance(value, Tensor) else value, dtype=p.data.dtype)
    if array.shape != p.shape:
        raise ValueError(f"loaded optimizer {where} has shape {array.shape}, its parameter {p.shape}")
    return array


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
