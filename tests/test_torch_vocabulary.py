"""torch's tensor vocabulary beyond the op table, against torch: comparisons and masks, argmax and
max(dim)'s indices, ties, dtype promotion, the shape queries, casts, module functions and errors.

The gradients of the differentiable ops are checked row by row in test_ops.py; here each test
compares what torch returns for the same call: values, dtypes, shapes and the error's type.
"""
from __future__ import annotations

import operator
from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad import ShapeError, Tensor

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((3, 4))
TIES = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 0.0, -1.0], [5.0, 5.0, 5.0, 5.0]])


def dtype_name(t: Any) -> str:
    return str(t.dtype).removeprefix("torch.")


def same(mine: Tensor, theirs: Any) -> None:
    """Same values, shape and dtype; and neither carries a gradient unless both do."""
    assert isinstance(mine, Tensor)
    assert mine.shape == tuple(theirs.shape) and dtype_name(mine) == dtype_name(theirs)
    np.testing.assert_array_equal(mine.data, theirs.detach().numpy())
    assert mine.requires_grad == theirs.requires_grad


# ---------------------------------------------------------------- comparisons and masks


@pytest.mark.parametrize("op", [operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne],
                         ids=["<", "<=", ">", ">=", "==", "!="])
@pytest.mark.parametrize("other", ["tensor", "row", "number", "array"])
def test_comparisons_are_bool_tensors_without_gradient(op, other) -> None:
    x, t = Tensor(A, requires_grad=True), torch.tensor(A, requires_grad=True)
    values = {"tensor": B, "row": B[0], "number": 0.25, "array": B}[other]
    mine = op(x, Tensor(values) if other in ("tensor", "row") else values)
    theirs = op(t, torch.tensor(values) if other != "number" else values)
    same(mine, theirs)
    assert mine.dtype == np.bool_ and mine.is_leaf and mine.grad_fn is None


@pytest.mark.parametrize("name", ["lt", "le", "gt", "ge", "eq", "ne"])
def test_named_comparisons(name) -> None:
    same(getattr(Tensor(A), name)(Tensor(B)), getattr(torch.tensor(A), name)(torch.tensor(B)))


def test_a_number_on_the_left_compares_too() -> None:
    same(0.5 < Tensor(A), 0.5 < torch.tensor(A))
    same(np.float64(0.5) >= Tensor(A), np.float64(0.5) >= torch.tensor(A))


def test_masks_combine_index_count_and_convert_as_in_torch() -> None:
    for lib, x in ((mg, Tensor(A, requires_grad=True)), (torch, torch.tensor(A, requires_grad=True))):
        mask = (x > 0) & (x < 1.0)
        either = (x > 1.0) | ~(x > -1.0)
        picked = x[mask]
        results = [mask, either, mask ^ either, mask.sum(), mask.float(), mask.double().mean(), picked, x[x > 0].sum(),
                   mask.any(), mask.all(), mask.any(1), mask.all(dim=0)]
        if lib is mg:
            mine = results
        else:
            theirs = results
    for m, t in zip(mine, theirs):
        same(m, t)


def test_a_mask_assignment_zeroes_as_torch() -> None:
    x, t = Tensor(A) * 1.0, torch.tensor(A) * 1.0
    x[x < 0] = 0.0
    t[t < 0] = 0.0
    same(x, t)


def test_tensors_stay_dict_keys_and_compare_by_value() -> None:
    """== is elementwise (as torch's), hashing stays by identity, so tensors key dicts and sets."""
    x, y = Tensor([1.0, 2.0]), Tensor([1.0, 2.0])
    assert len({x: 1, y: 2}) == 2 and x in {x} and y not in {x}
    assert (x == y).all().item() is True
    assert (x == None) is False and (x != None) is True  # noqa: E711
    with pytest.raises(ValueError):
        x in [y]  # as torch: the truth value of a two-element comparison is ambiguous


def test_a_bool_or_int_tensor_cannot_require_grad() -> None:
    mask = Tensor(A) > 0
    with pytest.raises(RuntimeError, match="floating point"):
        mask.requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        torch.tensor(A).gt(0).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        Tensor(A).argmax().requires_grad = True


@pytest.mark.parametrize("number", [2, 2.5, True])
def test_numbers_with_masks_and_indices_keep_torchs_dtypes(number) -> None:
    mask, index = Tensor(A) > 0, Tensor(A).argmax(0)
    same(mask * number, torch.tensor(A).gt(0) * number)
    same(index + number, torch.tensor(A).argmax(0) + number)
    same(Tensor(A, dtype=np.float32) * index, torch.tensor(A, dtype=torch.float32) * torch.tensor(A).argmax(0))


# ---------------------------------------------------------------- argmax, max and min


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_is_int64_as_torch(name, dim, keepdim) -> None:
    same(getattr(Tensor(TIES), name)(dim, keepdim), getattr(torch.tensor(TIES), name)(dim, keepdim))
    same(getattr(mg, name)(Tensor(A), dim=dim), getattr(torch, name)(torch.tensor(A), dim=dim))


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_over_a_dim_returns_values_and_indices_with_torchs_gradient_at_ties(name, dim, keepdim) -> None:
    """At a tie torch's max(dim) picks the first index and its gradient goes there alone."""
    x, t = Tensor(TIES, requires_grad=True), torch.tensor(TIES, requires_grad=True)
    mine, theirs = getattr(x, name)(dim, keepdim), getattr(t, name)(dim, keepdim)
    values, indices = mine
    assert mine.values is values and mine.indices is indices
    same(indices, theirs.indices)
    np.testing.assert_array_equal(values.data, theirs.values.detach().numpy())
    upstream = RNG.standard_normal(values.shape)
    values.backward(upstream)
    theirs.values.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(x.grad.data, t.grad.numpy())


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_of_all_elements_shares_the_gradient_among_ties(name) -> None:
    for row in TIES:
        x, t = Tensor(row, requires_grad=True), torch.tensor(row, requires_grad=True)
        getattr(x, name)().backward()
        getattr(t, name)().backward()
        np.testing.assert_array_equal(x.grad.data, t.grad.numpy())


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_splits_the_gradient_of_a_tie_in_halves(name) -> None:
    a, b = TIES, TIES[::-1].copy()
    x, y = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    getattr(mg, name)(x, y).sum().backward()
    getattr(torch, name)(tx, ty).sum().backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
    np.testing.assert_array_equal(y.grad.data, ty.grad.numpy())


def test_max_with_a_tensor_is_maximum() -> None:
    same(Tensor(A).max(Tensor(B)), torch.tensor(A).max(torch.tensor(B)))
    same(mg.min(Tensor(A), Tensor(B)), torch.min(torch.tensor(A), torch.tensor(B)))


def test_clamp_passes_the_gradient_at_its_bounds_as_torch() -> None:
    values = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    x, t = Tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    x.clamp(-0.5, 0.5).sum().backward()
    t.clamp(-0.5, 0.5).sum().backward()
    np.testing.assert_array_equal(x.grad.data, t.grad.numpy())
    with pytest.raises(TypeError, match="min, max or both"):
        x.clamp()


def test_abs_and_relu_at_zero_as_torch() -> None:
    values = np.array([-1.0, 0.0, 2.0])
    x, t = Tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    (abs(x) + x.relu()).sum().backward()
    (t.abs() + t.relu()).sum().backward()
    np.testing.assert_array_equal(x.grad.data, t.grad.numpy())


def test_a_negative_base_to_an_integer_power_as_torch() -> None:
    exponents = np.array([0.0, 1.0, 2.0, 3.0])
    same((-2.0) ** Tensor(exponents), (-2.0) ** torch.tensor(exponents))
    same(Tensor(-np.ones(4)) ** Tensor(exponents), torch.tensor(-np.ones(4)) ** torch.tensor(exponents))


def test_pow_at_zero_as_torch() -> None:
    """0 ** y: x gets no gradient where y == 0, the exponent none where x == 0 and y >= 0."""
    base, exponent = np.array([0.0, 0.0, 0.0, 2.0]), np.array([0.0, 1.0, 2.0, 0.0])
    x, y = Tensor(base, requires_grad=True), Tensor(exponent, requires_grad=True)
    tx, ty = torch.tensor(base, requires_grad=True), torch.tensor(exponent, requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1 and 0 * inf where the formula masks them
        (x**y).sum().backward()
    (tx**ty).sum().backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
    np.testing.assert_array_equal(y.grad.data, ty.grad.numpy())


def test_softmax_of_large_scores_stays_finite_as_torch() -> None:
    scores = np.array([[1000.0, 0.0, -1000.0], [-800.0, -800.0, -800.0]])
    for method in ("softmax", "log_softmax"):
        x, t = Tensor(scores, requires_grad=True), torch.tensor(scores, requires_grad=True)
        mine, theirs = getattr(x, method)(1), getattr(t, method)(1)
        np.testing.assert_allclose(mine.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-300)
        upstream = RNG.standard_normal(scores.shape)
        mine.backward(upstream)
        theirs.backward(torch.tensor(upstream))
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- dtype promotion


P32 = np.ones((2, 3), np.float32)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ((P32, np.float32), (np.float64(2.0), np.float64)),  # 0-d float64 tensor: does not widen
        ((np.array(2.0), np.float64), (P32, np.float32)),  # on the left either
        ((P32, np.float32), (np.ones(3, np.float64)[:1].reshape(()), np.float64)),
        ((P32, np.float32), (np.ones((2, 3)), np.float64)),  # a dimensioned float64 one widens
        ((np.array(2.0), np.float32), (np.array(3.0), np.float64)),  # two 0-d: normal promotion
        ((P32, np.float16), (np.array(3.0), np.float32)),
        ((P32, np.float16), (P32, np.float32)),
    ],
    ids=["dim32*0d64", "0d64*dim32", "dim32*0d64 view", "dim32*dim64", "0d32*0d64", "dim16*0d32", "dim16*dim32"],
)
@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow,
                                lambda a, b: a.maximum(b), lambda a, b: mg.where(a > 0, a, b) if isinstance(a, Tensor)
                                else torch.where(a > 0, a, b)],
                         ids=["add", "sub", "mul", "div", "pow", "maximum", "where"])
def test_a_0d_operand_does_not_widen_a_dimensioned_one(left, right, op) -> None:
    (a, da), (b, db) = left, right
    tdtype = {np.float16: torch.float16, np.float32: torch.float32, np.float64: torch.float64}
    x, y = Tensor(a, dtype=da, requires_grad=True), Tensor(b, dtype=db, requires_grad=True)
    tx = torch.tensor(np.asarray(a), dtype=tdtype[da], requires_grad=True)
    ty = torch.tensor(np.asarray(b), dtype=tdtype[db], requires_grad=True)
    out, expected = op(x, y), op(tx, ty)
    assert dtype_name(out) == dtype_name(expected) and out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy().astype(out.dtype), rtol=1e-3)
    out.sum().backward()
    expected.sum().backward()
    for mine, theirs in ((x, tx), (y, ty)):
        assert mine.grad.dtype == mine.dtype and dtype_name(mine.grad) == dtype_name(theirs.grad)
        np.testing.assert_allclose(mine.grad.data, theirs.grad.numpy(), rtol=2e-3)


def test_a_0d_float64_array_does_not_widen_either() -> None:
    x = Tensor(P32)
    for other in (np.array(2.0), np.float64(2.0)):
        assert (x * other).dtype == (other * x).dtype == (x + other).dtype == np.float32
    assert (x * np.ones(3, np.float64)[:1].reshape(1, 1)).dtype == np.float64
    assert (torch.ones(2, 3) * torch.tensor(2.0, dtype=torch.float64)).dtype == torch.float32


def test_the_gradient_reaches_a_0d_float64_parameter_in_its_own_dtype() -> None:
    scale = Tensor(np.float64(3.0), dtype=np.float64, requires_grad=True)
    x = Tensor(P32, requires_grad=True)
    (x * scale).sum().backward()
    assert scale.grad.dtype == np.float64 and scale.grad.item() == 6.0
    assert x.grad.dtype == np.float32 and (x.grad.data == 3.0).all()
    assert (x * scale).grad_fn.next_functions[1][0].variable is scale


def test_cat_promotes_as_torch() -> None:
    out = mg.cat([Tensor(P32), Tensor(np.ones((1, 3))), Tensor(P32)])
    expected = torch.cat([torch.ones(2, 3), torch.ones(1, 3, dtype=torch.float64), torch.ones(2, 3)])
    same(out, expected)


# ---------------------------------------------------------------- shape queries, shape ops and casts


def test_size_numel_dim_as_torch() -> None:
    x, t = Tensor(np.ones((2, 3, 4))), torch.ones(2, 3, 4)
    assert x.size() == tuple(t.size()) and x.size(1) == t.size(1) and x.size(-1) == t.size(-1)
    assert x.numel() == t.numel() == mg.numel(x) and x.dim() == t.dim() == x.ndim
    assert x.size == 24 and isinstance(x.size, int)  # numpy's attribute still reads as the element count
    with pytest.raises(IndexError):
        x.size(3)


@pytest.mark.parametrize(
    "call",
    [lambda t: t.view(-1), lambda t: t.view(4, 6), lambda t: t.flatten(), lambda t: t.flatten(1), lambda t: t.flatten(0, 1),
     lambda t: t.unsqueeze(0), lambda t: t.unsqueeze(-1), lambda t: t.unsqueeze(2), lambda t: t[:, :1].squeeze(),
     lambda t: t[:, :1].squeeze(1), lambda t: t.squeeze(0), lambda t: t[:1, :, :1].squeeze((0, 2)),
     lambda t: t[:1].expand(5, -1, -1), lambda t: t[0, 0].expand(2, 4), lambda t: t.clone(), lambda t: t[0, 0, 0].flatten()],
)
def test_shape_ops_give_torchs_shapes_and_values(call) -> None:
    data = np.arange(24.0).reshape(2, 3, 4)
    same(call(Tensor(data)), call(torch.tensor(data)))


def test_flatten_with_nothing_to_merge_is_the_tensor_itself_as_torch() -> None:
    x, t = Tensor(np.ones(3), requires_grad=True), torch.ones(3, requires_grad=True)
    assert x.flatten() is x and t.flatten() is t


def test_expand_is_a_read_only_view() -> None:
    x = Tensor(np.ones((1, 3)))
    y = x.expand(4, 3)
    assert np.shares_memory(x.data, y.data) and not y.data.flags.writeable


@pytest.mark.parametrize(("method", "dtype"), [("float", np.float32), ("double", np.float64), ("half", np.float16)])
def test_casts_as_torch(method, dtype) -> None:
    x, t = Tensor(A, dtype=np.float32, requires_grad=True), torch.tensor(A, dtype=torch.float32, requires_grad=True)
    mine, theirs = getattr(x, method)(), getattr(t, method)()
    assert (mine is x) == (theirs is t)
    assert mine.dtype == dtype and dtype_name(mine) == dtype_name(theirs)
    if mine is not x:
        assert mine.grad_fn.name() == type(theirs.grad_fn).__name__ == "ToCopyBackward0"
        mine.sum().backward()
        theirs.sum().backward()
        assert x.grad.dtype == np.float32
        np.testing.assert_array_equal(x.grad.data, t.grad.numpy())


def test_to_a_dtype_minigrad_does_not_hold_names_the_choices() -> None:
    with pytest.raises(TypeError, match="np.float32"):
        Tensor(A).to(np.int64)


# ---------------------------------------------------------------- module functions


@pytest.mark.parametrize(
    "name", ["sqrt", "abs", "exp", "log", "tanh", "sigmoid", "relu", "square", "clone", "flatten"],
)
def test_unary_module_functions_as_torch(name) -> None:
    data = np.abs(A) + 0.1
    mine, theirs = getattr(mg, name)(Tensor(data)), getattr(torch, name)(torch.tensor(data))
    assert mine.shape == tuple(theirs.shape) and dtype_name(mine) == dtype_name(theirs)
    np.testing.assert_allclose(mine.data, theirs.numpy(), rtol=1e-15)  # libm's tanh may differ by an ulp


def test_module_functions_with_arguments_as_torch() -> None:
    x, t = Tensor(A), torch.tensor(A)
    pairs = [
        (mg.clamp(x, -0.5, 0.5), torch.clamp(t, -0.5, 0.5)), (mg.clip(x, max=0.1), torch.clip(t, max=0.1)),
        (mg.maximum(x, Tensor(B)), torch.maximum(t, torch.tensor(B))), (mg.softmax(x, 1), torch.softmax(t, 1)),
        (mg.log_softmax(x, 0), torch.log_softmax(t, 0)), (mg.sum(x, 1), torch.sum(t, 1)), (mg.mean(x), torch.mean(t)),
        (mg.max(x), torch.max(t)), (mg.max(x, 1).indices, torch.max(t, 1).indices), (mg.argmax(x, 0), torch.argmax(t, 0)),
        (mg.matmul(x, Tensor(B.T)), torch.matmul(t, torch.tensor(B.T))), (mg.reshape(x, (4, 3)), torch.reshape(t, (4, 3))),
        (mg.unsqueeze(x, 1), torch.unsqueeze(t, 1)), (mg.squeeze(x[:1]), torch.squeeze(t[:1])),
        (mg.transpose(x, 0, 1), torch.transpose(t, 0, 1)), (mg.permute(x, (1, 0)), torch.permute(t, (1, 0))),
        (mg.pow(x, 2), torch.pow(t, 2)), (mg.where(x > 0, x, 0.0), torch.where(t > 0, t, 0.0)),
        (mg.where(x > 0, 1.0, 0.0), torch.where(t > 0, 1.0, 0.0)), (mg.stack([x, x], 1), torch.stack([t, t], 1)),
        (mg.cat([x, x], -1), torch.cat([t, t], -1)),
    ]
    for mine, theirs in pairs:
        assert mine.shape == tuple(theirs.shape) and dtype_name(mine) == dtype_name(theirs)
        np.testing.assert_allclose(mine.data, theirs.numpy(), rtol=1e-12)


def test_cat_and_stack_of_one_tensor() -> None:
    x, t = Tensor(A, requires_grad=True), torch.tensor(A, requires_grad=True)
    for mine, theirs in ((mg.cat([x]), torch.cat([t])), (mg.stack([x], 1), torch.stack([t], 1))):
        np.testing.assert_array_equal(mine.data, theirs.detach().numpy())
        assert mine.shape == tuple(theirs.shape) and mine.data is not x.data


def test_the_torch_dtype_names() -> None:
    assert mg.zeros(2, dtype=mg.float64).dtype == np.float64 and mg.float32 is np.float32 and mg.float16 is np.float16


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        (lambda: Tensor(np.ones(3)) + Tensor(np.ones(4)), lambda: torch.ones(3) + torch.ones(4)),
        (lambda: Tensor(np.ones((3, 2))) @ Tensor(np.ones((4, 1))), lambda: torch.ones(3, 2) @ torch.ones(4, 1)),
        (lambda: Tensor(np.ones((3, 2))).reshape(5), lambda: torch.ones(3, 2).reshape(5)),
        (lambda: Tensor(np.ones((3, 2))).view(7), lambda: torch.ones(3, 2).view(7)),
        (lambda: Tensor(np.ones((3, 2))).item(), lambda: torch.ones(3, 2).item()),
        (lambda: mg.cat([Tensor(np.ones((3, 2))), Tensor(np.ones((3, 3)))]), lambda: torch.cat([torch.ones(3, 2), torch.ones(3, 3)])),
        (lambda: mg.stack([Tensor(np.ones(2)), Tensor(np.ones(3))]), lambda: torch.stack([torch.ones(2), torch.ones(3)])),
        (lambda: Tensor(np.ones((3, 2))).expand(3, 4), lambda: torch.ones(3, 2).expand(3, 4)),
        (lambda: Tensor(np.ones((3, 2))).expand(2), lambda: torch.ones(3, 2).expand(2)),
        (lambda: Tensor(np.ones(3)) > Tensor(np.ones(4)), lambda: torch.ones(3) > torch.ones(4)),
        (lambda: mg.where(Tensor(np.ones(3)) > 0, Tensor(np.ones(4)), 0.0), lambda: torch.where(torch.ones(3) > 0, torch.ones(4), 0.0)),
        (lambda: Tensor(np.ones(3), requires_grad=True).sum().backward(np.ones(2)),
         lambda: torch.ones(3, requires_grad=True).sum().backward(torch.ones(2))),
        (lambda: Tensor(np.ones(3)).maximum(Tensor(np.ones(2))), lambda: torch.ones(3).maximum(torch.ones(2))),
        (lambda: Tensor(np.ones((2, 3))).flatten(1, 0), lambda: torch.ones(2, 3).flatten(1, 0)),
    ],
    ids=["broadcast", "matmul", "reshape", "view", "item", "cat", "stack", "expand", "expand fewer",
         "compare", "where", "backward grad", "maximum", "flatten"],
)
def test_shape_errors_are_runtime_errors_as_in_torch_and_value_errors_as_before(mine, theirs) -> None:
    with pytest.raises(RuntimeError):
        theirs()
    with pytest.raises(ShapeError) as err:
        mine()
    assert isinstance(err.value, RuntimeError) and isinstance(err.value, ValueError)


def test_cat_of_no_tensors_is_a_value_error_in_both() -> None:
    with pytest.raises(ValueError):
        torch.cat([])
    with pytest.raises(ValueError, match="at least one tensor"):
        mg.cat([])


def test_a_shape_error_keeps_its_message() -> None:
    with pytest.raises(ValueError, match=r"add: cannot apply to shapes \(3,\) and \(4,\)"):
        Tensor(np.ones(3)) + Tensor(np.ones(4))
    with pytest.raises(RuntimeError, match=r"cat: tensors must match in every axis but dim 0: .*tensor 1 has shape \(3, 3\)"):
        mg.cat([Tensor(np.ones((3, 2))), Tensor(np.ones((3, 3)))])


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: Tensor(np.ones(3)).sum(dim=2), IndexError),
        (lambda: Tensor(np.ones(3)).unsqueeze(3), IndexError),
        (lambda: Tensor(np.ones(3)).softmax(1), IndexError),
        (lambda: Tensor(np.ones(3)).max(1), IndexError),
        (lambda: mg.cat([Tensor(np.ones(3))], 1), IndexError),
        (lambda: mg.cat(Tensor(np.ones(3))), TypeError),
        (lambda: mg.cat([np.ones(3)]), TypeError),
        (lambda: mg.where(Tensor(np.ones(3)), 1.0, 0.0), TypeError),
    ],
    ids=["sum dim", "unsqueeze dim", "softmax dim", "max dim", "cat dim", "cat of a tensor", "cat of an array",
         "where of floats"],
)
def test_other_bad_arguments_raise_torchs_error_types(call, error) -> None:
    with pytest.raises(error):
        call()
