"""The benchmark workloads, written once per implementation: minigrad, numpy-hand, numpy-fused, compiled and PyTorch eager.

numpy-hand is the baseline the targets use: the recorded graph's math op for op, written plainly
by hand with no graph, as examples/numpy_network.py writes it. numpy-fused is a tighter hand
version (in-place ops, a fused np.vdot loss) that no graph engine can match, kept for information
and as the bar for compiled, which is minigrad's step run through minigrad.compile; these two have MLP
workloads only, so CHAIN_BUILDERS has no entry for them.

Every MLP builder takes the same float32 initial weights (one (W, b) pair per layer, W stored
(in, out) as minigrad's nn.Linear does) and returns a step function `step(x, y) -> loss` that runs
one forward, backward and SGD update on numpy arrays x, y. `step_runner` and `epoch_runner` turn a
step function into the zero-argument callables the timer calls. HVP_BUILDERS time a Hessian-vector
product of the wide MLP's loss by double backward, minigrad against torch. minigrad and torch are imported
only inside their builders, so a process that benchmarks numpy alone never loads them (this
keeps the W5 RSS numbers of each implementation clean).
"""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from minigrad.datasets import load_fare, minibatches

IMPLS = ("minigrad", "numpy-hand", "numpy-fused", "compiled", "torch")
DTYPE = np.float32
TITANIC_SIZES = (3, 4, 1)
TITANIC_LR = 0.05
TITANIC_BATCH = 32
WIDE_SIZES = (784, 512, 512, 10)
WIDE_BATCH = 128
WIDE_LR = 0.1
CHAIN_FACTOR = 1.0001
CHAIN_WIDTH = 16
SEED = 0

Weights = list[tuple[np.ndarray, np.ndarray]]
StepFn = Callable[[np.ndarray, np.ndarray], Any]
Runner = Callable[[], Any]


# ---------------------------------------------------------------- data and weights


@dataclass(frozen=True)
class Problem:
    """A network shape, its initial weights, its learning rate and its training data."""

    sizes: tuple[int, ...]
    weights: Weights
    lr: float
    x: np.ndarray
    y: np.ndarray


def init_weights(sizes: tuple[int, ...], seed: int = SEED) -> Weights:
    """float32 weights drawn as torch.nn.Linear draws them: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    rng = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(DTYPE)
        b = rng.uniform(-bound, bound, size=(fan_out,)).astype(DTYPE)
        weights.append((w, b))
    return weights


def titanic_problem() -> Problem:
    """The Titanic fare net (3 -> 4 ReLU -> 1) on the float32 training split of load_fare()."""
    data = load_fare(seed=SEED, dtype=DTYPE)
    return Problem(TITANIC_SIZES, init_weights(TITANIC_SIZES), TITANIC_LR, data.X_train, data.y_train)


def wide_problem() -> Problem:
    """The wide MLP (784 -> 512 ReLU -> 512 ReLU -> 10) on one seeded random batch of 128."""
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((WIDE_BATCH, WIDE_SIZES[0]), dtype=DTYPE)
    y = rng.standard_normal((WIDE_BATCH, WIDE_SIZES[-1]), dtype=DTYPE)
    return Problem(WIDE_SIZES, init_weights(WIDE_SIZES), WIDE_LR, x, y)


def titanic_batches(problem: Problem, seed: int = SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """One shuffled epoch of minibatches of 32, already sliced, as (x, y) pairs."""
    idx = minibatches(len(problem.x), TITANIC_BATCH, np.random.default_rng(seed))
    return [(problem.x[i], problem.y[i]) for i in idx]


# ---------------------------------------------------------------- MLP training steps


def minigrad_mlp(weights: Weights, lr: float) -> StepFn:
    """What a minigrad user writes: nn.Sequential, nn.MSELoss, optim.SGD, from_numpy inputs."""
    from minigrad import from_numpy, nn, optim

    layers: list[Any] = []
    for w, b in weights:
        linear = nn.Linear(w.shape[0], w.shape[1])
        _load(linear.weight.data, w, "weight")
        _load(linear.bias.data, b, "bias")
        layers += [linear, nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    loss_fn = nn.MSELoss()
    opt = optim.SGD(model.parameters(), lr=lr)

    def step(x: np.ndarray, y: np.ndarray) -> Any:
        opt.zero_grad()
        loss = loss_fn(model(from_numpy(x)), from_numpy(y))
        loss.backward()
        opt.step()
        return loss

    return step


def _load(target: np.ndarray, source: np.ndarray, what: str) -> None:
    """Copy initial values into a minigrad parameter's array in place, refusing a layout mismatch."""
    if target.shape != source.shape:
        raise ValueError(f"minigrad nn.Linear {what} has shape {target.shape}, the benchmark expects {source.shape}")
    np.copyto(target, source)


def numpy_mlp(weights: Weights, lr: float) -> StepFn:
    """The recorded graph's math by hand, as examples/numpy_network.py writes it, for any number of layers."""
    params = [(w.copy(), b.copy()) for w, b in weights]
    last = len(params) - 1

    def step(X: np.ndarray, Y: np.ndarray) -> Any:
        Hs, Zs = [], []
        H = X
        for i, (W, b) in enumerate(params):
            Hs.append(H)
            Z = H @ W + b
            Zs.append(Z)
            if i < last:
                H = np.maximum(Z, 0)
        Yhat = Z
        D = Yhat - Y
        loss = np.mean(D ** 2)
        dYhat = 2 * D / Yhat.size
        grads = []
        dZ = dYhat
        for i in range(last, -1, -1):
            W, _ = params[i]
            dW = Hs[i].T @ dZ
            db = dZ.sum(axis=0)
            grads.append((dW, db))
            if i:
                dH = dZ @ W.T
                dZ = dH * (Zs[i - 1] > 0)
        for (W, b), (dW, db) in zip(params, reversed(grads)):
            W -= lr * dW
            b -= lr * db
        return loss

    return step


def numpy_fused_mlp(weights: Weights, lr: float) -> StepFn:
    """numpy-hand tightened: in-place bias add, ReLU and gradient scaling, loss fused with np.vdot."""
    params = [(w.copy(), b.copy()) for w, b in weights]
    last = len(params) - 1

    def step(x: np.ndarray, y: np.ndarray) -> Any:
        inputs = []
        h = x
        for i, (w, b) in enumerate(params):
            inputs.append(h)
            h = h @ w
            h += b
            if i < last:
                np.maximum(h, 0, out=h)
        g = h - y
        loss = np.vdot(g, g) / g.size
        g *= 2.0 / g.size
        for i in range(last, -1, -1):
            w, b = params[i]
            h = inputs[i]
            grad_w = h.T @ g
            grad_b = g.sum(axis=0)
            if i:
                g = g @ w.T
                g *= h > 0
            w -= lr * grad_w
            b -= lr * grad_b
        return loss

    return step


def compiled_mlp(weights: Weights, lr: float) -> StepFn:
    """minigrad's step, exactly as `minigrad_mlp` writes it, run through minigrad.compile."""
    import minigrad

    return minigrad.compile(minigrad_mlp(weights, lr))


def torch_mlp(weights: Weights, lr: float) -> StepFn:
    """The same network in PyTorch eager: torch.nn.Sequential, MSELoss, torch.optim.SGD."""
    import torch

    layers: list[Any] = []
    for w, b in weights:
        linear = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T.copy()))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    loss_fn = torch.nn.MSELoss()
    opt = torch.optim.SGD(model.parameters(), lr=lr)

    def step(x: np.ndarray, y: np.ndarray) -> Any:
        opt.zero_grad()
        loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        opt.step()
        return loss

    return step


MLP_BUILDERS: dict[str, Callable[[Weights, float], StepFn]] = {
    "minigrad": minigrad_mlp,
    "numpy-hand": numpy_mlp,
    "numpy-fused": numpy_fused_mlp,
    "compiled": compiled_mlp,
    "torch": torch_mlp,
}


def step_runner(step: StepFn, batches: list[tuple[np.ndarray, np.ndarray]]) -> Runner:
    """A callable that runs one training step per call, cycling through `batches`.

    It keeps each step's loss until the next step, as a user's `loss = step(...)` loop does, so a
    loss that holds on to its graph costs what it costs in a real loop.
    """
    cycle = itertools.cycle(batches)
    kept: list[Any] = [None]

    def run() -> Any:
        kept[0] = step(*next(cycle))
        return kept[0]

    return run


def epoch_runner(step: StepFn, x: np.ndarray, y: np.ndarray, seed: int = SEED) -> Runner:
    """A callable that runs one epoch of minibatches of 32 per call, slicing included."""
    rng = np.random.default_rng(seed)

    def run() -> Any:
        loss = None
        for idx in minibatches(len(x), TITANIC_BATCH, rng):
            loss = step(x[idx], y[idx])
        return loss

    return run


# ---------------------------------------------------------------- W4: a long elementwise chain


def minigrad_chain(n: int) -> Runner:
    """y = x * 1.0001, n times, on a 16-vector, then y.sum().backward(); returns x.grad."""
    from minigrad import Tensor

    start = np.full(CHAIN_WIDTH, 0.5, dtype=DTYPE)

    def run() -> np.ndarray:
        x = Tensor(start, requires_grad=True)
        y = x
        for _ in range(n):
            y = y * CHAIN_FACTOR
        y.sum().backward()
        return x.grad

    return run


def numpy_chain(n: int) -> Runner:
    """The chain by hand: a forward loop keeping every intermediate, then a backward loop."""
    start = np.full(CHAIN_WIDTH, 0.5, dtype=DTYPE)

    def run() -> np.ndarray:
        saved = []
        y = start
        for _ in range(n):
            saved.append(y)
            y = y * CHAIN_FACTOR
        y.sum()
        g = np.ones_like(y)
        for _ in reversed(saved):
            g = g * CHAIN_FACTOR
        return g

    return run


def torch_chain(n: int) -> Runner:
    """The chain in PyTorch eager; returns x.grad as an ndarray."""
    import torch

    start = np.full(CHAIN_WIDTH, 0.5, dtype=DTYPE)

    def run() -> np.ndarray:
        x = torch.tensor(start, requires_grad=True)
        y = x
        for _ in range(n):
            y = y * CHAIN_FACTOR
        y.sum().backward()
        return x.grad.numpy()

    return run


CHAIN_BUILDERS: dict[str, Callable[[int], Runner]] = {
    "minigrad": minigrad_chain,
    "numpy-hand": numpy_chain,
    "torch": torch_chain,
}


# ---------------------------------------------------------------- HVP: a Hessian-vector product of the wide MLP


def hvp_directions(problem: Problem, seed: int = SEED) -> Weights:
    """One seeded float32 direction (v_W, v_b) per layer, the vector the Hessian multiplies."""
    rng = np.random.default_rng(seed + 1)
    return [(rng.standard_normal(w.shape, dtype=DTYPE), rng.standard_normal(b.shape, dtype=DTYPE))
            for w, b in problem.weights]


def _mlp_mse(x: Any, params: list[Any], y: Any) -> Any:
    """The MLP's MSE loss, params as [W1, b1, W2, b2, ...]; the same code for minigrad and torch tensors."""
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i + 2 < len(params):
            h = h.relu()
    return (h - y).square().mean()


def minigrad_hvp(problem: Problem) -> Runner:
    """H·v of the MSE loss in all parameters, by double backward: grad of (∂L/∂θ · v), create_graph=True."""
    from minigrad import Tensor, autograd, from_numpy

    params = [Tensor(a, requires_grad=True) for pair in problem.weights for a in pair]
    vs = [from_numpy(a) for pair in hvp_directions(problem) for a in pair]
    x, y = from_numpy(problem.x), from_numpy(problem.y)

    def run() -> list[np.ndarray]:
        loss = _mlp_mse(x, params, y)
        grads = autograd.grad(loss, params, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(grads, vs))
        return [hv.data for hv in autograd.grad(dot, params)]

    return run


def torch_hvp(problem: Problem) -> Runner:
    """The same H·v in PyTorch eager, by the same double backward (torch.autograd.grad twice)."""
    import torch

    params = [torch.tensor(a, requires_grad=True) for pair in problem.weights for a in pair]
    vs = [torch.from_numpy(a) for pair in hvp_directions(problem) for a in pair]
    x, y = torch.from_numpy(problem.x), torch.from_numpy(problem.y)

    def run() -> list[np.ndarray]:
        loss = _mlp_mse(x, params, y)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(grads, vs))
        return [hv.numpy() for hv in torch.autograd.grad(dot, params)]

    return run


HVP_BUILDERS: dict[str, Callable[[Problem], Runner]] = {"minigrad": minigrad_hvp, "torch": torch_hvp}


# ---------------------------------------------------------------- environment


def torch_available() -> bool:
    """True when PyTorch can be imported."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def numpy_blas() -> dict[str, Any] | None:
    """numpy's BLAS as threadpoolctl sees it (internal_api, architecture, num_threads, version), or None."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    blas = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    numpy_own = [info for info in blas if "numpy" in info.get("filepath", "")]
    return (numpy_own or blas or [None])[0]


def numpy_threads() -> int:
    """numpy's BLAS thread count (threadpoolctl), else os.cpu_count()."""
    blas = numpy_blas()
    if blas is not None:
        return int(blas["num_threads"])
    return os.cpu_count() or 1


def match_torch_threads(threads: int | None = None) -> int:
    """Set PyTorch's intra-op threads (default: numpy's BLAS thread count) and return the count."""
    import torch

    threads = threads or numpy_threads()
    torch.set_num_threads(threads)
    return threads
