"""Tests for minigrad.nn: registration, initialisation, the layers' graphs and MSELoss's shape check."""
from __future__ import annotations

from collections import Counter, OrderedDict

import numpy as np
import pytest

from minigrad import Tensor, manual_seed, nn


def mlp(dtype=np.float64) -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 4, dtype=dtype), nn.ReLU(), nn.Linear(4, 1, dtype=dtype))


def recorded_ops(root: Tensor) -> Counter:
    """Count the op names of every node reachable from root, walking _op/_parents with a stack."""
    seen, stack, names = set(), [root], Counter()
    while stack:
        t = stack.pop()
        if t.is_leaf or id(t) in seen:
            continue
        seen.add(id(t))
        names[t.op] += 1
        stack.extend(t.inputs)
    return names


# ---------------------------------------------------------------- registration


class Pair(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.second = nn.Parameter(Tensor([1.0]))
        self.constant = Tensor([2.0])  # no grad: not a parameter
        self.plain = Tensor([2.0], requires_grad=True)  # not a Parameter: not registered, as in torch
        self.first = nn.Linear(2, 1)
        self.scale = nn.Parameter([3.0])
        self.derived = self.scale * 2  # an op's output: not a parameter
        self.label = "pair"

    def forward(self, x):
        return self.first(x) * self.scale + self.second


def test_parameters_and_submodules_register_in_assignment_order() -> None:
    m = Pair()
    # as in torch: a module's own parameters in assignment order, then each submodule's
    assert [n for n, _ in m.named_parameters()] == ["second", "scale", "first.weight", "first.bias"]
    assert list(m.parameters())[2] is m.first.weight
    assert list(m.children()) == [m.first]
    assert [n for n, _ in m.named_modules()] == ["", "first"]


def test_sequential_names_children_by_position_or_by_dict_key() -> None:
    assert [n for n, _ in mlp().named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    named = nn.Sequential(OrderedDict(hidden=nn.Linear(3, 4), relu=nn.ReLU(), output=nn.Linear(4, 1)))
    assert [n for n, _ in named.named_parameters()] == ["hidden.weight", "hidden.bias", "output.weight", "output.bias"]
    assert named[0] is named.hidden and len(named) == 3 and list(named)[2] is named.output


def test_tensor_names_follow_the_dotted_path_unless_set_by_hand() -> None:
    seq = mlp()
    seq[2].bias.name = "b2"

    class Outer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = seq

    outer = Outer()
    assert {n: p.name for n, p in outer.named_parameters()} == {
        "net.0.weight": "net.0.weight", "net.0.bias": "net.0.bias", "net.2.weight": "net.2.weight", "net.2.bias": "b2",
    }


def test_reassigning_or_deleting_an_attribute_updates_the_registry() -> None:
    m = Pair()
    m.scale = None
    del m.first
    assert [n for n, _ in m.named_parameters()] == ["second"]
    m.first = nn.ReLU()
    assert [n for n, _ in m.named_modules()] == ["", "first"]


def test_a_shared_parameter_is_listed_once() -> None:
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]


def test_assigning_before_init_names_the_fix() -> None:
    class Forgot(nn.Module):
        def __init__(self) -> None:
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgot()


def test_sequential_rejects_non_modules_and_names_that_would_shadow_methods() -> None:
    with pytest.raises(TypeError, match="int"):
        nn.Sequential(nn.ReLU(), 3)
    with pytest.raises(ValueError, match="'forward'"):
        nn.Sequential({"forward": nn.ReLU()})


def test_repr_reads_like_torch() -> None:
    assert repr(mlp()) == (
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=4, out_features=1, bias=True)\n"
        ")"
    )


def test_train_eval_dtype_conversion() -> None:
    model = mlp(np.float32)
    assert model.eval() is model and not model[0].training
    assert model.train().training and model[2].training
    model[0].weight.grad = Tensor(np.ones((3, 4), dtype=np.float32))
    model.double()
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float64)}
    assert model[0].weight.grad.dtype == np.float64
    assert model.float()[0].bias.dtype == np.float32
    with pytest.raises(TypeError, match="float"):
        model.to(np.int64)


# ---------------------------------------------------------------- Linear


def test_linear_shapes_dtype_and_torch_init_bounds() -> None:
    manual_seed(0)
    layer = nn.Linear(300, 200)
    bound = 1 / np.sqrt(300)
    assert layer.weight.shape == (300, 200) and layer.bias.shape == (200,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert layer.weight.requires_grad and layer.weight.is_leaf
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.95 * bound  # uniform over the whole interval, not a narrow one
    assert abs(layer.weight.data.mean()) < 0.1 * bound
    assert nn.Linear(2, 3, dtype=np.float64).weight.dtype == np.float64
    assert nn.Linear(2, 3, bias=False).bias is None
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(0, 3)


def test_manual_seed_fixes_the_initial_weights_drawn_weight_then_bias() -> None:
    manual_seed(7)
    a = nn.Linear(3, 4, dtype=np.float64)
    manual_seed(7)
    b = nn.Linear(3, 4, dtype=np.float64)
    c = nn.Linear(3, 4, dtype=np.float64)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(b.weight.data, c.weight.data)
    rng, bound = np.random.default_rng(7), 1 / np.sqrt(3)
    np.testing.assert_array_equal(a.weight.data, rng.uniform(-bound, bound, (3, 4)))
    np.testing.assert_array_equal(a.bias.data, rng.uniform(-bound, bound, (4,)))


def test_linear_forward_is_x_at_w_plus_b() -> None:
    layer = nn.Linear(3, 2, dtype=np.float64)
    layer.weight.data[...] = [[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]]
    layer.bias.data[...] = [0.5, -2.0]
    X = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 1.0]])
    out = layer(Tensor(X))
    np.testing.assert_array_equal(out.data, [[5.5, 7.0], [-0.5, 2.0]])
    assert out.op == "add" and out.inputs[0].op == "matmul"
    no_bias = nn.Linear(3, 2, bias=False, dtype=np.float64)
    assert no_bias(Tensor(X)).op == "matmul"


def test_relu_module_is_the_relu_op() -> None:
    out = nn.ReLU()(Tensor([-1.0, 0.0, 2.0], requires_grad=True))
    assert out.op == "relu"
    np.testing.assert_array_equal(out.data, [0.0, 0.0, 2.0])


# ---------------------------------------------------------------- the graph and MSELoss


def test_mlp_with_mse_records_exactly_the_sheet_ops() -> None:
    manual_seed(0)
    model = mlp()
    loss = nn.MSELoss()(model(Tensor(np.ones((5, 3)))), np.zeros((5, 1)))
    assert recorded_ops(loss) == Counter(matmul=2, add=2, relu=1, sub=1, square=1, mean=1)
    chain, t = [], loss
    while not t.is_leaf:
        chain.append(t.op)
        t = t.inputs[0]
    assert chain == ["mean", "square", "sub", "add", "matmul", "relu", "add", "matmul"]


def test_mse_value_and_gradient() -> None:
    pred = Tensor([[1.0], [2.0], [4.0]], requires_grad=True, dtype=np.float64)
    target = np.array([[0.0], [2.0], [1.0]])
    loss = nn.MSELoss()(pred, target)
    assert loss.item() == pytest.approx((1 + 0 + 9) / 3)
    loss.backward()
    np.testing.assert_allclose(pred.grad, [[2 / 3], [0.0], [2.0]])


def test_mse_accepts_tensor_targets_and_casts_array_targets_to_the_prediction_dtype() -> None:
    pred = Tensor([1.0, 2.0], requires_grad=True)
    loss = nn.MSELoss()(pred, np.array([0.0, 0.0]))  # float64 target, float32 prediction
    assert loss.dtype == np.float32 and loss.item() == pytest.approx(2.5)
    assert nn.MSELoss()(pred, Tensor([1.0, 2.0])).item() == 0.0
    with pytest.raises(TypeError, match="Tensor"):
        nn.MSELoss()(np.ones(2), np.ones(2))


def test_mse_refuses_shapes_that_would_broadcast_and_changes_nothing(snapshot) -> None:
    manual_seed(0)
    model = mlp()
    pred = model(Tensor(np.ones((5, 3))))
    model[0].weight.grad = Tensor(np.full((3, 4), 7.0))
    before = snapshot(pred, *model.parameters())
    with pytest.raises(ValueError) as info:
        nn.MSELoss()(pred, np.zeros(5))
    message = str(info.value)
    assert "(5, 1)" in message and "(5,)" in message and "(5, 5)" in message
    assert "target.reshape(5, 1)" in message and "\n" not in message
    with pytest.raises(ValueError, match=r"\(5, 1\).*\(4, 2\).*do not even broadcast.*one value per prediction"):
        nn.MSELoss()(pred, Tensor(np.ones((4, 2))))
    before.assert_unchanged()
    nn.MSELoss()(pred, np.zeros((5, 1))).backward()  # the graph still works with the right target
    assert model[2].bias.grad.shape == (1,)


def test_zero_grad_sets_every_gradient_to_none() -> None:
    manual_seed(0)
    model = mlp()
    X, Y = Tensor(np.ones((4, 3))), np.zeros((4, 1))
    nn.MSELoss()(model(X), Y).backward()
    first = model[0].weight.grad.numpy().copy()
    nn.MSELoss()(model(X), Y).backward()
    np.testing.assert_allclose(model[0].weight.grad, 2 * first)  # backward accumulates
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# ---------------------------------------------------------------- Parameter, as torch.nn.Parameter


def test_parameter_is_a_trainable_leaf_tensor_that_shares_a_tensors_data(torch) -> None:
    t = Tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert isinstance(p, Tensor) and p.requires_grad and p.is_leaf and p.data is t.data
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert nn.Parameter([1, 2]).dtype == np.float32 and nn.Parameter().shape == (0,)
    assert type(p * 2) is Tensor and type(torch.nn.Parameter(torch.ones(1)) * 2) is torch.Tensor
    assert repr(p).startswith("Parameter containing:\nTensor([1., 2.]") and "requires_grad=True" in repr(p)
    (p * p).sum().backward()
    np.testing.assert_array_equal(p.grad, [2.0, 4.0])


def test_linear_holds_parameters(torch) -> None:
    ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    assert isinstance(ours.weight, nn.Parameter) and isinstance(ours.bias, nn.Parameter)
    assert isinstance(theirs.weight, torch.nn.Parameter)
    assert nn.Linear(3, 2, bias=False).bias is None and torch.nn.Linear(3, 2, bias=False).bias is None
    assert [n for n, _ in nn.Linear(3, 2, bias=False).named_parameters()] == ["weight"]


def twin_modules(torch):
    """The same small module in both libraries: a Parameter, a plain tensor that requires grad, a Linear."""

    class Ours(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(Tensor([2.0]))
            self.plain = Tensor([1.0], requires_grad=True)
            self.layer = nn.Linear(2, 1)

    class Theirs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = torch.nn.Parameter(torch.tensor([2.0]))
            self.plain = torch.tensor([1.0], requires_grad=True)
            self.layer = torch.nn.Linear(2, 1)

    return Ours(), Theirs()


def names(pairs) -> list[str]:
    return [name for name, _ in pairs]


def test_only_parameters_register_as_in_torch(torch) -> None:
    ours, theirs = twin_modules(torch)
    assert names(ours.named_parameters()) == names(theirs.named_parameters()) == ["scale", "layer.weight", "layer.bias"]
    assert names(ours.named_parameters(recurse=False)) == names(theirs.named_parameters(recurse=False)) == ["scale"]
    assert ours.plain.requires_grad and list(ours.state_dict()) == list(theirs.state_dict())


def test_assigning_over_a_parameter_or_a_submodule_follows_torch(torch) -> None:
    ours, theirs = twin_modules(torch)
    with pytest.raises(TypeError, match=r"nn.Parameter or None expected.*wrap a tensor in nn.Parameter"):
        ours.scale = Tensor([3.0], requires_grad=True)
    with pytest.raises(TypeError):
        theirs.scale = torch.tensor([3.0])
    with pytest.raises(TypeError, match="nn.Module or None expected"):
        ours.layer = Tensor([1.0])
    with pytest.raises(TypeError):
        theirs.layer = torch.tensor([1.0])
    ours.scale, theirs.scale = None, None  # the slot stays, empty: neither listed nor saved
    assert names(ours.named_parameters()) == names(theirs.named_parameters()) == ["layer.weight", "layer.bias"]
    ours.scale, theirs.scale = nn.Parameter([5.0]), torch.nn.Parameter(torch.tensor([5.0]))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["scale", "layer.weight", "layer.bias"]
    ours.register_parameter("extra", None)
    assert ours.extra is None and "extra" not in ours.state_dict()
    with pytest.raises(TypeError, match="nn.Parameter or None expected"):
        ours.register_parameter("extra", Tensor([1.0]))


# ---------------------------------------------------------------- the module tree


def shared_tree(lib):
    """Sequential(a, Sequential(a, ReLU), Linear), the Linear a shared, in minigrad (nn) or torch (torch.nn)."""
    a = lib.Linear(2, 2)
    return lib.Sequential(a, lib.Sequential(a, lib.ReLU()), lib.Linear(2, 1))


def test_named_modules_lists_a_shared_module_once_as_torch(torch) -> None:
    ours, theirs = shared_tree(nn), shared_tree(torch.nn)
    assert names(ours.named_modules()) == names(theirs.named_modules()) == ["", "0", "1", "1.1", "2"]
    assert names(ours.named_modules(remove_duplicate=False)) == names(theirs.named_modules(remove_duplicate=False))
    assert names(ours.named_modules(prefix="net")) == names(theirs.named_modules(prefix="net"))
    assert len(list(ours.modules())) == len(list(theirs.modules())) == 5
    assert names(ours.named_children()) == names(theirs.named_children()) == ["0", "1", "2"]
    assert names(ours.named_parameters()) == names(theirs.named_parameters())
    assert names(ours.named_parameters(remove_duplicate=False)) == names(theirs.named_parameters(remove_duplicate=False))


def test_train_and_eval_reach_every_module(torch) -> None:
    model = shared_tree(nn)
    assert model.eval() is model and not any(m.training for m in model.modules())
    assert all(m.training for m in model.train().modules())
    for lib_model in (model, shared_tree(torch.nn)):
        with pytest.raises(ValueError, match="training mode is expected to be boolean"):
            lib_model.train(1)


# ---------------------------------------------------------------- Sequential as a list


def test_sequential_slices_into_a_sequential_keeping_names_as_torch(torch) -> None:
    ours, theirs = mlp(), torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    for index in (slice(1, None), slice(0, 2), slice(None, None, 2), slice(-1, None), slice(5, 9)):
        part, torch_part = ours[index], theirs[index]
        assert type(part) is nn.Sequential and type(torch_part) is torch.nn.Sequential
        assert list(part._modules) == list(torch_part._modules)
    head = ours[:2]
    assert head[0] is ours[0] and len(head) == 2 and list(head) == [ours[0], ours[1]]
    assert names(head.named_parameters()) == names(theirs[:2].named_parameters()) == ["0.weight", "0.bias"]
    np.testing.assert_array_equal(head(Tensor(np.ones((2, 3)))).data, ours[1](ours[0](Tensor(np.ones((2, 3))))).data)
    assert ours[-1] is ours[2] and len(ours) == len(theirs) == 3
    for model in (ours, theirs):
        with pytest.raises(IndexError, match="index 3 is out of range"):
            model[3]


# ---------------------------------------------------------------- Tanh, Sigmoid, Identity, Flatten


@pytest.mark.parametrize("name", ["Tanh", "Sigmoid", "Identity", "ReLU"])
def test_activations_match_torch(name: str, check, torch) -> None:
    x = np.random.default_rng(0).uniform(-3, 3, (4, 3))
    layer, torch_layer = getattr(nn, name)(), getattr(torch.nn, name)()
    if name == "Identity":
        check(lambda t: layer(t) * 1.0, [x], lambda t: torch_layer(t) * 1.0)
        assert layer(x) is x and repr(nn.Identity(5, key=1)) == "Identity()"
    else:
        check(layer, [x], torch_layer)
        assert layer(Tensor(x, requires_grad=True)).op == name.lower()


@pytest.mark.parametrize("start, end", [(1, -1), (0, -1), (1, 2), (-2, -1), (2, 2), (0, 0)])
def test_flatten_merges_the_same_dims_as_torch(start: int, end: int, check, torch) -> None:
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5))
    check(nn.Flatten(start, end), [x], torch.nn.Flatten(start, end))
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    with pytest.raises(ValueError, match="start_dim"):
        nn.Flatten(2, 1)(Tensor(x))


def test_zero_grad_can_zero_in_place_instead(torch) -> None:
    manual_seed(0)
    model = mlp()
    nn.MSELoss()(model(Tensor(np.ones((4, 3)))), np.zeros((4, 1))).backward()
    grad = model[0].weight.grad
    model.zero_grad(set_to_none=False)
    assert model[0].weight.grad is grad and not grad.numpy().any()
