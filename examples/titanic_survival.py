"""The same passengers, a classification loss: predict whether a Titanic passenger survived.

The net is 4 -> 4 (ReLU) -> 1 on (pclass, female, age, fare), trained like the fare net of
`titanic_fare.py` (same split, batches and defaults), but its output is a score (a logit) and the
loss is `nn.BCEWithLogitsLoss`: binary cross-entropy of sigmoid(score) against survived (0 or 1),
computed from the score so that exp never overflows. The predicted probability of survival is
sigmoid(score), and a passenger is predicted to survive when it is above 1/2.

    python examples/titanic_survival.py [--epochs N] [--lr LR] [--batch-size B]
                                        [--optimizer sgd|adam] [--seed S] [--out DIR]

It prints one line per epoch, the test accuracy beside the majority-class baseline (everyone dies)
and a few test passengers, and writes survival_loss.csv, survival_graph.svg (the recorded graph of
the loss with every shape) and survival_backprop.md (the backward pass explained) into --out.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from minigrad import from_numpy, manual_seed, nn, no_grad
from minigrad.datasets import SurvivalData, load_survival
from minigrad.see.draw import RendererNotFoundError, save_svg
from minigrad.see.explain import explain_backward
from titanic_fare import BATCH_SIZE, EPOCHS, LR, OPTIMIZER, SEED, Run, _check_args, _parser, _UsageError
from titanic_fare import train as train_loop
from titanic_fare import write_loss_csv

N_EXAMPLES = 5


def build_model(dtype: Any = np.float32) -> nn.Sequential:
    """Z1 = X @ W1 + b1, H = relu(Z1), Yhat = H @ W2 + b2: one survival score (a logit) per passenger."""
    return nn.Sequential(nn.Linear(4, 4, dtype=dtype), nn.ReLU(), nn.Linear(4, 1, dtype=dtype))


def train(
    epochs: int = EPOCHS,
    lr: float = LR,
    batch_size: int = BATCH_SIZE,
    optimizer: str = OPTIMIZER,
    seed: int = SEED,
    data: SurvivalData | None = None,
    log: Callable[[str], Any] = print,
) -> Run:
    """Train on the survival split with BCEWithLogitsLoss, in titanic_fare.py's loop (same batches, same log)."""
    data = load_survival() if data is None else data
    manual_seed(seed)
    model = build_model(data.X_train.dtype)
    return train_loop(epochs, lr, batch_size, optimizer, seed, model=model, data=data, log=log,
                      loss_fn=nn.BCEWithLogitsLoss())


def survival_probability(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """sigmoid(score) for each row of X: the model's probability that the passenger survived, (n, 1)."""
    with no_grad():
        return nn.Sigmoid()(model(from_numpy(X))).data


def report(model: nn.Module, data: SurvivalData, log: Callable[[str], Any] = print) -> tuple[float, float]:
    """Print test accuracy beside the majority-class baseline, then a few test passengers; return both."""
    p = survival_probability(model, data.X_test)
    accuracy = float(np.mean((p > 0.5) == (data.y_test > 0.5)))
    majority = float(data.y_train.mean() > 0.5)  # the training split's more common outcome
    baseline = float(np.mean(data.y_test == majority))
    outcome = "everyone survives" if majority else "everyone dies"
    log(f"test accuracy {accuracy:.1%} (predicting the majority class, {outcome}: {baseline:.1%})")
    log("")
    log(f"{'test passenger':<34} {'class':>5} {'sex':>6} {'age':>5} {'fare':>7} {'survived':>8} {'P(survive)':>10}")
    for i in range(min(N_EXAMPLES, len(p))):
        pclass, female, age, fare = data.raw_X_test[i]
        log(
            f"{str(data.names_test[i])[:34]:<34} {pclass:>5.0f} {'female' if female else 'male':>6} {age:>5.1f} "
            f"{fare:>7.2f} {'yes' if data.y_test[i, 0] else 'no':>8} {p[i, 0]:>10.2f}"
        )
    return accuracy, baseline


def write_figures(model: nn.Module, data: SurvivalData, out_dir: Path) -> list[Path]:
    """Write the loss's graph on the whole training split and its backward pass explained; return the files.

    survival_graph.svg is the recorded graph with every shape, survival_backprop.md the chain rule
    behind each gradient, both from the same graph, as titanic_fare.py writes them for the MSE loss.
    Without Graphviz the SVG is skipped with a message naming the fix.
    """
    X, Y = from_numpy(data.X_train), from_numpy(data.y_train)
    X.name, Y.name = "X", "Y"
    loss = nn.BCEWithLogitsLoss()(model(X), Y)
    loss.name = "L"
    model.zero_grad()
    loss.backward(retain_graph=True)  # keep the graph: it is drawn and explained below
    written = [explain_backward(loss, params=model).save_markdown(out_dir / "survival_backprop.md")]
    try:
        written.append(save_svg(loss, out_dir / "survival_graph.svg", params=model))
    except RendererNotFoundError as err:
        print(str(err).splitlines()[0], file=sys.stderr)
    model.zero_grad()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, train, report and write the outputs; return the exit status."""
    parser = _parser("titanic_survival.py",
                     "Train a 4 -> 4 (ReLU) -> 1 survival classifier on the Titanic passengers with minigrad.")
    try:
        args = parser.parse_args(argv)
        _check_args(args)
    except _UsageError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    data = load_survival()
    print(
        f"{len(data.X_train)} train / {len(data.X_test)} test passengers, features {', '.join(data.feature_names)}; "
        f"{args.optimizer} lr {args.lr}, batch size {args.batch_size}, seed {args.seed}"
    )
    run = train(args.epochs, args.lr, args.batch_size, args.optimizer, args.seed, data=data)
    print()
    report(run.model, data)
    print()
    csv_path = args.out / "survival_loss.csv"
    write_loss_csv(run.history, csv_path)
    print(f"wrote {csv_path}")
    for path in write_figures(run.model, data, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
