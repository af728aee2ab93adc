"""Tests for saving and loading weights: Module.state_dict / load_state_dict against torch's, and the bridge.

The bridge test trains the fare network in one library, moves the weights with
`to_torch_state_dict` / `from_torch_state_dict`, and asks the other library for the same predictions.
"""
from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
from helpers import load_example

from minigrad import Tensor, from_numpy, manual_seed, nn, no_grad
from minigrad.datasets import load_fare


def mlp(lib, **kwargs):
    """3 -> 4 (ReLU) -> 1 in minigrad (nn) or torch (torch.nn)."""
    return lib.Sequential(lib.Linear(3, 4, **kwargs), lib.ReLU(), lib.Linear(4, 1, **kwargs))


def named_mlp(dtype=np.float64):
    """minigrad's fare net named as the torch twin's layers, so the keys of the two state_dicts agree."""
    return nn.Sequential(OrderedDict(
        hidden=nn.Linear(3, 4, dtype=dtype), relu=nn.ReLU(), output=nn.Linear(4, 1, dtype=dtype)))


# float32, the examples' dtype, agrees to a few ulps of predictions up to ~10, hence rtol beside atol
DTYPES = pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-6), (np.float64, 0.0)], ids=["float32", "float64"])


def torch_twin(twin, dtype):
    model = twin.FareNet()
    return model.double() if dtype == np.float64 else model


# ---------------------------------------------------------------- state_dict


def test_state_dict_has_torchs_keys_and_shares_memory_with_the_parameters(torch) -> None:
    model = mlp(nn)
    sd = model.state_dict()
    assert type(sd) is OrderedDict and list(sd) == list(mlp(torch.nn).state_dict())
    assert all(type(v) is Tensor and not v.requires_grad for v in sd.values())
    assert sd["0.weight"].data is model[0].weight.data  # detached, not copied, as torch's
    assert all(a is b for a, b in zip(model.state_dict(keep_vars=True).values(), model.parameters()))
    assert list(model.state_dict(prefix="net.")) == list(mlp(torch.nn).state_dict(prefix="net."))


def test_a_shared_layer_is_saved_under_each_of_its_names_as_torch() -> None:
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    model.load_state_dict(model.state_dict())  # and needs every name back


def test_deepcopy_of_a_state_dict_is_a_snapshot() -> None:
    model = mlp(nn)
    snapshot = copy.deepcopy(model.state_dict())
    model[0].weight.data += 1.0
    assert not np.allclose(snapshot["0.weight"].data, model[0].weight.data)


# ---------------------------------------------------------------- load_state_dict


def test_load_copies_in_place_casting_to_the_parameter_dtype() -> None:
    manual_seed(0)
    source, target = mlp(nn, dtype=np.float64), mlp(nn)
    weight = target[0].weight
    weight_array = weight.data
    result = target.load_state_dict(source.state_dict())
    assert repr(result) == "<All keys matched successfully>" and result == ([], [])
    assert target[0].weight is weight and weight.data is weight_array and weight.dtype == np.float32
    np.testing.assert_allclose(weight.data, source[0].weight.data, rtol=1e-7)
    target.load_state_dict({k: v.data for k, v in source.state_dict().items()})  # plain arrays too


def test_missing_and_unexpected_keys_raise_torchs_error(torch) -> None:
    ours, theirs = mlp(nn), mlp(torch.nn)
    sd = {k: v for k, v in ours.state_dict().items() if k != "2.bias"}
    sd["3.weight"] = Tensor(np.zeros((1, 1)))
    torch_sd = {k: torch.from_numpy(v.data.T.copy() if v.ndim == 2 else v.data) for k, v in sd.items()}
    with pytest.raises(RuntimeError) as info:
        ours.load_state_dict(sd)
    with pytest.raises(RuntimeError) as torch_info:
        theirs.load_state_dict(torch_sd)
    assert str(info.value) == str(torch_info.value) == (
        'Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: "2.bias". '
        '\n\tUnexpected key(s) in state_dict: "3.weight". '
    )
    before = ours[0].weight.data.copy()
    sd["0.weight"] = Tensor(np.ones((3, 4)))
    result, torch_result = ours.load_state_dict(sd, strict=False), theirs.load_state_dict(torch_sd, strict=False)
    assert result == tuple(torch_result) == (["2.bias"], ["3.weight"])
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["3.weight"]
    assert not np.array_equal(ours[0].weight.data, before)


def test_a_size_mismatch_is_an_error_even_when_not_strict_and_nothing_is_copied(torch) -> None:
    ours, theirs = mlp(nn), mlp(torch.nn)
    sd = ours.state_dict()
    sd = OrderedDict((k, Tensor(np.zeros(v.shape)) if k != "0.weight" else Tensor(np.zeros((4, 3)))) for k, v in sd.items())
    before = [p.data.copy() for p in ours.parameters()]
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: copying a param with shape \(4, 3\) "
                                           r"from checkpoint, the shape in current model is \(3, 4\)"):
        ours.load_state_dict(sd, strict=False)
    with pytest.raises(RuntimeError, match="size mismatch for 0.weight"):
        theirs.load_state_dict({"0.weight": torch.zeros(3, 4)}, strict=False)
    for p, old in zip(ours.parameters(), before):
        np.testing.assert_array_equal(p.data, old)  # unlike torch, which copies what it can first


def test_load_refuses_what_is_not_a_mapping_or_an_array(torch) -> None:
    for model in (mlp(nn), mlp(torch.nn)):
        with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
            model.load_state_dict([("0.weight", None)])
    sd = mlp(nn).state_dict()
    sd["0.bias"] = [0.0, 0.0, 0.0, 0.0]
    with pytest.raises(RuntimeError, match='"0.bias", expected a Tensor or an array'):
        mlp(nn).load_state_dict(sd)


# ---------------------------------------------------------------- the bridge to torch


def test_the_bridge_transposes_linear_weights_only_and_copies() -> None:
    model = mlp(nn)
    model.extra = nn.Parameter(np.ones((2, 2)))  # not named weight: left as it is
    arrays = nn.to_torch_state_dict(model.state_dict())
    assert [a.shape for a in arrays.values()] == [(2, 2), (4, 3), (4,), (1, 4), (1,)]
    assert all(type(a) is np.ndarray and a.flags.c_contiguous for a in arrays.values())
    np.testing.assert_array_equal(arrays["0.weight"], model[0].weight.data.T)
    assert not np.shares_memory(arrays["0.weight"], model[0].weight.data)
    back = nn.from_torch_state_dict(arrays)
    assert all(np.array_equal(back[k], v.data) for k, v in model.state_dict().items())


@DTYPES
def test_minigrad_trained_weights_give_the_same_predictions_in_the_torch_twin(dtype, rtol, torch) -> None:
    fare = load_example("titanic_fare")
    twin = load_example("torch_fare")
    data = load_fare(dtype=dtype)
    manual_seed(0)
    run = fare.train(model=named_mlp(dtype), data=data, log=lambda _: None)
    theirs = torch_twin(twin, dtype)
    arrays = nn.to_torch_state_dict(run.model.state_dict())
    assert repr(theirs.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})) == \
        "<All keys matched successfully>"
    with no_grad():
        ours = run.model(from_numpy(data.X_test)).data
    with torch.no_grad():
        expected = theirs(torch.from_numpy(data.X_test)).numpy()
    np.testing.assert_allclose(ours, expected, rtol=rtol, atol=1e-6)
    assert ours.dtype == dtype and not np.allclose(ours, ours.mean())  # a trained net, not a constant


@DTYPES
def test_torch_trained_weights_give_the_same_predictions_in_minigrad(dtype, rtol, torch) -> None:
    twin = load_example("torch_fare")
    data = load_fare(dtype=dtype)
    torch.manual_seed(0)
    theirs = torch_twin(twin, dtype)
    twin.train(theirs, data, epochs=3)
    ours = named_mlp(dtype)
    ours.load_state_dict(nn.from_torch_state_dict(theirs.state_dict()))
    with torch.no_grad():
        expected = theirs(torch.from_numpy(data.X_test)).numpy()
    with no_grad():
        np.testing.assert_allclose(ours(from_numpy(data.X_test)).data, expected, rtol=rtol, atol=1e-6)


def test_loading_changes_the_parameters_version_as_torch(torch) -> None:
    # the gradient of x needs the old weight, so backward after a load refuses, in both libraries
    for lib, x in ((nn, Tensor(np.ones((1, 3)), requires_grad=True)), (torch.nn, torch.ones(1, 3, requires_grad=True))):
        model = mlp(lib)
        loss = model(x).sum()
        model.load_state_dict(model.state_dict())
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()
