"""Tests for the hand-derived numpy reference network in examples/numpy_network.py."""

from __future__ import annotations


import numpy as np
import pytest
from helpers import load_example

from minigrad.datasets import FareData, load_fare

PARAMS = ("W1", "b1", "W2", "b2")


ex = load_example("numpy_network")


@pytest.fixture(scope="module")
def data() -> FareData:
    return load_fare(dtype=np.float64)


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def numerical_gradient(net: ex.Network, X: np.ndarray, Y: np.ndarray, name: str, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the loss w.r.t. every element of parameter ``name``."""
    param = getattr(net, name)
    grad = np.zeros_like(param)
    for i in np.ndindex(param.shape):
        original = param[i]
        param[i] = original + eps
        plus = net.loss(net.forward(X), Y)
        param[i] = original - eps
        minus = net.loss(net.forward(X), Y)
        param[i] = original
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def test_random_init_shapes_dtype_and_bounds() -> None:
    net = ex.Network.random(seed=0)
    assert net.W1.shape == (3, 4) and net.b1.shape == (4,)
    assert net.W2.shape == (4, 1) and net.b2.shape == (1,)
    assert all(getattr(net, p).dtype == np.float64 for p in PARAMS)
    assert np.abs(net.W1).max() <= 1 / np.sqrt(3) and np.abs(net.b1).max() <= 1 / np.sqrt(3)
    assert np.abs(net.W2).max() <= 1 / np.sqrt(4) and np.abs(net.b2).max() <= 1 / np.sqrt(4)
    assert ex.Network.random(seed=0, dtype=np.float32).W1.dtype == np.float32
    np.testing.assert_array_equal(ex.Network.random(seed=0).W1, net.W1)
    assert not np.array_equal(ex.Network.random(seed=1).W1, net.W1)


def test_constructor_copies_and_checks_shapes() -> None:
    W1, b1, W2, b2 = np.ones((3, 4)), np.zeros(4), np.ones((4, 1)), np.zeros(1)
    net = ex.Network(W1, b1, W2, b2)
    net.step({"dW1": np.ones((3, 4)), "db1": np.ones(4), "dW2": np.ones((4, 1)), "db2": np.ones(1)}, lr=0.5)
    np.testing.assert_array_equal(W1, np.ones((3, 4)))
    np.testing.assert_array_equal(net.W1, np.full((3, 4), 0.5))
    np.testing.assert_array_equal(net.b2, [-0.5])
    with pytest.raises(ValueError, match="W2"):
        ex.Network(W1, b1, np.ones((3, 1)), b2)


def test_forward_known_values() -> None:
    net = ex.Network(W1=np.array([[1.0, -1.0], [2.0, 0.0]]), b1=np.array([0.0, 1.0]),
                     W2=np.array([[3.0], [1.0]]), b2=np.array([0.5]))
    X = np.array([[1.0, 1.0], [-1.0, 0.0]])
    # Z1 = [[3, 0], [-1, 2]], H = [[3, 0], [0, 2]], Yhat = [[9.5], [2.5]]
    np.testing.assert_array_equal(net.forward(X), [[9.5], [2.5]])
    assert net.loss(np.array([[9.5], [2.5]]), np.array([[8.5], [0.5]])) == pytest.approx(2.5)


def test_backward_matches_finite_differences(data: FareData) -> None:
    net = ex.Network.random(seed=1)
    X, Y = data.X_train[:16], data.y_train[:16]
    net.forward(X)
    grads = net.backward(Y)
    for name in PARAMS:
        numerical = numerical_gradient(net, X, Y, name)
        assert grads["d" + name].shape == numerical.shape
        assert np.abs(numerical).max() > 1e-4, f"{name} has a vanishing gradient; the check would be vacuous"
        assert rel_error(grads["d" + name], numerical) < 1e-6, name
        np.testing.assert_allclose(grads["d" + name], numerical, rtol=1e-5, atol=1e-9)


def test_backward_before_forward_raises() -> None:
    with pytest.raises(RuntimeError, match="forward"):
        ex.Network.random().backward(np.zeros((2, 1)))


def test_training_lowers_loss_and_beats_mean_baseline(data: FareData) -> None:
    net = ex.Network.random(seed=0)
    initial = net.loss(net.forward(data.X_train), data.y_train)
    losses = net.fit(data.X_train, data.y_train, epochs=10, seed=0)
    assert len(losses) == 10
    assert losses[-1] < losses[0] < initial
    assert net.loss(net.forward(data.X_train), data.y_train) < 0.75 * initial
    rmse = ex.rmse(data.to_pounds(net.forward(data.X_test)), data.raw_y_test)
    baseline = ex.rmse(np.full_like(data.raw_y_test, data.y_mean), data.raw_y_test)
    assert rmse < 0.9 * baseline


def test_same_seed_gives_identical_losses(data: FareData) -> None:
    runs = [ex.Network.random(seed=0).fit(data.X_train, data.y_train, seed=0) for _ in range(2)]
    assert runs[0] == runs[1]
    other = ex.Network.random(seed=0).fit(data.X_train, data.y_train, seed=1)
    assert other != runs[0]


def test_fit_equals_train_epoch_loop(data: FareData) -> None:
    a, b = ex.Network.random(seed=2), ex.Network.random(seed=2)
    fitted = a.fit(data.X_train, data.y_train, epochs=3, lr=0.05, batch_size=32, seed=4)
    rng = np.random.default_rng(4)
    looped = [b.train_epoch(data.X_train, data.y_train, 0.05, 32, rng) for _ in range(3)]
    assert fitted == looped
    for name in PARAMS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_script_runs(capsys: pytest.CaptureFixture[str]) -> None:
    ex.main()
    out = capsys.readouterr().out
    assert "Storey, Mr. Thomas" in out
    assert out.count("epoch ") == 10
    assert "test RMSE" in out
