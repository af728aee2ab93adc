"""One training pass on three passengers, every number printed: the exercise's worked example.

Forward, loss, backward and one SGD step of the 3 -> 4 (ReLU) -> 1 fare network, on inputs
rounded to two decimals and weights with one decimal, so each line can be checked by hand.
minigrad's backward() computes the gradients; beside each one is the chain-rule formula of
exercise 6.3 that gives the same numbers (numpy_network.py writes those formulas out as code).

Run it with ``python examples/one_pass.py``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from minigrad import Tensor, nn, no_grad, optim
from minigrad.datasets import load_fare, load_titanic
from minigrad.see import explore

PASSENGERS = ("Allen, Miss. Elisabeth Walton", "Abelson, Mrs. Samuel (Hannah Wizosky)", "Abbing, Mr. Anthony")
LR = 0.05
START = {
    "W1": [[0.2, -0.3, -0.5, -0.6], [0.4, 0.5, 0.1, 0.3], [0.1, 0.5, 0.4, -0.6]],  # (3, 4)
    "b1": [0.4, -0.5, 0.3, 0.2],  # (4,)
    "W2": [[0.4], [0.3], [-0.2], [-0.1]],  # (4, 1)
    "b2": [0.1],  # (1,)
}

# (label, formula) for each gradient, in the order backward() reaches them.
GRADIENTS = (
    ("dL/dYhat", "2 * (Yhat - Y) / N"),
    ("dL/dW2", "H.T @ dL/dYhat"),
    ("dL/db2", "dL/dYhat summed over the rows"),
    ("dL/dH", "dL/dYhat @ W2.T"),
    ("dL/dZ1", "dL/dH * (Z1 > 0)"),
    ("dL/dW1", "X.T @ dL/dZ1"),
    ("dL/db1", "dL/dZ1 summed over the rows"),
)


def passengers() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The three passengers as standardised inputs X (3, 3) and targets Y (3, 1), rounded to 2 decimals.

    The training split's statistics standardise them, as they do every passenger in titanic_fare.py.
    Returns X, Y and one description line per passenger.
    """
    table, data = load_titanic(), load_fare(dtype=np.float64)
    rows = [int(np.flatnonzero(table["name"] == name)[0]) for name in PASSENGERS]
    raw_X = np.stack([table[f][rows] for f in data.feature_names], axis=1)  # (3, 3)
    fares = table["fare"][rows]  # (3,) pounds
    X = np.round(data.standardise_features(raw_X), 2)
    Y = np.round((fares - data.y_mean) / data.y_std, 2).reshape(-1, 1)
    lines = [
        f"{name}: class {c:.0f}, age {a:.0f}, {'survived' if s else 'died'}, fare {f:.2f} pounds"
        for name, (c, a, s), f in zip(PASSENGERS, raw_X, fares)
    ]
    return X, Y, lines


def start_params() -> list[Tensor]:
    """W1, b1, W2, b2 at their START values: float64 leaves that require grad."""
    return [Tensor(value, requires_grad=True, dtype=np.float64, name=name) for name, value in START.items()]


def forward(inputs: Tensor, params: list[Tensor]) -> tuple[Tensor, Tensor, Tensor]:
    """Z1 = X @ W1 + b1, H = relu(Z1), Yhat = H @ W2 + b2."""
    W1, b1, W2, b2 = params
    Z1 = inputs @ W1 + b1  # (N, 4)
    H = Z1.relu()  # (N, 4)
    return Z1, H, H @ W2 + b2  # Yhat (N, 1)


def one_pass(X: np.ndarray, Y: np.ndarray, lr: float = LR) -> dict[str, np.ndarray]:
    """Forward, backward and one SGD step from the START weights, in float64.

    Returns every value by its name on the sheet: X, Y, W1, b1, W2, b2, Z1, H, Yhat, L, the
    gradients (keys of GRADIENTS), the updated weights "new W1" ... "new b2" and "new L".
    """
    params = start_params()
    W1, b1, W2, b2 = params
    inputs, loss_fn = Tensor(X, name="X"), nn.MSELoss()
    Z1, H, Yhat = forward(inputs, params)
    L = loss_fn(Yhat, Y)  # ()
    for t in (Z1, H, Yhat):
        t.retain_grad()
    values = {"X": X, "Y": Y, **{p.name: p.data.copy() for p in params},
              "Z1": Z1.data, "H": H.data, "Yhat": Yhat.data, "L": L.data}
    L.backward()
    grads = (Yhat.grad, W2.grad, b2.grad, H.grad, Z1.grad, W1.grad, b1.grad)
    values.update({label: g for (label, _), g in zip(GRADIENTS, grads)})
    optim.SGD(params, lr=lr).step()
    values.update({f"new {p.name}": p.data for p in params})
    with no_grad():
        values["new L"] = loss_fn(forward(inputs, params)[2], Y).data
    return values


def write_backward_page(path: str | Path) -> Path:
    """Write the page that steps through this pass's backward, the same numbers (minigrad.see.explore)."""
    X, Y, _ = passengers()
    loss = nn.MSELoss()(forward(Tensor(X, name="X"), start_params())[2], Y)
    return explore(loss).save(path)


def _show(label: str, array: np.ndarray, note: str = "") -> None:
    array = np.asarray(array) + 0.0  # NOTE: + 0.0 turns -0.0 (a masked negative gradient) into 0.0
    text = np.array2string(array, precision=4, suppress_small=True, floatmode="fixed")
    head = f"{label} {array.shape}" + (f"  = {note}" if note else "")
    if array.ndim < 2:
        print(f"{head}:  {text}")
    else:
        print(f"{head}:\n{text}")


def main() -> int:
    """Print the pass step by step."""
    X, Y, lines = passengers()
    v = one_pass(X, Y)
    print("Three passengers (features standardised with the training split's mean and std, rounded):")
    for line in lines:
        print(f"  {line}")
    print("\nInputs: columns of X are (pclass, age, survived); Y is the standardised fare")
    _show("X", X)
    _show("Y", Y)
    print("\nWeights")
    for name in ("W1", "b1", "W2", "b2"):
        _show(name, v[name])
    print("\nForward")
    _show("Z1", v["Z1"], "X @ W1 + b1")
    _show("H", v["H"], "relu(Z1)")
    _show("Yhat", v["Yhat"], "H @ W2 + b2")
    _show("L", v["L"], "mean((Yhat - Y)**2)")
    print("\nBackward (loss.backward(); each gradient has the shape of what it differentiates)")
    for label, formula in GRADIENTS:
        _show(label, v[label], formula)
    print(f"\nSGD step, p <- p - {LR} * dL/dp")
    for name in ("W1", "b1", "W2", "b2"):
        _show(f"new {name}", v[f"new {name}"])
    print(f"\nloss on the same passengers: {float(v['L']):.4f} before the step, {float(v['new L']):.4f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
