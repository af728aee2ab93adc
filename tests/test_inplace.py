"""In-place ops, version counters, the graph letting go after backward, and `.grad` as a Tensor, against torch."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import minigrad
from minigrad import Tensor, nn, no_grad


def both(torch, values, requires_grad=True):
    """The same float64 leaf in minigrad and in torch."""
    values = np.asarray(values, dtype=np.float64)
    return Tensor(values, requires_grad=requires_grad), torch.tensor(values, requires_grad=requires_grad)


def error_of(fn) -> tuple[type, str]:
    try:
        fn()
    except Exception as err:  # the type and message are what is compared
        return type(err), str(err)
    return type(None), ""


# ---------------------------------------------------------------- the three snippets of the issue


def test_the_tutorial_update_changes_the_model_itself(torch) -> None:
    """with no_grad(): p -= lr * p.grad updates the same Parameter objects, which stay leaves."""
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.ReLU(), nn.Linear(4, 1, dtype=np.float64))
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1)).double()
    with torch.no_grad():
        for p, tp in zip(model.parameters(), tmodel.parameters()):
            tp.copy_(torch.from_numpy(p.data.T.copy() if p.data.ndim == 2 else p.data.copy()))
    x = np.random.default_rng(0).standard_normal((8, 3))
    before = [id(p) for p in model.parameters()]
    for _ in range(3):
        loss = ((model(Tensor(x)) - 1.0) ** 2).mean()
        tloss = ((tmodel(torch.from_numpy(x)) - 1.0) ** 2).mean()
        model.zero_grad()
        tmodel.zero_grad()
        loss.backward()
        tloss.backward()
        with no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
        with torch.no_grad():
            for p in tmodel.parameters():
                p -= 0.1 * p.grad
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-13)
    assert [id(p) for p in model.parameters()] == before
    assert all(p.is_leaf and p.requires_grad for p in model.parameters())
    np.testing.assert_allclose(model[0].weight.data, tmodel[0].weight.detach().numpy().T, rtol=1e-12)


def test_an_input_changed_under_no_grad_makes_backward_raise_as_torch(torch) -> None:
    x, tx = both(torch, [1.0, 2.0, 3.0])
    y, ty = (x * x).sum(), (tx * tx).sum()
    with no_grad():
        x *= 2
    with torch.no_grad():
        tx *= 2
    kind, message = error_of(y.backward)
    tkind, tmessage = error_of(ty.backward)
    assert kind is tkind is RuntimeError
    assert message.startswith(tmessage.split(" is at version")[0].replace("torch.DoubleTensor", "float64"))
    assert "is at version 1; expected version 0 instead" in message and "'mul'" in message
    assert x.grad is None and x._version == tx._version == 1


def test_an_op_that_saved_its_output_raises_as_torch(torch) -> None:
    """y = x.exp(); y += 1: exp's backward needs its output, which the += changed."""
    x, tx = both(torch, [0.5, 1.0])
    y, ty = x.exp(), tx.exp()
    y += 1
    ty += 1
    kind, message = error_of(lambda: y.sum().backward())
    tkind, tmessage = error_of(lambda: ty.sum().backward())
    assert kind is tkind is RuntimeError
    assert ", which is output 0 of Exp, is at version 1; expected version 0 instead" in message
    assert ", which is output 0 of Exp, is at version 1; expected version 0 instead" in tmessage
    assert x.grad is None


def test_appending_every_loss_keeps_no_activation_alive() -> None:
    """After a plain backward the loss no longer holds its graph: its activations are freed."""
    x = Tensor(np.ones((64, 32)))
    w = Tensor(np.ones((32, 16)), requires_grad=True)
    h = (x @ w).relu()
    probe = weakref.ref(h)
    loss = h.sum()
    del h
    loss.backward()
    gc.collect()
    assert probe() is None, "the activation outlived backward() although only the graph held it"
    assert loss.item() == 64 * 32 * 16 and not loss.is_leaf


def test_drawing_after_a_plain_backward_names_the_fix() -> None:
    from minigrad.see.graph import inspect_graph

    x = Tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        inspect_graph(loss)


# ---------------------------------------------------------------- recorded in-place ops on non-leaves


@pytest.mark.parametrize(
    "update",
    [
        lambda h, b: h.__iadd__(b),
        lambda h, b: h.__isub__(b),
        lambda h, b: h.__imul__(b),
        lambda h, b: h.__itruediv__(b + 3.0),
        lambda h, b: h.add_(b, alpha=2.5),
        lambda h, b: h.sub_(b, alpha=0.5),
        lambda h, b: h.mul_(b),
        lambda h, b: h.div_(b * b + 1.0),
        lambda h, b: h.copy_(b),
        lambda h, b: h.fill_(2.0),
        lambda h, b: h.zero_(),
    ],
    ids=["+=", "-=", "*=", "/=", "add_(alpha)", "sub_(alpha)", "mul_", "div_", "copy_", "fill_", "zero_"],
)
def test_in_place_on_a_non_leaf_gives_torch_gradients(torch, update) -> None:
    rng = np.random.default_rng(1)
    x, tx = both(torch, rng.standard_normal((2, 3)))
    w, tw = both(torch, rng.standard_normal((3, 4)))
    b, tb = both(torch, rng.standard_normal(4))
    h, th = x @ w, tx @ tw
    same = update(h, b)
    update(th, tb)
    assert same is h
    (h * h).sum().backward()
    (th * th).sum().backward()
    np.testing.assert_allclose(h.data, th.detach().numpy(), rtol=1e-12)
    for mine, theirs in ((x, tx), (w, tw), (b, tb)):
        if theirs.grad is None:
            assert mine.grad is None or not mine.grad.numpy().any()
        else:
            np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_setitem_on_a_non_leaf_gives_torch_gradients(torch) -> None:
    x, tx = both(torch, np.arange(12.0).reshape(3, 4) / 10)
    v, tv = both(torch, [1.0, -2.0, 0.5, 3.0])
    h, th = x * 2, tx * 2
    h[1] = v * v
    th[1] = tv * tv
    (h.exp()).sum().backward()
    (th.exp()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy(), rtol=1e-12)


def test_a_consumer_recorded_before_the_change_sends_its_gradient_to_the_old_value(torch) -> None:
    """z = h * 3 is recorded before h += 1: its gradient goes to h as it was, not through the add."""
    x, tx = both(torch, [1.0, 2.0])
    c, tc = both(torch, [5.0, 7.0])
    h, th = x * 1, tx * 1
    z, tz = h * 3, th * 3
    h += c
    th += tc
    (z.sum() + h.sum()).backward()
    (tz.sum() + th.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(c.grad.numpy(), tc.grad.numpy())


def test_a_buffer_filled_from_a_parameter_becomes_part_of_the_graph(torch) -> None:
    """buf = zeros; buf += w: the leaf that required no grad now has a history, as in torch."""
    w, tw = both(torch, [1.0, 2.0, 3.0])
    buf, tbuf = Tensor(np.zeros(3)), torch.zeros(3, dtype=torch.float64)
    buf += w * w
    tbuf += tw * tw
    assert buf.requires_grad and not buf.is_leaf
    buf.sum().backward()
    tbuf.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


# ---------------------------------------------------------------- what in-place ops refuse, leaving state alone


def test_a_leaf_that_requires_grad_refuses_in_place_ops_with_torch_message(torch, snapshot) -> None:
    x, tx = both(torch, [1.0, 2.0])
    state = snapshot(x)
    kind, message = error_of(lambda: x.__iadd__(1.0))
    tkind, tmessage = error_of(lambda: tx.__iadd__(1.0))
    assert kind is tkind is RuntimeError
    assert message.startswith(tmessage.rstrip("."))
    assert "no_grad" in message
    state.assert_unchanged()
    assert x._version == 0


def test_a_shape_that_does_not_fit_is_refused_and_changes_nothing(torch) -> None:
    h, th = Tensor(np.zeros(4)), torch.zeros(4, dtype=torch.float64)
    kind, message = error_of(lambda: h.__iadd__(Tensor(np.ones((3, 4)))))
    tkind, tmessage = error_of(lambda: th.__iadd__(torch.ones(3, 4, dtype=torch.float64)))
    assert kind is tkind is RuntimeError and message == tmessage
    assert h._version == 0 and not h.data.any()


def test_version_counts_changes_and_is_shared_with_detach(torch) -> None:
    x, tx = Tensor(np.ones(3)), torch.ones(3, dtype=torch.float64)
    for t in (x, tx):
        t.add_(1)
        t.mul_(2)
        t.detach().add_(1)
        t[0] = 5.0
    assert x._version == tx._version == 4
    np.testing.assert_array_equal(x.data, tx.numpy())


def test_editing_data_directly_stays_untracked() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    x.data[0] = 10.0
    y.backward()
    assert x._version == 0
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 4.0])


# ---------------------------------------------------------------- .grad is a Tensor


def test_a_0d_grad_is_a_writable_0d_tensor(torch) -> None:
    x = Tensor(3.0, requires_grad=True, dtype=np.float64)
    (x * x).backward()
    assert isinstance(x.grad, Tensor) and x.grad.shape == () and x.grad.item() == 6.0
    assert x.grad.is_leaf and not x.grad.requires_grad
    x.grad.zero_()
    assert x.grad.item() == 0.0
    assert np.asarray(x.grad).shape == ()


def test_grad_accumulates_in_place_as_torch() -> None:
    """A reference kept to .grad sees the second backward's share, as in torch."""
    x = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    (x * x).sum().backward()
    first = x.grad
    (x * 3).sum().backward()
    assert x.grad is first
    np.testing.assert_array_equal(first.numpy(), [5.0, 7.0])


@pytest.mark.parametrize(
    "value",
    [lambda torch, np_: np_.zeros(2), lambda torch, np_: np_.zeros(3, dtype=np_.float32)],
    ids=["wrong shape", "wrong dtype"],
)
def test_assigning_a_wrong_grad_raises_as_torch(torch, value) -> None:
    x, tx = both(torch, [1.0, 2.0, 3.0])
    array = value(torch, np)
    kind, message = error_of(lambda: setattr(x, "grad", Tensor(array)))
    tkind, tmessage = error_of(lambda: setattr(tx, "grad", torch.from_numpy(array)))
    assert kind is tkind is RuntimeError
    assert message.split(" to a tensor")[0].split("'")[0] == tmessage.split(" to a tensor")[0].split("'")[0]
    assert x.grad is None


def test_assigning_an_ndarray_as_grad_raises_a_type_error_as_torch(torch) -> None:
    x, tx = both(torch, [1.0, 2.0])
    assert error_of(lambda: setattr(x, "grad", np.zeros(2)))[0] is TypeError
    assert error_of(lambda: setattr(tx, "grad", np.zeros(2)))[0] is TypeError


def test_an_op_that_needs_only_a_shape_does_not_raise_after_a_change(torch) -> None:
    """sum's backward reads only x.shape: torch saves sizes, not values, so changing x after is fine."""
    w, tw = both(torch, [1.0, 2.0])
    h, th = w * 1, tw * 1
    s, ts = h.sum(), th.sum()
    with no_grad():
        h.mul_(2)
    with torch.no_grad():
        th.mul_(2)
    s.backward()
    ts.backward()
    np.testing.assert_array_equal(w.grad.numpy(), tw.grad.numpy())
