"""Tests for minigrad.optim: hand-computed steps, torch.optim as the oracle, and argument checks."""
from __future__ import annotations

import math

import numpy as np
import pytest

from minigrad import Tensor, optim


def param(values, dtype=np.float64) -> Tensor:
    return Tensor(values, requires_grad=True, dtype=dtype)


# ---------------------------------------------------------------- single steps by hand


def test_sgd_step_is_p_minus_lr_g_in_place() -> None:
    p = param([1.0, 2.0])
    array = p.data
    p.grad = Tensor(np.array([0.5, -1.0]))
    optim.SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, 2.1], rtol=0, atol=1e-15)
    assert p.data is array and p.is_leaf and p.requires_grad


def test_sgd_momentum_buffer_starts_at_the_first_gradient() -> None:
    p = param([1.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = Tensor(np.array([2.0]))
    opt.step()  # buf = 2, p = 1 - 0.2
    np.testing.assert_allclose(p.data, [0.8], rtol=0, atol=1e-15)
    p.grad = Tensor(np.array([-1.0]))
    opt.step()  # buf = 0.9 * 2 - 1 = 0.8, p = 0.8 - 0.08
    np.testing.assert_allclose(p.data, [0.72], rtol=0, atol=1e-15)
    np.testing.assert_allclose(opt.buffers[0], [0.8], rtol=0, atol=1e-15)


def test_momentum_buffer_does_not_alias_the_gradient() -> None:
    p = param([1.0])
    grad = np.array([2.0])
    p.grad = Tensor(grad)
    opt = optim.SGD([p], lr=0.1, momentum=0.5)
    opt.step()
    p.grad = Tensor(np.array([1.0]))
    opt.step()
    np.testing.assert_array_equal(grad, [2.0])


def test_adam_first_step_moves_each_weight_by_about_lr() -> None:
    # m_hat = g and v_hat = g**2 after one step, so the step is lr * g / (|g| + eps).
    p = param([1.0, 1.0, 1.0])
    p.grad = Tensor(np.array([0.001, -30.0, 4.0]))
    optim.Adam([p], lr=0.1, eps=1e-8).step()
    expected = 1.0 - 0.1 * p.grad.numpy() / (np.abs(p.grad.numpy()) + 1e-8)
    np.testing.assert_allclose(p.data, expected, rtol=0, atol=1e-12)


def test_adam_second_step_by_hand() -> None:
    p = param([0.0])
    opt = optim.Adam([p], lr=0.01, betas=(0.5, 0.75), eps=0.0)
    p.grad = Tensor(np.array([1.0]))
    opt.step()  # m = 0.5, v = 0.25, m_hat = 1, v_hat = 1: p = -0.01
    p.grad = Tensor(np.array([3.0]))
    opt.step()  # m = 1.75, v = 2.4375; m_hat = 1.75 / 0.75, v_hat = 2.4375 / 0.4375
    expected = -0.01 - 0.01 * (1.75 / 0.75) / math.sqrt(2.4375 / 0.4375)
    np.testing.assert_allclose(p.data, [expected], rtol=0, atol=1e-15)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.Adam(ps, lr=0.1),
])
def test_parameters_without_grad_are_skipped(make) -> None:
    a, b = param([1.0]), param([1.0])
    opt = make([a, b])
    a.grad = Tensor(np.array([1.0]))
    opt.step()
    assert b.data[0] == 1.0 and a.data[0] < 1.0


def test_adam_counts_steps_per_parameter() -> None:
    a, b = param([1.0]), param([1.0])
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = Tensor(np.array([1.0]))
    opt.step()
    b.grad = Tensor(np.array([1.0]))
    opt.step()
    assert opt.steps == [2, 1]
    np.testing.assert_allclose(b.data, [0.9], rtol=0, atol=1e-9)  # b's first step, bias-corrected


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.Adam(ps, lr=0.1),
])
def test_float32_parameters_stay_float32(make) -> None:
    p = param([1.0, 2.0], dtype=np.float32)
    opt = make([p])
    for _ in range(3):
        p.grad = Tensor(np.array([0.5, -0.25], dtype=np.float32))
        opt.step()
    assert p.data.dtype == np.float32


def test_zero_grad_sets_grads_to_none() -> None:
    a, b = param([1.0]), param([2.0])
    a.grad, b.grad = Tensor(np.ones(1)), Tensor(np.ones(1))
    optim.SGD([a, b], lr=0.1).zero_grad()
    assert a.grad is None and b.grad is None


# ---------------------------------------------------------------- argument checks


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 0.0}, "lr must be"),
    ({"lr": -0.1}, "lr must be"),
    ({"lr": float("nan")}, "lr must be"),
    ({"lr": float("inf")}, "lr must be"),
    ({"lr": 0.1, "momentum": -0.5}, "momentum must be"),
])
def test_sgd_rejects_bad_hyperparameters(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        optim.SGD([param([1.0])], **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 0.0}, "lr must be"),
    ({"betas": (1.0, 0.999)}, r"betas\[0\]"),
    ({"betas": (0.9, -0.1)}, r"betas\[1\]"),
    ({"eps": -1e-8}, "eps must be"),
])
def test_adam_rejects_bad_hyperparameters(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        optim.Adam([param([1.0])], **kwargs)


def test_bad_parameter_lists_are_refused() -> None:
    p = param([1.0])
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="ndarray"):
        optim.SGD([np.ones(1)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf.*'mul'"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.Adam([p, p])


# ---------------------------------------------------------------- torch.optim as the oracle


@pytest.mark.parametrize("name, kwargs", [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}),
])
def test_matches_torch_optim_over_several_steps(name, kwargs, torch) -> None:
    rng = np.random.default_rng(3)
    start = [rng.normal(size=(3, 4)), rng.normal(size=(4,))]
    ours = [param(a) for a in start]
    theirs = [torch.tensor(a, requires_grad=True) for a in start]
    opt = getattr(optim, name)(ours, **kwargs)
    torch_opt = getattr(torch.optim, name)(theirs, **kwargs)
    for _ in range(6):
        grads = [rng.normal(size=a.shape) for a in start]
        for p, t, g in zip(ours, theirs, grads):
            p.grad, t.grad = Tensor(g), torch.from_numpy(g.copy())
        opt.step()
        torch_opt.step()
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=0, atol=1e-6)
    assert not np.allclose(ours[0].data, start[0])
