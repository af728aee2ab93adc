"""The four graphs the step-through page is tested on, and what the engine itself does on each.

`engine_sweep(root)` runs a plain backward under `observe_backward` with `retain_grad()` on every
intermediate: the order the engine visits nodes in, the gradient each one sent, and afterwards
every tensor's `.grad`, the oracle for the page's numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from helpers import load_example, titanic_net
from minigrad import Tensor, nn
from minigrad.core.engine import observe_backward
from minigrad.see.draw import graph_description
from minigrad.see.explorer import MAX_VALUES
from minigrad.see.graph import inspect_graph

one_pass = load_example("one_pass")
# The chain-rule path from the fare net's loss down to W1, as explain writes it.
W1_PATH = "L ← mean ← square ← sub ← Ŷ ← add ← matmul ← H ← relu ← Z1 ← add ← matmul ← W1"


def fare_net() -> Tensor:
    """The fare net 3 -> 4 (ReLU) -> 1 on the 3-passenger batch of examples/one_pass.py."""
    X, Y, _ = one_pass.passengers()
    return nn.MSELoss()(one_pass.forward(Tensor(X, name="X"), one_pass.start_params())[2], Y)


def fare_full_net() -> Tensor:
    """The fare net on all 1046 training passengers: its big tensors are shown by norm, min, max and mean."""
    return titanic_net()[1]


def reuse_net() -> Tensor:
    """x * x + x: x reaches the loss through three edges, so its gradient is three shares summed."""
    x = Tensor([0.5, -1.0, 2.0], requires_grad=True, dtype=np.float64, name="x")
    return (x * x + x).sum()


def shared_net() -> Tensor:
    """h * h + h with h = tanh(x): an intermediate reused, so three shares arrive summed before its own VJP."""
    h = Tensor([0.3, -0.7], requires_grad=True, dtype=np.float64, name="x").tanh()
    return (h * h + h).sum()


def tanh_net() -> Tensor:
    """Two tanh hidden layers, 3 -> 4 -> 4 -> 1, MSE on 5 rows."""
    rng = np.random.default_rng(14)
    X, Y = Tensor(rng.normal(size=(5, 3))), rng.normal(size=(5, 1))
    sizes = ((3, 4), (4, 4), (4, 1))
    layers = [(Tensor(rng.normal(size=s) / 2, requires_grad=True, dtype=np.float64),
               Tensor(rng.normal(size=s[1:]) / 4, requires_grad=True, dtype=np.float64)) for s in sizes]
    h = X
    for W, b in layers[:-1]:
        h = (h @ W + b).tanh()
    W, b = layers[-1]
    return nn.MSELoss()(h @ W + b, Y)


def chain_net() -> Tensor:
    """100 ops in a line: 99 tanh, then a sum."""
    h = Tensor([0.9, -0.4, 1.5], requires_grad=True, dtype=np.float64, name="x")
    for _ in range(99):
        h = h.tanh()
    return h.sum()


NETS: dict[str, Callable[[], Tensor]] = {
    "fare": fare_net, "fare_full": fare_full_net, "reuse": reuse_net, "shared": shared_net, "tanh": tanh_net,
    "chain": chain_net,
}


def numbers_of(array: np.ndarray) -> list[float]:
    """The numbers the page holds for an array: its values, or (norm, min, max, mean) when it has too many."""
    array = np.asarray(array, dtype=np.float64)
    if array.size <= MAX_VALUES:
        return array.ravel().tolist()
    return [np.linalg.norm(array), array.min(), array.max(), array.mean()]


def held(info: dict) -> list[float]:
    """The numbers of an array as explore recorded it (see `numbers_of`)."""
    if "values" in info:
        return np.ravel(info["values"]).tolist()
    return [info["norm"], info["min"], info["max"], info["mean"]]


@dataclass
class Sweep:
    """What the engine did: node ids in its order, the gradients it sent, and each drawn tensor's `.grad`."""

    ids: list[str]
    sent: list[tuple[np.ndarray | None, ...]]
    grads: dict[str, np.ndarray]
    values: dict[str, np.ndarray]


def engine_sweep(root: Tensor) -> Sweep:
    """Run root.backward() once under observe_backward and collect the oracle (ids as draw.py gives them)."""
    info = inspect_graph(root)
    ids = {t: n.id for t, n in zip(info.order, graph_description(root, broadcasts=False).tensors)}
    for t in info.order:
        if not t.is_leaf:
            t.retain_grad()
    order, sent = [], []

    def seen(node: Tensor, grad_out: np.ndarray, grads_sent: tuple) -> None:
        order.append(ids[node])
        sent.append(tuple(None if g is None else np.array(g) for g in grads_sent))

    with observe_backward(seen):
        root.backward(retain_graph=True)
    grads = {ids[t]: np.asarray(t.grad) for t in info.order if t.grad is not None}
    return Sweep(order, sent, grads, {ids[t]: np.asarray(t.data) for t in info.order})
