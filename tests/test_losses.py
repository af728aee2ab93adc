"""Tests for the losses of minigrad.nn against torch.nn: values, gradients, dtypes, reductions and errors.

Every loss is a composition of recorded ops, so its gradient is checked twice, as the ops are:
against central differences and against torch, in float64, for each reduction.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from conftest import ORACLE, SEED

from minigrad import Tensor, nn

REDUCTIONS = ("mean", "sum", "none")


def inputs(kind: str) -> list[np.ndarray]:
    """Float64 (prediction, target) arrays for each loss: probabilities for BCE, scores for the rest."""
    rng = np.random.default_rng(SEED)
    if kind == "probabilities":
        return [rng.uniform(0.05, 0.95, (5, 3)), rng.uniform(0.0, 1.0, (5, 3))]
    if kind == "logits":
        return [rng.normal(0.0, 3.0, (5, 3)), rng.uniform(0.0, 1.0, (5, 3))]
    return [rng.normal(0.0, 2.0, (5, 3)), rng.normal(0.0, 2.0, (5, 3))]


WEIGHT = np.random.default_rng(1).uniform(0.5, 2.0, (5, 3))
POS_WEIGHT = np.array([0.5, 1.0, 3.0])

# name -> (kind of inputs, minigrad loss, torch loss) given the reduction and torch
PAIRED: dict[str, tuple[str, Callable[[str], Any], Callable[[str, Any], Any]]] = {
    "MSELoss": ("scores", lambda r: nn.MSELoss(reduction=r), lambda r, t: t.nn.MSELoss(reduction=r)),
    "L1Loss": ("scores", lambda r: nn.L1Loss(reduction=r), lambda r, t: t.nn.L1Loss(reduction=r)),
    "BCELoss": ("probabilities", lambda r: nn.BCELoss(reduction=r), lambda r, t: t.nn.BCELoss(reduction=r)),
    "BCELoss weight": (
        "probabilities",
        lambda r: nn.BCELoss(weight=WEIGHT, reduction=r),
        lambda r, t: t.nn.BCELoss(weight=t.tensor(WEIGHT), reduction=r),
    ),
    "BCEWithLogitsLoss": (
        "logits", lambda r: nn.BCEWithLogitsLoss(reduction=r), lambda r, t: t.nn.BCEWithLogitsLoss(reduction=r),
    ),
    "BCEWithLogitsLoss weights": (
        "logits",
        lambda r: nn.BCEWithLogitsLoss(weight=WEIGHT, reduction=r, pos_weight=POS_WEIGHT),
        lambda r, t: t.nn.BCEWithLogitsLoss(weight=t.tensor(WEIGHT), reduction=r, pos_weight=t.tensor(POS_WEIGHT)),
    ),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(PAIRED))
def test_elementwise_losses_match_in_value_and_gradient(name: str, reduction: str, check, torch) -> None:
    kind, ours, theirs = PAIRED[name]
    # the target is differentiable too, in both libraries
    check(lambda x, y: ours(reduction)(x, y), inputs(kind), lambda x, y: theirs(reduction, torch)(x, y))


TARGETS = np.array([0, 2, 1, 1, 0])
IGNORED = np.array([0, -100, 1, 1, -100])
CLASS_WEIGHT = np.array([0.5, 2.0, 1.5])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight, target", [(None, TARGETS), (CLASS_WEIGHT, TARGETS), (CLASS_WEIGHT, IGNORED),
                                            (None, IGNORED)], ids=["plain", "weight", "weight-ignore", "ignore"])
def test_cross_entropy_matches_torch_for_class_indices(reduction: str, weight, target, check, torch) -> None:
    x = inputs("scores")[0]

    def theirs(t: Any) -> Any:
        w = None if weight is None else torch.tensor(weight)
        return torch.nn.CrossEntropyLoss(weight=w, reduction=reduction)(t, torch.tensor(target))

    check(lambda s: nn.CrossEntropyLoss(weight=weight, reduction=reduction)(s, target), [x], theirs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape, target", [((3,), np.array(2)), ((2, 3, 4, 5), None)], ids=["one-sample", "K-dim"])
def test_cross_entropy_takes_one_sample_and_extra_dims(reduction: str, shape, target, check, torch) -> None:
    rng = np.random.default_rng(SEED)
    target = rng.integers(0, 3, (2, 4, 5)) if target is None else target

    def theirs(t: Any) -> Any:
        return torch.nn.CrossEntropyLoss(reduction=reduction)(t, torch.tensor(target))

    check(lambda s: nn.CrossEntropyLoss(reduction=reduction)(s, target), [rng.normal(size=shape)], theirs)


def test_cross_entropy_is_stable_for_huge_scores(torch) -> None:
    scores = np.array([[1000.0, 0.0, -1000.0], [-5e4, 5e4, 0.0]])
    ours = Tensor(scores, requires_grad=True)
    loss = nn.CrossEntropyLoss()(ours, [1, 1])
    loss.backward()
    theirs = torch.tensor(scores, requires_grad=True)
    expected = torch.nn.CrossEntropyLoss()(theirs, torch.tensor([1, 1]))
    expected.backward()
    np.testing.assert_allclose(loss.data, expected.item(), **ORACLE)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), **ORACLE)


def test_bce_with_logits_is_exact_at_zero_and_does_not_overflow(torch) -> None:
    # at x = 0 the gradient is sigmoid(0) - y = -1/2 (two kinks at 0 would give 0); exp(800) overflows
    x = np.array([0.0, -0.0, 0.0, 50.0, -50.0, 800.0, -800.0, 1e-9])
    y = np.array([1.0, 0.0, 0.5, 1.0, 0.0, 1.0, 0.0, 1.0])
    ours = Tensor(x, requires_grad=True)
    loss = nn.BCEWithLogitsLoss(reduction="none")(ours, y)
    loss.backward(np.ones(8))
    theirs = torch.tensor(x, requires_grad=True)
    expected = torch.nn.BCEWithLogitsLoss(reduction="none")(theirs, torch.tensor(y))
    expected.backward(torch.ones(8))
    assert np.isfinite(loss.data).all()
    np.testing.assert_allclose(loss.data, expected.detach().numpy(), **ORACLE)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), **ORACLE)
    np.testing.assert_allclose(ours.grad[:3], [-0.5, 0.5, 0.0], rtol=0, atol=0)


def test_bce_with_logits_gradient_is_the_prediction_error_by_hand() -> None:
    x = Tensor([[2.0], [-1.0], [0.5]], requires_grad=True, dtype=np.float64)
    y = np.array([[1.0], [0.0], [0.0]])
    nn.BCEWithLogitsLoss()(x, y).backward()
    np.testing.assert_allclose(x.grad, (1 / (1 + np.exp(-x.data)) - y) / 3, rtol=1e-14)


def test_bce_clamps_each_log_at_minus_100_as_torch(torch) -> None:
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 0.5, 1 - 1e-10])
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.3, 0.5, 1.0])
    ours = Tensor(p, requires_grad=True)
    loss = nn.BCELoss(reduction="none")(ours, y)
    expected = torch.nn.BCELoss(reduction="none")(torch.tensor(p), torch.tensor(y))
    np.testing.assert_allclose(loss.data, expected.numpy(), **ORACLE)
    np.testing.assert_array_equal(loss.data[2:4], [100.0, 100.0])
    loss.sum().backward()
    assert np.isfinite(ours.grad.numpy()).all()  # no 1/0 reaches backward where the log was clamped
    np.testing.assert_allclose(ours.grad[5:], [0.0, -1 / (1 - 1e-10)], rtol=1e-12)


def test_bce_records_the_plain_logs_when_nothing_is_clamped() -> None:
    p = Tensor([0.2, 0.7], requires_grad=True, dtype=np.float64)
    loss = nn.BCELoss()(p, np.array([0.0, 1.0]))
    ops, stack = [], [loss]
    while stack:
        t = stack.pop()
        if t.op is not None:
            ops.append(t.op)
            stack.extend(t.inputs)
    assert ops.count("log") == 2 and len(ops) <= 8, ops


@pytest.mark.parametrize("make", [
    lambda: nn.MSELoss(), lambda: nn.L1Loss(), lambda: nn.BCELoss(), lambda: nn.BCEWithLogitsLoss(),
], ids=["MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_float32_stays_float32_as_in_torch(make, reduction: str, torch) -> None:
    loss = make()
    loss.reduction = reduction
    p = np.array([[0.25], [0.5]], np.float32)
    out = loss(Tensor(p, requires_grad=True), np.array([[0.0], [1.0]]))  # a float64 target takes p's dtype
    expected = getattr(torch.nn, type(loss).__name__)(reduction=reduction)(torch.tensor(p), torch.tensor([[0.0], [1.0]]))
    assert out.dtype == np.float32 and expected.dtype == torch.float32 and out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.numpy(), rtol=1e-6)


def test_cross_entropy_keeps_float32(torch) -> None:
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    ours = nn.CrossEntropyLoss(weight=CLASS_WEIGHT)(Tensor(x), [0, 1, 2, 1])
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(CLASS_WEIGHT, dtype=torch.float32))(
        torch.tensor(x), torch.tensor([0, 1, 2, 1]))
    assert ours.dtype == np.float32 and theirs.dtype == torch.float32
    np.testing.assert_allclose(ours.data, theirs.item(), rtol=1e-6)


# ---------------------------------------------------------------- errors, with torch's types


def raises_in_both(error: type[Exception], ours: Callable[[], Any], theirs: Callable[[], Any]) -> None:
    with pytest.raises(error):
        ours()
    with pytest.raises(error):
        theirs()


def test_an_unknown_reduction_is_a_value_error(torch) -> None:
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        torch.nn.MSELoss(reduction="avg")(torch.ones(1), torch.ones(1))  # torch finds out when called


@pytest.mark.parametrize("name", ["BCELoss", "BCEWithLogitsLoss"])
def test_bce_shape_mismatch_is_a_value_error_in_both(name: str, torch) -> None:
    raises_in_both(ValueError, lambda: getattr(nn, name)()(Tensor(np.full((3, 1), 0.5)), np.ones(3)),
                   lambda: getattr(torch.nn, name)()(torch.full((3, 1), 0.5), torch.ones(3)))


@pytest.mark.parametrize("name", ["MSELoss", "L1Loss"])
def test_regression_losses_refuse_a_broadcasting_target_where_torch_only_warns(name: str) -> None:
    with pytest.raises(ValueError, match=rf"{name}: prediction shape \(3, 1\) and target shape \(3,\)"):
        getattr(nn, name)()(Tensor(np.ones((3, 1))), np.ones(3))


def test_bce_refuses_probabilities_outside_0_1_with_a_runtime_error(torch) -> None:
    raises_in_both(RuntimeError, lambda: nn.BCELoss()(Tensor([1.5]), [1.0]),
                   lambda: torch.nn.BCELoss()(torch.tensor([1.5]), torch.tensor([1.0])))


def test_cross_entropy_errors_have_torch_types_and_messages(torch) -> None:
    x = np.zeros((3, 4))
    cases = [
        (IndexError, "Target 5 is out of bounds", [0, 1, 5]),
        (IndexError, "Target -1 is out of bounds", [0, 1, -1]),
        (ValueError, r"Expected input batch_size \(3\) to match target batch_size \(2\)", [0, 1]),
        (RuntimeError, "class", np.array([0.0, 1.0, 2.0])),
    ]
    for error, match, target in cases:
        with pytest.raises(error, match=match):
            nn.CrossEntropyLoss()(Tensor(x), target)
        with pytest.raises(error):
            torch.nn.CrossEntropyLoss()(torch.tensor(x), torch.tensor(target))
    raises_in_both(RuntimeError, lambda: nn.CrossEntropyLoss()(Tensor(np.zeros((2, 3, 4))), np.zeros((2, 5), int)),
                   lambda: torch.nn.CrossEntropyLoss()(torch.zeros(2, 3, 4), torch.zeros(2, 5, dtype=torch.long)))


def test_loss_reprs_show_a_non_default_reduction() -> None:
    assert repr(nn.MSELoss()) == "MSELoss()"
    assert repr(nn.L1Loss(reduction="sum")) == "L1Loss(reduction='sum')"
