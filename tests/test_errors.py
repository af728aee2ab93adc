"""Bad input: every error names the problem, and leaves data, .grad and the graph untouched.

Each test gives the tensors some history first (a recorded graph, a .grad from an earlier
backward), takes a `snapshot`, triggers the error, checks the message, then checks the snapshot:
same arrays, same values, same graph links, and no op attached to any of them.
"""
from __future__ import annotations

import operator
import re

import numpy as np
import pytest

from minigrad import Tensor, from_numpy


@pytest.fixture
def used(rand):
    """Factory: a leaf with a .grad from an earlier backward, and a recorded op output from it."""

    def make(*shape: int) -> tuple[Tensor, Tensor]:
        leaf = rand(*shape)
        (leaf * leaf).sum().backward()
        return leaf, leaf * 2

    return make


def test_matmul_shape_mismatch_names_both_shapes_and_records_nothing(used, snapshot) -> None:
    a, a2 = used(5, 3)
    b, b2 = used(4, 1)
    state = snapshot(a, a2, b, b2)
    with pytest.raises(ValueError, match=re.escape("matmul: cannot apply to shapes (5, 3) and (4, 1)")) as err:
        a2 @ b2
    assert "x.shape[-1] == y.shape[-2]" in str(err.value)
    state.assert_unchanged()


@pytest.mark.parametrize(
    ("op", "name"), [(operator.add, "add"), (operator.sub, "sub"), (operator.mul, "mul"), (operator.truediv, "div")]
)
def test_broadcast_mismatch_names_the_op_and_both_shapes(op, name, used, snapshot) -> None:
    a, a2 = used(3)
    b, b2 = used(4)
    state = snapshot(a, a2, b, b2)
    with pytest.raises(ValueError, match=re.escape(f"{name}: cannot apply to shapes (3,) and (4,)")) as err:
        op(a2, b2)
    assert "broadcast" in str(err.value)
    state.assert_unchanged()


@pytest.mark.parametrize(
    ("fn", "error", "message"),
    [
        pytest.param(lambda x: x.sum(axis=2), ValueError, r"sum: .* shape \(3, 4\).*axis 2", id="sum axis"),
        pytest.param(lambda x: x.mean(axis=(0, 5)), ValueError, r"mean: .* shape \(3, 4\)", id="mean axis"),
        pytest.param(lambda x: x.reshape(5, 2), ValueError, r"reshape: .* shape \(3, 4\).*\(5,\s?2\)", id="reshape"),
        pytest.param(lambda x: x.transpose(0, 1, 2), ValueError, r"transpose: .* shape \(3, 4\)", id="transpose"),
        pytest.param(lambda x: x[3], IndexError, r"index: .* shape \(3, 4\).*out of bounds", id="index"),
    ],
)
def test_shape_errors_of_one_input_ops_name_op_and_shape(fn, error, message, used, snapshot) -> None:
    x, x2 = used(3, 4)
    state = snapshot(x, x2)
    with pytest.raises(error, match=message):
        fn(x2)
    state.assert_unchanged()


def test_backward_on_a_tensor_without_grad_says_how_to_get_one(used, snapshot) -> None:
    x, _ = used(3)
    constant = Tensor([1.0, 2.0, 3.0], dtype=np.float64)
    y = (constant * 2).sum()
    state = snapshot(x, constant, y)
    with pytest.raises(RuntimeError, match="does not require grad.*requires_grad=True"):
        y.backward()
    state.assert_unchanged()


def test_backward_with_a_gradient_of_the_wrong_shape_keeps_the_graph_usable(used, snapshot) -> None:
    x, y = used(3)
    state = snapshot(x, y)
    with pytest.raises(ValueError, match=re.escape("has shape (4,), but this tensor has shape (3,)")):
        y.backward(np.ones(4))
    state.assert_unchanged()
    before = x.grad.numpy().copy()
    y.backward(np.ones(3))
    np.testing.assert_array_equal(x.grad, before + 2.0)


def test_second_backward_without_retain_graph_names_the_fix(used, snapshot) -> None:
    x, y = used(3)
    loss = (y * y).sum()
    loss.backward()
    state = snapshot(x, y, loss)
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        loss.backward()
    state.assert_unchanged()


def test_a_new_graph_through_a_released_node_names_the_fix(snapshot) -> None:
    """h's backward already ran; a new graph reaches it while another branch is still pending."""
    x = Tensor(np.linspace(0.1, 0.9, 3), requires_grad=True)
    h = x * x
    h.exp().sum().backward()
    loss = (h.exp() + h.tanh()).sum()
    state = snapshot(x, h)
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        loss.backward()
    state.assert_unchanged()


@pytest.mark.parametrize("value", [True, False])
def test_requires_grad_cannot_be_set_on_a_non_leaf(value, used, snapshot) -> None:
    x, y = used(3)
    state = snapshot(x, y)
    with pytest.raises(RuntimeError, match=r"only be changed on leaf tensors.*'mul'.*detach\(\)"):
        y.requires_grad = value
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(value)
    state.assert_unchanged()


@pytest.mark.parametrize(("exponent", "given"), [("2", "str"), (None, "NoneType")], ids=["str", "None"])
def test_pow_needs_a_number_or_tensor_exponent(exponent, given, used, snapshot) -> None:
    x, y = used(3)
    state = snapshot(x, y)
    with pytest.raises(TypeError, match=rf"number or a tensor exponent, got {given}"):
        y**exponent
    state.assert_unchanged()


def test_a_string_to_a_tensor_power_names_the_base(used, snapshot) -> None:
    x, y = used(3)
    state = snapshot(x, y)
    with pytest.raises(TypeError, match="needs a number base, got str"):
        "2" ** y
    state.assert_unchanged()


@pytest.mark.parametrize(
    ("dtype", "message"),
    [(np.int32, "dtype=int32"), ("banana", "'banana' is not a numpy dtype"), (np.complex128, "dtype=complex128")],
    ids=["int32", "unknown name", "complex"],
)
def test_bad_dtype_names_it_and_the_choices(dtype, message) -> None:
    source = np.arange(3.0)
    with pytest.raises(TypeError, match=f"{message}.*np.float32"):
        Tensor(source, dtype=dtype)
    np.testing.assert_array_equal(source, [0.0, 1.0, 2.0])
    assert source.dtype == np.float64


def test_from_numpy_of_an_int_array_names_the_dtype() -> None:
    source = np.arange(3)
    with pytest.raises(TypeError, match="dtype=int64.*np.float32"):
        from_numpy(source)
    assert source.dtype == np.int64


def test_item_on_a_multi_element_tensor_names_the_shape(used, snapshot) -> None:
    x, y = used(2, 3)
    state = snapshot(x, y)
    with pytest.raises(ValueError, match=re.escape("one element, this one has shape (2, 3)")):
        y.item()
    state.assert_unchanged()
