"""Exercise 6.4 reference: a 3 -> 4 (ReLU) -> 1 network in plain numpy with hand-derived gradients.

"During the tutorial we will train our network for 10 epochs. For this, we will create a class Network. What
attributes and methods should class Network have?" This file is one answer: the weights as attributes, and
forward / loss / backward / step / train_epoch / fit as methods. It predicts a Titanic passenger's fare from
(pclass, age, survived) with an MSE loss, and every gradient is written out by the chain rule, so it is the
reference the minigrad autograd engine is tested against: same initial weights and same batches must give the
same losses.

Run it with ``python examples/numpy_network.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

try:
    from minigrad.datasets import load_fare, minibatches
except ModuleNotFoundError:  # run as a script from a source checkout: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from minigrad.datasets import load_fare, minibatches

EPOCHS = 10
LR = 0.05
BATCH_SIZE = 32
SEED = 0


class Network:
    """Two-layer regression network: Z1 = X @ W1 + b1, H = relu(Z1), Yhat = H @ W2 + b2.

    Weights are stored (in, out) so the forward pass reads left to right. ``forward`` keeps the intermediate
    arrays that ``backward`` needs, just as autograd would.
    """

    def __init__(self, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray) -> None:
        """Take initial weights (copied, so training never changes the caller's arrays)."""
        self.W1 = np.array(W1)  # (n_in, n_hidden)
        self.b1 = np.array(b1)  # (n_hidden,)
        self.W2 = np.array(W2)  # (n_hidden, n_out)
        self.b2 = np.array(b2)  # (n_out,)
        if self.W1.ndim != 2 or self.W2.ndim != 2:
            raise ValueError(f"W1 and W2 must be 2-D (in, out), got shapes {self.W1.shape} and {self.W2.shape}")
        n_hidden, n_out = self.W1.shape[1], self.W2.shape[1]
        expected = {"b1": (n_hidden,), "W2": (n_hidden, n_out), "b2": (n_out,)}
        for name, shape in expected.items():
            actual = getattr(self, name).shape
            if actual != shape:
                raise ValueError(f"{name} must have shape {shape} to match W1 {self.W1.shape}, got {actual}")
        self.cache: dict[str, np.ndarray] = {}  # X, Z1, H, Yhat of the last forward pass

    @classmethod
    def random(cls, n_in: int = 3, n_hidden: int = 4, n_out: int = 1, seed: int = 0,
               dtype: DTypeLike = np.float64) -> Network:
        """Initialise like torch.nn.Linear: every weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        rng = np.random.default_rng(seed)

        def uniform(fan_in: int, shape: tuple[int, ...]) -> np.ndarray:
            bound = 1.0 / np.sqrt(fan_in)
            return rng.uniform(-bound, bound, size=shape).astype(dtype)

        return cls(
            W1=uniform(n_in, (n_in, n_hidden)),
            b1=uniform(n_in, (n_hidden,)),
            W2=uniform(n_hidden, (n_hidden, n_out)),
            b2=uniform(n_hidden, (n_out,)),
        )

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Predict for a batch X (N, n_in); the intermediates are cached for ``backward``."""
        Z1 = X @ self.W1 + self.b1  # (N, n_hidden)
        H = np.maximum(Z1, 0)  # (N, n_hidden)
        Yhat = H @ self.W2 + self.b2  # (N, n_out)
        self.cache = {"X": X, "Z1": Z1, "H": H, "Yhat": Yhat}
        return Yhat

    @staticmethod
    def loss(Yhat: np.ndarray, Y: np.ndarray) -> float:
        """Mean squared error L = mean((Yhat - Y)**2) over all N * n_out entries."""
        return float(np.mean((Yhat - Y) ** 2))

    def backward(self, Y: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of the MSE of the last forward pass w.r.t. every parameter, by the chain rule.

        Returns:
            ``{"dW1", "db1", "dW2", "db2"}``, each shaped like its parameter.
        """
        if not self.cache:
            raise RuntimeError("call forward(X) before backward(Y)")
        X, Z1, H, Yhat = self.cache["X"], self.cache["Z1"], self.cache["H"], self.cache["Yhat"]
        dYhat = 2.0 * (Yhat - Y) / Yhat.size  # (N, n_out)   dL/dYhat; size is N for one output
        dW2 = H.T @ dYhat  # (n_hidden, n_out)
        db2 = dYhat.sum(axis=0)  # (n_out,)
        dH = dYhat @ self.W2.T  # (N, n_hidden)
        dZ1 = dH * (Z1 > 0)  # (N, n_hidden)   relu passes gradient only where it was active
        dW1 = X.T @ dZ1  # (n_in, n_hidden)
        db1 = dZ1.sum(axis=0)  # (n_hidden,)
        return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}

    def step(self, grads: dict[str, np.ndarray], lr: float) -> None:
        """Plain SGD, in place: p <- p - lr * dp for every parameter."""
        self.W1 -= lr * grads["dW1"]
        self.b1 -= lr * grads["db1"]
        self.W2 -= lr * grads["dW2"]
        self.b2 -= lr * grads["db2"]

    def train_epoch(self, X: np.ndarray, Y: np.ndarray, lr: float, batch_size: int,
                    rng: np.random.Generator) -> float:
        """One pass over (X (N, n_in), Y (N, n_out)) in shuffled minibatches; returns the mean batch loss."""
        losses = []
        for idx in minibatches(len(X), batch_size, rng):
            Yhat = self.forward(X[idx])  # (B, n_out)
            losses.append(self.loss(Yhat, Y[idx]))
            self.step(self.backward(Y[idx]), lr)
        return float(np.mean(losses))

    def fit(self, X: np.ndarray, Y: np.ndarray, epochs: int = EPOCHS, lr: float = LR,
            batch_size: int = BATCH_SIZE, seed: int = 0) -> list[float]:
        """Train for ``epochs`` epochs, batches drawn from ``np.random.default_rng(seed)``; returns epoch losses."""
        rng = np.random.default_rng(seed)
        return [self.train_epoch(X, Y, lr, batch_size, rng) for _ in range(epochs)]


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    """Root mean squared error between two arrays of the same shape."""
    return float(np.sqrt(np.mean((a - b) ** 2)))


def main() -> None:
    """Train on the Titanic fare split for 10 epochs and compare the test RMSE with the mean baseline."""
    data = load_fare(seed=SEED, dtype=np.float64)
    if data.dropped_rows:
        print(f"dropped {data.dropped_rows} row(s) without a fare: {', '.join(data.dropped_names)}")
    print(f"{len(data.X_train)} train / {len(data.X_test)} test passengers, features {data.feature_names}")

    baseline_loss = Network.loss(np.zeros_like(data.y_test), data.y_test)  # standardised training mean is 0
    print(f"test loss of always predicting the training mean: {baseline_loss:.4f}")

    net = Network.random(seed=SEED)
    rng = np.random.default_rng(SEED)  # the same loop as Network.fit, with a test loss after every epoch
    for epoch in range(1, EPOCHS + 1):
        train_loss = net.train_epoch(data.X_train, data.y_train, LR, BATCH_SIZE, rng)
        test_loss = net.loss(net.forward(data.X_test), data.y_test)
        print(f"epoch {epoch:2d}  train loss {train_loss:.4f}  test loss {test_loss:.4f}")

    pred_pounds = data.to_pounds(net.forward(data.X_test))  # (n_test, 1)
    baseline = np.full_like(data.raw_y_test, data.y_mean)  # (n_test, 1) predict the training mean fare
    print(f"test RMSE {rmse(pred_pounds, data.raw_y_test):.2f} pounds "
          f"(predicting the training mean: {rmse(baseline, data.raw_y_test):.2f} pounds)")


if __name__ == "__main__":
    main()
