"""Tensor itself: construction and dtype rules, attributes, numpy interop and repr.

The dtype rules are PyTorch's: Python numbers and lists become float32, a floating ndarray keeps
its dtype, and float32 stays float32 through ops with Python numbers.
"""
from __future__ import annotations

import operator

import numpy as np
import pytest

from minigrad import Tensor, from_numpy


# ---------------------------------------------------------------- construction


@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        pytest.param(3, np.float32, id="int"),
        pytest.param(2.5, np.float32, id="float"),
        pytest.param(True, np.float32, id="bool"),
        pytest.param([1, 2, 3], np.float32, id="list of ints"),
        pytest.param([[1.0, 2.0], [3.0, 4.0]], np.float32, id="nested list of floats"),
        pytest.param(np.arange(3), np.float32, id="int64 ndarray"),
        pytest.param(np.array([True, False]), np.float32, id="bool ndarray"),
        pytest.param(np.ones(3, dtype=np.float64), np.float64, id="float64 ndarray"),
        pytest.param(np.ones(3, dtype=np.float32), np.float32, id="float32 ndarray"),
        pytest.param(np.ones(3, dtype=np.float16), np.float16, id="float16 ndarray"),
        pytest.param(np.float64(1.5), np.float64, id="numpy float64 scalar"),
    ],
)
def test_dtype_rules(data, dtype) -> None:
    t = Tensor(data)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float64, "float64", float, np.dtype(np.float64)])
def test_dtype_argument_overrides_the_rules(dtype) -> None:
    assert Tensor([1, 2], dtype=dtype).dtype == np.float64
    assert Tensor(np.ones(2), dtype=np.float32).dtype == np.float32


def test_construction_copies_the_data() -> None:
    source = np.ones(3)
    t = Tensor(source)
    source[0] = 5.0
    assert t.data[0] == 1.0 and not np.shares_memory(t.data, source)
    assert not np.shares_memory(Tensor(t).data, t.data)


def test_from_numpy_shares_memory_both_ways() -> None:
    source = np.zeros(3, dtype=np.float32)
    t = from_numpy(source, requires_grad=True)
    assert t.data is source and t.requires_grad and t.is_leaf
    source[0] = 1.0
    t.data[1] = 2.0
    np.testing.assert_array_equal(t.data, [1.0, 2.0, 0.0])
    np.testing.assert_array_equal(source, [1.0, 2.0, 0.0])


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        pytest.param("abc", TypeError, "string 'abc'", id="string"),
        pytest.param(["a", "b"], TypeError, "list holding dtype <U1", id="list of strings"),
        pytest.param(np.array([1, None]), TypeError, "dtype object", id="object array"),
        pytest.param(None, TypeError, "NoneType", id="None"),
        pytest.param(np.array([1j]), TypeError, "complex128", id="complex array"),
        pytest.param([[1.0, 2.0], [3.0]], ValueError, "ragged", id="ragged list"),
    ],
)
def test_non_numeric_data_is_rejected_with_what_was_given(data, error, message) -> None:
    with pytest.raises(error, match=message):
        Tensor(data)


@pytest.mark.parametrize(
    ("array", "message"),
    [(np.arange(3), "int64"), ([1.0, 2.0], "list")],
    ids=["int array", "list"],
)
def test_from_numpy_rejects_what_it_cannot_share(array, message) -> None:
    with pytest.raises(TypeError, match=message):
        from_numpy(array)


# ---------------------------------------------------------------- attributes


def test_attributes_of_a_leaf() -> None:
    t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="W1")
    assert isinstance(t.data, np.ndarray)
    assert t.grad is None and t.requires_grad and t.is_leaf
    assert (t.shape, t.ndim, t.size, t.dtype) == ((2, 3), 2, 6, np.float64)
    assert t.name == "W1" and t.op is None and len(t) == 2


def test_attributes_of_an_op_output() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert y.op == "mul" and not y.is_leaf and y.requires_grad and y.name is None
    assert (x * Tensor([1.0, 2.0])).op == "mul"
    assert (Tensor([1.0]) * 2).op is None


def test_requires_grad_can_be_set_on_a_leaf() -> None:
    x = Tensor([1.0])
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad = False
    assert not x.requires_grad


def test_numpy_shares_and_item_converts() -> None:
    t = Tensor([[2.5]])
    assert t.numpy() is t.data
    assert t.item() == 2.5 and type(t.item()) is float
    assert float(t) == 2.5


def test_detach_shares_data_and_leaves_the_graph() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).detach()
    assert y.is_leaf and not y.requires_grad and y.op is None
    x_view = x.detach()
    assert x_view.data is x.data


def test_retain_grad_marks_only_non_leaves() -> None:
    x = Tensor([1.0], requires_grad=True)
    x.retain_grad()
    assert not x.retains_grad
    y = x * 2
    y.retain_grad()
    assert y.retains_grad


def test_iteration_yields_rows_that_backpropagate() -> None:
    x = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    rows = list(x)
    assert [r.shape for r in rows] == [(2,)] * 3
    (rows[0] + rows[2]).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]])


@pytest.mark.parametrize(
    ("make", "parts"),
    [
        pytest.param(lambda: Tensor([1.5, 2.0]), ["1.5", "2.", "shape=(2,)", "dtype=float32"], id="constant"),
        pytest.param(
            lambda: Tensor([1.0], requires_grad=True, name="w"), ["requires_grad=True", "name='w'"], id="leaf"
        ),
        pytest.param(lambda: Tensor([1.0], requires_grad=True) * 3, ["3.", "op=mul"], id="op output"),
        pytest.param(lambda: Tensor(np.zeros((2, 2))), ["[[0., 0.]", "shape=(2, 2)", "dtype=float64"], id="matrix"),
    ],
)
def test_repr_shows_values_shape_and_op(make, parts) -> None:
    text = repr(make())
    assert text.startswith("Tensor(")
    for part in parts:
        assert part in text


# ---------------------------------------------------------------- numpy interop


def test_array_protocol() -> None:
    t = Tensor([1.0, 2.0])
    assert np.asarray(t) is t.data
    as64 = np.asarray(t, dtype=np.float64)
    assert as64.dtype == np.float64 and not np.shares_memory(as64, t.data)
    copied = np.array(t)
    assert not np.shares_memory(copied, t.data)
    np.testing.assert_array_equal(copied, t.data)
    assert np.shares_memory(np.asarray(t, copy=False), t.data)
    with pytest.raises(ValueError, match="float32.*float64.*without a copy"):
        np.asarray(t, dtype=np.float64, copy=False)


@pytest.mark.parametrize(
    ("op", "grad"),
    [
        pytest.param(operator.add, lambda a, x: np.ones(3), id="ndarray + Tensor"),
        pytest.param(operator.sub, lambda a, x: -np.ones(3), id="ndarray - Tensor"),
        pytest.param(operator.mul, lambda a, x: a, id="ndarray * Tensor"),
        pytest.param(operator.truediv, lambda a, x: -a / x**2, id="ndarray / Tensor"),
    ],
)
def test_ndarray_on_the_left_gives_a_tensor(op, grad) -> None:
    """numpy defers to Tensor's reflected operator (no object array of Tensors)."""
    a = np.array([1.0, 2.0, 3.0])
    x = Tensor([4.0, 5.0, 6.0], requires_grad=True, dtype=np.float64)
    out = op(a, x)
    assert type(out) is Tensor and out.dtype == np.float64
    np.testing.assert_allclose(out.data, op(a, x.data), rtol=1e-15)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, grad(a, x.data), rtol=1e-15)


def test_ndarray_matmul_tensor_gives_a_tensor() -> None:
    a = np.array([[1.0, 2.0]])
    x = Tensor([[3.0], [4.0]], requires_grad=True, dtype=np.float64)
    out = a @ x
    assert type(out) is Tensor and out.item() == 11.0
    out.backward()
    np.testing.assert_array_equal(x.grad, [[1.0], [2.0]])


def test_numpy_ufuncs_refuse_tensors() -> None:
    """np.exp(t) would silently drop the graph; numpy raises instead (use t.exp())."""
    with pytest.raises(TypeError):
        np.exp(Tensor([1.0]))


# ---------------------------------------------------------------- float32 stays float32


@pytest.mark.parametrize(
    "fn",
    [
        pytest.param(lambda x: x + 1, id="x + 1"),
        pytest.param(lambda x: 1 + x, id="1 + x"),
        pytest.param(lambda x: x - 2.5, id="x - 2.5"),
        pytest.param(lambda x: 2.5 - x, id="2.5 - x"),
        pytest.param(lambda x: x * 3, id="x * 3"),
        pytest.param(lambda x: 0.1 * x, id="0.1 * x"),
        pytest.param(lambda x: x / 3, id="x / 3"),
        pytest.param(lambda x: 3.0 / x, id="3.0 / x"),
        pytest.param(lambda x: x**2, id="x ** 2"),
        pytest.param(lambda x: x**0.5, id="x ** 0.5"),
        pytest.param(lambda x: 2**x, id="2 ** x"),
        pytest.param(lambda x: x * np.float32(2), id="x * np.float32"),
        pytest.param(lambda x: x * np.int64(2), id="x * np.int64"),
        pytest.param(lambda x: x + np.arange(3), id="x + int ndarray"),
        pytest.param(lambda x: -x, id="-x"),
        pytest.param(lambda x: x.mean(), id="mean"),
        pytest.param(lambda x: x.mean(axis=0), id="mean(axis=0)"),
        pytest.param(lambda x: x.sum(), id="sum"),
        pytest.param(lambda x: x.sigmoid(), id="sigmoid"),
        pytest.param(lambda x: x.tanh(), id="tanh"),
        pytest.param(lambda x: x.exp(), id="exp"),
        pytest.param(lambda x: x.log(), id="log"),
        pytest.param(lambda x: x.relu(), id="relu"),
        pytest.param(lambda x: x.square(), id="square"),
        pytest.param(lambda x: x @ x.T, id="x @ x.T"),
        pytest.param(lambda x: x[[0, 0]], id="x[[0, 0]]"),
    ],
)
def test_float32_stays_float32_through_ops_with_numbers(fn) -> None:
    x = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    out = fn(x)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape))
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize(
    "fn",
    [
        pytest.param(lambda x: x * np.float64(2.0), id="x * np.float64(2.0)"),
        pytest.param(lambda x: x / np.sqrt(2.0), id="x / np.sqrt(2.0)"),
        pytest.param(lambda x: np.float64(2.0) * x, id="np.float64(2.0) * x"),
    ],
)
def test_numpy_float64_scalars_act_like_python_floats(fn) -> None:
    """np.float64 subclasses float, and torch keeps float32 for it: x / np.sqrt(d) stays float32."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert fn(x).dtype == np.float32
