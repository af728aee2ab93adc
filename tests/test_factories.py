"""The factories against torch's: shapes from either spelling, values, dtypes, requires_grad, errors."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor

torch = pytest.importorskip("torch")

DTYPES = [(None, torch.float32), (np.float64, torch.float64), (np.float32, torch.float32), (mg.float64, torch.float64)]


def same(t: Tensor, expected: Any, requires_grad: bool = False) -> None:
    """t equals torch's tensor exactly: shape, dtype, values, and requires_grad."""
    assert isinstance(t, Tensor) and t.is_leaf
    assert t.shape == tuple(expected.shape)
    assert str(t.dtype) == str(expected.dtype).removeprefix("torch.")
    assert t.requires_grad is requires_grad is expected.requires_grad
    np.testing.assert_array_equal(t.data, expected.detach().numpy())


@pytest.mark.parametrize("name", ["zeros", "ones"])
@pytest.mark.parametrize("size", [(2, 3), ((2, 3),), ([2, 3],), ((),), (0,), (4,), ((1, 2, 3),)], ids=repr)
@pytest.mark.parametrize(("dtype", "torch_dtype"), DTYPES)
def test_zeros_and_ones_take_torch_size_spellings(name, size, dtype, torch_dtype) -> None:
    same(getattr(mg, name)(*size, dtype=dtype), getattr(torch, name)(*size, dtype=torch_dtype))


@pytest.mark.parametrize("name", ["zeros", "ones", "rand", "randn"])
def test_requires_grad_makes_a_leaf_that_trains(name) -> None:
    t = getattr(mg, name)(2, 3, requires_grad=True, dtype=np.float64)
    assert t.requires_grad and t.is_leaf and t.grad is None
    (t * t).sum().backward()
    np.testing.assert_allclose(t.grad.data, 2 * t.data)


@pytest.mark.parametrize(("dtype", "torch_dtype"), DTYPES)
@pytest.mark.parametrize(("size", "value"), [((2, 3), 1.5), ([4], -2.0), ((), 7.25)])
def test_full(size, value, dtype, torch_dtype) -> None:
    same(mg.full(size, value, dtype=dtype, requires_grad=True), torch.full(size, value, dtype=torch_dtype, requires_grad=True), True)


def test_full_takes_a_sequence_as_torch() -> None:
    with pytest.raises(TypeError, match="tuple of ints"):
        mg.full(3, 1.0)
    with pytest.raises(TypeError):
        torch.full(3, 1.0)


@pytest.mark.parametrize(
    "args",
    [(5,), (2, 7), (0, 1, 0.1), (1, 2.5, 0.5), (-1.5, 1.5, 0.25), (10, 0, -3), (0.0, 1.0, 0.3), (3, 3), (0, 10, 2)],
    ids=repr,
)
@pytest.mark.parametrize(("dtype", "torch_dtype"), [(np.float32, torch.float32), (np.float64, torch.float64)])
def test_arange_values_as_torch(args, dtype, torch_dtype) -> None:
    same(mg.arange(*args, dtype=dtype), torch.arange(*args, dtype=torch_dtype))


def test_arange_of_ints_is_float32_where_torch_makes_int64() -> None:
    """minigrad tensors are floating: arange(5) has torch's values in the default float dtype."""
    t, expected = mg.arange(5), torch.arange(5)
    assert expected.dtype == torch.int64 and t.dtype == np.float32
    np.testing.assert_array_equal(t.data, expected.numpy())
    assert mg.tensor([1, 2]).dtype == np.float32 and torch.tensor([1, 2]).dtype == torch.int64
    assert mg.full((2,), 7).dtype == np.float32 and torch.full((2,), 7).dtype == torch.int64


@pytest.mark.parametrize(("start", "end", "steps"), [(0, 1, 7), (-2.5, 3.5, 11), (1, 0, 5), (0, 1, 2), (3, 3, 4),
                                                     (0, 1, 1), (0, 1, 0), (-1e3, 1e-3, 50)])
@pytest.mark.parametrize(("dtype", "torch_dtype"), [(np.float32, torch.float32), (np.float64, torch.float64)])
def test_linspace_as_torch(start, end, steps, dtype, torch_dtype) -> None:
    """float32 to the bit; float64 to an ulp (torch fuses its multiply-adds, numpy cannot)."""
    t, expected = mg.linspace(start, end, steps, dtype=dtype), torch.linspace(start, end, steps, dtype=torch_dtype)
    if dtype == np.float32:
        same(t, expected)
    else:
        assert t.dtype == np.float64 and t.shape == tuple(expected.shape)
        np.testing.assert_array_max_ulp(t.data, expected.numpy(), maxulp=1)


@pytest.mark.parametrize("args", [(3,), (2, 4), (4, 2), (0,)], ids=repr)
def test_eye(args) -> None:
    same(mg.eye(*args), torch.eye(*args))
    same(mg.eye(*args, dtype=np.float64), torch.eye(*args, dtype=torch.float64))


@pytest.mark.parametrize("data", [[1.0, 2.0], [[1, 2], [3, 4]], 3.5, np.arange(6.0).reshape(2, 3), [True, False]],
                         ids=["floats", "ints", "number", "float64 array", "bools"])
def test_tensor_copies_data_in_torch_float_dtype(data) -> None:
    t = mg.tensor(data, requires_grad=True)
    expected = torch.tensor(data)
    expected = expected if expected.dtype.is_floating_point else expected.float()
    same(t, expected.requires_grad_(), True)
    if isinstance(data, np.ndarray):
        data[0, 0] = 99.0
        assert t.data[0, 0] == 0.0


def test_tensor_of_a_tensor_is_a_copy_cut_from_the_graph() -> None:
    x = mg.ones(3, requires_grad=True)
    y = mg.tensor(x * 2)
    assert y.is_leaf and not y.requires_grad and y.data is not x.data


@pytest.mark.parametrize("name", ["rand", "randn"])
def test_rand_and_randn_follow_manual_seed(name) -> None:
    fn = getattr(mg, name)
    mg.manual_seed(5)
    first = fn(3, 4)
    mg.manual_seed(5)
    again, other = fn((3, 4)), fn(3, 4)
    np.testing.assert_array_equal(first.data, again.data)
    assert not np.array_equal(first.data, other.data)
    assert first.dtype == np.float32 and first.shape == (3, 4)
    mg.manual_seed(5)
    np.testing.assert_array_equal(fn(3, 4, dtype=np.float64).data.astype(np.float32), first.data)


def test_rand_is_uniform_on_0_1_and_randn_standard_normal() -> None:
    mg.manual_seed(0)
    u, n = mg.rand(100_000, dtype=np.float64).data, mg.randn(100_000, dtype=np.float64).data
    assert 0.0 <= u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.01
    assert abs(n.mean()) < 0.01 and abs(n.std() - 1.0) < 0.01


def test_a_generator_argument_is_used_instead_of_minigrads() -> None:
    a = mg.randn(4, generator=np.random.default_rng(1))
    b = mg.randn(4, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "randn_like", "rand_like"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_like_factories_copy_shape_and_dtype(name, dtype) -> None:
    x = mg.ones(2, 5, dtype=dtype, requires_grad=True)
    t = getattr(mg, name)(x)
    expected = getattr(torch, name)(torch.ones(2, 5, dtype=torch.float64 if dtype == np.float64 else torch.float32))
    assert t.shape == tuple(expected.shape) and str(t.dtype) == str(expected.dtype).removeprefix("torch.")
    assert not t.requires_grad and t.data is not x.data
    if name in ("zeros_like", "ones_like"):
        np.testing.assert_array_equal(t.data, expected.numpy())
    assert getattr(mg, name)(x, dtype=np.float16).dtype == np.float16
    assert getattr(mg, name)(x, requires_grad=True).requires_grad


def test_full_like() -> None:
    same(mg.full_like(mg.zeros(2, 3), 2.5), torch.full_like(torch.zeros(2, 3), 2.5))


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: mg.zeros(), TypeError),
        (lambda: mg.zeros(2.5), TypeError),
        (lambda: mg.ones(-1), ValueError),
        (lambda: mg.zeros(2, dtype=np.int64), TypeError),
        (lambda: mg.randn(2, 3, dtype="banana"), TypeError),
        (lambda: mg.arange(0, 1, 0), ValueError),
        (lambda: mg.linspace(0, 1, -1), ValueError),
    ],
    ids=["no size", "float size", "negative size", "int dtype", "unknown dtype", "zero step", "negative steps"],
)
def test_bad_arguments_raise_as_in_torch(call, error) -> None:
    with pytest.raises(error):
        call()
