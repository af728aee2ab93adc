"""The exercise's three implementations agree: numpy by hand, minigrad's autograd, PyTorch's autograd.

All three start from the same float64 weights and see the same minibatches, so any difference in
a loss or a parameter is a gradient that one of them gets wrong. minigrad's Linear stores W as
(in, out) like numpy_network.py; torch stores (out, in), hence the transposes.
"""
from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
from helpers import load_example

from minigrad import Tensor, manual_seed, nn
from minigrad.datasets import FareData, load_fare, minibatches

EPOCHS, LR, BATCH_SIZE, SEED = 10, 0.05, 32, 0


numpy_network = load_example("numpy_network")
fare = load_example("titanic_fare")
one_pass = load_example("one_pass")


@pytest.fixture(scope="module")
def data() -> FareData:
    return load_fare(dtype=np.float64)


def reference() -> "numpy_network.Network":
    return numpy_network.Network.random(seed=3)


def minigrad_copy(net: "numpy_network.Network") -> nn.Sequential:
    """The titanic_fare.py model in float64, holding the numpy network's weights."""
    model = fare.build_model(np.float64)
    for p, value in zip(model.parameters(), (net.W1, net.b1, net.W2, net.b2)):
        p.data[...] = value
    return model


def quiet(line: str) -> None:
    pass


def test_same_seed_draws_the_same_initial_weights() -> None:
    manual_seed(SEED)
    model = fare.build_model(np.float64)
    net = numpy_network.Network.random(seed=SEED)
    for p, value in zip(model.parameters(), (net.W1, net.b1, net.W2, net.b2)):
        np.testing.assert_array_equal(p.data, value)


def test_minigrad_gradients_equal_the_hand_derived_ones(data: FareData) -> None:
    net = reference()
    model = minigrad_copy(net)
    X, Y = data.X_train[:32], data.y_train[:32]
    nn.MSELoss()(model(Tensor(X)), Y).backward()
    net.forward(X)
    hand = net.backward(Y)
    for p, key in zip(model.parameters(), ("dW1", "db1", "dW2", "db2")):
        assert np.abs(hand[key]).max() > 1e-3
        np.testing.assert_allclose(p.grad, hand[key], rtol=0, atol=1e-12)


def test_ten_epochs_give_the_same_losses_and_weights_as_numpy(data: FareData) -> None:
    net = reference()
    model = minigrad_copy(net)
    numpy_losses = net.fit(data.X_train, data.y_train, epochs=EPOCHS, lr=LR, batch_size=BATCH_SIZE, seed=SEED)
    run = fare.train(EPOCHS, LR, BATCH_SIZE, "sgd", SEED, model=model, data=data, log=quiet)
    np.testing.assert_allclose([row[1] for row in run.history], numpy_losses, rtol=1e-8, atol=1e-8)
    assert numpy_losses[-1] < 0.8 * numpy_losses[0]
    for p, value in zip(model.parameters(), (net.W1, net.b1, net.W2, net.b2)):
        np.testing.assert_allclose(p.data, value, rtol=1e-8, atol=1e-8)
    test_loss = net.loss(net.forward(data.X_test), data.y_test)
    assert run.history[-1][2] == pytest.approx(test_loss, rel=1e-8, abs=1e-8)


def test_the_float32_example_reproduces_numpy_network_py(data: FareData) -> None:
    # titanic_fare.py's defaults are numpy_network.py's; only float32 rounding separates them.
    run = fare.train(log=quiet)
    net = numpy_network.Network.random(seed=numpy_network.SEED)
    losses = net.fit(data.X_train, data.y_train, epochs=numpy_network.EPOCHS, lr=numpy_network.LR,
                     batch_size=numpy_network.BATCH_SIZE, seed=numpy_network.SEED)
    np.testing.assert_allclose([row[1] for row in run.history], losses, rtol=1e-4)


def test_one_pass_prints_the_hand_derived_gradients() -> None:
    X, Y, _ = one_pass.passengers()
    values = one_pass.one_pass(X, Y)
    net = numpy_network.Network(values["W1"], values["b1"], values["W2"], values["b2"])
    Yhat = net.forward(X)
    assert values["L"] == pytest.approx(net.loss(Yhat, Y), abs=1e-12)
    hand = net.backward(Y)
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(values[f"dL/d{name}"], hand[f"d{name}"], rtol=0, atol=1e-12)
    net.step(hand, one_pass.LR)
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(values[f"new {name}"], getattr(net, name), rtol=0, atol=1e-12)
    assert (values["Z1"] < 0).any() and (values["Z1"] > 0).any()  # the ReLU mask matters
    assert values["new L"] < values["L"]


# ---------------------------------------------------------------- the PyTorch twin


@pytest.fixture(scope="module")
def torch_fare(torch) -> ModuleType:
    return load_example("torch_fare")


def torch_copy(torch_fare: ModuleType, net: "numpy_network.Network"):
    model = torch_fare.FareNet().double()
    torch_fare.set_weights(model, net.W1, net.b1, net.W2, net.b2)
    return model


def test_torch_twin_has_the_same_gradients_on_the_first_batch(torch_fare: ModuleType, torch, data: FareData) -> None:
    net = reference()
    ours, theirs = minigrad_copy(net), torch_copy(torch_fare, net)
    idx = minibatches(len(data.X_train), BATCH_SIZE, np.random.default_rng(SEED))[0]
    X, Y = data.X_train[idx], data.y_train[idx]
    loss = nn.MSELoss()(ours(Tensor(X)), Y)
    loss.backward()
    torch_loss = torch.nn.MSELoss()(theirs(torch.from_numpy(X)), torch.from_numpy(Y))
    torch_loss.backward()
    assert loss.item() == pytest.approx(torch_loss.item(), abs=1e-6)
    torch_grads = (theirs.hidden.weight.grad.T, theirs.hidden.bias.grad, theirs.output.weight.grad.T,
                   theirs.output.bias.grad)
    for p, g in zip(ours.parameters(), torch_grads):
        assert np.abs(p.grad.numpy()).max() > 1e-3
        np.testing.assert_allclose(p.grad, g.numpy(), rtol=0, atol=1e-6)


def test_torch_twin_has_the_same_losses_over_ten_epochs(torch_fare: ModuleType, data: FareData) -> None:
    net = reference()
    ours, theirs = minigrad_copy(net), torch_copy(torch_fare, net)
    run = fare.train(EPOCHS, LR, BATCH_SIZE, "sgd", SEED, model=ours, data=data, log=quiet)
    torch_history = torch_fare.train(theirs, data, EPOCHS, LR, BATCH_SIZE, SEED)
    np.testing.assert_allclose([row[1:] for row in run.history], torch_history, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours[0].weight.data, theirs.hidden.weight.detach().numpy().T, rtol=0, atol=1e-6)
