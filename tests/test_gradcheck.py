"""gradcheck itself: it passes correct gradients, catches wrong ones precisely, and touches nothing.

Every other gradient test leans on gradcheck, so it gets its own deliberately broken ops.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from minigrad import GradcheckError, Tensor, gradcheck
from minigrad.core import ops


class SquareTimesThree(ops.Square):
    """out = x**2 with grad_x = 3 * x * grad_out: wrong everywhere x != 0."""

    @staticmethod
    def vjp(ctx, g):
        return (3 * ctx._x.data * g,)


class MulWrongAtOneElementOfY(ops.Mul):
    """Mul whose grad_y is off by 1 at y[1, 2] only."""

    @staticmethod
    def vjp(ctx, g):
        grad_x, grad_y = ops.Mul.vjp(ctx, g)
        if grad_y is not None:
            grad_y = np.broadcast_to(grad_y, (2, 3)).copy()
            grad_y[1, 2] += 1.0
        return grad_x, grad_y


def reported_values(message: str) -> tuple[float, float]:
    """The (backward, finite differences) numbers a GradcheckError message reports."""
    number = r"(?:np\.float64\()?([-+0-9.e]+)\)?"
    found = re.search(rf"backward gives {number}, finite differences give {number}", message)
    assert found, message
    return float(found.group(1)), float(found.group(2))


@pytest.mark.parametrize(
    ("fn", "shapes"),
    [
        pytest.param(lambda x: (x * x).sum(), [(3,)], id="scalar output"),
        pytest.param(lambda x: x.tanh(), [(2, 3)], id="elementwise output"),
        pytest.param(lambda x, w: x @ w, [(3, 4), (4, 5)], id="matrix output, two inputs"),
        pytest.param(lambda x, b: (x + b).sigmoid().mean(axis=0), [(5, 3), (3,)], id="broadcast then reduce"),
    ],
)
def test_passes_correct_gradients(fn, shapes, rand) -> None:
    assert gradcheck(fn, [rand(*s) for s in shapes]) is True


def test_accepts_a_single_tensor(rand) -> None:
    assert gradcheck(lambda x: x.exp(), rand(3)) is True


def test_wrong_vjp_raises_naming_input_element_and_both_values(apply_op) -> None:
    x = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    y = Tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -2.0]], requires_grad=True)
    with pytest.raises(GradcheckError) as err:
        gradcheck(lambda a, b: apply_op(MulWrongAtOneElementOfY, a, b).sum(), [x, y])
    message = str(err.value)
    assert "input 1, element (1, 2)" in message
    analytic, numeric = reported_values(message)
    assert analytic == 7.0
    assert numeric == pytest.approx(6.0, rel=1e-8)


def test_wrong_vjp_in_a_non_scalar_output_names_the_output_element(apply_op) -> None:
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 0, element \(0,\), output element 0") as err:
        gradcheck(lambda t: apply_op(SquareTimesThree, t), [x])
    analytic, numeric = reported_values(str(err.value))
    assert analytic == 3.0 and numeric == pytest.approx(2.0, rel=1e-8)


def test_raise_exception_false_returns_false(apply_op) -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert gradcheck(lambda t: apply_op(SquareTimesThree, t).sum(), [x], raise_exception=False) is False


def test_only_inputs_that_require_grad_are_checked(apply_op) -> None:
    """The broken grad_y is never used when y is a constant."""
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = Tensor(np.ones((2, 3)))
    assert gradcheck(lambda a, b: apply_op(MulWrongAtOneElementOfY, a, b).sum(), [x, y])


def test_leaves_the_callers_tensors_and_grads_untouched(rand, snapshot) -> None:
    x, w = rand(3, 4), rand(4, 2)
    (x @ w).sum().backward()
    y = x * 2
    state = snapshot(x, w, y)
    assert gradcheck(lambda a, b: (a @ b).tanh(), [x, w])
    state.assert_unchanged()


def test_leaves_grads_of_tensors_captured_by_fn_untouched(rand) -> None:
    """A weight closed over by fn is the caller's too: checking x must not add into w.grad."""
    x, w = rand(3), rand(3)
    assert gradcheck(lambda t: (t * w).sum(), [x])
    assert w.grad is None


def test_checks_float32_inputs_in_float64(rand) -> None:
    """Central differences with eps=1e-6 are meaningless in float32; gradcheck upcasts first."""
    x = Tensor(np.linspace(0.5, 1.5, 4, dtype=np.float32), requires_grad=True)
    seen = []

    def fn(t: Tensor) -> Tensor:
        seen.append(t.dtype)
        return (t.exp() * t).sum()

    assert gradcheck(fn, [x], atol=1e-8, rtol=1e-6)
    assert set(seen) == {np.dtype(np.float64)}
    assert x.dtype == np.float32 and x.grad is None


def test_rejects_inputs_without_requires_grad() -> None:
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda t: t * 2, [Tensor([1.0])])


def test_rejects_an_output_that_is_not_a_tensor(rand) -> None:
    with pytest.raises(TypeError, match="must return a Tensor, got float"):
        gradcheck(lambda t: 1.0, [rand(2)])


def test_rejects_an_output_that_does_not_depend_on_the_inputs(rand) -> None:
    with pytest.raises(ValueError, match="does not depend on any input"):
        gradcheck(lambda t: Tensor([1.0]), [rand(2)])
