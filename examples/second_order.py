"""Second-order gradients on the fare net: Hessians, curvature, and one Newton step.

The fare net (3 -> 4 ReLU -> 1, MSE) is trained for a few SGD epochs; then, at its weights:
- the Hessian of the loss with respect to W2 equals (2/N)·HᵀH exactly (the output layer is linear);
- the full 21×21 Hessian of all parameters, its eigenvalues and condition number;
- one Newton step on the output layer (W2, b2) against SGD steps;
- the graph of dL/dW1 that backward records with create_graph=True, beside the forward graph of L:
  forward_and_backward.svg (one picture), forward_graph.svg and backward_graph.svg (the pair) in --out.

    python examples/second_order.py [--out DIR]      (default examples/figures/)
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from minigrad import Tensor, autograd
from minigrad.autograd import functional
from minigrad.datasets import load_fare
from minigrad.see import RendererNotFoundError, draw_forward_and_backward, save_svg

NAMES = ("W1", "b1", "W2", "b2")
FIGURES = Path(__file__).resolve().parent / "figures"


def fare_loss(X: np.ndarray, Y: np.ndarray):
    """L(W1, b1, W2, b2) = mean((relu(X W1 + b1) W2 + b2 − Y)²), as a function of the parameters."""
    X, Y = Tensor(X, dtype=np.float64), Tensor(Y, dtype=np.float64)

    def loss(W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
        return ((X @ W1 + b1).relu() @ W2 + b2 - Y).square().mean()

    return loss


def trained_parameters(X: np.ndarray, Y: np.ndarray, epochs: int = 200, lr: float = 0.05) -> list[np.ndarray]:
    """Full-batch gradient descent from seeded weights, so the Hessian is taken near a minimum."""
    rng = np.random.default_rng(0)
    params = [rng.uniform(-0.5, 0.5, s) for s in ((3, 4), (4,), (4, 1), (1,))]
    loss = fare_loss(X, Y)
    for _ in range(epochs):
        ts = [Tensor(p, requires_grad=True) for p in params]
        loss(*ts).backward()
        params = [p - lr * t.grad.data for p, t in zip(params, ts)]
    return params


def full_hessian(loss, params: list[np.ndarray]) -> np.ndarray:
    """The 21×21 Hessian of all parameters, blocks [i][j] flattened and joined."""
    blocks = functional.hessian(loss, tuple(Tensor(p) for p in params))
    sizes = [p.size for p in params]
    return np.block([[blocks[i][j].data.reshape(sizes[i], sizes[j]) for j in range(4)] for i in range(4)])


def write_graphs(X: np.ndarray, Y: np.ndarray, params: list[np.ndarray], out_dir: Path) -> list[Path]:
    """The forward graph of L and the graph of dL/dW1 that backward recorded, as one SVG and as a pair."""
    W1, b1, W2, b2 = (Tensor(p, requires_grad=True) for p in params)
    L = fare_loss(X, Y)(W1, b1, W2, b2)
    (dW1,) = autograd.grad(L, W1, create_graph=True)
    forward, backward = draw_forward_and_backward(L, W1, dW1, side_by_side=False)
    return [save_svg(draw_forward_and_backward(L, W1, dW1), out_dir / "forward_and_backward.svg"),
            save_svg(forward, out_dir / "forward_graph.svg"), save_svg(backward, out_dir / "backward_graph.svg")]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FIGURES, help="directory for the SVGs (default examples/figures/)")
    args = parser.parse_args(argv)
    data = load_fare()
    X, Y = data.X_train.astype(np.float64), data.y_train.astype(np.float64)
    params = trained_parameters(X, Y)
    loss = fare_loss(X, Y)
    W1, b1, W2, b2 = params
    H = np.maximum(X @ W1 + b1, 0)
    n = len(X)
    hess_w2 = functional.hessian(lambda w: loss(Tensor(W1), Tensor(b1), w, Tensor(b2)), Tensor(W2)).data.reshape(4, 4)
    print("Hessian of L wrt W2 (autograd):\n", np.round(hess_w2, 6))
    print("(2/N)·HᵀH:\n", np.round(2 / n * H.T @ H, 6))
    print("max |difference|:", np.abs(hess_w2 - 2 / n * H.T @ H).max())

    full = full_hessian(loss, params)
    eig = np.linalg.eigvalsh(full)
    print(f"full Hessian {full.shape}, symmetric to {np.abs(full - full.T).max():.1e}")
    print("eigenvalues:", np.array2string(eig, precision=4))
    positive = eig[eig > 1e-12]
    print(f"condition number (largest / smallest positive eigenvalue): {positive[-1] / positive[0]:.3g}")

    # Newton on the output layer: the loss is quadratic in (W2, b2), so one step reaches its minimum.
    A = np.hstack([H, np.ones((n, 1))])
    theta = np.vstack([W2, b2[:, None]])
    grad = 2 / n * A.T @ (A @ theta - Y)
    newton = theta - np.linalg.solve(2 / n * A.T @ A, grad)
    value = lambda th: float(np.mean((A @ th - Y) ** 2))
    print(f"loss now {value(theta):.6f}; after one Newton step on (W2, b2) {value(newton):.6f}")
    sgd = theta
    for steps in (1, 10, 100):
        while steps:
            sgd = sgd - 0.05 * 2 / n * A.T @ (A @ sgd - Y)
            steps -= 1
        print(f"  SGD (lr 0.05), cumulative steps: loss {value(sgd):.6f}")
    try:
        for path in write_graphs(X, Y, params, args.out):
            print(f"wrote {os.path.relpath(path)}")
    except RendererNotFoundError as err:
        print(str(err).splitlines()[0], file=sys.stderr)


if __name__ == "__main__":
    main()
