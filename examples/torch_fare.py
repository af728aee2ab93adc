"""Exercise 6.5 (bonus): the same fare network as a custom PyTorch module, trained with autograd.

How PyTorch computes gradients: every operation on a tensor that requires grad records a node,
its `grad_fn`, that keeps what the operation's derivative needs, so the forward pass builds a graph
from the parameters to the loss. `loss.backward()` walks this graph from the loss back to the
parameters in reverse topological order. At each node it applies the chain rule, multiplying the
incoming gradient by the node's local derivative (a vector-Jacobian product) and summing where
paths meet. The results are added into each parameter's `.grad`, which the optimizer's `step()`
reads and `zero_grad()` clears before the next batch.

minigrad's `engine.py` runs the same procedure on numpy arrays.

Run it with ``python examples/torch_fare.py`` (needs torch). It trains with the defaults of
titanic_fare.py on the same split and batches; torch draws its own initial weights, so its numbers
differ slightly from minigrad's unless the weights are copied over, as the tests do.
"""
from __future__ import annotations

import sys

import numpy as np
import torch

from minigrad.datasets import FareData, load_fare, minibatches

EPOCHS = 10
LR = 0.05
BATCH_SIZE = 32
SEED = 0


class FareNet(torch.nn.Module):
    """3 -> 4 (ReLU) -> 1. torch.nn.Linear stores its weight as (out, in) and computes x @ W.T + b."""

    def __init__(self, n_in: int = 3, n_hidden: int = 4, n_out: int = 1) -> None:
        super().__init__()
        self.hidden = torch.nn.Linear(n_in, n_hidden)
        self.output = torch.nn.Linear(n_hidden, n_out)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        H = torch.relu(self.hidden(X))  # (N, n_hidden)
        return self.output(H)  # (N, n_out)


def set_weights(model: FareNet, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray) -> None:
    """Copy exercise-sheet weights, stored (in, out) as in X @ W1 + b1, into the (out, in) torch layers."""
    dtype = model.hidden.weight.dtype
    with torch.no_grad():
        model.hidden.weight.copy_(torch.from_numpy(np.asarray(W1).T).to(dtype))
        model.hidden.bias.copy_(torch.from_numpy(np.asarray(b1)).to(dtype))
        model.output.weight.copy_(torch.from_numpy(np.asarray(W2).T).to(dtype))
        model.output.bias.copy_(torch.from_numpy(np.asarray(b2)).to(dtype))


def train(
    model: torch.nn.Module,
    data: FareData,
    epochs: int = EPOCHS,
    lr: float = LR,
    batch_size: int = BATCH_SIZE,
    seed: int = SEED,
) -> list[tuple[float, float]]:
    """Train with SGD on batches from `minibatches(..., np.random.default_rng(seed))`.

    Returns one (mean batch loss, test loss) pair per epoch. The tensors take the model's dtype.
    """
    dtype = next(model.parameters()).dtype
    X, Y = torch.from_numpy(data.X_train).to(dtype), torch.from_numpy(data.y_train).to(dtype)
    X_test, Y_test = torch.from_numpy(data.X_test).to(dtype), torch.from_numpy(data.y_test).to(dtype)
    loss_fn = torch.nn.MSELoss()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(epochs):
        batch_losses = []
        for idx in minibatches(len(X), batch_size, rng):
            i = torch.from_numpy(idx)
            loss = loss_fn(model(X[i]), Y[i])
            opt.zero_grad()
            loss.backward()  # fills p.grad for every parameter
            opt.step()  # p <- p - lr * p.grad
            batch_losses.append(loss.item())
        with torch.no_grad():
            test_loss = loss_fn(model(X_test), Y_test).item()
        history.append((float(np.mean(batch_losses)), test_loss))
    return history


def main() -> int:
    """Train the torch twin for 10 epochs and print its losses and test RMSE in pounds."""
    torch.manual_seed(SEED)
    data = load_fare()
    model = FareNet()
    print(model)
    for epoch, (train_loss, test_loss) in enumerate(train(model, data), start=1):
        print(f"epoch {epoch:2d}  train loss {train_loss:.4f}  test loss {test_loss:.4f}")
    with torch.no_grad():
        pred = data.to_pounds(model(torch.from_numpy(data.X_test)).numpy())
    rmse = float(np.sqrt(np.mean((pred - data.raw_y_test) ** 2)))
    baseline = float(np.sqrt(np.mean((data.y_mean - data.raw_y_test) ** 2)))
    print(f"test RMSE {rmse:.2f} pounds (predicting the training mean: {baseline:.2f} pounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
