"""Tests for minigrad.optim: hand-computed steps, torch.optim as the oracle, and argument checks."""
from __future__ import annotations

import math

import numpy as np
import pytest

from minigrad import Tensor, from_numpy, no_grad, optim


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
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], [0.8], rtol=0, atol=1e-15)


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
    assert opt.state[a]["step"] == 2 and opt.state[b]["step"] == 1
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
    ({"lr": -0.1}, "lr must be"),
    ({"lr": float("nan")}, "lr must be"),
    ({"lr": float("inf")}, "lr must be"),
    ({"lr": 0.1, "momentum": -0.5}, "momentum must be"),
])
def test_sgd_rejects_bad_hyperparameters(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        optim.SGD([param([1.0])], **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": -1e-3}, "lr must be"),
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


# ---------------------------------------------------------------- torch's options, to rounding in float64

OPTIONS = [
    ("SGD", {"lr": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "maximize": True}),
    ("SGD", {"lr": 0.0, "momentum": 0.9}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "betas": (0.3, 0.9), "amsgrad": True}),
    ("Adam", {"lr": 0.01, "maximize": True}),
    ("Adam", {"lr": 0.0}),
]


def twin_params(torch, rng):
    start = [rng.normal(size=(3, 4)), rng.normal(size=(4,))]
    return [param(a) for a in start], [torch.tensor(a, requires_grad=True) for a in start]


def run_both(opt, torch_opt, ours, theirs, rng, steps: int = 6) -> None:
    for _ in range(steps):
        for p, t in zip(ours, theirs):
            g = rng.normal(size=p.shape)
            p.grad, t.grad = Tensor(g), t.new_tensor(g)
        opt.step()
        torch_opt.step()


@pytest.mark.parametrize("name, kwargs", OPTIONS, ids=[f"{n}-{'-'.join(k)}" for n, k in OPTIONS])
def test_options_match_torch_to_rounding(name, kwargs, torch) -> None:
    rng = np.random.default_rng(5)
    ours, theirs = twin_params(torch, rng)
    start = [p.data.copy() for p in ours]
    opt, torch_opt = getattr(optim, name)(ours, **kwargs), getattr(torch.optim, name)(theirs, **kwargs)
    run_both(opt, torch_opt, ours, theirs, rng)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-13, atol=1e-14)
    moved = not np.array_equal(ours[0].data, start[0])
    assert moved == (kwargs["lr"] > 0)  # lr=0 is allowed, as in torch, and moves nothing


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_param_groups_carry_their_own_lr_as_torch(name, torch) -> None:
    rng = np.random.default_rng(6)
    ours, theirs = twin_params(torch, rng)
    opt = getattr(optim, name)([{"params": [ours[0]]}, {"params": ours[1], "lr": 0.2}], lr=0.01)
    torch_opt = getattr(torch.optim, name)([{"params": [theirs[0]]}, {"params": theirs[1], "lr": 0.2}], lr=0.01)
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in torch_opt.param_groups] == [0.01, 0.2]
    assert set(opt.param_groups[0]) <= set(torch_opt.param_groups[0])  # torch's names for every option
    assert opt.param_groups[1]["params"] == [ours[1]]
    run_both(opt, torch_opt, ours, theirs, rng, steps=2)
    for group, torch_group in zip(opt.param_groups, torch_opt.param_groups):
        group["lr"] = torch_group["lr"] = group["lr"] / 2  # a schedule changes lr in the groups
    run_both(opt, torch_opt, ours, theirs, rng, steps=2)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-13, atol=1e-14)


def test_add_param_group_fills_defaults_and_refuses_a_parameter_already_there() -> None:
    a, b = param([1.0]), param([2.0])
    opt = optim.SGD([a], lr=0.1, momentum=0.5)
    opt.add_param_group({"params": [b], "lr": 0.3})
    assert opt.param_groups[1]["momentum"] == 0.5 and opt.param_groups[1]["lr"] == 0.3
    with pytest.raises(ValueError, match="more than once"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="lr must be"):
        opt.add_param_group({"params": [param([0.0])], "lr": -1.0})
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(a, lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([a], lr=0.1, nesterov=True)


def test_zero_grad_can_zero_in_place_as_torch(torch) -> None:
    p, t = param([1.0, 2.0]), torch.tensor([1.0, 2.0], requires_grad=True)
    p.grad, t.grad = Tensor([3.0, 4.0], dtype=np.float64), torch.tensor([3.0, 4.0])
    grad = p.grad
    optim.SGD([p], lr=0.1).zero_grad(set_to_none=False)
    torch.optim.SGD([t], lr=0.1).zero_grad(set_to_none=False)
    assert p.grad is grad and not grad.data.any() and not t.grad.any()
    optim.SGD([p], lr=0.1).zero_grad()
    torch.optim.SGD([t], lr=0.1).zero_grad()
    assert p.grad is None and t.grad is None


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, weight_decay=0.1),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.1, maximize=True),
])
def test_a_step_reads_the_gradient_tensor_and_leaves_it_alone(make) -> None:
    p = param([1.0, 2.0])
    array = p.data
    grad = np.array([0.5, -1.0])
    p.grad = from_numpy(grad)
    opt = make([p])
    opt.step()
    opt.step()
    assert p.data is array and not np.array_equal(array, [1.0, 2.0])
    np.testing.assert_array_equal(grad, [0.5, -1.0])  # weight decay, momentum and maximize copy first


def test_step_returns_the_closures_loss_computed_with_grad_on() -> None:
    p = param([3.0])
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0 and p.data[0] == pytest.approx(3.0 - 0.1 * 6.0)


# ---------------------------------------------------------------- state_dict and load_state_dict


@pytest.mark.parametrize("name, kwargs", [("SGD", {"lr": 0.05, "momentum": 0.9}), ("Adam", {"lr": 0.01})])
def test_state_dict_has_torchs_layout(name, kwargs, torch) -> None:
    rng = np.random.default_rng(7)
    ours, theirs = twin_params(torch, rng)
    opt, torch_opt = getattr(optim, name)(ours, **kwargs), getattr(torch.optim, name)(theirs, **kwargs)
    run_both(opt, torch_opt, ours, theirs, rng, steps=2)
    sd, torch_sd = opt.state_dict(), torch_opt.state_dict()
    assert list(sd) == list(torch_sd) == ["state", "param_groups"]
    assert list(sd["state"]) == list(torch_sd["state"]) == [0, 1]
    for i in (0, 1):
        assert list(sd["state"][i]) == list(torch_sd["state"][i])
        for key, value in sd["state"][i].items():
            np.testing.assert_allclose(value, np.asarray(torch_sd["state"][i][key]), rtol=1e-13, atol=1e-15)
    assert sd["param_groups"][0]["params"] == torch_sd["param_groups"][0]["params"] == [0, 1]
    assert all(sd["param_groups"][0][k] == v for k, v in kwargs.items())


@pytest.mark.parametrize("name, kwargs", [("SGD", {"lr": 0.05, "momentum": 0.9}), ("Adam", {"lr": 0.01})])
def test_a_reloaded_optimizer_continues_exactly(name, kwargs) -> None:
    rng = np.random.default_rng(8)
    start = [rng.normal(size=(3, 4)), rng.normal(size=(4,))]
    grads = [[rng.normal(size=a.shape) for a in start] for _ in range(4)]
    ours, copy_ = [param(a) for a in start], [param(a) for a in start]
    opt = getattr(optim, name)(ours, **kwargs)
    for step in grads[:2]:
        for p, g in zip(ours, step):
            p.grad = Tensor(g)
        opt.step()
    saved = opt.state_dict()
    for p, q in zip(ours, copy_):
        q.data[...] = p.data
    resumed = getattr(optim, name)(copy_, lr=123.0)
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == kwargs["lr"] and resumed.param_groups[0]["params"] == copy_
    for step in grads[2:]:
        for p, q, g in zip(ours, copy_, step):
            p.grad, q.grad = Tensor(g), Tensor(g)
        opt.step()
        resumed.step()
    for p, q in zip(ours, copy_):
        np.testing.assert_array_equal(p.data, q.data)
    assert not any(np.shares_memory(a, b) for a in saved["state"][0].values() if isinstance(a, np.ndarray)
                   for b in resumed.state[copy_[0]].values() if isinstance(b, np.ndarray))


def test_load_state_dict_refuses_other_group_sizes(torch) -> None:
    a, b = param([1.0]), param([2.0])
    saved = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD([a], lr=0.1).load_state_dict(saved)
    t = torch.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="doesn't match the size"):
        torch.optim.SGD([t], lr=0.1).load_state_dict(torch.optim.SGD([t, torch.zeros(1, requires_grad=True)],
                                                                     lr=0.1).state_dict())


def test_repr_lists_each_group_as_torch() -> None:
    text = repr(optim.SGD([param([1.0])], lr=0.1))
    assert text.startswith("SGD (\nParameter Group 0\n") and "    lr: 0.1\n" in text and text.endswith(")")
