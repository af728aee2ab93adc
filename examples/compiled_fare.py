"""The fare network of titanic_fare.py, trained through minigrad.compile: the program it generates, then the losses.

The training step is written as for eager minigrad (zero_grad, forward, MSE loss, backward, optimizer
step). `minigrad.compile` traces its first call and writes the whole step as straight-line numpy: the
forward pass, the backward pass that exercise 6.4 derives by hand (`dL_dW1 = X.T @ dL_dZ1`), and the
update, in the graph's own names. This script prints that program and trains with it; with the same
seed and batches, the losses are titanic_fare.py's.

Run it with ``python examples/compiled_fare.py [--epochs N] [--optimizer sgd|adam] [--save step.py]``;
--save writes the program as a module that trains with numpy alone.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

import minigrad
from minigrad import from_numpy, manual_seed, nn, no_grad
from minigrad.datasets import FareData, load_fare, minibatches
from titanic_fare import BATCH_SIZE, EPOCHS, LR, OPTIMIZER, SEED, Run, build_model, make_optimizer


def train(epochs: int = EPOCHS, lr: float = LR, batch_size: int = BATCH_SIZE, optimizer: str = OPTIMIZER,
          seed: int = SEED, data: FareData | None = None, log: Callable[[str], Any] = print,
          on_trace: Callable[[minigrad.compiler.CompiledStep], Any] | None = None) -> Run:
    """titanic_fare.train with the step compiled; `on_trace` sees the compiled step after its first call."""
    data = load_fare() if data is None else data
    manual_seed(seed)
    model = build_model(data.X_train.dtype)
    opt = make_optimizer(optimizer, model, lr)
    loss_fn = nn.MSELoss()

    def step(X: np.ndarray, Y: np.ndarray) -> minigrad.Tensor:
        opt.zero_grad()
        loss = loss_fn(model(from_numpy(X)), Y)
        loss.backward()
        opt.step()
        return loss

    fast_step = minigrad.compile(step)
    X, Y = data.X_train, data.y_train
    rng = np.random.default_rng(seed)
    run = Run(model, data)
    for epoch in range(1, epochs + 1):
        batch_losses = []
        for idx in minibatches(len(X), batch_size, rng):
            batch_losses.append(float(fast_step(X[idx], Y[idx])))
            if on_trace is not None and epoch == 1 and len(batch_losses) == 1:
                on_trace(fast_step)
        with no_grad():
            test_loss = loss_fn(model(from_numpy(data.X_test)), data.y_test).item()
        run.history.append((epoch, float(np.mean(batch_losses)), test_loss))
        log(f"epoch {epoch:2d}  train loss {run.history[-1][1]:.4f}  test loss {test_loss:.4f}")
    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Print the generated program, train with it, and optionally save it."""
    parser = argparse.ArgumentParser(prog="compiled_fare.py", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"passes over the training set (default {EPOCHS})")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default=OPTIMIZER,
                        help=f"plain SGD as in the exercise, or Adam (default {OPTIMIZER})")
    parser.add_argument("--save", type=Path, metavar="PATH", help="write the program as a numpy-only module")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")

    def show(fast_step: minigrad.compiler.CompiledStep) -> None:
        print(f"# traced in {fast_step.trace_seconds * 1e3:.1f} ms")
        print(fast_step.source)
        if args.save:
            print(f"# wrote {fast_step.save(args.save)}\n")

    train(args.epochs, optimizer=args.optimizer, on_trace=show)
    return 0


if __name__ == "__main__":
    sys.exit(main())
