"""Broadcasting in the backward pass: `engine.unbroadcast` and the gradients it produces.

Forward broadcasting copies an input along some axes; the adjoint of a copy is a sum. Every op's
VJP returns gradients at the output's shape and the engine sums them back with `unbroadcast`.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad import Tensor
from minigrad.core import ops
from minigrad.core.engine import unbroadcast


@pytest.mark.parametrize(
    ("grad_shape", "shape", "axes"),
    [
        ((5, 3), (3,), (0,)),
        ((5, 4), (5, 1), (1,)),
        ((5, 4), (1, 4), (0,)),
        ((2, 3, 4), (), (0, 1, 2)),
        ((2, 3, 4), (3, 1), (0, 2)),
        ((2, 1, 4), (1, 4), (0,)),
    ],
)
def test_unbroadcast_sums_the_broadcast_axes(grad_shape, shape, axes, rng) -> None:
    grad = rng.standard_normal(grad_shape)
    np.testing.assert_allclose(unbroadcast(grad, shape), grad.sum(axis=axes).reshape(shape), rtol=1e-15)
    assert unbroadcast(grad, shape).shape == shape


def test_unbroadcast_returns_a_matching_gradient_itself() -> None:
    """No copy when nothing was broadcast: the engine relies on this being free."""
    grad = np.ones((3, 4))
    assert unbroadcast(grad, (3, 4)) is grad


@pytest.mark.parametrize(("grad_shape", "shape"), [((3, 4), (4, 3)), ((3,), (2, 3)), ((3, 4), (2,))])
def test_unbroadcast_rejects_shapes_that_were_not_broadcast(grad_shape, shape) -> None:
    with pytest.raises(ValueError, match=re.escape(f"gradient of shape {grad_shape} to shape {shape}")):
        unbroadcast(np.ones(grad_shape), shape)


@given(data=st.data())
def test_unbroadcast_is_the_adjoint_of_broadcast_to(data: st.DataObject, draw_values) -> None:
    """<unbroadcast(g, s), v> == <g, broadcast_to(v, g.shape)>: the dot-product test."""
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3))
    shape = shapes.input_shapes[0]
    g = data.draw(draw_values(shapes.result_shape))
    v = data.draw(draw_values(shape))
    reduced = unbroadcast(g, shape)
    assert reduced.shape == shape
    np.testing.assert_allclose(np.sum(reduced * v), np.sum(g * np.broadcast_to(v, g.shape)), rtol=1e-12, atol=1e-12)


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3))
def test_each_input_of_a_sum_gets_one_per_copy_of_itself(shapes) -> None:
    """d sum(a + b) / d a = how many times broadcasting copied each element of a."""
    a_shape, b_shape = shapes.input_shapes
    a = Tensor(np.zeros(a_shape), requires_grad=True)
    b = Tensor(np.zeros(b_shape), requires_grad=True)
    (a + b).sum().backward()
    total = int(np.prod(shapes.result_shape))
    for t in (a, b):
        assert t.grad.shape == t.shape
        np.testing.assert_array_equal(t.grad, np.full(t.shape, total // t.size))


def test_row_vector_added_to_a_matrix() -> None:
    """(5, 3) + (3,): the bias of a linear layer gets the column sums of grad_out."""
    x = Tensor(np.zeros((5, 3)), requires_grad=True)
    b = Tensor(np.zeros(3), requires_grad=True)
    g = np.arange(15.0).reshape(5, 3)
    (x + b).backward(g)
    np.testing.assert_array_equal(x.grad, g)
    np.testing.assert_array_equal(b.grad, [30.0, 35.0, 40.0])


def test_column_times_row_is_an_outer_product() -> None:
    """(5, 1) * (1, 4): each factor's gradient sums over the axis it was copied along."""
    u = Tensor(np.arange(1.0, 6.0).reshape(5, 1), requires_grad=True)
    v = Tensor(np.arange(1.0, 5.0).reshape(1, 4), requires_grad=True)
    (u * v).sum().backward()
    np.testing.assert_array_equal(u.grad, np.full((5, 1), 10.0))
    np.testing.assert_array_equal(v.grad, np.full((1, 4), 15.0))


def test_scalar_with_a_matrix() -> None:
    """A 0-d tensor scaling a matrix gets the sum of grad_out * matrix, as a 0-d gradient."""
    s = Tensor(2.0, requires_grad=True, dtype=np.float64)
    m = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (s * m).sum().backward()
    assert s.grad.shape == ()
    assert s.grad.item() == 15.0
    np.testing.assert_array_equal(m.grad, np.full((2, 3), 2.0))


def test_batched_matmul_with_a_shared_matrix(rng) -> None:
    """(2, 3, 4) @ (4, 5): the shared matrix gets the sum over the batch of x[i].T @ g[i]."""
    x = Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 5)), requires_grad=True)
    g = rng.standard_normal((2, 3, 5))
    (x @ w).backward(g)
    np.testing.assert_allclose(w.grad, x.data[0].T @ g[0] + x.data[1].T @ g[1], rtol=1e-13)
    np.testing.assert_allclose(x.grad, g @ w.data.T, rtol=1e-13)


def test_broadcast_gradient_keeps_the_input_dtype() -> None:
    """A float32 bias added to float64 activations still gets a float32 gradient of its shape."""
    b = Tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    h = Tensor(np.ones((4, 3)), requires_grad=True)
    (h + b).sum().backward()
    assert b.grad.dtype == np.float32 and b.grad.shape == (3,)
    np.testing.assert_array_equal(b.grad, [4.0, 4.0, 4.0])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
@pytest.mark.parametrize(
    "other", [2.0, 2, np.float64(2.0), np.array(2.0), np.array([2.0, 2.0, 2.0]), np.array(2.0, np.float16)],
    ids=["float", "int", "np.float64", "0-d float64", "row float64", "0-d float16"],
)
def test_tensor_with_a_constant_gets_its_own_shape_and_dtype_back(dtype, shape, other) -> None:
    """x op float skips backward's shape and dtype check; every other constant takes the checked path."""
    expected = {"add": 1.0, "sub": 1.0, "mul": 2.0, "truediv": 0.5}
    for name, value in expected.items():
        x = Tensor(np.ones(shape, dtype), requires_grad=True)
        out = getattr(x, f"__{name}__")(other)
        out.backward(np.ones(out.shape, out.dtype))
        assert x.grad.dtype == dtype and x.grad.shape == shape, name
        copies = out.data.size // max(x.data.size, 1)
        np.testing.assert_array_equal(x.grad, np.full(shape, value * copies, dtype), err_msg=name)


def test_engine_names_an_op_whose_gradient_cannot_be_reduced(apply_op) -> None:
    """A VJP returning a shape unrelated to its input is an op bug; the engine says which op."""

    class BadShape(ops.Neg):
        name = "bad_shape"

        @staticmethod
        def vjp(ctx, g):
            return (np.ones((7,)),)

    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"'bad_shape' returned a bad gradient.*\(7,\).*\(2, 3\)"):
        apply_op(BadShape, x).sum().backward()
    assert x.grad is None
