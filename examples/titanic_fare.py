"""Train the exercise-sheet network with minigrad: predict a Titanic passenger's fare.

The net is 3 -> 4 (ReLU) -> 1 with an MSE loss, built from `minigrad.nn` and trained with
`minigrad.optim`; backward() derives every gradient that `numpy_network.py` writes out by hand.
With the defaults (10 epochs of SGD, lr 0.05, batches of 32, seed 0) the numbers match that plain
numpy version, since both draw the same initial weights and the same batches.

    python examples/titanic_fare.py [--epochs N] [--lr LR] [--batch-size B]
                                    [--optimizer sgd|adam] [--seed S] [--out DIR]

It prints one line per epoch, the test RMSE in pounds beside the predict-the-mean baseline and a
few test passengers, and writes loss.csv (epoch, train_loss, test_loss), network.svg,
computation_graph.svg, backprop.md (the backward pass explained), backward.html (the backward
pass of one_pass.py's three passengers, step by step in a browser) and solution.pdf (exercise
sheet 6 solved, with its editable Typst source solution.typ, see solution.py) into --out.
"""
from __future__ import annotations

import argparse
import csv
import math
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from minigrad import from_numpy, manual_seed, nn, no_grad, optim
from minigrad.datasets import FareData, load_fare, minibatches
from minigrad.see.explain import explain_backward
from minigrad.see.scheme import draw_network
from minigrad.see.draw import RendererNotFoundError, save_svg
from one_pass import write_backward_page
from solution import SolutionUnavailable, full_loss, write_solution

EPOCHS = 10
LR = 0.05
BATCH_SIZE = 32
OPTIMIZER = "sgd"
SEED = 0
OUT = "out"
N_EXAMPLES = 5


def build_model(dtype: Any = np.float32) -> nn.Sequential:
    """The exercise's network: Z1 = X @ W1 + b1, H = relu(Z1), Yhat = H @ W2 + b2."""
    return nn.Sequential(nn.Linear(3, 4, dtype=dtype), nn.ReLU(), nn.Linear(4, 1, dtype=dtype))


def make_optimizer(name: str, model: nn.Module, lr: float) -> optim.Optimizer:
    """'sgd' (plain gradient descent, as in the exercise) or 'adam'."""
    if name == "sgd":
        return optim.SGD(model.parameters(), lr=lr)
    if name == "adam":
        return optim.Adam(model.parameters(), lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; choose 'sgd' or 'adam'")


@dataclass
class Run:
    """What `train` returns: the trained model, its data and one (epoch, train, test) loss row per epoch."""

    model: nn.Module
    data: FareData
    history: list[tuple[int, float, float]] = field(default_factory=list)


def train(
    epochs: int = EPOCHS,
    lr: float = LR,
    batch_size: int = BATCH_SIZE,
    optimizer: str = OPTIMIZER,
    seed: int = SEED,
    model: nn.Module | None = None,
    data: FareData | None = None,
    log: Callable[[str], Any] = print,
    loss_fn: nn.Module | None = None,
) -> Run:
    """Train on the fare split; the train loss of an epoch is the mean of its batch losses.

    `seed` fixes the initial weights (through `manual_seed`) and the batch order; the train/test
    split is always `load_fare()`'s. Pass `model`, `data` or `loss_fn` (MSELoss by default) to
    train something else on the same loop (the tests pass float64 copies, titanic_survival.py
    its classifier).
    """
    data = load_fare() if data is None else data
    if model is None:
        manual_seed(seed)
        model = build_model(data.X_train.dtype)
    opt = make_optimizer(optimizer, model, lr)
    loss_fn = nn.MSELoss() if loss_fn is None else loss_fn
    X, Y = data.X_train, data.y_train
    rng = np.random.default_rng(seed)
    run = Run(model, data)
    for epoch in range(1, epochs + 1):
        batch_losses = []
        for idx in minibatches(len(X), batch_size, rng):
            loss = loss_fn(model(from_numpy(X[idx])), Y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            batch_losses.append(loss.item())
        with no_grad():
            test_loss = loss_fn(model(from_numpy(data.X_test)), data.y_test).item()
        run.history.append((epoch, float(np.mean(batch_losses)), test_loss))
        log(f"epoch {epoch:2d}  train loss {run.history[-1][1]:.4f}  test loss {test_loss:.4f}")
    return run


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    """Root mean squared error between two arrays of the same shape."""
    return float(np.sqrt(np.mean((a - b) ** 2)))


def report(model: nn.Module, data: FareData, log: Callable[[str], Any] = print) -> float:
    """Print the test RMSE in pounds beside the mean baseline, then a few test passengers; return the RMSE."""
    with no_grad():
        pred = data.to_pounds(model(from_numpy(data.X_test)).data)  # (n_test, 1) pounds
    error = rmse(pred, data.raw_y_test)
    baseline = rmse(np.full_like(data.raw_y_test, data.y_mean), data.raw_y_test)
    log(f"test RMSE {error:.2f} pounds (predicting the training mean: {baseline:.2f} pounds)")
    log("")
    log(f"{'test passenger':<34} {'class':>5} {'age':>5} {'survived':>8} {'fare':>8} {'predicted':>9}")
    for i in range(min(N_EXAMPLES, len(pred))):
        pclass, age, survived = data.raw_X_test[i]
        log(
            f"{str(data.names_test[i])[:34]:<34} {pclass:>5.0f} {age:>5.1f} {'yes' if survived else 'no':>8} "
            f"{data.raw_y_test[i, 0]:>8.2f} {pred[i, 0]:>9.2f}"
        )
    return error


def write_loss_csv(history: Sequence[tuple[int, float, float]], path: Path) -> None:
    """One row per epoch: epoch, train_loss, test_loss (full float precision)."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", "train_loss", "test_loss"])
        writer.writerows(history)


def write_figures(model: nn.Module, data: FareData, out_dir: Path) -> list[Path]:
    """Write exercises 6.1-6.3 into out_dir and return the files written.

    network.svg is the network scheme (6.1), computation_graph.svg the recorded graph of the loss
    on the whole training split with every shape (6.2), backprop.md the chain rule behind each
    gradient (6.3), derived from that same graph. Without Graphviz the SVGs are skipped with a
    message naming the fix, and the explanation is still written.
    """
    loss = full_loss(model, data)
    model.zero_grad()
    loss.backward(retain_graph=True)  # keep the graph: it is drawn and explained below
    written = [explain_backward(loss, params=model).save_markdown(out_dir / "backprop.md")]
    scheme = draw_network(model, data.feature_names, "fare, standardised", len(data.X_train),
                          input_note="standardised")
    try:
        written.append(save_svg(scheme, out_dir / "network.svg"))
        written.append(save_svg(loss, out_dir / "computation_graph.svg", params=model, paths=True,
                                show_grads=False, edge_labels=False))
    except RendererNotFoundError as err:
        print(str(err).splitlines()[0], file=sys.stderr)
    model.zero_grad()
    return written


class _UsageError(Exception):
    """A bad command line, reported as one line on stderr."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


def _parser(prog: str = "titanic_fare.py",
            description: str = "Train the 3 -> 4 (ReLU) -> 1 fare network of exercise sheet 6 with minigrad.",
            ) -> _Parser:
    parser = _Parser(prog=prog, description=description)
    add = parser.add_argument
    add("--epochs", type=int, default=EPOCHS, help=f"passes over the training set (default {EPOCHS})")
    add("--lr", type=float, default=LR, help=f"learning rate (default {LR})")
    add("--batch-size", type=int, default=BATCH_SIZE, help=f"rows per step (default {BATCH_SIZE})")
    add("--optimizer", choices=("sgd", "adam"), default=OPTIMIZER,
        help=f"plain SGD as in the exercise, or Adam (default {OPTIMIZER})")
    add("--seed", type=int, default=SEED, help=f"initial weights and batch order (default {SEED})")
    add("--out", type=Path, default=Path(OUT), help=f"directory for the loss CSV and figures (default {OUT}/)")
    return parser


def _check_args(args: argparse.Namespace) -> None:
    """Reject bad values before any work, including an --out directory that cannot be written."""
    if args.epochs < 1:
        raise _UsageError(f"--epochs must be at least 1, got {args.epochs}")
    if not (args.lr > 0 and math.isfinite(args.lr)):
        raise _UsageError(f"--lr must be a finite number > 0, got {args.lr}")
    if args.batch_size < 1:
        raise _UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.seed < 0:
        raise _UsageError(f"--seed must be >= 0, got {args.seed}")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=args.out):
            pass
    except OSError as err:
        raise _UsageError(f"--out {args.out} is not a writable directory ({err.strerror or err})") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, train, report and write the outputs; return the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        _check_args(args)
    except _UsageError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    data = load_fare()
    if data.dropped_rows:
        print(f"dropped {data.dropped_rows} passenger(s) without a fare: {'; '.join(data.dropped_names)}")
    print(
        f"{len(data.X_train)} train / {len(data.X_test)} test passengers, features {', '.join(data.feature_names)}; "
        f"{args.optimizer} lr {args.lr}, batch size {args.batch_size}, seed {args.seed}"
    )
    run = train(args.epochs, args.lr, args.batch_size, args.optimizer, args.seed, data=data)
    print()
    report(run.model, data)
    print()
    csv_path = args.out / "loss.csv"
    write_loss_csv(run.history, csv_path)
    print(f"wrote {csv_path}")
    for path in write_figures(run.model, data, args.out):
        print(f"wrote {path}")
    print(f"wrote {write_backward_page(args.out / 'backward.html')}")
    try:
        for path in write_solution(run.model, data, run.history, vars(args), args.out):
            print(f"wrote {path}")
    except SolutionUnavailable as err:
        print(err, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
